"""Predict: a chat message (or a pasted chat log of one person) -> MBTI type with the four axis bars."""
import pandas as pd
import streamlit as st

from mbti_core.app_figures import explanation_html, message_breakdown
from mbti_core.app_support import (
    EXAMPLES, chat_log_curve_note, check_chat_log, check_message, load_reliability, load_writer_curve, parse_chat_log,
    percent, short_message_note,
)
from app_pages.common import explain, get_predictor, show_notices, show_prediction, timed

EXAMPLE_LOG = """2024. 1. 3. 오후 3:12, 민지 : 내일 발표 자료 다 만들었어?
2024. 1. 3. 오후 3:13, 서준 : 아직 ㅋㅋ 오늘 밤에 몰아서 하려고
2024. 1. 3. 오후 3:13, 민지 : 나는 어제 미리 끝내 놨어. 순서도 정리해 둘게
2024. 1. 3. 오후 3:14, 민지 : 사진
2024. 1. 3. 오후 3:15, 민지 : 9시에 만나서 한 번 맞춰 보자. 늦으면 안 돼!"""
CHOICES = {"MFT": ("mft",), "FT": ("ft",), "MFT + FT": ("mft", "ft")}


def _set_message(text: str) -> None:
    st.session_state["message"] = text


def _set_log(text: str) -> None:
    st.session_state["chat_log"] = text


st.title(":material/chat: 유형 예측 · Predict")  # one line on a phone
st.caption("메시지로 MBTI 네 축을 예측해요. 재미로 보세요 — 진단이 아니에요. / The four MBTI axes from a chat message: for fun "
           "and teaching, not a diagnosis.")
left, right = st.columns([1, 1])
with left:
    choice = st.segmented_control("모델 · Model", list(CHOICES), default="MFT", required=True, key="model_choice")
with right:
    input_mode = st.segmented_control("입력 · Input", ["한 메시지 · Message", "대화 로그 · Chat log"],
                                      default="한 메시지 · Message", required=True, key="input_mode")
modes = CHOICES[choice]


def _results(run):
    """Run ``run(predictor)`` for each chosen model, side by side when both; shows errors as messages."""
    columns = st.columns(len(modes)) if len(modes) > 1 else [st.container()]
    outputs = {}
    for column, mode in zip(columns, modes):
        with column:
            predictor = get_predictor(mode)
            if predictor is None:
                continue
            try:
                outputs[mode] = run(predictor, mode)
            except ValueError as error:  # the Predictor's own input checks
                st.warning(str(error))
    return outputs


@st.fragment
def message_mode() -> None:
    """One message: a fragment, so that a new message reruns only this part of the page (less to send and
    redraw per prediction; the model and input switches above keep their state)."""
    with st.bottom:  # pinned under the page, as in a chat app (a bare chat_input in a fragment would sit inline)
        submitted = st.chat_input("메시지를 입력하세요 · Type a chat message", key="chat")
    if submitted is not None:
        st.session_state["message"] = submitted
    message = st.session_state.get("message")
    if message is None:
        st.info("아래 입력창에 메시지를 쓰거나 예시를 눌러 보세요. / Type a message below or click an example.")
    else:
        with st.chat_message("user"):
            st.text(message if len(message) <= 600 else message[:600] + " …")
        checked = check_message(message)
        with st.chat_message("assistant"):
            if not checked.ok:
                st.warning(checked.error)
            else:
                def one(predictor, mode):
                    results, seconds = timed(predictor.predict, [checked.text])
                    show_prediction(results[0], mode, key=f"msg-{mode}", seconds=seconds,
                                    predictor=predictor)
                    # Lazy: the attributions are computed only while the expander is open.
                    with st.expander("왜 이 유형? / Why this type?", key=f"why-{mode}", on_change="rerun") as why:
                        if why.open:
                            st.markdown(explanation_html(explain(predictor, checked.text)), unsafe_allow_html=True)
                    return results[0]

                _results(one)
                # After the result, so that on a phone the type and the bars come first, without scrolling.
                short = short_message_note(checked.text, load_reliability(modes[0]))
                show_notices(checked.notices + ([short] if short else []))
    examples()


def examples() -> None:
    """The example messages, below the result (each says the letter it was written for)."""
    st.markdown("**예시 메시지 · Examples** (눌러서 넣기 / click to use)")
    example_columns = st.columns(len(EXAMPLES))
    for index, (column, example) in enumerate(zip(example_columns, EXAMPLES)):
        text = example.text
        column.button(text if len(text) <= 22 else text[:21] + "…", key=f"example_{index}", on_click=_set_message,
                      args=(text,), width="stretch",
                      help=f"{text}\n\n쓴 의도 · written as: {example.letter} ({example.persona})")


if input_mode.startswith("한 메시지"):
    message_mode()
else:
    st.markdown("한 사람의 메시지를 한 줄에 하나씩, 또는 카카오톡 대화 내보내기(.txt) 내용을 붙여 넣으세요. "
                "여러 메시지를 모아 하나의 예측을 내요 (축별 log-odds 평균, 메시지가 많을수록 더 확신). / Paste one person's "
                "messages, one per line, or a KakaoTalk export: they are pooled into one prediction (the mean axis "
                "log-odds, counted more as messages add up).")
    st.button("예시 대화 넣기 · Example chat log", key="example_log", on_click=_set_log, args=(EXAMPLE_LOG,))
    raw = st.text_area("대화 로그 · Chat log", key="chat_log", height=200,
                       placeholder="2024. 1. 3. 오후 3:12, 홍길동 : 메시지\n[홍길동] [오후 3:12] 메시지\n또는 한 줄에 한 메시지")
    if not (raw or "").strip():
        if raw:  # whitespace only
            st.warning("분석할 메시지가 없어요 — 빈 칸이에요. / Nothing to analyse: the log is blank.")
        else:
            st.info("대화를 붙여 넣으면 분석해요. / Paste a chat log to analyse it.")
    else:
        log = parse_chat_log(raw)
        speaker = None
        if log.speakers:
            ranked = [name for name, _ in log.speakers.most_common()]
            speaker = st.selectbox("누구의 메시지? · Whose messages?", ranked, key="speaker",
                                   format_func=lambda name: f"{name} ({log.speakers[name]}개)")
        texts, checked = check_chat_log(log, speaker)
        show_notices(checked.notices)
        if not checked.ok:
            st.warning(checked.error)
        else:
            plural = "message" if len(texts) == 1 else "messages"
            st.caption(f"{len(texts)}개 메시지 · {len(texts)} {plural} "
                       f"({'KakaoTalk' if log.format == 'kakaotalk' else 'one per line'})")

            def person(predictor, mode):
                result, seconds = timed(predictor.predict_person, texts)
                show_prediction(result, mode, key=f"log-{mode}", seconds=seconds,
                                predictor=predictor, pooled=True)
                where = chat_log_curve_note(len(texts), load_writer_curve(), mode)
                if where:
                    st.caption(where)
                st.markdown("**메시지별 · Per message**")
                st.plotly_chart(message_breakdown(result["messages"]), key=f"log-{mode}-breakdown",
                                config={"displaylogo": False})
                st.dataframe(pd.DataFrame([
                    {"message": m["text"], "type": m["type"],
                     **{f"P({axis[0]})": percent(p) for axis, p in m["axes"].items()}}
                    for m in result["messages"]
                ]), hide_index=True, key=f"log-{mode}-table")
                return result

            _results(person)
