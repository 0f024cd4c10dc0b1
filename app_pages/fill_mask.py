"""Fill-mask: how the MBTI-conditioned masked LM (MFT phase 2) fills one [MASK] for four types, for all 16 types
(a 4x4 grid), and the reverse question (a word of a sentence -> which types make it likely)."""
import streamlit as st

from mbti_core.app_support import (
    DEFAULT_FILL_TYPES, FILL_MASK_EXAMPLE, FILL_MASK_EXAMPLES, TYPE_EFFECT_MISSING, TYPE_SOURCE_NOTE, WORD_QUERY_EXAMPLE, check_masked,
    check_word_query, fill_table_markdown, filled_sentence, insert_mask, load_type_effect, percent, type_effect_caption,
    type_grid_markdown, type_share_rows, unique_tokens, word_query_error,
)
from mbti_core.types import TYPES
from app_pages.common import get_predictor, show_notices, timed

VIEWS = {"four": "네 유형 비교 · Four types", "grid": "16유형 격자 · All 16 types", "word": "단어 → 유형 · Word → types"}
HIGHLIGHT = ":orange-background[**{}**]"

for key, default in (("fill_text", FILL_MASK_EXAMPLE), ("word_text", WORD_QUERY_EXAMPLE[0]),
                     ("word_word", WORD_QUERY_EXAMPLE[1])):
    if key not in st.session_state:
        st.session_state[key] = default


def _insert_mask() -> None:
    st.session_state["fill_text"] = insert_mask(st.session_state.get("fill_text"))


def _example() -> None:
    """The next example sentence (the first one when the box holds something else)."""
    current = st.session_state.get("fill_text")
    following = (FILL_MASK_EXAMPLES.index(current) + 1) % len(FILL_MASK_EXAMPLES) if current in FILL_MASK_EXAMPLES else 0
    st.session_state["fill_text"] = FILL_MASK_EXAMPLES[following]


def _word_example() -> None:
    st.session_state["word_text"], st.session_state["word_word"] = WORD_QUERY_EXAMPLE


def _checked_model(checked):
    """After the input checks: the MFT predictor when the input is fine and the model can fill [MASK], else None
    after saying why."""
    if not checked.ok:
        st.warning(checked.error)
        return None
    show_notices(checked.notices)
    predictor = get_predictor("mft")
    if predictor is not None and not predictor.has_fill_mask:
        st.error("이 MFT 체크포인트에는 유형 조건부 MLM 헤드가 없어요. / This checkpoint has no type-conditioned "
                 "MLM head (phase 2), so it cannot fill [MASK].")
        return None
    return predictor


def _type_blocks(n: int, width: int = 190) -> list:
    """``n`` blocks of a fixed width, side by side in pairs: four in a row on a wide screen, two rows of two on a
    narrow one, one column on a phone (four equal st.columns would squeeze the tables until they overlap)."""
    row = st.container(horizontal=True, wrap=True, gap="small")
    blocks = []
    for start in range(0, n, 2):
        pair = row.container(horizontal=True, wrap=True, gap="small", width="content")
        blocks += [pair.container(width=width) for _ in range(min(2, n - start))]
    return blocks


def _masked_sentence():
    """The [MASK] sentence input with its two buttons; returns the text as typed."""
    text = st.text_area("문장 · Sentence ([MASK] 하나 / exactly one [MASK])", key="fill_text", height=100,
                        persist_state="page")
    with st.container(horizontal=True):  # buttons as wide as their labels, wrapping on narrow screens
        st.button("[MASK] 넣기 · Insert [MASK]", key="insert_mask", on_click=_insert_mask)
        st.button("예시 문장 · Example", key="fill_example", on_click=_example)
    return text


def four_types() -> None:
    text = _masked_sentence()
    pickers = st.columns(4)
    chosen = [
        column.selectbox(f"유형 {i + 1} · Type {i + 1}", TYPES, index=TYPES.index(default), key=f"fill_type_{i}",
                         persist_state="page")
        for i, (column, default) in enumerate(zip(pickers, DEFAULT_FILL_TYPES))
    ]
    top_k = st.slider("후보 수 · Top-k", min_value=1, max_value=15, value=5, key="top_k", persist_state="page")
    types = list(dict.fromkeys(chosen))  # the same type picked twice is shown once
    if len(types) < len(chosen):
        st.info("같은 유형을 여러 번 골랐어요 — 한 번만 보여요. / A type was picked more than once; it is shown once.")
    checked = check_masked(text)
    predictor = _checked_model(checked)
    if predictor is None:
        return
    try:
        fills, seconds = timed(predictor.fill_mask, checked.text, types, top_k)
    except ValueError as error:
        st.warning(str(error))
        return
    if fills.truncated:
        st.info("문장이 길어 모델 최대 길이에 맞춰 잘랐어요. / The sentence was cut to the model's maximum length.")
    unique = unique_tokens(fills)
    st.caption(f"{len(types)}개 유형 · {1000 * seconds:.0f} ms — 강조 = 이 유형에만 나온 단어 / "
               "highlighted = proposed by this type only")
    for column, mbti in zip(_type_blocks(len(types)), types):
        with column:
            st.subheader(mbti)
            st.markdown(fill_table_markdown(fills[mbti], unique[mbti], HIGHLIGHT))
            if fills[mbti]:
                st.markdown(f"> {filled_sentence(checked.text, '**' + fills[mbti][0]['token'] + '**')}")

    # What the type embedding changes even when every type's most probable words are the same.
    raised = predictor.raised_words(checked.text, types, top_k)
    st.markdown("**유형이 올린 단어 · Words each type raises**")
    st.caption("16유형 평균보다 이 유형에서 확률이 가장 많이 오른 단어예요 (후보: 평균 확률 상위 200개; ×1.05 = "
               "5% 더 높음). / The words whose probability this type raises most against the mean of all 16 "
               "types (among the 200 most probable; ×1.05 = 5% higher).")
    for column, mbti in zip(_type_blocks(len(types), width=280), types):  # wider: Korean words must not break
        lines = [f"| {mbti} | ×lift | 확률 · prob |", "|---|---:|---:|"]
        lines += [f"| {item['token'].replace('|', chr(92) + '|')} | ×{item['lift']:.3f} | {percent(item['prob'])} |"
                  for item in raised[mbti]]
        column.markdown("\n".join(lines))


def all_types() -> None:
    text = _masked_sentence()
    checked = check_masked(text)
    predictor = _checked_model(checked)
    if predictor is None:
        return
    try:
        grid, seconds = timed(predictor.fill_grid, checked.text)
    except ValueError as error:
        st.warning(str(error))
        return
    if grid.truncated:
        st.info("문장이 길어 모델 최대 길이에 맞춰 잘랐어요. / The sentence was cut to the model's maximum length.")
    st.markdown("**16유형의 1위 단어 · Each type's top word**")
    st.caption(f"16개 유형 · {1000 * seconds:.0f} ms — 행 = 앞 두 글자, 열 = 뒤 두 글자; 칸 = 유형 · 1위 단어 · 확률. "
               "강조 = 이 유형만 1위로 고른 단어. / Rows = first two letters, columns = last two; each cell = type · "
               "top word · probability; highlighted = no other type's top word.")
    st.markdown(type_grid_markdown(grid, HIGHLIGHT))


def word_to_types() -> None:
    st.caption("완성된 문장과 그 안의 단어 하나를 넣으면, 그 자리에 그 단어가 올 확률을 16유형마다 재서 가장 그럴듯한 유형부터 "
               "보여 줘요. / Give a complete sentence and one word in it: the 16 types ranked by how likely each makes "
               "that word at its place.")
    text = st.text_area("완성된 문장 · Complete sentence ([MASK] 없이 / without [MASK])", key="word_text", height=80,
                        persist_state="page")
    with st.container(horizontal=True, vertical_alignment="bottom"):
        word = st.text_input("문장 속 단어 · A word of the sentence", key="word_word", persist_state="page", width=260)
        st.button("예시 · Example", key="word_example", on_click=_word_example)
    checked = check_word_query(text, word)
    predictor = _checked_model(checked)
    if predictor is None:
        return
    try:
        result, seconds = timed(predictor.types_for_word, checked.text, word)
    except ValueError as error:
        st.warning(word_query_error(error))
        return
    if result["truncated"]:
        st.info("문장이 길어 모델 최대 길이에 맞춰 잘랐어요. / The sentence was cut to the model's maximum length.")
    rows = type_share_rows(result)
    best = rows[0]
    st.markdown(f"**'{result['word']}'** → **{best['type']}** {best['share']:.1f}% "
                f"(우연 6.25%의 {best['vs_chance']:.2f}배 · {best['vs_chance']:.2f}× chance)")
    pieces = len(result["pieces"])
    st.caption(f"조각 {pieces}개 · {pieces} pieces: {' '.join(result['pieces'])} — 모델이 본 문장 · what the model saw: "
               f"{result['masked']} ([MASK] = 빈칸 {pieces}칸 · {pieces} mask tokens) · {1000 * seconds:.0f} ms")
    top = max(row["share"] for row in rows)
    st.dataframe(
        rows, hide_index=True, height=35 * (len(rows) + 1) + 3, key="word_types",
        column_config={
            "rank": st.column_config.NumberColumn("#", width="small"),
            "type": st.column_config.TextColumn("유형 · type", width="small"),
            "share": st.column_config.ProgressColumn("비율 · share", format="%.1f%%", min_value=0.0, max_value=top),
            "vs_chance": st.column_config.NumberColumn("× 우연 · × chance", format="×%.2f"),
            "logprob": st.column_config.NumberColumn("log p", format="%.2f",
                                                     help="log p(단어 | 유형) · log p(word | type), nats"),
        },
    )
    st.caption("비율 = 그 유형일 때 이 단어의 확률을 16유형 합이 100%가 되게 나눈 값이에요 (유형이 아무 차이를 만들지 않으면 모두 "
               "1/16 = 6.25%). 막대 길이는 1위 유형 대비예요. / Share = p(word | type) normalised over the 16 types (1/16 = "
               "6.25% each if the type made no difference); bars are relative to the top type.")


st.title(":material/extension: 유형별 빈칸 채우기 · Fill-mask by type")
st.caption("MFT 2단계에서 학습한 'MBTI 조건부 마스크 언어 모델'이 같은 문장의 [MASK]를 유형마다 어떻게 채우는지 봐요: 네 유형 "
           "비교, 16유형 격자, 그리고 거꾸로 단어에서 유형 찾기. / The MBTI-conditioned masked LM of MFT phase 2 fills "
           "the same [MASK] for each type: four types side by side, all 16 as a grid, and the reverse question (a "
           "word -> the types that make it likely).")
with st.container(border=True):
    effect = load_type_effect()
    if effect is None:
        st.caption(TYPE_EFFECT_MISSING)
        korean, english = st.columns(2)
    else:
        korean, english = st.columns(2)
        for column, line in zip((korean, english), type_effect_caption(effect)):
            column.caption(line)
    for column, line in zip((korean, english), TYPE_SOURCE_NOTE):  # Korean left, English right
        column.caption(line)
view = st.segmented_control("보기 · View", list(VIEWS), format_func=VIEWS.get, default="four", required=True,
                            key="fill_view")
{"four": four_types, "grid": all_types, "word": word_to_types}[view or "four"]()
