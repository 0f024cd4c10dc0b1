"""Offline maskers: pick the one word of a sentence to mask without any model.

- :class:`LogOddsMasker` masks the word most characteristic of the writer's type: the weighted log-odds
  ratio with an informative Dirichlet prior (Monroe, Colaresi & Quinn 2008, "Fightin' Words"), z-scored,
  of the type against the other 15 types, counted on the TRAINING split only.
- :class:`RandomMasker` masks a random word: the ablation.

Words are runs of letters/digits inside whitespace tokens ("해요!" -> "해요", "그분이구나.ㅋㅋ" -> "그분이구나"),
so Korean words keep their particles ("계획을"): no morphological analyser is needed and the masked string is
always a real substring of the sentence. Tokens holding the mention placeholder "[TYPE]", URLs, numbers and
jamo runs (ㅋㅋ, ㅠㅠ: emoticons, not words) are never masked.

On the cafe training split (50k labelled texts, 60k words seen by >= 2 writers) counting writers, not
occurrences, matters: by occurrence the top words are a few prolific writers' verbal tics ("같네여", "듯여").
"""
from __future__ import annotations

import hashlib
import random
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Iterable

import numpy as np

from mbti_core.types import TYPE_INDEX, TYPES, normalise_type

TYPE_PLACEHOLDER = "[TYPE]"  # mbti_core.data.mentions.MENTION_PLACEHOLDER; repeated to keep this module light
_TOKEN = re.compile(r"\S+")
_URL = re.compile(r"^(?:https?://|www\.)", re.IGNORECASE)
# Letters and digits, but not jamo: ㅋㅋ, ㅠㅠ, ㅎㅎ are emoticons, not words.
_WORD = re.compile(r"[^\W_\u3131-\u318e\u1100-\u11ff]+")


@dataclass(frozen=True)
class MaskChoice:
    start: int  # character span in the sentence
    end: int
    score: float | None = None


@dataclass(frozen=True)
class Word:
    start: int
    end: int
    key: str  # what is counted: the word, lower-cased (English) and NFC


def candidate_words(text: str, *, min_chars: int = 1) -> list[Word]:
    """The maskable words of ``text`` with their spans, in order.

    A word is a run of letters/digits inside a whitespace token, so punctuation, emoji and jamo glued to
    it stay outside the mask ("그분이구나.ㅋㅋㅋ" -> "그분이구나"). Tokens holding "[TYPE]" ("[TYPE]님을")
    or URLs are skipped whole; words without a letter (numbers) are skipped.
    """
    words = []
    for token in _TOKEN.finditer(text):
        if TYPE_PLACEHOLDER in token.group() or "[MASK]" in token.group() or _URL.match(token.group()):
            continue
        for piece in _WORD.finditer(token.group()):
            word = piece.group()
            if len(word) < min_chars or not any(char.isalpha() for char in word):
                continue
            start = token.start() + piece.start()
            words.append(Word(start, start + len(word), unicodedata.normalize("NFC", word).lower()))
    return words


class LogOddsMasker:
    """Masks the word with the highest z-scored log-odds for the writer's type (vs all other types).

    ``fit`` counts each word once per writer when writers are given (so a few prolific writers cannot
    make their pet words "type-characteristic"), else once per occurrence. The prior for word w is
    ``alpha_w = prior_strength * count_w`` (its share of the whole training corpus), as in Monroe et al.
    """

    name = "logodds"
    requires_type = True

    def __init__(self, *, prior_strength: float = 0.1, min_count: int = 2, min_chars: int = 1):
        self.prior_strength = prior_strength
        self.min_count = min_count
        self.min_chars = min_chars
        self.vocab: dict[str, int] = {}
        self.z: np.ndarray | None = None  # [16, V]
        self.counts: np.ndarray | None = None  # [16, V]

    def fit(self, texts: Iterable[str], types: Iterable[str], writers: Iterable[str] | None = None) -> "LogOddsMasker":
        texts, types = list(texts), [normalise_type(t) for t in types]
        if len(texts) != len(types):
            raise ValueError(f"{len(texts)} texts but {len(types)} types")
        if not texts:
            raise ValueError("cannot fit the log-odds masker on no rows")
        per_type: dict[str, Counter] = defaultdict(Counter)
        if writers is None:
            for text, mbti in zip(texts, types):
                per_type[mbti].update(word.key for word in candidate_words(text, min_chars=self.min_chars))
        else:
            writers = list(writers)
            if len(writers) != len(texts):
                raise ValueError(f"{len(texts)} texts but {len(writers)} writers")
            used: dict[tuple[str, str], set[str]] = defaultdict(set)
            for text, mbti, writer in zip(texts, types, writers):
                used[(str(writer), mbti)].update(word.key for word in candidate_words(text, min_chars=self.min_chars))
            for (_, mbti), keys in used.items():
                per_type[mbti].update(keys)
        total = Counter()
        for counter in per_type.values():
            total.update(counter)
        words = sorted(word for word, count in total.items() if count >= self.min_count)
        if not words:
            raise ValueError(f"no word occurs at least {self.min_count} times in the training texts")
        self.vocab = {word: index for index, word in enumerate(words)}
        counts = np.zeros((len(TYPES), len(words)), dtype=np.float64)
        for mbti, counter in per_type.items():
            row = counts[TYPE_INDEX[mbti]]
            for word, count in counter.items():
                index = self.vocab.get(word)
                if index is not None:
                    row[index] = count
        self.counts = counts
        self.z = self._z_scores(counts)
        return self

    def _z_scores(self, counts: np.ndarray) -> np.ndarray:
        total = counts.sum(axis=0)  # [V]
        alpha = self.prior_strength * total
        alpha0 = alpha.sum()
        z = np.zeros_like(counts)
        for t in range(counts.shape[0]):
            y_t = counts[t]
            y_rest = total - y_t
            n_t, n_rest = y_t.sum(), y_rest.sum()
            if n_t == 0:
                continue  # type absent from training: no evidence, all words neutral
            delta = np.log((y_t + alpha) / (n_t + alpha0 - y_t - alpha)) - np.log(
                (y_rest + alpha) / (n_rest + alpha0 - y_rest - alpha)
            )
            z[t] = delta / np.sqrt(1.0 / (y_t + alpha) + 1.0 / (y_rest + alpha))
        return z

    def score(self, word: str, mbti: str) -> float:
        """z-score of ``word`` for ``mbti``; 0 for words not seen (often enough) in training."""
        self._check_fitted()
        index = self.vocab.get(unicodedata.normalize("NFC", word).lower())
        return 0.0 if index is None else float(self.z[TYPE_INDEX[normalise_type(mbti)], index])

    def top_words(self, mbti: str, k: int = 10) -> list[tuple[str, float]]:
        self._check_fitted()
        row = self.z[TYPE_INDEX[normalise_type(mbti)]]
        words = list(self.vocab)
        return [(words[i], float(row[i])) for i in np.argsort(-row, kind="stable")[:k]]

    def choose(self, text: str, mbti: str | None, key: str | None = None) -> MaskChoice | None:
        """The most type-characteristic word of ``text``; None when it has no maskable word."""
        self._check_fitted()
        if mbti is None:
            raise ValueError("the log-odds masker needs the writer's type")
        row = self.z[TYPE_INDEX[normalise_type(mbti)]]
        words = candidate_words(text, min_chars=self.min_chars)
        if not words:
            return None
        scores = [row[self.vocab[w.key]] if w.key in self.vocab else 0.0 for w in words]
        best = int(np.argmax(scores))  # ties: the first such word
        return MaskChoice(words[best].start, words[best].end, round(float(scores[best]), 4))

    def _check_fitted(self) -> None:
        if self.z is None:
            raise RuntimeError("LogOddsMasker is not fitted: call fit(texts, types) on the training split first")


class RandomMasker:
    """Masks a uniformly random word. The choice depends only on (seed, row key, text), so it is the same
    on a rerun, in any order."""

    name = "random"
    requires_type = False

    def __init__(self, seed: int = 0, *, min_chars: int = 1):
        self.seed = seed
        self.min_chars = min_chars

    def choose(self, text: str, mbti: str | None = None, key: str | None = None) -> MaskChoice | None:
        words = candidate_words(text, min_chars=self.min_chars)
        if not words:
            return None
        digest = hashlib.sha256(f"{self.seed}\0{key or ''}\0{text}".encode("utf-8")).digest()
        word = random.Random(int.from_bytes(digest[:8], "big")).choice(words)
        return MaskChoice(word.start, word.end)
