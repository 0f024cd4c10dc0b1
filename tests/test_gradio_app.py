"""gradio_app.py served for real (``python gradio_app.py`` on 127.0.0.1, a free port given by GRADIO_SERVER_NAME /
GRADIO_SERVER_PORT) and called with gradio_client; answers are compared with the Predictor's own outputs."""
from __future__ import annotations

from pathlib import Path

import pytest

from gradio_client.exceptions import AppError  # noqa: E402

from mbti_core.onnx_predictor import load_predictor  # noqa: E402
from mbti_core.types import AXES  # noqa: E402
from tests.support.gradio_server import served_gradio
from tests.support.random_checkpoints import random_checkpoint_dirs  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MESSAGE = "내일 모임 시간 딱 지켜야 해. 늦으면 곤란하니까"


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    return random_checkpoint_dirs(tmp_path_factory)


@pytest.fixture(scope="module")
def predictors(dirs):
    # The loader gradio_app.py uses, so answers are compared with the very backend it serves.
    return {mode: load_predictor(dirs[mode]) for mode in ("mft", "ft")}


@pytest.fixture(scope="module")
def client(dirs, tmp_path_factory):
    with served_gradio(dirs["checkpoints"], tmp_path_factory.mktemp("gradio")) as connected:
        yield connected


def test_server_honours_gradio_server_env(client):
    # The client is connected to the port chosen through GRADIO_SERVER_PORT on GRADIO_SERVER_NAME.
    assert client.src.startswith("http://127.0.0.1:")
    assert {"/predict", "/explain", "/fill_mask"} <= set(client.view_api(print_info=False, return_format="dict")
                                                        ["named_endpoints"])


def test_predict_api_equals_predictor(client, predictors):
    result = client.predict(MESSAGE, api_name="/predict")
    expected = predictors["mft"].predict([MESSAGE])[0]
    assert result["type"] == expected["type"] and result["text"] == MESSAGE
    assert result["truncated"] == expected["truncated"]
    assert set(result["types"]) == set(expected["types"])
    for axis in AXES:
        assert result["axes"][axis] == pytest.approx(expected["axes"][axis], abs=1e-6)
    for mbti, p in expected["types"].items():
        assert result["types"][mbti] == pytest.approx(p, abs=1e-6)


def test_predict_api_other_model(client, predictors):
    result = client.predict(MESSAGE, "ft", api_name="/predict")
    expected = predictors["ft"].predict([MESSAGE])[0]
    assert result["axes"] == pytest.approx(expected["axes"], abs=1e-6)


@pytest.mark.parametrize("bad, words", [("", "Type a message first"), ("   \n ", "Type a message first"),
                                        ("😀😀😀", "no words to analyse")])
def test_bad_input_is_a_clear_error(client, bad, words):
    with pytest.raises(AppError, match=words):
        client.predict(bad, api_name="/predict")


def test_fill_mask_api(client, predictors):
    text = "할 일은 미리미리 [MASK] 마음이 편하지"
    result = client.predict(text, ["ISTJ", "ENFP"], 3, api_name="/fill_mask")
    expected = predictors["mft"].fill_mask(text, ["ISTJ", "ENFP"], 3)
    assert list(result) == ["ISTJ", "ENFP"]
    for mbti in expected:
        assert [item["token"] for item in result[mbti]] == [item["token"] for item in expected[mbti]]
        assert [item["prob"] for item in result[mbti]] == pytest.approx([item["prob"] for item in expected[mbti]], abs=1e-6)
    with pytest.raises(AppError, match="no \\[MASK\\]"):
        client.predict("마스크 없는 문장", api_name="/fill_mask")


def test_explain_api(client, predictors):
    result = client.predict(MESSAGE, api_name="/explain")
    expected = predictors["mft"].explain(MESSAGE)
    assert [t["token"] for t in result["tokens"]] == [t["token"] for t in expected["tokens"]]
    for axis in AXES:
        assert result["attributions"][axis] == pytest.approx(expected["attributions"][axis], abs=1e-5)


# -- the UI handlers, in process (the same functions the buttons call) ------------------------------------------
@pytest.fixture()
def app_module(dirs, monkeypatch):
    monkeypatch.setenv("MBTI_CHECKPOINT_DIR", str(dirs["checkpoints"]))
    for name in ("MBTI_MFT_CHECKPOINT", "MBTI_FT_CHECKPOINT"):
        monkeypatch.delenv(name, raising=False)
    import gradio_app  # the project root is on pytest's pythonpath

    return gradio_app


def test_predict_view_shows_the_predictor_values(app_module, predictors):
    headline, *rest = app_module.predict_view(MESSAGE, "mft")
    axis_labels, figure, types = rest[:4], rest[4], rest[5]
    expected = predictors["mft"].predict([MESSAGE])[0]
    assert headline.startswith(f"## {expected['type']}")
    for label, axis in zip(axis_labels, AXES):
        assert list(label.values()) == pytest.approx([expected["axes"][axis], 1 - expected["axes"][axis]], abs=1e-6)
    assert list(figure.data[0].x) == pytest.approx([100 * expected["axes"][a] for a in AXES], abs=1e-4)
    assert types == pytest.approx(expected["types"], abs=1e-6)
    html = app_module.explain_view(MESSAGE, "mft")
    assert html.count("class='mbti-explain'") == 4


def test_predict_view_says_how_reliable_and_marks_close_calls(app_module, predictors, dirs, tmp_path, monkeypatch):
    import json

    import numpy as np

    from mbti_core.studies.reliability import measure

    expected = predictors["mft"].predict(["ㅇㅋ"])[0]
    y = np.array([[1, 0, 1, 0], [0, 1, 0, 1]] * 50)
    probs = np.where(y == 1, 0.7, 0.3)
    entry = measure(y, probs, [0.5] * 4, [5] * 50 + [60] * 50, ["ESTJ"] * 100)
    monkeypatch.setenv("MBTI_REPORTS_DIR", str(tmp_path))
    (tmp_path / "reliability.json").write_text(json.dumps({"n": 100, "checkpoints": {
        "mft": {"source": str(dirs["mft"]), **entry}}}), encoding="utf-8")
    headline = app_module.predict_view("ㅇㅋ", "mft")[0]
    assert "How reliable is this?" in headline and "A short message (2 characters)" in headline
    close = [f"{a[0]}/{a[1]}" for a in AXES if abs(expected["axes"][a] - 0.5) < 0.05]
    assert ("close call: " + ", ".join(close) in headline) if close else "close call" not in headline
    # Every example, with the letter it was written for and the one the model shows on that axis.
    from mbti_core.app_support import EXAMPLES

    shown = []
    for example, result in zip(EXAMPLES, predictors["mft"].predict([e.text for e in EXAMPLES])):
        shown.append(example.axis[0] if result["axes"][example.axis] >= 0.5 else example.axis[1])
    hits = sum(letter == example.letter for letter, example in zip(shown, EXAMPLES))
    assert f"picks that letter for {hits} of {len(EXAMPLES)}" in headline
    assert " · ".join(f"{'✓' if s == e.letter else '✗'} {e.letter}→{s}" for s, e in zip(shown, EXAMPLES)) in headline


def test_headline_cards_and_type_ranking_tell_one_story(app_module, predictors):
    """predict_view for many messages: the headline type, each axis card's leading letter and the first of the
    16-type ranking agree."""
    from mbti_core.app_support import LETTER_NAMES

    messages = ["ㅋㅋㅋㅋ 아 진짜 웃겨 죽겠다", "ㅇㅋ", "주말엔 집에서 혼자 책 읽는 게 좋아요", "일단 원인부터 정리해 보자",
                "그 얘기 듣고 너무 속상했겠다 ㅠㅠ", "지금 출발할 사람?", "계획표 다 짰어", "I think so", "배고프다"]
    letter_of = {name: letter for letter, name in LETTER_NAMES.items()}
    for message in messages:
        headline, *cards, _figure, types = app_module.predict_view(message, "mft")
        shown = headline.split("\n", 1)[0].removeprefix("## ").strip()
        card_letters = "".join(letter_of[max(card, key=card.get)] for card in cards)
        assert shown == card_letters == max(types, key=types.get) == predictors["mft"].predict([message])[0]["type"]


def test_fill_view_and_errors(app_module, predictors):
    import gradio as gr

    *labels, sentences = app_module.fill_view("오늘 저녁은 [MASK] 먹을래", "ISTJ", "ENFP", "INTJ", "ESFP", 4)
    expected = predictors["mft"].fill_mask("오늘 저녁은 [MASK] 먹을래", ["ISTJ", "ENFP", "INTJ", "ESFP"], 4)
    assert [label.label for label in labels] == ["ISTJ", "ENFP", "INTJ", "ESFP"]
    assert f"**ISTJ**: 오늘 저녁은 {expected['ISTJ'][0]['token']} 먹을래" in sentences
    with pytest.raises(gr.Error, match="exactly one|하나만"):
        app_module.fill_view("[MASK] 그리고 [MASK]", "ISTJ", "ENFP", "INTJ", "ESFP", 4)


def test_missing_checkpoint_is_a_clear_error(app_module, monkeypatch, tmp_path):
    import gradio as gr

    monkeypatch.setenv("MBTI_CHECKPOINT_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(gr.Error, match="could not be loaded"):
        app_module.predict(MESSAGE, "mft")
