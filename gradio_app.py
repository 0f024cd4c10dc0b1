"""The MBTI-ko demo as a Gradio app: `python gradio_app.py` (a second front on mbti_core; no logic of its own).

Tabs: predict (the type, four axis labels and bars, the 16-type distribution, and "why this type?" token
attributions) and fill-mask for four types. Same checkpoints and input checks as the Streamlit app
(``mbti_core.app_support``: ``MBTI_CHECKPOINT_DIR``, ``MBTI_MFT_CHECKPOINT`` / ``MBTI_FT_CHECKPOINT``).

API (``gradio_client``), each returning the Predictor's own JSON:
- ``/predict(text, model="mft")`` -> ``Predictor.predict``'s result for one message
- ``/explain(text, model="mft")`` -> ``Predictor.explain``
- ``/fill_mask(text, types=[ISTJ, ENFP, INTJ, ESFP], top_k=5)`` -> ``Predictor.fill_mask`` (MFT only)
Bad input (empty, emoji only, no [MASK], ...) raises ``gr.Error`` with the same message the Streamlit app shows.

Server address: Gradio reads ``GRADIO_SERVER_NAME`` (default 127.0.0.1; 0.0.0.0 in a container) and
``GRADIO_SERVER_PORT`` (default 7860) itself.
"""
from __future__ import annotations

import os
import sys
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:  # run from another folder
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline machines and Spaces: no telemetry calls

import gradio as gr  # noqa: E402

from mbti_core.app_figures import axis_bars, explanation_html  # noqa: E402
from mbti_core.app_support import (  # noqa: E402
    DEFAULT_FILL_TYPES, EXAMPLE_MESSAGES, FILL_MASK_EXAMPLE, LETTER_NAMES, MODE_LABELS, MODES, axis_rows,
    check_masked, check_message, filled_sentence, missing_model_message, model_source, percent, unique_tokens,
)
from mbti_core.types import AXES, TYPES  # noqa: E402

MODEL_CHOICES = [(MODE_LABELS[mode], mode) for mode in MODES]


@lru_cache(maxsize=4)
def _load_predictor(source: str):
    from mbti_core.onnx_predictor import load_predictor  # ONNX when exported (fast), else torch

    return load_predictor(source, device="cpu")


def get_predictor(model: str):
    """The cached Predictor of ``model`` ("mft" / "ft"), or gr.Error saying why it is unavailable."""
    if model not in MODES:
        raise gr.Error(f"model must be one of {', '.join(MODES)} (got {model!r})")
    try:
        return _load_predictor(model_source(model))
    except (OSError, ValueError, RuntimeError) as error:  # missing folder, bad checkpoint, offline hub id
        raise gr.Error(missing_model_message(model, error)) from error


def _message(text) -> str:
    """The app_support check: an error becomes gr.Error, notices become warnings (toasts / client logs)."""
    checked = check_message(text)
    if not checked.ok:
        raise gr.Error(checked.error)
    for notice in checked.notices:
        gr.Warning(notice)
    return checked.text


def _run(function, *args):
    try:
        return function(*args)
    except ValueError as error:  # the Predictor's own input checks (FillMaskUnavailable included)
        raise gr.Error(str(error)) from error


# -- API endpoints: the Predictor's JSON ----------------------------------------------------------------------
def predict(text: str, model: str = "mft") -> dict:
    """MBTI type of one chat message: {"text", "type", "axes": {"EI": P(E), "SN": P(S), "TF": P(T), "JP": P(J)},
    "types": {16 types: probability}, "truncated"}. model: "mft" (default) or "ft"."""
    return _run(get_predictor(model).predict, [_message(text)])[0]


def explain(text: str, model: str = "mft") -> dict:
    """Per-token attributions of the four axis logits (integrated gradients): the prediction plus "tokens",
    "attributions": {axis: [...]}, "logits", "baseline_logits", "delta". Positive = toward E/S/T/J."""
    return _run(get_predictor(model).explain, _message(text))


def fill_mask(text: str, types: list[str] = list(DEFAULT_FILL_TYPES), top_k: int = 5) -> dict:
    """Top-k fills of the one [MASK] for each type (MFT model): {TYPE: [{"token", "prob"}, ...]}."""
    checked = check_masked(text)
    if not checked.ok:
        raise gr.Error(checked.error)
    return dict(_run(get_predictor("mft").fill_mask, checked.text, types, int(top_k)))


# -- UI handlers ----------------------------------------------------------------------------------------------
def predict_view(text: str, model: str):
    result = predict(text, model)
    predictor = get_predictor(model)
    headline = (f"## {result['type']}\n"
                + " · ".join(f"{r['first']} {percent(r['p_first'])} / {r['second']} {percent(r['p_second'])}"
                             for r in axis_rows(result))
                + ("\n\n*입력이 길어 앞부분만 분석했어요. / The text was cut to the model's maximum length.*"
                   if result["truncated"] else ""))
    axis_labels = [{LETTER_NAMES[r["first"]]: r["p_first"], LETTER_NAMES[r["second"]]: r["p_second"]}
                   for r in axis_rows(result)]
    return (headline, *axis_labels, axis_bars(result, predictor.thresholds), result["types"])


def explain_view(text: str, model: str) -> str:
    return explanation_html(explain(text, model))


def fill_view(text: str, type_1: str, type_2: str, type_3: str, type_4: str, top_k: float):
    types = [type_1, type_2, type_3, type_4]
    fills = fill_mask(text, types, int(top_k))
    unique = unique_tokens(fills)
    labels = []
    for mbti in types:
        confidences: dict[str, float] = {}
        for item in fills[mbti]:
            confidences.setdefault(item["token"], item["prob"])  # two pieces can display alike: keep the likelier
        labels.append(gr.Label(value=confidences, label=mbti))
    sentences = "\n".join(
        f"- **{mbti}**: {filled_sentence(check_masked(text).text, fills[mbti][0]['token'])}"
        + (f" — 이 유형만 · only this type: {', '.join(sorted(unique[mbti]))}" if unique[mbti] else "")
        for mbti in types)
    return (*labels, sentences)


# -- layout ---------------------------------------------------------------------------------------------------
with gr.Blocks(title="MBTI-ko · 한국어 MBTI 문체 분석") as demo:
    gr.Markdown("# MBTI-ko · 한국어 MBTI 문체 분석\n채팅 메시지로 MBTI 네 축을 예측하고, 유형마다 언어 모델이 고르는 단어를 "
                "비교해요. 재미와 수업용이에요 — 진단이 아니에요. / Predicts the four MBTI axes from a Korean chat "
                "message and compares a language model's word choices across types; for fun and teaching, not a "
                "diagnosis.")
    with gr.Tab("유형 예측 · Predict"):
        with gr.Row():
            message = gr.Textbox(label="메시지 · Message", placeholder="메시지를 입력하세요 · Type a chat message",
                                 lines=3, scale=4)
            with gr.Column(scale=1):
                model_choice = gr.Radio(MODEL_CHOICES, value="mft", label="모델 · Model")
                predict_button = gr.Button("예측 · Predict", variant="primary")
        gr.Examples([[example] for example in EXAMPLE_MESSAGES], inputs=[message], label="예시 · Examples")
        headline = gr.Markdown()
        with gr.Row():
            axis_outputs = [gr.Label(label=title, show_label=True) for title in ("E ↔ I", "S ↔ N", "T ↔ F", "J ↔ P")]
        bars = gr.Plot(label="네 축 · Four axes")
        types_label = gr.Label(num_top_classes=5, label="16유형 확률 · 16-type probabilities (top 5)")
        with gr.Accordion("왜 이 유형? / Why this type?", open=False):
            why = gr.HTML()
        for trigger in (predict_button.click, message.submit):
            trigger(predict_view, [message, model_choice], [headline, *axis_outputs, bars, types_label],
                    api_visibility="private").then(explain_view, [message, model_choice], [why],
                                                   api_visibility="private")
    with gr.Tab("빈칸 채우기 · Fill-mask"):
        gr.Markdown("문장에 `[MASK]` 하나를 넣으면 유형마다 MFT 모델이 고르는 단어를 보여 줘요. / Put one `[MASK]` in "
                    "a sentence: the MFT model's fills for each type, side by side.")
        fill_text = gr.Textbox(label="문장 · Sentence", value=FILL_MASK_EXAMPLE, lines=2)
        with gr.Row():
            type_pickers = [gr.Dropdown(list(TYPES), value=mbti, label=f"유형 {i + 1} · Type {i + 1}")
                            for i, mbti in enumerate(DEFAULT_FILL_TYPES)]
        top_k = gr.Slider(1, 20, value=5, step=1, label="top-k")
        fill_button = gr.Button("채우기 · Fill", variant="primary")
        gr.Examples([[FILL_MASK_EXAMPLE], ["주말에는 보통 [MASK] 하는 편이야"]], inputs=[fill_text],
                    label="예시 · Examples")
        with gr.Row():
            fill_outputs = [gr.Label(label=mbti) for mbti in DEFAULT_FILL_TYPES]
        filled = gr.Markdown()
        fill_button.click(fill_view, [fill_text, *type_pickers, top_k], [*fill_outputs, filled],
                          api_visibility="private")
    gr.Markdown(f"축 확률 = 각 축 첫 글자({', '.join(a[0] for a in AXES)})의 확률. Checkpoints: `{model_source('mft')}`, "
                f"`{model_source('ft')}` (set `MBTI_CHECKPOINT_DIR` to use others).")
    gr.api(predict, api_name="predict")
    gr.api(explain, api_name="explain")
    gr.api(fill_mask, api_name="fill_mask")


if __name__ == "__main__":
    demo.launch()
