"""Fill-mask: how the MBTI-conditioned masked LM (MFT phase 2) fills one [MASK] for four types."""
import streamlit as st

from mbti_core.app_support import (
    DEFAULT_FILL_TYPES, FILL_MASK_EXAMPLE, check_masked, filled_sentence, insert_mask, percent, unique_tokens,
)
from mbti_core.types import TYPES
from pages.common import get_predictor, show_notices, timed

if "fill_text" not in st.session_state:
    st.session_state["fill_text"] = FILL_MASK_EXAMPLE


def _insert_mask() -> None:
    st.session_state["fill_text"] = insert_mask(st.session_state.get("fill_text"))


def _example() -> None:
    st.session_state["fill_text"] = FILL_MASK_EXAMPLE


st.title(":material/extension: 유형별 빈칸 채우기 · Fill-mask by type")
st.caption("MFT 2단계에서 학습한 'MBTI 조건부 마스크 언어 모델'이 같은 문장의 [MASK]를 유형마다 어떻게 채우는지 봐요. "
           "한 유형에만 나온 단어는 강조되고, 아래에는 유형이 확률을 올린 단어가 나와요. / The MBTI-conditioned masked "
           "LM of MFT phase 2 fills the same [MASK] for each type; words that only one type proposes are "
           "highlighted, and below are the words each type makes more likely.")
text = st.text_area("문장 · Sentence ([MASK] 하나 / exactly one [MASK])", key="fill_text", height=100)
buttons = st.columns([1.3, 1, 3])
buttons[0].button("[MASK] 넣기 · Insert [MASK]", key="insert_mask", on_click=_insert_mask)
buttons[1].button("예시 문장 · Example", key="fill_example", on_click=_example)
pickers = st.columns(4)
chosen = [
    column.selectbox(f"유형 {i + 1} · Type {i + 1}", TYPES, index=TYPES.index(default), key=f"fill_type_{i}")
    for i, (column, default) in enumerate(zip(pickers, DEFAULT_FILL_TYPES))
]
top_k = st.slider("후보 수 · Top-k", min_value=1, max_value=15, value=5, key="top_k")

types = list(dict.fromkeys(chosen))  # the same type picked twice is shown once
if len(types) < len(chosen):
    st.info("같은 유형을 여러 번 골랐어요 — 한 번만 보여요. / A type was picked more than once; it is shown once.")
checked = check_masked(text)
if not checked.ok:
    st.warning(checked.error)
else:
    show_notices(checked.notices)
    predictor = get_predictor("mft")
    if predictor is not None:
        if not predictor.has_fill_mask:
            st.error("이 MFT 체크포인트에는 유형 조건부 MLM 헤드가 없어요. / This checkpoint has no type-conditioned "
                     "MLM head (phase 2), so it cannot fill [MASK].")
        else:
            try:
                fills, seconds = timed(predictor.fill_mask, checked.text, types, top_k)
            except ValueError as error:
                st.warning(str(error))
            else:
                if fills.truncated:
                    st.info("문장이 길어 모델 최대 길이에 맞춰 잘랐어요. / The sentence was cut to the model's maximum length.")
                unique = unique_tokens(fills)
                st.caption(f"{len(types)}개 유형 · {1000 * seconds:.0f} ms — 강조 = 이 유형에만 나온 단어 / "
                           "highlighted = proposed by this type only")
                for column, mbti in zip(st.columns(len(types)), types):
                    with column:
                        st.subheader(mbti)
                        lines = ["| # | 단어 · token | 확률 · prob |", "|---:|---|---:|"]
                        for rank, item in enumerate(fills[mbti], start=1):
                            token = item["token"].replace("|", "\\|")
                            shown = f":orange-background[**{token}**]" if item["token"] in unique[mbti] else token
                            lines.append(f"| {rank} | {shown} | {percent(item['prob'])} |")
                        st.markdown("\n".join(lines))
                        if fills[mbti]:
                            st.markdown(f"> {filled_sentence(checked.text, '**' + fills[mbti][0]['token'] + '**')}")

                # What the type embedding changes even when every type's most probable words are the same.
                raised = predictor.raised_words(checked.text, types, top_k)
                st.markdown("**유형이 올린 단어 · Words each type raises**")
                st.caption("16유형 평균보다 이 유형에서 확률이 가장 많이 오른 단어예요 (후보: 평균 확률 상위 200개; ×1.05 = "
                           "5% 더 높음). / The words whose probability this type raises most against the mean of all 16 "
                           "types (among the 200 most probable; ×1.05 = 5% higher).")
                for column, mbti in zip(st.columns(len(types)), types):
                    lines = [f"| {mbti} · 단어 · token | ×lift | 확률 · prob |", "|---|---:|---:|"]
                    lines += [f"| {item['token'].replace('|', chr(92) + '|')} | ×{item['lift']:.3f} | {percent(item['prob'])} |"
                              for item in raised[mbti]]
                    column.markdown("\n".join(lines))
