"""Results: MFT vs FT on the writer-disjoint test split, beside the baselines and the study's own figures."""
import pandas as pd
import streamlit as st

from mbti_core.app_figures import (
    axis_accuracy, confusion_matrices, reliability_diagram, training_curves, writer_curve_figure,
)
from mbti_core.app_support import (
    MODE_LABELS, calibration_rows, comparison_sentence, load_reliability, load_results, load_writer_curve,
    macro_f1_note, metrics_rows, reports_dir, served_f1_line, study_rows, training_note,
)

st.title(":material/bar_chart: 결과 · Results: MFT vs FT")
results = load_results()
if not results.metrics and not results.report:
    st.warning("학습된 모델의 결과가 아직 없어요. / No trained-model results yet: run `python train.py mft` and "
               "`python train.py ft` (they write `checkpoints/<mode>/metrics.json`, `confusion.json`, `curves.json` "
               f"and `{reports_dir() / 'mft_vs_ft.json'}`). The baselines and the study's figures are shown below.")
controls = st.columns(2)
level = controls[0].segmented_control("수준 · Level", ["comment", "writer"], default="comment", required=True,
                                      key="level", format_func=lambda v: {"comment": "댓글 하나 · per comment",
                                                                          "writer": "작성자별 · per writer"}[v])
tuned = controls[1].toggle("검증셋으로 고른 임계값 · validation-tuned thresholds", key="tuned")

st.subheader("지표 · Metrics (test split, seeds mean ± std)")
rows = metrics_rows(results, level, tuned)
if rows:
    st.dataframe(pd.DataFrame(rows), hide_index=True, key="metrics_table")
else:
    st.info("표시할 지표가 없어요. / No metrics to show.")
sentence = comparison_sentence(results, level, tuned)
if sentence:
    st.markdown(f"**{sentence}**")
note = training_note(results)
if note:
    st.caption(note)
why = macro_f1_note(results, level)
if why:
    st.caption(why)

st.subheader("연구 원문 수치와 비교 · The study's published figures beside ours")
st.caption("'theirs' = 원 연구가 자기 데이터·분할로 보고한 수치 (직접 비교 불가). / 'theirs' = the student study's "
           "numbers on its own data and split — not directly comparable: our split is writer-disjoint and type "
           "mentions are masked. 원 연구의 지표 = 네 축 정확도의 평균. 원 연구는 MFT에만 검증으로 조정한 임계값을 썼어요; "
           "'tuned thresholds'를 끄면 우리 두 모델 모두 0.5예요. / Their metric is the mean of the four per-axis "
           "accuracies; only their MFT got validation-tuned thresholds, while with 'tuned thresholds' off both of "
           "ours use 0.5. 연구의 손실값은 다른 데이터의 다른 손실이라 옆에 두지 않았어요. / Their loss is a different loss on "
           "different data, so it is not set beside ours.")
st.dataframe(pd.DataFrame(study_rows(results, level, tuned)), hide_index=True, key="study_table")

st.subheader("축별 정확도 · Per-axis accuracy")
st.plotly_chart(axis_accuracy(results, level, tuned), key="axis_accuracy", config={"displaylogo": False})

st.subheader("메시지가 몇 개 있어야 할까요? · How many messages do I need?")
curve = load_writer_curve()
if curve:
    st.caption("학습에 없던 작성자마다 메시지 k개를 무작위로 골라 앱처럼 한 예측으로 모았을 때(축별 log-odds 평균 → 보정, "
               "50% 기준). 점선 = TF-IDF + LR. / k random comments per held-out writer, pooled into one prediction as "
               "the app does (mean axis log-odds, then the pooled calibration, 50%); dashed = TF-IDF + LR. Writers with "
               "fewer than k comments drop out, so the right end rests on fewer writers (hover shows how many).")
    st.plotly_chart(writer_curve_figure(curve), key="writer_curve", config={"displaylogo": False})
else:
    st.info("reports/reliability.json이 없어요 (`python -m mbti_core reliability`). / No measured curve yet.")

st.subheader("60%는 정말 60%일까요? · Is 60% really 60%?")
calibrated = {mode: load_reliability(mode) for mode in ("mft", "ft")}
calibrated = {mode: entry for mode, entry in calibrated.items() if entry and entry.get("calibration")}
if calibrated:
    st.markdown("**앱이 보여 주는 확률은 보정한 확률이고, 50%를 넘는 글자가 유형이 돼요.** 점이 점선(대각선)에 가까울수록 "
                "보여 준 확률이 실제 비율과 맞아요. / The app shows calibrated probabilities and the letter above 50% "
                "is the type: the closer the dots to the dotted diagonal, the more a shown percentage means what it says.")
    shown = st.segmented_control("모델 · Model", list(calibrated), default=next(iter(calibrated)), required=True,
                                 key="calibration_model", format_func=lambda m: MODE_LABELS[m])
    st.plotly_chart(reliability_diagram(calibrated[shown]), key="reliability_diagram", config={"displaylogo": False})
    st.dataframe(pd.DataFrame(calibration_rows(calibrated[shown])), hide_index=True, key="calibration_table")
    served_line = served_f1_line(calibrated[shown])
    if served_line:
        st.caption(served_line)
    st.caption("ECE = 10칸으로 나눈 확률마다 |보여 준 확률 − 실제 비율|의 가중 평균 (0이 완벽). 괄호 = 테스트 작성자를 다시 뽑아 "
               "잰 95% 구간: 글을 아주 많이 쓴 몇 사람이 댓글 수준 값을 크게 움직여요. / ECE = the size-weighted mean of "
               "|shown − observed| over 10 bins (0 is perfect); brackets: 95% intervals from resampling test writers, as a "
               "few prolific writers move the per-comment figure a lot. Calibration: scale from validation, each letter's "
               "base rate from the training split (the test split is never used to fit it).")
else:
    st.info("보정 측정값이 없어요 (`python -m mbti_core reliability`). / No calibration measured yet.")

st.subheader("혼동 행렬 · Confusion matrices (shipped seed, rows = true)")
if any(level in matrices for matrices in results.confusion.values()):
    st.plotly_chart(confusion_matrices(results.confusion, level), key="confusion", config={"displaylogo": False})
else:
    st.info("confusion.json이 없어요. / No confusion.json beside the checkpoints yet.")

st.subheader("학습 곡선 · Training curves")
if results.curves:
    st.plotly_chart(training_curves(results.curves), key="curves", config={"displaylogo": False})
else:
    st.info("curves.json이 없어요. / No curves.json beside the checkpoints yet.")

if results.problems:
    with st.expander(f"빠진 파일 · Missing or unreadable files ({len(results.problems)})"):
        for problem in results.problems:
            st.text(problem)
