"""Streamlit glue shared by the pages: model loading (``mbti_core.model_cache``) with a notice, and one prediction's
display."""
from __future__ import annotations

import time
from typing import TYPE_CHECKING

import streamlit as st

from mbti_core import model_cache
from mbti_core.app_figures import axis_bars, axis_bars_html, type_distribution
from mbti_core.app_support import (
    EXPLAIN_NOTE, MODE_LABELS, MODES, close_call_note, example_agreement, example_agreement_line, explain_text,
    load_reliability, missing_model_message,
    model_source, percent, reliability_lines,
)

if TYPE_CHECKING:  # imported for real in the loading thread: nothing heavy may delay the first page
    from mbti_core.predictor_base import BasePredictor


def start_warm_up() -> None:
    """Both models load in the background (once per process: app.py already started it at server start)."""
    model_cache.start_warm_up([model_source(mode) for mode in MODES])


def get_predictor(mode: str) -> BasePredictor | None:
    """The cached Predictor of ``mode`` ("mft" / "ft"), or None after showing why it is unavailable."""
    source = model_source(mode)
    try:
        with st.spinner(f"{MODE_LABELS[mode]} 모델을 불러오는 중… / Loading the {MODE_LABELS[mode]} model…"):
            return model_cache.predictor(source)
    # FileNotFoundError (no folder, offline hub id), CheckpointError (a ValueError: damaged or half-copied files,
    # pickled weights; mbti_core.checkpoint_files checks every folder before a backend reads it), RuntimeError
    # (weights that do not fit the configuration): a message in the page, never a traceback.
    except (OSError, ValueError, RuntimeError) as error:
        st.error(missing_model_message(mode, error))
        return None


def explain(predictor, text: str) -> dict:
    """``predictor.explain`` of the text's first ``EXPLAIN_MAX_CHARS`` characters (said on the page); the first call
    of an ONNX-served model loads its torch twin (gradients)."""
    st.caption(EXPLAIN_NOTE)
    text = explain_text(text)
    if getattr(predictor, "torch_loaded", True):
        return predictor.explain(text)
    with st.spinner("설명용 모델을 처음 불러오는 중이에요 (몇 초)… / Loading the explanation model (first time only, a few "
                    "seconds)…"):
        return predictor.explain(text)


def show_notices(notices: list[str]) -> None:
    for notice in notices:
        st.info(notice, icon="ℹ️")


def show_prediction(result: dict, mode: str, key: str, seconds: float | None = None,
                    predictor=None, pooled: bool = False) -> None:
    """The predicted type large, the four axis bars with percentages, the closest types; the Plotly charts (axis
    bars and the 16-type distribution) on request. All read the same calibrated probabilities: each letter shown
    is the one above 50%, and the first closest type is the headline."""
    st.markdown(f"**{MODE_LABELS[mode]}**")
    st.markdown(
        f"<div class='mbti-type' style='font-size:4.2rem;font-weight:800;letter-spacing:0.08em;line-height:1.1'>"
        f"{result['type']}</div>", unsafe_allow_html=True,
    )
    # HTML bars first (instant); the Plotly charts (hover, PNG download) on request: each costs the browser
    # ~90 ms per prediction on 2 CPU cores, and the first one ~1.4 s (plotly.js).
    st.markdown(axis_bars_html(result, key=f"{key}-axes"), unsafe_allow_html=True)
    if seconds is not None:  # below the bars: on a phone the type and the bars fit the first screen
        st.caption(f"예측 시간 · model time: {1000 * seconds:.0f} ms")
    reliability = load_reliability(mode)
    close = None if pooled else close_call_note(result, reliability)  # measured per message, not pooled
    if close:
        st.info(close, icon=":material/balance:")
    closest = sorted(result["types"].items(), key=lambda item: -item[1])[:3]
    st.caption("가까운 유형 · Closest types: " + " · ".join(f"{mbti} {percent(p)}" for mbti, p in closest))
    with st.expander("이 예측은 얼마나 믿을 만한가요? · How reliable is this?", key=f"{key}-reliability"):
        if pooled:
            st.caption("아래 수치는 메시지 하나 기준이에요; 여러 메시지를 모으면 보통 더 나아져요 (README의 곡선). / The figures "
                       "below are per single message; pooling several messages usually does better.")
        lines = reliability_lines(reliability)
        st.markdown("\n".join(lines) if lines else "이 모델의 신뢰도 측정값(reports/reliability.json)이 없어요. / No measured "
                    "reliability for this model yet (`python -m mbti_core reliability`).")
        if predictor is not None:
            st.caption(example_agreement_line(example_agreement(predictor)))
    if st.toggle("차트 · Charts (16유형, PNG)", key=f"{key}-show-types"):
        st.plotly_chart(axis_bars(result), key=f"{key}-axes", config={"displaylogo": False})
        st.plotly_chart(type_distribution(result, title="16유형 확률 · 16-type probabilities"), key=f"{key}-types",
                        config={"displaylogo": False})
        st.caption("16유형 확률 = 네 축 확률의 곱이라, 1위 유형은 언제나 위의 유형이에요. / 16-type probabilities = product "
                   "of the four axis probabilities, so the first is always the type above.")


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - started
