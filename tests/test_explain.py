"""Predictor.explain (integrated gradients) and its HTML: completeness, consistency with predict, offsets."""
from __future__ import annotations

import pytest
import torch

from mbti_core.app_figures import explanation_html, explanation_segments
from mbti_core.inference import Predictor
from mbti_core.types import AXES
from tests.support.random_checkpoints import random_checkpoint_dirs


def top_attributions(explanation: dict, axis: str, k: int = 3) -> dict[str, list[tuple[str, float]]]:
    """The ``k`` tokens pushing most toward each letter of ``axis``: {letter: [(token, attribution), ...]}."""
    pairs = [(t["token"], v) for t, v in zip(explanation["tokens"], explanation["attributions"][axis])]
    toward_first = sorted((p for p in pairs if p[1] > 0), key=lambda p: -p[1])[:k]
    toward_second = sorted((p for p in pairs if p[1] < 0), key=lambda p: p[1])[:k]
    return {axis[0]: toward_first, axis[1]: toward_second}


TEXT = "내일 모임 시간 딱 지켜야 해. 늦으면 곤란하니까 저 INFP인데 계획 좋아해요"


@pytest.fixture(scope="module")
def predictor(tmp_path_factory):
    """A random tiny model made input-sensitive: encoder weights ~N(0, 0.05) and a 100x last classifier layer,
    so the four logits move by tenths between the baseline and the text (an untrained head barely moves)."""
    predictor = Predictor.from_pretrained(random_checkpoint_dirs(tmp_path_factory)["mft"])
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for parameter in predictor.model.encoder.parameters():
            if parameter.dim() == 2:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.05)
        predictor.model.classifier.mlp[-1].weight.mul_(100)
    return predictor


@pytest.mark.parametrize("text", [TEXT, "즉흥 여행 너무 재밌어요 ㅋㅋ", "계획 세우고 일정 정리했어요"])
def test_attributions_sum_to_the_logit_difference(predictor, text):
    explanation = predictor.explain(text)
    differences = {a: explanation["logits"][a] - explanation["baseline_logits"][a] for a in AXES}
    assert max(abs(d) for d in differences.values()) > 0.05  # the check below is not trivially 0 ≈ 0
    for axis in AXES:
        total = sum(explanation["attributions"][axis])
        assert total == pytest.approx(differences[axis], abs=0.01 + 0.05 * abs(differences[axis]))
        assert explanation["delta"][axis] == pytest.approx(total - differences[axis], abs=1e-5)
        assert len(explanation["attributions"][axis]) == len(explanation["tokens"])


def test_explain_agrees_with_predict(predictor):
    explanation = predictor.explain(TEXT)
    predicted = predictor.predict([TEXT])[0]
    assert explanation["type"] == predicted["type"]
    assert explanation["axes"] == pytest.approx(predicted["axes"], abs=1e-5)
    logits, _, _ = predictor.axis_logits([TEXT])
    assert [explanation["logits"][a] for a in AXES] == pytest.approx(logits[0].tolist(), abs=1e-4)
    # The type mention is hidden as in training, and the offsets point into the text the model saw.
    assert "[TYPE]" in explanation["model_text"] and "INFP" not in explanation["model_text"]
    pieces = [explanation["model_text"][t["start"]:t["end"]] for t in explanation["tokens"]]
    assert "".join(pieces).replace(" ", "") == explanation["model_text"].replace(" ", "")
    assert "[TYPE]" in pieces


def test_more_steps_do_not_change_the_picture(predictor):
    coarse, fine = predictor.explain(TEXT, steps=16), predictor.explain(TEXT, steps=64)
    for axis in AXES:
        assert coarse["attributions"][axis] == pytest.approx(fine["attributions"][axis], abs=0.02)


def test_truncated_text_is_explained_within_max_length(predictor):
    long_text = "계획 세우고 일정 정리했어요 " * 60
    explanation = predictor.explain(long_text)
    assert explanation["truncated"] and len(explanation["tokens"]) == predictor.max_length - 2


@pytest.mark.parametrize("bad", ["", "   ", None])
def test_bad_input(predictor, bad):
    with pytest.raises(ValueError):
        predictor.explain(bad)
    with pytest.raises(ValueError, match="steps"):
        predictor.explain(TEXT, steps=1)


def test_html_colours_tokens_toward_their_letter(predictor):
    explanation = predictor.explain(TEXT)
    html = explanation_html(explanation)
    assert html.count("class='mbti-explain'") == 4
    for axis in AXES:
        segments = explanation_segments(explanation, axis)
        assert "".join(piece for piece, _ in segments) == explanation["model_text"]
        assert [v for _, v in segments if v is not None] == explanation["attributions"][axis]
        top = top_attributions(explanation, axis, k=2)
        assert all(v > 0 for _, v in top[axis[0]]) and all(v < 0 for _, v in top[axis[1]])
    strongest = max(range(len(explanation["tokens"])), key=lambda i: abs(explanation["attributions"]["EI"][i]))
    value = explanation["attributions"]["EI"][strongest]
    assert f"title='{'E' if value >= 0 else 'I'} {value:+.3f}'" in html


def test_html_escapes_the_text():
    explanation = {"model_text": "<b>hi</b> &", "tokens": [{"token": "<b>hi</b>", "start": 0, "end": 9}],
                   "attributions": {axis: [0.5] for axis in AXES}, "axes": {axis: 0.5 for axis in AXES}}
    html = explanation_html(explanation)
    assert "&lt;b&gt;hi&lt;/b&gt;" in html and "<b>hi" not in html and " &amp;" in html


@pytest.mark.parametrize("served_by", ["torch", "onnx"])
def test_predict_page_explains_when_opened(tmp_path_factory, monkeypatch, served_by):
    """The Predict page's "Why this type?" expander computes the attributions only when opened, then shows them;
    with an ONNX-served model, through its torch twin (same weights, same attributions)."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from tests.support.app_checkpoints import tiny_app_dirs

    dirs = random_checkpoint_dirs(tmp_path_factory) if served_by == "torch" else tiny_app_dirs(tmp_path_factory)
    assert ((dirs["mft"] / "onnx_export.json").is_file()) == (served_by == "onnx")
    monkeypatch.setenv("MBTI_CHECKPOINT_DIR", str(dirs["checkpoints"]))
    for name in ("MBTI_MFT_CHECKPOINT", "MBTI_FT_CHECKPOINT"):
        monkeypatch.delenv(name, raising=False)
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "navigation.py"), default_timeout=180).run()
    at.chat_input(key="chat").set_value(TEXT).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(e.label.startswith("왜 이 유형?") for e in at.expander)
    assert not [m for m in at.markdown if "mbti-explain" in m.value]  # closed: nothing computed
    at.session_state["why-mft"] = True
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    shown = [m.value for m in at.markdown if "mbti-explain" in m.value]
    expected = Predictor.from_pretrained(dirs["mft"]).explain(TEXT)
    assert shown and shown[0] == explanation_html(expected)
