"""Probing: per-layer linear probes (macro-F1) for sentiment and each MBTI axis, per encoder."""
import pandas as pd
import streamlit as st

from mbti_core.study_figures import probing_heatmaps
from mbti_core.study_support import load_report, probing_noise, probing_reading, probing_rows

st.title(":material/layers: 층별 탐침 · Layer probing")
st.caption("각 층의 (고정된) 평균 은닉 상태로 로지스틱 회귀를 학습해 그 층이 무엇을 아는지 재요. / A logistic regression "
           "on each layer's frozen mean-pooled hidden states measures what the layer knows (macro-F1 on "
           "writer-disjoint MBTI and movie-disjoint sentiment test texts).")
loaded = load_report("probing.json")
if loaded.problem:
    st.info(loaded.problem)
elif not loaded.data.get("scores"):
    st.info("탐침 결과가 비어 있어요. / The probing report holds no scores; re-run `python -m mbti_core probe`.")
else:
    report = loaded.data
    reading = probing_reading(report)
    if reading:
        st.markdown(f"**{reading}**")
    noise = probing_noise(report)
    st.caption("우연 수준은 0.5예요. 테스트 글 수로 본 잡음 폭은 적어도 ±{0:.3f}: 이보다 작은 차이는 발견이 아니에요. / Chance is "
               "0.5; with this many test texts a macro-F1 moves by at least ±{0:.3f} by chance alone (95%), so smaller "
               "differences between cells are not findings.".format(noise))
    st.plotly_chart(probing_heatmaps(report), key="probing_heatmap", config={"displaylogo": False})
    st.dataframe(pd.DataFrame(probing_rows(report)), hide_index=True, key="probing_table")
    if report.get("missing"):
        st.caption("없는 인코더 · Not probed: " + "; ".join(f"{k} ({v})" for k, v in report["missing"].items()))
