"""What the Streamlit app needs besides widgets: where models and reports live, input checks, chat-log parsing,
fill-mask post-processing and the results tables. No Streamlit here (pages stay thin; this is unit-testable).

Every check returns a ``Checked`` (the text to use, notices to show, or an error to show instead of a result),
so bad input becomes a message in the page, never a traceback.
"""
from __future__ import annotations

import json
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from mbti_core import settings
from mbti_core.encoding import MASK
from mbti_core.predictor_base import DEFAULT_FILL_TYPES, STUDY_FILL_SENTENCE  # noqa: F401 (pages import them here)
from mbti_core.types import AXES, TYPES

MODES = ("mft", "ft")
MODE_LABELS = {"mft": "MFT", "ft": "FT"}
MAX_CHARS = 5000          # longer input is cut here (the model sees at most max_length tokens anyway)
MAX_LOG_MESSAGES = 500    # chat-log mode: the most recent messages beyond this are kept
# "Why this type?" explains at most this many characters: integrated gradients run the model 26 times over the
# text, so a long paste would hold a shared CPU (a public Space) for many seconds. Chat messages are far shorter.
EXPLAIN_MAX_CHARS = 200
EXPLAIN_NOTE = (f"설명(단어별 기여도)은 메시지의 앞 {EXPLAIN_MAX_CHARS}자까지만 계산해요. / Explanations cover the first "
                f"{EXPLAIN_MAX_CHARS} characters of a message.")
AXIS_LETTERS = {axis: (axis[0], axis[1]) for axis in AXES}
AXIS_TITLES = {"EI": "E ↔ I", "SN": "S ↔ N", "TF": "T ↔ F", "JP": "J ↔ P"}
LETTER_NAMES = {
    "E": "외향 Extraversion", "I": "내향 Introversion", "S": "감각 Sensing", "N": "직관 iNtuition",
    "T": "사고 Thinking", "F": "감정 Feeling", "J": "판단 Judging", "P": "인식 Perceiving",
}
@dataclass(frozen=True)
class Example:
    """An example message and what it was written to show: one letter of one axis, in a persona we chose (the
    project team wrote them; they are not anyone's real messages)."""

    text: str
    axis: str
    letter: str
    persona: str


EXAMPLES = (
    Example("내일 모임 시간 딱 지켜야 해. 늦으면 곤란하니까.", "JP", "J", "계획형 · a planner"),
    Example("갑자기 바다 보고 싶어졌어 ㅋㅋ 지금 출발할 사람?", "JP", "P", "즉흥형 · spontaneous"),
    Example("그 얘기 듣고 너무 속상했겠다 ㅠㅠ 괜찮아?", "TF", "F", "공감형 · empathetic"),
    Example("일단 원인부터 정리해 보자. 근거 없는 추측은 빼고.", "TF", "T", "분석형 · analytical"),
    Example("주말엔 집에서 혼자 책 읽으면서 쉬는 게 제일 좋아요", "EI", "I", "혼자 충전 · recharges alone"),
)
EXAMPLE_MESSAGES = tuple(example.text for example in EXAMPLES)


def example_agreement(predictor) -> list[dict]:
    """For every example: the letter it was written for, the letter the model shows on that axis (the one above
    50%, as the headline), and whether they agree. All examples, never a chosen few."""
    results = predictor.predict(list(EXAMPLE_MESSAGES))
    rows = []
    for example, result in zip(EXAMPLES, results):
        shown = result["type"][AXES.index(example.axis)]
        rows.append({"text": example.text, "written_as": example.letter, "persona": example.persona,
                     "model": shown, "agrees": shown == example.letter})
    return rows


def example_agreement_line(rows: list[dict]) -> str:
    """"The model agrees with 3 of the 5 examples: ✓ J · ✗ P ..." in Korean and English."""
    hits = sum(row["agrees"] for row in rows)
    marks = " · ".join(f"{'✓' if row['agrees'] else '✗'} {row['written_as']}→{row['model']}" for row in rows)
    return (f"예시 {len(rows)}개는 우리가 한 축의 성향을 드러내려고 쓴 문장이에요. 이 모델은 그중 {hits}개에서 같은 글자를 골랐어요"
            f" ({marks}). 예시가 몇 개뿐이라 측정이 아니라 보여 주기예요. / The {len(rows)} examples were written by us to show "
            f"one letter each; this model picks that letter for {hits} of {len(rows)} ({marks}, written as → shown). "
            "Five examples are a demonstration, not a measurement: the figures above are.")
# Examples whose top fills are grammatical for every type (checked on the shipped model: reports/type_effect.json
# -> columns). The study's sentence comes last: persona data masks content words, so its "미리미리 [MASK]야"
# (where only a verb stem fits) gets content words and reads oddly.
FILL_MASK_EXAMPLES = ("친구들이랑 만나면 [MASK] 얘기를 제일 많이 해.", "여행 갈 때는 [MASK] 가는 게 좋아.",
                      "오늘 하루는 정말 [MASK].", STUDY_FILL_SENTENCE)
FILL_MASK_EXAMPLE = FILL_MASK_EXAMPLES[0]
_MASK_PATTERN = re.compile(r"\[mask\]|<mask>", re.IGNORECASE)


# -- where things live ----------------------------------------------------------------------------------------
def model_source(mode: str) -> str:
    """A checkpoint folder or Hub id for ``mode``: ``MBTI_MFT_CHECKPOINT`` / ``MBTI_FT_CHECKPOINT`` if set
    (a folder or a Hub id), else ``<MBTI_CHECKPOINT_DIR or checkpoints/>/<mode>``."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    return settings.model_checkpoint(mode)


reports_dir = settings.reports_dir


def checkpoint_label(source: str) -> str:
    """How a page names a model's checkpoint without showing the server's folders: the path inside the project
    (``checkpoints/mft``), a Hub id as it is, or only the folder's name for a folder elsewhere."""
    path = Path(source).expanduser()
    try:
        return path.resolve().relative_to(settings.PROJECT_ROOT).as_posix()
    except ValueError:
        return f"{path.name} (MBTI_CHECKPOINT_DIR)" if path.is_absolute() or path.exists() else str(source)


def missing_model_message(mode: str, error: Exception) -> str:
    source = model_source(mode)
    return (
        f"{MODE_LABELS[mode]} 모델을 불러올 수 없어요 / The {MODE_LABELS[mode]} model could not be loaded: {error}\n\n"
        f"Expected a checkpoint at `{source}`. Train one with `python train.py {mode}` (it writes "
        f"`checkpoints/{mode}/`), or set `MBTI_CHECKPOINT_DIR` (folder holding `mft/` and `ft/`) or "
        f"`MBTI_{mode.upper()}_CHECKPOINT` (a folder or a Hugging Face Hub id)."
    )


# -- input checks ---------------------------------------------------------------------------------------------
@dataclass
class Checked:
    text: str = ""
    error: str | None = None                       # show this instead of a result
    notices: list[str] = field(default_factory=list)  # show these above the result

    @property
    def ok(self) -> bool:
        return self.error is None


_INVISIBLE_LETTERS = {"\u3164", "\u115f", "\u1160", "\uffa0"}  # Hangul fillers: category Lo, but blank


def _has_letters(text: str) -> bool:
    """True when the text holds a letter or digit (emoji, symbols, punctuation and blank fillers do not count)."""
    return any(unicodedata.category(ch)[0] in "LN" and ch not in _INVISIBLE_LETTERS for ch in text)


def _has_hangul(text: str) -> bool:
    return any(("\uac00" <= ch <= "\ud7a3" or "\u1100" <= ch <= "\u11ff" or "\u3130" <= ch <= "\u318f")
               and ch not in _INVISIBLE_LETTERS for ch in text)


_SURROGATES = re.compile("[\ud800-\udfff]")  # what bytes that are not UTF-8 become (argv, surrogateescape)
INVALID_TEXT_ERROR = ("글자 인코딩이 잘못된 부분이 있어요 (UTF-8이 아닌 바이트). UTF-8로 저장하거나 다시 붙여 넣어 주세요. / "
                      "The text holds invalid characters (bytes that are not UTF-8): save or paste it as UTF-8.")


def _invalid(text: str) -> bool:
    """True when the text holds unpaired surrogates, which no tokenizer can encode."""
    return _SURROGATES.search(text) is not None


def _truncate(text: str, checked: Checked, limit: int = MAX_CHARS) -> str:
    if len(text) > limit:
        checked.notices.append(
            f"입력이 너무 길어 앞의 {limit:,}자만 분석해요 ({len(text):,}자 입력). / "
            f"The text was cut to its first {limit:,} characters ({len(text):,} given)."
        )
        return text[:limit]
    return text


def _content_checks(text: str, checked: Checked) -> None:
    if not _has_letters(_MASK_PATTERN.sub("", text)):
        checked.error = ("분석할 글자가 없어요 — 이모지나 기호만으로는 유형을 짐작할 수 없어요. 문장을 입력해 주세요. / "
                         "There are no words to analyse (only emoji or symbols): type a sentence.")
    elif not _has_hangul(text):
        checked.notices.append("한국어가 아닌 글이에요. 모델은 한국어 채팅으로 학습되어 결과를 믿기 어려워요. / "
                               "This text is not Korean; the model was trained on Korean chat, so treat the result "
                               "with caution.")


def check_message(text: str | None, limit: int = MAX_CHARS) -> Checked:
    """A chat message for prediction: empty / whitespace / emoji-only -> error; too long -> cut with a notice;
    non-Korean -> a caution; type mentions -> a note that they are hidden from the model."""
    checked = Checked()
    if text is None or not str(text).strip():
        checked.error = "메시지를 입력해 주세요. / Type a message first (the input is empty)."
        return checked
    if _invalid(str(text)):
        checked.error = INVALID_TEXT_ERROR
        return checked
    text = _truncate(str(text).strip(), checked, limit)
    _content_checks(text, checked)
    if checked.ok:
        from mbti_core.data.mentions import has_type_mention

        if has_type_mention(text):
            checked.notices.append("MBTI 유형 언급은 [TYPE]으로 가린 뒤 판단해요 (학습 때와 같게). / "
                                   "Type mentions are replaced by [TYPE] before prediction, as in training.")
    checked.text = text
    return checked


def explain_text(text: str) -> str:
    """The part of a checked message that "Why this type?" explains: its first ``EXPLAIN_MAX_CHARS`` characters."""
    return text[:EXPLAIN_MAX_CHARS]


def count_masks(text: str) -> int:
    return len(_MASK_PATTERN.findall(text or ""))


def check_masked(text: str | None, limit: int = MAX_CHARS) -> Checked:
    """A sentence for fill-mask: it must hold exactly one [MASK] (after any cut) and some words."""
    checked = Checked()
    if text is None or not str(text).strip():
        checked.error = f"문장을 입력해 주세요 ({MASK} 하나 포함). / Type a sentence containing one {MASK}."
        return checked
    if _invalid(str(text)):
        checked.error = INVALID_TEXT_ERROR
        return checked
    text = _truncate(str(text).strip(), checked, limit)
    n = count_masks(text)
    if n == 0:
        checked.error = (f"문장에 {MASK}가 없어요. 'MASK 넣기' 버튼으로 빈칸을 넣어 주세요. / "
                         f"The sentence has no {MASK}: add one (the button inserts it).")
    elif n > 1:
        checked.error = (f"{MASK}는 하나만 넣어 주세요 ({n}개 있음). / "
                         f"Use exactly one {MASK} (found {n}).")
    elif not _has_letters(_MASK_PATTERN.sub("", text)):
        checked.error = (f"{MASK} 말고도 문맥이 될 단어가 필요해요. / "
                         f"Add some words around the {MASK}: they are the context the model fills it from.")
    else:
        _content_checks(text, checked)
    checked.text = text
    return checked


def insert_mask(text: str | None) -> str:
    """What the 'insert [MASK]' button does: append one [MASK] (with a space) to the sentence."""
    text = (text or "").rstrip()
    return f"{text} {MASK}" if text else MASK


# -- chat logs ------------------------------------------------------------------------------------------------
@dataclass
class ChatMessage:
    speaker: str | None
    text: str


@dataclass
class ChatLog:
    messages: list[ChatMessage]
    format: str                                   # "kakaotalk" | "lines"
    skipped: int = 0                              # system lines, media placeholders, empty lines

    @property
    def speakers(self) -> Counter:
        return Counter(m.speaker for m in self.messages if m.speaker)

    def texts(self, speaker: str | None = None) -> list[str]:
        return [m.text for m in self.messages if speaker is None or m.speaker == speaker]


_TIME = r"(?:오전|오후|AM|PM|am|pm)?\s*\d{1,2}:\d{2}(?:\s*(?:AM|PM|am|pm))?"
_DATE = r"\d{4}\s*[.년/-]\s*\d{1,2}\s*[.월/-]\s*\d{1,2}\s*[.일]?"
# Mobile export: "2024. 1. 3. 오후 3:12, 홍길동 : 메시지" (also "2024년 1월 3일 오후 3:12, 홍길동 : 메시지").
_KAKAO_MOBILE = re.compile(rf"^\s*{_DATE}\s*,?\s*{_TIME}\s*,\s*(?P<speaker>[^:]+?)\s*:\s?(?P<text>.*)$")
# PC export / copy: "[홍길동] [오후 3:12] 메시지".
_KAKAO_PC = re.compile(rf"^\s*\[(?P<speaker>[^\]]+)\]\s*\[{_TIME}\]\s?(?P<text>.*)$")
# Lines that carry no message: date separators, headers, "…님이 들어왔습니다." system lines.
_KAKAO_SYSTEM = (
    re.compile(rf"^\s*-*\s*{_DATE}\s*(?:[월화수목금토일]요일)?\s*-*\s*$"),
    re.compile(rf"^\s*{_DATE}\s*,?\s*{_TIME}\s*[:,]?\s*[^:]*$"),  # a dated line without "speaker : text"
    re.compile(r"^\s*-{3,}.*-{3,}\s*$"),
    re.compile(r"^.*님과 카카오톡 대화\s*$|^\s*저장한 날짜\s*:.*$|^.*Talk_.*\.txt\s*$"),
)
_MEDIA_PLACEHOLDERS = {"사진", "동영상", "이모티콘", "파일", "음성메시지", "삭제된 메시지입니다.", "사진 2장", "Photo",
                       "Emoticon", "Video", "This message was deleted."}


def parse_chat_log(text: str | None, max_messages: int = MAX_LOG_MESSAGES) -> ChatLog:
    """Pasted messages: a KakaoTalk export (mobile ``2024. 1. 3. 오후 3:12, 이름 : 메시지`` or PC ``[이름] [오후 3:12]
    메시지``; continuation lines join the message above; date lines, system lines and media placeholders are
    skipped) or, when no line looks like KakaoTalk, one message per non-empty line."""
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kakao = any(_KAKAO_MOBILE.match(line) or _KAKAO_PC.match(line) for line in lines)
    messages: list[ChatMessage] = []
    skipped = 0
    if not kakao:
        for line in lines:
            if line.strip():
                messages.append(ChatMessage(None, line.strip()))
            else:
                skipped += 1
    else:
        last: ChatMessage | None = None
        for line in lines:
            match = _KAKAO_MOBILE.match(line) or _KAKAO_PC.match(line)
            if match:
                body = match["text"].strip()
                if not body or body in _MEDIA_PLACEHOLDERS:
                    skipped += 1
                    last = None
                    continue
                last = ChatMessage(match["speaker"].strip(), body)
                messages.append(last)
            elif not line.strip() or any(p.match(line) for p in _KAKAO_SYSTEM):
                skipped += 1
                last = None if line.strip() else last
            elif last is not None:  # a multi-line message continues
                last.text = f"{last.text}\n{line.strip()}"
            else:
                skipped += 1
    if len(messages) > max_messages:
        skipped += len(messages) - max_messages
        messages = messages[-max_messages:]
    return ChatLog(messages, "kakaotalk" if kakao else "lines", skipped)


def check_chat_log(log: ChatLog, speaker: str | None = None) -> tuple[list[str], Checked]:
    """The messages of ``speaker`` (all when None) that can be analysed, and a Checked with notices/error."""
    checked = Checked()
    texts, dropped = [], 0
    for text in log.texts(speaker):
        one = check_message(text)
        if one.ok:
            texts.append(one.text)
            checked.notices.extend(n for n in one.notices if n not in checked.notices and "[TYPE]" not in n)
        else:
            dropped += 1
    if log.skipped or dropped:
        skipped = log.skipped + dropped
        checked.notices.append(f"{skipped}줄은 건너뛰었어요 (빈 줄, 날짜·시스템 줄, 사진/이모티콘, 글자 없는 메시지). / "
                               f"{skipped} {'line was' if skipped == 1 else 'lines were'} skipped (blank, date/system "
                               "lines, media, no words).")
    if not texts:
        checked.error = ("분석할 메시지가 없어요. 한 줄에 한 메시지씩 붙여 넣거나 카카오톡 대화 내보내기를 붙여 넣어 주세요. / "
                         "No messages to analyse: paste one message per line, or a KakaoTalk export.")
    checked.text = "\n".join(texts)
    return texts, checked


# -- prediction display ---------------------------------------------------------------------------------------
def axis_rows(result: dict) -> list[dict]:
    """Per axis: the two letters and their probabilities (P(first) from the Predictor, P(second) = 1 - it)."""
    rows = []
    for axis in AXES:
        first, second = AXIS_LETTERS[axis]
        p = float(result["axes"][axis])
        rows.append({"axis": axis, "title": AXIS_TITLES[axis], "first": first, "second": second,
                     "p_first": p, "p_second": 1.0 - p, "winner": first if p >= 0.5 else second})
    return rows


def top_types(result: dict, k: int = 16) -> list[tuple[str, float]]:
    ranked = sorted(result["types"].items(), key=lambda item: (-item[1], TYPES.index(item[0])))
    return ranked[:k]


def percent(p: float, digits: int = 1) -> str:
    return f"{100 * p:.{digits}f}%"


# -- fill-mask ------------------------------------------------------------------------------------------------
def unique_tokens(fills: dict[str, list[dict]]) -> dict[str, set[str]]:
    """For each type, the tokens in its top-k that no other shown type has in its top-k."""
    seen = Counter(token for items in fills.values() for token in {item["token"] for item in items})
    return {mbti: {item["token"] for item in items if seen[item["token"]] == 1} for mbti, items in fills.items()}


def fill_table_markdown(items: list[dict], unique: set[str], highlight: str = "**{}**") -> str:
    """One type's fills as a markdown table (rank, token, probability to 0.1%); tokens in ``unique`` (proposed by
    this type only) are written with ``highlight``."""
    lines = ["| # | 단어 · token | 확률 · prob |", "|---:|---|---:|"]
    for rank, item in enumerate(items, start=1):
        token = item["token"].replace("|", "\\|")
        shown = highlight.format(token) if item["token"] in unique else token
        lines.append(f"| {rank} | {shown} | {percent(item['prob'])} |")
    return "\n".join(lines)


def filled_sentence(text: str, token: str) -> str:
    """The sentence with its one [MASK] replaced by ``token``."""
    return _MASK_PATTERN.sub(lambda _: token, text, count=1)



GRID_ROWS = ("ES", "EN", "IS", "IN")      # the 4x4 type grid: first two letters down ...
GRID_COLUMNS = ("TJ", "TP", "FJ", "FP")   # ... last two letters across (every cell one type of TYPES)
GRID_HEADER = "| 16유형 · types |"


def type_grid_markdown(grid: dict[str, list[dict]], highlight: str = "**{}**") -> str:
    """``Predictor.fill_grid``'s top word of each type as a 4x4 markdown table (rows ES/EN/IS/IN, columns
    TJ/TP/FJ/FP); each cell ``TYPE · word · 12.3%``. A word that only one type has as its top word is written
    with ``highlight`` (a format string, e.g. Streamlit's ``":orange-background[**{}**]"``)."""
    top = {mbti: items[:1] for mbti, items in grid.items()}
    unique = unique_tokens(top)
    lines = [GRID_HEADER + "".join(f" {column} |" for column in GRID_COLUMNS), "|---|" + "---|" * len(GRID_COLUMNS)]
    for row in GRID_ROWS:
        cells = []
        for column in GRID_COLUMNS:
            mbti = row[0] + row[1] + column[0] + column[1]
            if not top.get(mbti):
                cells.append(f"{mbti} · —")
                continue
            item = top[mbti][0]
            token = _cell(item["token"])
            shown = highlight.format(token) if item["token"] in unique[mbti] else token
            cells.append(f"{mbti} · {shown} · {percent(item['prob'])}")
        lines.append(f"| **{row}** | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(token: str) -> str:
    """A token safe inside a markdown table cell."""
    return token.replace("\\", "\\\\").replace("|", "\\|")


# -- the reverse question: which types make a word likely ----------------------------------------------------
WORD_QUERY_EXAMPLE = ("할 일은 미리미리 해야 마음이 편하지 않겠어?", "미리미리")


def check_word_query(text: str | None, word: str | None, limit: int = MAX_CHARS) -> Checked:
    """A complete sentence and one word in it, for ``Predictor.types_for_word``: errors for an empty sentence or
    word, a word with spaces, a [MASK] in the sentence, a word that is not in the sentence; a notice when the
    sentence is cut. ``Checked.text`` is the sentence; the word is ``normalise_text(word)``."""
    from mbti_core.data.text import normalise_text

    checked = Checked()
    if text is None or not str(text).strip():
        checked.error = "문장을 입력해 주세요 ([MASK] 없이 완성된 문장). / Type a complete sentence (without [MASK])."
        return checked
    if _invalid(str(text)) or _invalid(str(word or "")):
        checked.error = INVALID_TEXT_ERROR
        return checked
    text = _truncate(str(text).strip(), checked, limit)
    word = normalise_text(word)
    if not word:
        checked.error = "문장 속 단어 하나를 입력해 주세요. / Type one word of the sentence."
    elif " " in word:
        checked.error = f"단어는 띄어쓰기 없이 하나만 넣어 주세요 ('{word}'). / Give one word, without spaces ('{word}')."
    elif count_masks(text):
        checked.error = (f"이 보기에서는 {MASK} 없이 완성된 문장을 넣어 주세요 (빈칸은 모델이 대신 만들어요). / "
                         f"Give the complete sentence here, without {MASK}: the word is masked for you.")
    elif word not in normalise_text(text):
        checked.error = (f"'{word}' — 문장에 없는 단어예요. 문장 속 단어를 그대로 넣어 주세요. / "
                         f"'{word}' does not occur in the sentence: copy a word from it.")
    else:
        _content_checks(text, checked)
    checked.text = text
    return checked


def word_query_error(error: Exception) -> str:
    """One line for a ``types_for_word`` ValueError (unknown pieces, too many pieces, ...)."""
    return f"이 단어는 점수를 매길 수 없어요 · This word cannot be scored: {error}"


def type_share_rows(result: dict) -> list[dict]:
    """``types_for_word``'s ranking as table rows: rank, type, share (%), x chance (share x 16), log p."""
    return [{"rank": rank, "type": item["type"], "share": 100 * item["share"],
             "vs_chance": item["share"] * len(TYPES), "logprob": item["logprob"]}
            for rank, item in enumerate(result["types"], start=1)]


def type_share_markdown(result: dict, bar_width: int = 20) -> str:
    """The same ranking as a markdown table with a text bar (relative to the top type) and shares to 0.1%."""
    rows = type_share_rows(result)
    top = max((row["share"] for row in rows), default=0.0) or 1.0
    lines = ["| # | 유형 · type | 비율 · share | × 우연 · × chance | log p | |", "|---:|---|---:|---:|---:|---|"]
    for row in rows:
        bar = "█" * max(1, round(bar_width * row["share"] / top))
        lines.append(f"| {row['rank']} | {row['type']} | {row['share']:.1f}% | ×{row['vs_chance']:.2f} | "
                     f"{row['logprob']:.2f} | {bar} |")
    return "\n".join(lines)


# -- how much the type changes the fill-mask (reports/type_effect.json) ---------------------------------------
TYPE_EFFECT_REPORT = "type_effect.json"
TYPE_SOURCE_NOTE = (
    "유형 지식은 어디서 왔나요? 모델은 연구에서 LLM(GPT-4o)이 각 유형의 페르소나로 쓴 문장으로 유형별 단어를 배웠어요. "
    "그래서 여기 보이는 차이는 그 유형에 대한 고정관념이지, 실제 그 유형인 사람들의 글쓰기가 아니에요. 실제 커뮤니티"
    "(네이버 카페) 글쓴이들의 단어 선택은 유형에 따라 훨씬 덜 달라요 (이 프로젝트의 카페 대조 실험).",
    "Where does the type knowledge come from? The model learned each type's words from the study's persona "
    "sentences written by an LLM (GPT-4o), so the differences shown here are stereotypes of each type, not how "
    "real people of that type write. Real community writers' word choice (the Naver cafe) differs far less by "
    "type (this project's cafe ablation).",
)
TYPE_EFFECT_MISSING = ("유형 효과 측정값(reports/type_effect.json)이 아직 없어 수치는 생략해요. / "
                       "The measured type effect (reports/type_effect.json) is not available, so no figures are shown.")


def _number(value, low: float = -math.inf, high: float = math.inf) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value) if low <= value <= high else None


def load_type_effect(path: str | Path | None = None) -> dict | None:
    """The shipped checkpoint's measured type effect (``shipped`` of ``reports/type_effect.json``, read now, so a
    rewritten report shows at once), or None when the file is missing, unreadable or lacks a needed figure
    (``rows``, ``logprob_gap``, ``true_type_top1``). Returns only checked numbers: rows, logprob_gap,
    logprob_gap_se (or None), true_type_top1, chance_top1 (1/16 unless the report says), baseline_top1 (or None)."""
    problems: list[str] = []
    data = _read_json(Path(path) if path else reports_dir() / TYPE_EFFECT_REPORT, problems)
    shipped = data.get("shipped")
    if not isinstance(shipped, dict):
        return None
    rows = shipped.get("rows")
    gap = _number(shipped.get("logprob_gap"), -50, 50)
    top1 = _number(shipped.get("true_type_top1"), 0, 1)
    if isinstance(rows, bool) or not isinstance(rows, int) or rows <= 0 or gap is None or top1 is None:
        return None
    chance = _number((shipped.get("chance") or {}).get("true_type_top1") if isinstance(shipped.get("chance"), dict)
                     else None, 0, 1)
    baseline = shipped.get("baseline_word_frequency")
    baseline_top1 = _number(baseline.get("true_type_top1"), 0, 1) if isinstance(baseline, dict) else None
    return {"rows": rows, "logprob_gap": gap, "logprob_gap_se": _number(shipped.get("logprob_gap_se"), 0, 50),
            "true_type_top1": top1, "chance_top1": chance if chance is not None else 1 / len(TYPES),
            "baseline_top1": baseline_top1}


def gap_ratio(logprob_gap: float) -> float:
    """exp(gap): how many times likelier the true word is under the true type than under the other types
    (a geometric-mean ratio, since the gap is a mean of log ratios)."""
    return math.exp(logprob_gap)


def _times(ratio: float) -> str:
    return f"{ratio:.3f}" if ratio < 1.1 else f"{ratio:.2f}"


def _chance(p: float) -> str:
    """1/16 -> '1/16 = 6.25%' (exact, so it does not read as 6.2% or 6.3%)."""
    n = round(1 / p) if p > 0 else 0
    return f"1/{n} = {100 * p:.2f}%" if n and abs(p * n - 1) < 1e-9 else percent(p)


def type_effect_caption(effect: dict) -> tuple[str, str]:
    """The measured type effect in words a student can read out: (Korean, English)."""
    gap, rows = effect["logprob_gap"], effect["rows"]
    ratio = gap_ratio(gap)
    se = effect.get("logprob_gap_se")
    gap_text = f"{gap:.3f}" + (f" ± {se:.3f}" if se is not None else "")
    if ratio >= 1:
        ko_ratio, en_ratio = f"e^{gap:.3f} ≈ {_times(ratio)}배 높아요", f"e^{gap:.3f} ≈ {_times(ratio)} times higher"
    else:
        ko_ratio = f"e^{gap:.3f} ≈ {_times(1 / ratio)}배 낮아요"
        en_ratio = f"e^{gap:.3f} ≈ {_times(1 / ratio)} times lower"
    chance, top1 = _chance(effect["chance_top1"]), percent(effect["true_type_top1"])
    baseline = effect.get("baseline_top1")
    ko = (f"유형이 예측을 얼마나 바꾸나요? 학습에 쓰지 않은 문장 {rows:,}개로 측정했어요. 실제 유형으로 조건을 주면 정답 단어의 "
          f"확률이 다른 15개 유형 평균보다 평균(기하평균) {ko_ratio} (로그 차이 {gap_text} nats). 16유형을 그 단어의 확률로 "
          f"줄 세우면 실제 유형이 1위인 문장은 {top1}예요 (우연 {chance}"
          + (f", 유형별 단어 빈도만 쓰면 {percent(baseline)}" if baseline is not None else "") + ").")
    en = (f"How much does the type change the prediction? Measured on {rows:,} held-out sentences: conditioning on "
          f"the writer's true type makes the true word on average (geometric mean) {en_ratio} than the mean of the "
          f"other 15 types (log gap {gap_text} nats). Ranking the 16 types by the word's probability puts the true "
          f"type first for {top1} of the sentences (chance {chance}"
          + (f"; per-type word counts alone: {percent(baseline)}" if baseline is not None else "") + ").")
    return ko, en


# -- results --------------------------------------------------------------------------------------------------
@dataclass
class Results:
    metrics: dict[str, dict] = field(default_factory=dict)     # mode -> checkpoint metrics.json
    confusion: dict[str, dict] = field(default_factory=dict)   # mode -> confusion.json {level: {axis: {...}}}
    curves: dict[str, dict] = field(default_factory=dict)      # mode -> curves.json {seedN: {phaseK: [rows]}}
    report: dict = field(default_factory=dict)                 # reports/mft_vs_ft.json
    baselines: dict = field(default_factory=dict)              # reports/baselines.json
    problems: list[str] = field(default_factory=list)          # what is missing or unreadable


def _read_json(path: Path, problems: list[str]) -> dict:
    if not path.is_file():
        problems.append(f"missing: {path}")
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        problems.append(f"unreadable: {path} ({type(error).__name__}: {error})")
        return {}
    if not isinstance(data, dict):
        problems.append(f"unexpected content (not a JSON object): {path}")
        return {}
    return data


def load_results() -> Results:
    """Everything the Results page shows: per checkpoint metrics/confusion/curves, the MFT-vs-FT report, the
    baselines. Missing or malformed files are listed in ``problems``; the rest still loads."""
    results = Results()
    for mode in MODES:
        folder = Path(model_source(mode))
        for name, target in (("metrics.json", results.metrics), ("confusion.json", results.confusion),
                             ("curves.json", results.curves)):
            data = _read_json(folder / name, results.problems)
            if data:
                target[mode] = data
    results.report = _read_json(reports_dir() / "mft_vs_ft.json", results.problems)
    baselines_problems: list[str] = []
    results.baselines = _read_json(reports_dir() / "baselines.json", baselines_problems)
    if not results.baselines:  # the training report carries a copy of the baselines
        results.baselines = results.report.get("baselines", {})
        if not results.baselines:
            results.problems.extend(baselines_problems)
    return results


def study_figures() -> dict:
    """The student study's published numbers (their data and split)."""
    from mbti_core.study_reference import STUDY_FIGURES

    return STUDY_FIGURES


def _level_key(level: str, tuned: bool) -> str:
    return ("test_tuned" if tuned else "test") + ("_writer_level" if level == "writer" else "")


def model_summary(results: Results, mode: str, level: str = "comment", tuned: bool = False) -> dict | None:
    """{metric: {"mean", "std"}} over seeds for ``mode`` (report first, else the checkpoint's metrics.json)."""
    key = _level_key(level, tuned)
    for source in (results.report.get(mode, {}), results.metrics.get(mode, {})):
        summary = (source.get("summary") or {}).get(key)
        if summary:
            return summary
    return None


def n_seeds(results: Results, mode: str) -> int:
    seeds = results.report.get(mode, {}).get("seeds") or results.metrics.get(mode, {}).get("seeds") or []
    return len(seeds)


def baseline_metrics(results: Results, name: str, level: str = "comment") -> dict | None:
    metrics = results.baselines.get(name)
    if not metrics:
        return None
    return metrics.get("writer_level") if level == "writer" else metrics


METRIC_COLUMNS = (
    ("EI_accuracy", "E/I acc"), ("SN_accuracy", "S/N acc"), ("TF_accuracy", "T/F acc"), ("JP_accuracy", "J/P acc"),
    ("mean_accuracy", "mean acc"), ("mean_macro_f1", "mean macro-F1"), ("type_accuracy", "16-type acc"),
    ("loss", "loss"),
)


def _flat(metrics: dict) -> dict[str, float]:
    """A baseline's axis_metrics dict -> the METRIC_COLUMNS keys."""
    flat = {key: metrics.get(key) for key, _ in METRIC_COLUMNS if key in metrics}
    for axis, values in (metrics.get("axes") or {}).items():
        flat[f"{axis}_accuracy"] = values.get("accuracy")
        flat[f"{axis}_macro_f1"] = values.get("macro_f1")
    return flat


def metrics_rows(results: Results, level: str = "comment", tuned: bool = False) -> list[dict]:
    """Rows of the MFT vs FT table: baselines (single runs), then our models as seed mean ± std."""
    rows = []
    for name, label in (("majority", "majority baseline"), ("tfidf_lr", "TF-IDF + LR baseline")):
        metrics = baseline_metrics(results, name, level)
        if metrics:
            flat = _flat(metrics)
            rows.append({"model": label, "seeds": 1, "n": metrics.get("n"),
                         **{column: _fmt(flat.get(key)) for key, column in METRIC_COLUMNS}})
    for mode in ("ft", "mft"):
        summary = model_summary(results, mode, level, tuned)
        if summary:
            rows.append({"model": f"{MODE_LABELS[mode]} (ours)", "seeds": n_seeds(results, mode), "n": _test_n(results, mode, level),
                         **{column: _fmt_mean_std(summary.get(key)) for key, column in METRIC_COLUMNS}})
    return rows


def _test_n(results: Results, mode: str, level: str) -> int | None:
    test = results.metrics.get(mode, {}).get("test") or {}
    return (test.get("writer_level") or {}).get("n") if level == "writer" else test.get("n")


def _fmt(value) -> str:
    return "" if value is None else f"{float(value):.3f}"


def _fmt_mean_std(value) -> str:
    if not value:
        return ""
    return f"{value['mean']:.3f} ± {value['std']:.3f}"


def study_rows(results: Results, level: str = "comment", tuned: bool = False) -> list[dict]:
    """The study's published accuracies beside ours, in %. Their loss is left out: it is a different loss on
    different data (not comparable with ours, so not set beside it)."""
    theirs = study_figures()
    ours = {mode: model_summary(results, mode, level, tuned) for mode in MODES}
    rows = []
    for key, label, our_key in (("accuracy", "accuracy (%)", "mean_accuracy"), ("EI", "E/I accuracy (%)", "EI_accuracy"),
                                ("SN", "S/N accuracy (%)", "SN_accuracy"), ("TF", "T/F accuracy (%)", "TF_accuracy"),
                                ("JP", "J/P accuracy (%)", "JP_accuracy")):
        row = {"metric": label, "study MFT (theirs)": f"{theirs['mft'][key]:.2f}",
               "study FT (theirs)": f"{theirs['ft'][key]:.2f}"}
        for mode in MODES:
            value = (ours[mode] or {}).get(our_key)
            row[f"our {MODE_LABELS[mode]}"] = f"{100 * value['mean']:.2f} ± {100 * value['std']:.2f}" if value else "—"
        rows.append(row)
    return rows


PHASE_DATA_LABELS = {"study": "the study's data", "ours": "our Korean descriptions", "study+ours": "the study's and ours",
                     "cafe-logodds": "cafe comments masked by log-odds"}


def macro_f1_note(results: Results, level: str = "comment") -> str | None:
    """Why the table ranks by macro-F1: always answering the commoner letter beats the models' accuracy on some axes
    while telling nothing about anyone (the majority baseline's own figures)."""
    majority = baseline_metrics(results, "majority", level)
    if not majority or not majority.get("axes"):
        return None
    axes = majority["axes"]
    strong = [a for a in AXES if a in axes and axes[a]["accuracy"] > 0.55]
    if not strong:
        return None
    shown = ", ".join(f"{a[0]}/{a[1]} {percent(axes[a]['accuracy'], 0)}" for a in strong)
    f1 = ", ".join(f"{axes[a]['macro_f1']:.2f}" for a in strong)
    return (f"왜 정확도가 아니라 macro-F1인가요? 늘 더 흔한 글자만 답해도 정확도는 {shown}로 모델보다 높을 수 있지만, 아무것도 "
            f"구별하지 못해요. macro-F1은 두 글자를 똑같이 셈하므로 그런 답은 {f1}에 그쳐요 (우연 0.5). / Why macro-F1 and not "
            f"accuracy? Always answering the commoner letter reaches {shown} accuracy, above the models on those axes, "
            f"while telling no one apart; macro-F1 counts both letters equally, and that answer gets {f1} (chance 0.5).")


def training_note(results: Results) -> str | None:
    """Where the compared models come from, read from the report: the data of phases 1 and 2, seeds, hardware."""
    mft, ft = results.report.get("mft") or {}, results.report.get("ft") or {}
    if not mft or not ft:
        return None
    config = mft.get("config") or {}
    devices = sorted({s.get("device") for s in mft.get("seeds", []) + ft.get("seeds", []) if s.get("device")})
    phase2 = config.get("masked_file") and "a given masked file" or PHASE_DATA_LABELS.get(config.get("phase2_data"), "?")
    return (f"MFT: phase 1 on {PHASE_DATA_LABELS.get(config.get('phase1_data'), '?')}, phase 2 on {phase2}, then "
            f"phase 3; FT: phase 3 alone with the same settings. Seeds {len(mft.get('seeds', []))} + "
            f"{len(ft.get('seeds', []))}" + (f"; trained on {', '.join(devices)}" if devices else "") + ".")


def comparison_sentence(results: Results, level: str = "comment", tuned: bool = False) -> str | None:
    """One plain sentence on whether MFT beats FT beyond the seed noise (from the report's comparison)."""
    entry = (results.report.get("comparison") or {}).get(_level_key(level, tuned))
    if not entry or "mean_macro_f1" not in entry:
        return None
    parts = []
    for metric, label in (("mean_macro_f1", "mean macro-F1"), ("mean_accuracy", "mean per-axis accuracy (the study's metric)")):
        if metric in entry:
            value = entry[metric]
            verdict = "beyond the seed noise" if value.get("beyond_noise") else "within the seed noise (no clear winner)"
            parts.append(f"MFT − FT {label} = {value['mft_minus_ft']:+.3f} (combined seed std "
                         f"{value['combined_std']:.3f}): {verdict}.")
    f1 = entry["mean_macro_f1"]
    korean = ("한 줄 요약: MFT와 FT의 차이는 시드 간 흔들림보다 커요 — " + ("MFT가 나아요." if f1["mft_minus_ft"] > 0 else "FT가 나아요.")
              if f1.get("beyond_noise") else "한 줄 요약: MFT와 FT의 차이는 시드 간 흔들림 안이에요 — 어느 쪽이 낫다고 할 수 없어요.")
    return korean + " / " + " ".join(parts) + " Rule: |difference of seed means| > 2 × combined std."


# -- how far to trust one prediction (reports/reliability.json, `python -m mbti_core reliability`) --------------
RELIABILITY_REPORT = "reliability.json"
CLOSE_CALL_LABEL = "애매함 · close call"


def load_reliability(mode: str, path: str | Path | None = None) -> dict | None:
    """The measured reliability of ``mode``'s checkpoint on held-out comments, or None when the report is missing,
    unreadable or was made for another checkpoint folder than the one served now."""
    data = _read_json(Path(path) if path else reports_dir() / RELIABILITY_REPORT, [])
    entry = (data.get("checkpoints") or {}).get(mode)
    if not isinstance(entry, dict) or not isinstance(entry.get("axes"), dict):
        return None
    served, measured = Path(model_source(mode)).expanduser(), Path(str(entry.get("source", ""))).expanduser()
    if served.resolve() != (settings.PROJECT_ROOT / measured).resolve() and served.resolve() != measured.resolve():
        return None  # the figures describe another model
    return {**entry, "split_n": data.get("n"), "writers": data.get("writers")}


def close_call_axes(result: dict, margin: float) -> list[str]:
    """The axes whose P(first letter) is within ``margin`` of 50% (the decision), as "E/I"-style names."""
    return [f"{axis[0]}/{axis[1]}" for axis in AXES if abs(float(result["axes"][axis]) - 0.5) < margin]


def close_call_note(result: dict, reliability: dict | None) -> str | None:
    """One line marking the close calls of a prediction, with how often such calls were right on held-out text."""
    if not reliability:
        return None
    margin = next(iter(reliability["axes"].values()))["close_calls"]["margin"]
    close = close_call_axes(result, margin)
    if not close:
        return None
    calls = [reliability["axes"][a.replace("/", "")]["close_calls"] for a in close]
    rates = [c["accuracy"] for c in calls if c["accuracy"] is not None]
    others = [c["accuracy_otherwise"] for c in calls if c["accuracy_otherwise"] is not None]

    def span(values: list[float]) -> str:
        low, high = percent(min(values), 0), percent(max(values), 0)
        return low if low == high else f"{low}–{high}"

    measured = (f" 미리 떼어 둔 글에서 이런 판정은 {span(rates)} 맞았어요 (동전 던지기 50%"
                + (f", 나머지 판정 {span(others)}" if others else "") + f"). / On held-out comments such calls were right "
                f"{span(rates)} of the time (a coin flip: 50%" + (f"; other calls {span(others)}" if others else "") + ")."
                if rates else "")
    return (f"{CLOSE_CALL_LABEL}: {', '.join(close)} — 결정선에서 {100 * margin:.0f}%p 안쪽이에요. / within "
            f"{100 * margin:.0f} points of the decision line.{measured}")


def reliability_lines(reliability: dict | None) -> list[str]:
    """The Predict page's box: per-axis accuracy, exact type against chance, and what a shown percentage means,
    all measured on held-out comments of writers the model never saw."""
    if not reliability:
        return []
    axes = reliability["axes"]
    accuracy = " · ".join(f"{axis[0]}/{axis[1]} {percent(values['accuracy'], 0)}" for axis, values in axes.items())
    lines = [
        f"미리 떼어 둔 {reliability.get('split_n') or reliability['n']:,}개 댓글(학습에 없던 작성자)에서 / On "
        f"{reliability['n']:,} held-out comments by writers the model never saw:",
        f"- 축별 정확도 · per-axis accuracy: {accuracy} (동전 던지기 50% · a coin flip is 50%)",
        f"- 16유형 정확히 맞춤 · exact type: {percent(reliability['type_accuracy'], 1)} (무작위 · chance "
        f"{percent(reliability['type_chance'], 2)}; 늘 가장 흔한 유형 {reliability['commonest_type']} · always the commonest "
        f"type {percent(reliability['commonest_type_share'], 1)})",
    ]
    bands = [band for values in axes.values() for band in values["by_shown_probability"]]
    for low, high in ((0.5, 0.6), (0.6, 0.7), (0.7, 1.0)):
        inside = [b for b in bands if b["low"] >= low - 1e-9 and b["high"] <= high + 1e-9 and b["n"]]
        n = sum(b["n"] for b in inside)
        if n:
            right = sum(b["accuracy"] * b["n"] for b in inside) / n
            lines.append(f"- 글자 옆 확률이 {100 * low:.0f}–{100 * high:.0f}%일 때 실제로 맞은 비율 · when the shown letter's "
                         f"probability is {100 * low:.0f}–{100 * high:.0f}%, it was right {percent(right, 0)} "
                         f"({n:,} axis predictions)")
    return lines


def short_message_note(text: str, reliability: dict | None) -> str | None:
    """For a message in the shortest measured length band: what held-out messages of that length scored."""
    if not reliability or not reliability.get("by_length"):
        return None
    bands = reliability["by_length"]
    first = bands[0]
    if first.get("high") is None or len(text) > first["high"]:
        return None
    longer = [b for b in bands[1:]]
    longer_acc = (sum(b["mean_axis_accuracy"] * b["n"] for b in longer) / sum(b["n"] for b in longer)) if longer else None
    return (f"짧은 메시지예요 ({len(text)}자). 미리 떼어 둔 {first['chars']}자 댓글에서 축별 정확도는 평균 "
            f"{percent(first['mean_axis_accuracy'], 0)}였어요" + (f" (더 긴 댓글 {percent(longer_acc, 0)})" if longer_acc else "")
            + f". / A short message ({len(text)} characters): on held-out comments of {first['chars']} characters the "
            f"axes were right {percent(first['mean_axis_accuracy'], 0)} of the time on average"
            + (f" (longer comments: {percent(longer_acc, 0)})" if longer_acc else "") + ".")


def calibration_rows(reliability: dict | None) -> list[dict]:
    """The Results page's calibration table: per axis, the expected calibration error of the shown (calibrated)
    probabilities and of the plain sigmoid, per comment and per writer, with 95% intervals over test writers."""
    block = (reliability or {}).get("calibration")
    if not isinstance(block, dict):
        return []

    def cell(entry: dict) -> str:
        low, high = entry["interval"]
        return f"{entry['ece']:.3f} ({low:.3f}–{high:.3f})"

    return [{"axis": f"{axis[0]}/{axis[1]}",
             "ECE per comment, shown": cell(block["comment"]["ece"][axis]),
             "ECE per comment, plain sigmoid": cell(block["comment"]["ece_uncalibrated"][axis]),
             "ECE per writer, shown": cell(block["writer"]["ece"][axis]),
             "ECE per writer, plain sigmoid": cell(block["writer"]["ece_uncalibrated"][axis])}
            for axis in AXES]


def served_f1_line(reliability: dict | None) -> str | None:
    """What the calibrated decision costs or gains in mean macro-F1 against the research thresholds (test split)."""
    scores = ((reliability or {}).get("calibration") or {}).get("mean_macro_f1")
    if not scores:
        return None
    served, research = scores["served"], scores["research_thresholds"]
    return (f"앱의 판정(보정한 확률의 50%)으로 평균 macro-F1은 댓글 {served['comment']:.3f}, 작성자 {served['writer']:.3f}예요; "
            f"검증셋으로 고른 임계값(연구용)으로는 {research['comment']:.3f}, {research['writer']:.3f}. / The app's decision "
            f"(50% of the calibrated probability) scores mean macro-F1 {served['comment']:.3f} per comment and "
            f"{served['writer']:.3f} per writer; the research thresholds tuned for macro-F1 on validation score "
            f"{research['comment']:.3f} and {research['writer']:.3f}. Calibrated probabilities lean to each axis' "
            f"commoner letter when the evidence is weak: honest percentages cost some macro-F1.")


def load_writer_curve(path: str | Path | None = None) -> dict | None:
    """``writer_curve`` of reports/reliability.json (how many messages a pooled prediction needs), or None."""
    data = _read_json(Path(path) if path else reports_dir() / RELIABILITY_REPORT, [])
    curve = data.get("writer_curve")
    if not isinstance(curve, dict) or not isinstance(curve.get("models"), dict) or not curve["models"]:
        return None
    return curve


def chat_log_curve_note(n_messages: int, curve: dict | None, mode: str) -> str | None:
    """Where a pasted log of ``n_messages`` sits on the measured curve: the nearest measured count at or below it."""
    if not curve or mode not in curve["models"]:
        return None
    points = {p["messages"]: p for p in curve["models"][mode]["points"]}
    below = [k for k in points if k <= n_messages]
    if not below:
        return None
    k = max(below)
    ours, one = points[k], points.get(min(points))
    tfidf = {p["messages"]: p for p in (curve["models"].get("tfidf_lr") or {}).get("points", [])}.get(k)
    versus = f", TF-IDF {tfidf['mean_macro_f1']:.2f}" if tfidf else ""
    return (f"메시지 {n_messages}개: 미리 떼어 둔 작성자에게서 메시지 {k}개를 모으면 평균 macro-F1 {ours['mean_macro_f1']:.2f}"
            f"{versus}, 16유형 {percent(ours['type_accuracy'], 0)} (메시지 1개: {one['mean_macro_f1']:.2f}; 우연 0.50). / "
            f"{n_messages} messages: pooling {k} messages of held-out writers gave mean macro-F1 "
            f"{ours['mean_macro_f1']:.2f}{versus}, exact type {percent(ours['type_accuracy'], 0)} (one message: "
            f"{one['mean_macro_f1']:.2f}; chance 0.50).")
