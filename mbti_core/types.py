"""The 16 MBTI types, the 4 axes, and the Korean nicknames used for them.

Labels are 4 bits, one per axis, where 1 means the *first* letter of the axis
(E, S, T, J). So ``P(axis) = sigmoid(logit)`` is P(E), P(S), P(T), P(J), which is
the contract of the CLI's ``axes`` object.
"""
from __future__ import annotations

import itertools

import numpy as np

AXES: tuple[str, ...] = ("EI", "SN", "TF", "JP")

# Canonical order: E/I outermost, so index = bits read as a binary number of "is second letter".
TYPES: tuple[str, ...] = tuple("".join(letters) for letters in itertools.product(*AXES))
TYPE_INDEX = {t: i for i, t in enumerate(TYPES)}

# Korean community nicknames (인프피 = INFP …). Syllable by syllable: 인/엔/잇/엣 = IN/EN/IS/ES,
# 프/티 = F/T, 피/제 = P/J; 팁 = TP. Spelling variants seen in the cafe are listed too.
_KO_FIRST = {"IN": ("인",), "EN": ("엔", "앤"), "IS": ("잇", "이스"), "ES": ("엣", "에스", "엤")}
_KO_SECOND = {"F": ("프", "푸"), "T": ("티",)}
_KO_THIRD = {"P": ("피", "삐"), "J": ("제", "재", "졔")}


def _build_korean_nicknames() -> dict[str, str]:
    names: dict[str, str] = {}
    for (first, firsts), (second, seconds), (third, thirds) in itertools.product(
        _KO_FIRST.items(), _KO_SECOND.items(), _KO_THIRD.items()
    ):
        for a, b, c in itertools.product(firsts, seconds, thirds):
            names[a + b + c] = first + second + third
    for first, firsts in _KO_FIRST.items():
        for a in firsts:
            names[a + "팁"] = first + "TP"  # 인팁, 엔팁, 잇팁, 엣팁
            names[a + "뿌삐"] = first + "FP"  # 엔뿌삐, 인뿌삐
            names[a + "픞"] = first + "FP"  # 엔픞, 인픞 (프+피 in one syllable)
    names["엥뿌삐"] = "ENFP"
    names["엥프피"] = "ENFP"
    return names


KOREAN_NICKNAMES: dict[str, str] = _build_korean_nicknames()


def normalise_type(value: str) -> str:
    """'enfp' -> 'ENFP'; raises ValueError with the valid choices otherwise."""
    upper = str(value).strip().upper()
    if upper not in TYPE_INDEX:
        raise ValueError(f"not an MBTI type: {value!r} (expected one of {', '.join(TYPES)})")
    return upper


def type_to_bits(mbti: str) -> tuple[int, int, int, int]:
    """'ENFP' -> (1, 0, 0, 0): 1 where the type has the first letter of the axis."""
    mbti = normalise_type(mbti)
    return tuple(int(letter == axis[0]) for letter, axis in zip(mbti, AXES))  # type: ignore[return-value]


def bits_to_type(bits) -> str:
    """(1, 0, 0, 0) -> 'ENFP'. Accepts any 4 values that are truthy for the first letter."""
    bits = list(bits)
    if len(bits) != 4:
        raise ValueError(f"expected 4 axis bits, got {len(bits)}")
    return "".join(axis[0] if bit else axis[1] for bit, axis in zip(bits, AXES))


def type_labels(types) -> np.ndarray:
    """Types -> float array [N, 4] of axis bits."""
    return np.array([type_to_bits(t) for t in types], dtype=np.float32)


# Bits of every type, [16, 4], for turning axis probabilities into a type distribution.
TYPE_BITS = np.array([type_to_bits(t) for t in TYPES], dtype=np.float64)


def type_probabilities(axis_probs) -> np.ndarray:
    """Axis probabilities [N, 4] (P of first letter) -> [N, 16] over TYPES.

    Assumes the axes independent given the text, as the four sigmoids do.
    """
    p = np.asarray(axis_probs, dtype=np.float64)
    squeeze = p.ndim == 1
    p = np.atleast_2d(p)
    per_axis = p[:, None, :] * TYPE_BITS[None] + (1 - p[:, None, :]) * (1 - TYPE_BITS[None])
    dist = per_axis.prod(axis=-1)
    return dist[0] if squeeze else dist


def predicted_types(axis_probs, thresholds=(0.5, 0.5, 0.5, 0.5)) -> list[str]:
    p = np.atleast_2d(np.asarray(axis_probs))
    return [bits_to_type(row >= np.asarray(thresholds)) for row in p]
