"""Sentiment: a movie review -> P(negative) / P(positive) bars; the NSMC scaling study beside the seed study's."""
import pandas as pd
import streamlit as st

from mbti_core import model_cache
from mbti_core.app_support import check_message
from mbti_core.study_figures import scaling_figure, sentiment_bars
from mbti_core.study_support import load_report, missing_sentiment_message, scaling_rows, sentiment_source
from app_pages.common import show_notices, timed

EXAMPLES = ("이 영화 엄청 재미있네요", "이 영화 엄청 재미없네요")


def _set_review(text: str) -> None:
    st.session_state["review"] = text


st.title(":material/movie: 영화 리뷰 감성 · Sentiment")
st.caption("네이버 영화 리뷰(NSMC)로 미세조정한 우리 인코더가 리뷰의 긍정·부정 확률을 보여줘요. / Our encoder "
           "fine-tuned on Naver movie reviews (NSMC) gives P(negative) and P(positive) for a review.")
columns = st.columns(len(EXAMPLES))
for index, (column, example) in enumerate(zip(columns, EXAMPLES)):
    column.button(example, key=f"sentiment_example_{index}", on_click=_set_review, args=(example,), width="stretch")
review = st.text_area("리뷰 · Review", key="review", placeholder=EXAMPLES[0], height=90)
if st.button("분석 · Analyse", type="primary", key="analyse_review") or review:
    checked = check_message(review)
    if not checked.ok:
        st.warning(checked.error)
    else:
        show_notices([n for n in checked.notices if "[TYPE]" not in n])
        try:
            predictor = model_cache.sentiment_predictor(sentiment_source())
        except (OSError, ValueError, RuntimeError) as error:
            st.error(missing_sentiment_message(error))
        else:
            try:
                probs, seconds = timed(predictor.predict, [checked.text])
            except ValueError as error:
                st.warning(str(error))
            else:
                negative, positive = probs[0]
                verdict = "긍정 · positive" if positive >= negative else "부정 · negative"
                st.markdown(f"**{verdict}** — {1000 * seconds:.0f} ms")
                st.plotly_chart(sentiment_bars(probs[0]), key="sentiment_bars", config={"displaylogo": False})

st.subheader("데이터 양에 따른 성능 · Scaling with training data")
st.caption("'theirs' = 원 연구(다국어 BERT-base, 자체 분할)의 보고 수치 — 직접 비교는 아니에요. / 'theirs' = the seed "
           "study's published figures (multilingual BERT-base, ~33× larger, its own random split); ours are on a "
           "movie-disjoint split, so the comparison is indicative.")
scaling = load_report("nsmc_scaling.json")
if scaling.problem:
    st.info(scaling.problem)
else:
    st.dataframe(pd.DataFrame(scaling_rows(scaling.data)), hide_index=True, key="scaling_table")
    st.plotly_chart(scaling_figure(scaling.data), key="scaling_plot", config={"displaylogo": False})
