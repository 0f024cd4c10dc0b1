"""The MBTI-ko demo as a Gradio app: `python gradio_app.py` (a second front on mbti_core; no logic of its own).

Tabs: predict (the type, four axis labels and bars, the 16-type distribution, and "why this type?" token
attributions) and fill-mask (four types side by side, all 16 types as a 4x4 grid, and the reverse question: a
word of a sentence -> the types that make it likely), under the measured type effect of
``reports/type_effect.json`` (read on every page load). Same checkpoints and input checks as the Streamlit app
(``mbti_core.app_support``: ``MBTI_CHECKPOINT_DIR``, ``MBTI_MFT_CHECKPOINT`` / ``MBTI_FT_CHECKPOINT``).

API (``gradio_client``), each returning the Predictor's own JSON:
- ``/predict(text, model="mft")`` -> ``Predictor.predict``'s result for one message
- ``/explain(text, model="mft")`` -> ``Predictor.explain`` of the message's first 200 characters
- ``/fill_mask(text, types=[ISTJ, ENFP, INTJ, ESFP], top_k=5)`` -> ``Predictor.fill_mask`` (MFT only)
- ``/fill_grid(text, top_k=1)`` -> ``Predictor.fill_grid``: all 16 types, in ``TYPES`` order (MFT only)
- ``/types_for_word(text, word)`` -> ``Predictor.types_for_word``: the 16 types ranked for a word of a complete
  sentence (MFT only)
Bad input (empty, emoji only, no [MASK], a word not in the sentence, ...) raises ``gr.Error`` with the same
message the Streamlit app shows.

Server address: Gradio reads ``GRADIO_SERVER_NAME`` (default 127.0.0.1; 0.0.0.0 in a container) and
``GRADIO_SERVER_PORT`` (default 7860) itself.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:  # run from another folder
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline machines and Spaces: no telemetry calls

import gradio as gr  # noqa: E402

from mbti_core import model_cache  # noqa: E402
from mbti_core.app_figures import axis_bars, explanation_html  # noqa: E402
from mbti_core.app_support import (  # noqa: E402
    DEFAULT_FILL_TYPES, EXAMPLES, FILL_MASK_EXAMPLE, FILL_MASK_EXAMPLES, LETTER_NAMES, MODE_LABELS, MODES,
    TYPE_EFFECT_MISSING, TYPE_SOURCE_NOTE, WORD_QUERY_EXAMPLE, EXPLAIN_NOTE, axis_rows, check_masked, check_message,
    check_word_query, checkpoint_label, close_call_note, example_agreement, example_agreement_line, explain_text,
    load_reliability, reliability_lines,
    short_message_note,
    fill_table_markdown, filled_sentence, load_type_effect, missing_model_message, model_source, percent,
    type_effect_caption, type_grid_markdown, type_share_markdown, unique_tokens, word_query_error,
)
from mbti_core.predictor_base import FillMaskUnavailable  # noqa: E402
from mbti_core.types import AXES, TYPES  # noqa: E402

MODEL_CHOICES = [(MODE_LABELS[mode], mode) for mode in MODES]


def _user_error(message: str) -> gr.Error:
    """A message for the user (bad input, an unusable checkpoint): shown by the page and the API, with no traceback
    in the server's log (gr.Error prints one by default), where it would read like a crash."""
    return gr.Error(message, print_exception=False)


def get_predictor(model: str):
    """The cached Predictor of ``model`` ("mft" / "ft"), or gr.Error saying why it is unavailable."""
    if model not in MODES:
        raise _user_error(f"model must be one of {', '.join(MODES)} (got {model!r})")
    try:
        return model_cache.predictor(model_source(model))
    # FileNotFoundError (no folder, offline hub id), CheckpointError (a ValueError: damaged or half-copied files,
    # pickled weights, found by mbti_core.checkpoint_files before a backend reads them), RuntimeError (weights that
    # do not fit the configuration): a clean gr.Error, never a traceback.
    except (OSError, ValueError, RuntimeError) as error:
        raise _user_error(missing_model_message(model, error)) from error


def _message(text) -> str:
    """The app_support check: an error becomes gr.Error, notices become warnings (toasts / client logs)."""
    checked = check_message(text)
    if not checked.ok:
        raise _user_error(checked.error)
    for notice in checked.notices:
        gr.Warning(notice)
    return checked.text


def _run(function, *args):
    try:
        return function(*args)
    except ValueError as error:  # the Predictor's own input checks (FillMaskUnavailable included)
        raise _user_error(str(error)) from error


# -- API endpoints: the Predictor's JSON ----------------------------------------------------------------------
def predict(text: str, model: str = "mft") -> dict:
    """MBTI type of one chat message: {"text", "type", "axes": {"EI": P(E), "SN": P(S), "TF": P(T), "JP": P(J)},
    "types": {16 types: probability}, "truncated"}. model: "mft" (default) or "ft"."""
    text = _message(text)  # the input check first: no model load for bad input
    return _run(get_predictor(model).predict, [text])[0]


def explain(text: str, model: str = "mft") -> dict:
    """Per-token attributions of the four axis logits (integrated gradients) of the message's first 200 characters
    (EXPLAIN_MAX_CHARS): the prediction of that part plus "tokens", "attributions": {axis: [...]}, "logits",
    "baseline_logits", "delta". Positive = toward E/S/T/J."""
    text = explain_text(_message(text))  # the input check first: no model load for bad input
    return _run(get_predictor(model).explain, text)


def fill_mask(text: str, types: list[str] = list(DEFAULT_FILL_TYPES), top_k: int = 5) -> dict:
    """Top-k fills of the one [MASK] for each type (MFT model): {TYPE: [{"token", "prob"}, ...]}."""
    checked = check_masked(text)
    if not checked.ok:
        raise _user_error(checked.error)
    return dict(_run(get_predictor("mft").fill_mask, checked.text, types, int(top_k)))


def fill_grid(text: str, top_k: int = 1) -> dict:
    """Top-k fills of the one [MASK] for all 16 types, in TYPES order (MFT model): {TYPE: [{"token", "prob"}]}."""
    checked = check_masked(text)
    if not checked.ok:
        raise _user_error(checked.error)
    return dict(_run(get_predictor("mft").fill_grid, checked.text, int(top_k)))


def types_for_word(text: str, word: str) -> dict:
    """The reverse question (MFT model): for a complete sentence (no [MASK]) and one word in it, the 16 types ranked
    by p(word | type) at its place: {"word", "pieces", "masked", "truncated", "types": [{"type", "logprob",
    "share"}] best first}; share = p(word | type) normalised over the 16 types."""
    checked = check_word_query(text, word)
    if not checked.ok:
        raise _user_error(checked.error)
    predictor = get_predictor("mft")
    try:
        return predictor.types_for_word(checked.text, word)
    except FillMaskUnavailable as error:  # an FT checkpoint where the MFT one should be
        raise _user_error(str(error)) from error
    except ValueError as error:  # unknown or too many subword pieces, ...
        raise _user_error(word_query_error(error)) from error


def type_effect_markdown() -> str:
    """The measured type effect (reports/type_effect.json, read now) and where the type knowledge comes from."""
    effect = load_type_effect()
    lines = [TYPE_EFFECT_MISSING] if effect is None else list(type_effect_caption(effect))
    return "\n\n".join([*lines, *TYPE_SOURCE_NOTE])


# -- UI handlers ----------------------------------------------------------------------------------------------
def predict_view(text: str, model: str):
    result = predict(text, model)
    predictor = get_predictor(model)
    reliability = load_reliability(model)
    notes = [note for note in (close_call_note(result, reliability),
                               short_message_note(result["text"], reliability)) if note]
    headline = (f"## {result['type']}\n"
                + " · ".join(f"{r['first']} {percent(r['p_first'])} / {r['second']} {percent(r['p_second'])}"
                             for r in axis_rows(result))
                + ("\n\n*입력이 길어 앞부분만 분석했어요. / The text was cut to the model's maximum length.*"
                   if result["truncated"] else "")
                + "".join(f"\n\n> {note}" for note in notes)
                + ("\n\n**이 예측은 얼마나 믿을 만한가요? · How reliable is this?**\n\n" + "\n".join(reliability_lines(reliability))
                   if reliability else "")
                + f"\n\n*{example_agreement_line(example_agreement(predictor))}*")
    axis_labels = [{LETTER_NAMES[r["first"]]: r["p_first"], LETTER_NAMES[r["second"]]: r["p_second"]}
                   for r in axis_rows(result)]
    return (headline, *axis_labels, axis_bars(result), result["types"])


def explain_view(text: str, model: str) -> str:
    return explanation_html(explain(text, model))


def fill_view(text: str, type_1: str, type_2: str, type_3: str, type_4: str, top_k: float):
    types = [type_1, type_2, type_3, type_4]
    fills = fill_mask(text, types, int(top_k))
    unique = unique_tokens(fills)
    tables = [gr.Markdown(value=f"### {mbti}\n\n" + fill_table_markdown(fills[mbti], unique[mbti]), label=mbti)
              for mbti in types]  # probabilities to 0.1% (a gr.Label would round them to whole percents)
    sentences = "\n".join(
        f"- **{mbti}**: {filled_sentence(check_masked(text).text, fills[mbti][0]['token'])}"
        + (f" — 이 유형만 · only this type: {', '.join(sorted(unique[mbti]))}" if unique[mbti] else "")
        for mbti in types)
    return (*tables, sentences + "\n\n굵게 = 이 유형에만 나온 단어 · bold = proposed by this type only")


def grid_view(text: str) -> str:
    grid = fill_grid(text, 1)
    return ("각 칸 = 유형 · 1위 단어 · 확률; 굵게 = 이 유형만 1위로 고른 단어. / Each cell = type · top word · probability; "
            "bold = no other type's top word.\n\n" + type_grid_markdown(grid))


def word_view(text: str, word: str) -> str:
    result = types_for_word(text, word)
    best = result["types"][0]
    return (f"**'{result['word']}'** → **{best['type']}** {100 * best['share']:.1f}% "
            f"(우연 6.25%의 {len(TYPES) * best['share']:.2f}배 · {len(TYPES) * best['share']:.2f}× chance) — 조각 · pieces: "
            f"{' '.join(result['pieces'])}\n\n" + type_share_markdown(result)
            + "\n\n비율 = 그 유형일 때 이 단어의 확률을 16유형 합이 100%가 되게 나눈 값 (차이가 없으면 모두 1/16 = 6.25%); "
              "막대는 1위 대비. / Share = p(word | type) normalised over the 16 types (6.25% each if the type made "
              "no difference); bars relative to the top type.")


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
        gr.Examples([[example.text] for example in EXAMPLES], inputs=[message], label="예시 · Examples")
        gr.Markdown("예시는 우리가 한 축의 성향을 드러내려고 쓴 문장이에요 · The examples were written by us, each to show one "
                    "letter: " + " · ".join(f"{example.letter} ({example.persona})" for example in EXAMPLES))
        headline = gr.Markdown()
        with gr.Row():
            axis_outputs = [gr.Label(label=title, show_label=True) for title in ("E ↔ I", "S ↔ N", "T ↔ F", "J ↔ P")]
        bars = gr.Plot(label="네 축 · Four axes")
        types_label = gr.Label(num_top_classes=5, label="16유형 확률 · 16-type probabilities (top 5)")
        with gr.Accordion("왜 이 유형? / Why this type?", open=False):
            gr.Markdown(EXPLAIN_NOTE)
            why = gr.HTML()
        for trigger in (predict_button.click, message.submit):
            trigger(predict_view, [message, model_choice], [headline, *axis_outputs, bars, types_label],
                    api_visibility="private").then(explain_view, [message, model_choice], [why],
                                                   api_visibility="private")
    with gr.Tab("빈칸 채우기 · Fill-mask"):
        gr.Markdown("문장에 `[MASK]` 하나를 넣으면 유형마다 MFT 모델이 고르는 단어를 보여 줘요. / Put one `[MASK]` in "
                    "a sentence: the MFT model's fills for each type, side by side.")
        gr.Markdown(type_effect_markdown)  # a callable: the report is read again on every page load
        fill_text = gr.Textbox(label="문장 · Sentence", value=FILL_MASK_EXAMPLE, lines=2)
        gr.Examples([[example] for example in FILL_MASK_EXAMPLES], inputs=[fill_text],
                    label="예시 · Examples")
        with gr.Tab("네 유형 비교 · Four types"):
            with gr.Row():
                type_pickers = [gr.Dropdown(list(TYPES), value=mbti, label=f"유형 {i + 1} · Type {i + 1}")
                                for i, mbti in enumerate(DEFAULT_FILL_TYPES)]
            top_k = gr.Slider(1, 20, value=5, step=1, label="top-k")
            fill_button = gr.Button("채우기 · Fill", variant="primary")
            with gr.Row():
                fill_outputs = [gr.Markdown(label=mbti) for mbti in DEFAULT_FILL_TYPES]
            filled = gr.Markdown()
            fill_button.click(fill_view, [fill_text, *type_pickers, top_k], [*fill_outputs, filled],
                              api_visibility="private")
        with gr.Tab("16유형 격자 · All 16 types"):
            grid_button = gr.Button("16유형 채우기 · Fill for all 16 types", variant="primary")
            grid_output = gr.Markdown()
            grid_button.click(grid_view, [fill_text], [grid_output], api_visibility="private")
        with gr.Tab("단어 → 유형 · Word → types"):
            gr.Markdown("완성된 문장과 그 안의 단어 하나 → 그 단어를 가장 기대하는 유형 순위. / A complete sentence and one "
                        "word in it -> the 16 types ranked by how likely each makes that word at its place.")
            with gr.Row():
                word_text = gr.Textbox(label="완성된 문장 · Complete sentence ([MASK] 없이 / without [MASK])",
                                       value=WORD_QUERY_EXAMPLE[0], lines=2, scale=3)
                word_word = gr.Textbox(label="문장 속 단어 · A word of the sentence", value=WORD_QUERY_EXAMPLE[1],
                                       scale=1)
            word_button = gr.Button("유형 순위 · Rank the types", variant="primary")
            word_output = gr.Markdown()
            for trigger in (word_button.click, word_word.submit):
                trigger(word_view, [word_text, word_word], [word_output], api_visibility="private")
    gr.Markdown(f"축 확률 = 각 축 첫 글자({', '.join(a[0] for a in AXES)})의 확률. Checkpoints: "
                f"`{checkpoint_label(model_source('mft'))}`, `{checkpoint_label(model_source('ft'))}`.")
    gr.api(predict, api_name="predict")
    gr.api(explain, api_name="explain")
    gr.api(fill_mask, api_name="fill_mask")
    gr.api(fill_grid, api_name="fill_grid")
    gr.api(types_for_word, api_name="types_for_word")


if __name__ == "__main__":
    demo.launch()
