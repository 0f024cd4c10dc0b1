"""Find MBTI types in nicknames (labels) and hide MBTI mentions in texts (leakage).

About a quarter of labelled comments name a type ("저 INFP인데…", "엔프제들은…"), and writers
often post on their own type's board: a model can score well by reading those mentions, so
every explicit mention is replaced by one neutral placeholder before a model sees the text.
"""
from __future__ import annotations

import re

from mbti_core.types import KOREAN_NICKNAMES

MENTION_PLACEHOLDER = "[TYPE]"

# An English type with each axis letter possibly repeated, mixed or unknown ("istpppp", "ISFtJ",
# "isfjp", "EXTJ"): mixing both poles of an axis, or an X, names no single type.
_EN_TYPE = re.compile(r"([eix]+)([snx]+)([tfx]+)([jpx]+)", re.IGNORECASE)
# Korean nicknames, longest first so 엥뿌삐 wins over a shorter overlap.
_KO_NAMES = sorted(KOREAN_NICKNAMES, key=len, reverse=True)
_KO_TYPE = re.compile("|".join(map(re.escape, _KO_NAMES)))
# A Korean nickname glued to another half-type ("엔프인프제", "잇프피프제") is a hybrid.
_KO_HALF_BEFORE = re.compile(r"(?:[인엔앤잇엣][프티]|이스[프티]|에스[프티])$")
_KO_HALF_AFTER = re.compile(r"^(?:[프티][피제재삐]|팁)")
# "entp아님" (not ENTP), "entp러버" (ENTP lover): the type is not the writer's own.
_NOT_SELF_AFTER = re.compile(r"^\s*(?:아님|아닌|아니|러버|lover|덕후|바라기|짝사랑|추종|좋아|사랑)", re.IGNORECASE)


# Full-width letters (ＩＮＦＰ) fold to ASCII. Not NFKC: it would turn ㅋㅋ into conjoining jamo.
_FULLWIDTH = {code: code - 0xFEE0 for code in range(0xFF21, 0xFF5B)}


def _ascii_fold(text: str) -> str:
    return text.translate(_FULLWIDTH)


def types_in_nickname(nickname: str) -> tuple[set[str], bool]:
    """The types a nickname names, and whether it also holds an ambiguous or negated one."""
    name = _ascii_fold(str(nickname or ""))
    found: set[str] = set()
    ambiguous = False
    for m in _EN_TYPE.finditer(name):
        groups = [g.upper() for g in m.groups()]
        if _NOT_SELF_AFTER.match(name[m.end():]):
            ambiguous = True
        elif all(len(set(g)) == 1 and g[0] != "X" for g in groups):
            found.add("".join(g[0] for g in groups))
        else:
            ambiguous = True
    for m in _KO_TYPE.finditer(name):
        if (
            _KO_HALF_BEFORE.search(name[: m.start()])
            or _KO_HALF_AFTER.match(name[m.end():])
            or _NOT_SELF_AFTER.match(name[m.end():])
        ):
            ambiguous = True
        else:
            found.add(KOREAN_NICKNAMES[m.group(0)])
    return found, ambiguous


def label_from_nickname(nickname: str) -> str | None:
    """The writer's type when the nickname holds exactly one, else None (none, several, or hybrid)."""
    found, ambiguous = types_in_nickname(nickname)
    if ambiguous or len(found) != 1:
        return None
    return next(iter(found))


# --- masking mentions inside texts -------------------------------------------------------------

_LETTER = r"A-Za-z"
_MENTION_PATTERNS = [
    # Full, repeated, hybrid or wildcard English types in any case, also glued to letters ("Yellowintp"),
    # with an English plural ("ENFJs", "enfjs": the study's translated descriptions).
    re.compile(_EN_TYPE.pattern + r"(?:s(?![a-z]))?", re.IGNORECASE),
    # Three-letter partials in capitals ("NTP들", "xNF" is covered above): only standalone.
    re.compile(rf"(?<![{_LETTER}])(?:[EI][SN][TF]|[SN][TF][JP]|[EI][SN]X|X[SN][TF])(?![{_LETTER}])"),
    # Korean nicknames, their halves ("엔프들", "인티들") but not 인프라 (infrastructure).
    _KO_TYPE,
    re.compile(r"(?:[인엔앤잇엣][프티]|이스[프티]|에스[프티])(?![라])"),
]
# Two-letter temperaments and axis pairs ("NF", "SJ", "TP") and single axis letters ("저는 I라서", "극J", "T발") in
# capitals, standing alone: masked in Korean MBTI talk ("ST, NT 여자분들", "I, F, J 각각"), but not inside English
# ("I think so", "you and I", "I'm", "T-shirt"), and the pairs that are everyday English or Korean loanwords ("IT 회사",
# "IP 주소") not unless a Korean particle is glued to them ("IT가": type talk).
_SHORT_MENTION = re.compile(rf"(?<![{_LETTER}0-9])(?:[EI][SN]|[SN][TF]|[TF][JP]|[SN][JP]|[EI][TF]|[EI][JP]"
                            rf"|[EISNTFJP])(?![{_LETTER}0-9])")
_SHORT_WORDS = {"IT", "IP", "IS", "IN", "EP"}  # not SF, ES, ET: in this cafe they are mostly type talk ("SF 분들")
_WORD_BEFORE = re.compile(rf"([{_LETTER}]+)[\s,.:;!?\"-]*$")
_WORD_AFTER = re.compile(rf"^[\s,.:;!?\"-]*([{_LETTER}]+)")
_CONTRACTION_AFTER = re.compile(r"^['’](?:m|d|ll|ve|re|s)(?![A-Za-z])", re.IGNORECASE)  # I'm, I'd, I'll
_MBTI_LIKE = re.compile(r"[EISNTFJPX]{1,4}s?")  # a neighbour that is itself type talk ("ST, NT")
_HANGUL = re.compile(r"^[\uac00-\ud7a3]")


def _is_english_word(word: str | None) -> bool:
    """A neighbour that makes a capital English, not type talk ("mbti SJ 유형", "MBTI T성향" are type talk)."""
    return word is not None and len(word) >= 2 and not _MBTI_LIKE.fullmatch(word) and word.lower() != "mbti"


def _mask_short(match: re.Match) -> str:
    token, text = match.group(0), match.string
    before, after = text[max(0, match.start() - 40):match.start()], text[match.end():match.end() + 40]
    if token in _SHORT_WORDS and not _HANGUL.match(after):
        return token
    word_before, word_after = _WORD_BEFORE.search(before), _WORD_AFTER.match(after)
    if (_CONTRACTION_AFTER.match(after) or _is_english_word(word_before and word_before.group(1))
            or _is_english_word(word_after and word_after.group(1))):
        return token  # part of an English phrase, not MBTI talk
    return MENTION_PLACEHOLDER
_REPEATED_PLACEHOLDER = re.compile(r"(?:\[TYPE\]\s*){2,}")


def mask_type_mentions(text: str) -> str:
    """Replace every explicit MBTI mention with MENTION_PLACEHOLDER."""
    text = _ascii_fold(text)
    for pattern in _MENTION_PATTERNS:
        text = pattern.sub(MENTION_PLACEHOLDER, text)
    text = _SHORT_MENTION.sub(_mask_short, text)
    return _REPEATED_PLACEHOLDER.sub(MENTION_PLACEHOLDER + " ", text).strip() if MENTION_PLACEHOLDER in text else text


def has_type_mention(text: str) -> bool:
    return mask_type_mentions(text) != _ascii_fold(text)

