"""Every page of the Streamlit app through ``streamlit.testing.v1.AppTest``, on tiny *trained* MFT/FT
checkpoints (tests/support/app_checkpoints.py). Values shown are compared with the Predictor's own outputs."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from mbti_core import app_support
from mbti_core.app_support import DEFAULT_FILL_TYPES, EXAMPLE_MESSAGES, FILL_MASK_EXAMPLE, unique_tokens
from mbti_core.onnx_predictor import OnnxPredictor, load_predictor
from mbti_core.types import AXES, TYPES
from tests.support.app_checkpoints import tiny_app_dirs
from tests.support.apptest_helpers import chart, texts

APP = str(Path(__file__).resolve().parent.parent / "navigation.py")
TIMEOUT = 180  # the first run imports torch/transformers and loads the models on 2 busy CPU cores
MESSAGE = "내일 모임 시간 딱 지켜야 해. 늦으면 곤란하니까"
KAKAO_LOG = """--------------- 2024년 1월 3일 수요일 ---------------
2024. 1. 3. 오후 3:12, 민지 : 내일 발표 자료 다 만들었어?
2024. 1. 3. 오후 3:13, 서준 : 아직 ㅋㅋ 오늘 밤에 몰아서 하려고
2024. 1. 3. 오후 3:13, 민지 : 나는 어제 미리 끝내 놨어
순서도 정리해 둘게
2024. 1. 3. 오후 3:14, 민지 : 사진
2024. 1. 3. 오후 3:14: 지호님이 들어왔습니다.
[민지] [오후 3:15] 9시에 만나서 한 번 맞춰 보자"""


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    return tiny_app_dirs(tmp_path_factory)


@pytest.fixture(autouse=True)
def app_env(dirs, monkeypatch):
    monkeypatch.setenv("MBTI_CHECKPOINT_DIR", str(dirs["checkpoints"]))
    monkeypatch.setenv("MBTI_REPORTS_DIR", str(dirs["reports"]))
    for name in ("MBTI_MFT_CHECKPOINT", "MBTI_FT_CHECKPOINT"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def predictors(dirs):
    """What the app serves: the ONNX export that train.py writes beside each checkpoint (tests/test_onnx.py
    holds it to the torch Predictor)."""
    predictors = {mode: load_predictor(dirs[mode]) for mode in ("mft", "ft")}
    assert all(isinstance(p, OnnxPredictor) for p in predictors.values())
    return predictors


def new_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def bars_html(at: AppTest, key: str) -> list[str]:
    return [m.value for m in at.markdown if f"data-key='{key}'" in m.value]


def assert_bars_match(at: AppTest, key: str, result: dict) -> None:
    """The four axis bars (HTML) carry the Predictor's probabilities and percentages, first and second letters."""
    (html,) = bars_html(at, key)
    axes = re.findall(r"data-axis='(\w\w)' data-p-first='([0-9.]+)'", html)
    assert [axis for axis, _ in axes] == list(AXES)
    for axis, p_first in axes:
        assert float(p_first) == pytest.approx(result["axes"][axis], abs=1e-5)
    texts = re.findall(r"class='mbti-bar-text'[^>]*>([^<]+)<", html)
    assert texts == [text for axis in AXES for text in (f"{axis[0]} {100 * result['axes'][axis]:.1f}%",
                                                        f"{axis[1]} {100 * (1 - result['axes'][axis]):.1f}%")]
    widths = [float(w) for w in re.findall(r"width:([0-9.]+)%", html)]
    assert widths == pytest.approx([100 * v for axis in AXES for v in (result["axes"][axis], 1 - result["axes"][axis])],
                                   abs=1e-3)


def bold_letters(html: str) -> str:
    """The letter each axis bar shows in bold (the page's own decision, from the exact probabilities: the
    6-decimal data attributes cannot tell 0.4999996 from 0.5 on an untrained model)."""
    spans = re.findall(r"class='mbti-bar-text'[^>]*font-weight:(\d+)'>([A-Z]) ", html)
    assert len(spans) == 8
    return "".join(letter for weight, letter in spans if weight == "800")


def frame_with(at: AppTest, column: str):
    """The one st.dataframe that has ``column``."""
    frames = [element.value for element in at.dataframe if column in element.value.columns]
    assert len(frames) == 1, f"{len(frames)} tables with a {column!r} column"
    return frames[0]


def shown_types(at: AppTest) -> list[str]:
    return [m.value.split(">")[1].split("<")[0] for m in at.markdown if "class='mbti-type'" in m.value]


# -- Predict ------------------------------------------------------------------------------------------------
def test_typing_a_message_renders_the_predictors_four_bars_and_types(predictors):
    at = new_app()
    assert "아래 입력창에" in " ".join(texts(at.info))  # a hint, not an error, before any input
    at.chat_input[0].set_value(MESSAGE).run()
    assert not at.exception
    expected = predictors["mft"].predict([MESSAGE])[0]
    assert_bars_match(at, "msg-mft-axes", expected)
    assert shown_types(at) == [expected["type"]]
    # The 3 closest types in a caption; the 16-type chart after switching it on (it stays on for later messages).
    closest = sorted(expected["types"], key=lambda mbti: -expected["types"][mbti])[:3]
    caption = next(c.value for c in at.caption if c.value.startswith("가까운 유형"))
    assert [part.split()[0] for part in caption.split(": ", 1)[1].split(" · ")] == closest
    assert not any(element.key == "msg-mft-types" for element in at.get("plotly_chart"))
    at.toggle(key="msg-mft-show-types").set_value(True).run()
    distribution = chart(at, "msg-mft-types")["data"][0]
    assert len(distribution["x"]) == 16 and sorted(distribution["x"]) == sorted(TYPES)
    for mbti, value in zip(distribution["x"], distribution["y"]):
        assert value == pytest.approx(100 * expected["types"][mbti], abs=1e-6)
    assert distribution["y"] == sorted(distribution["y"], reverse=True)
    plotly_bars = chart(at, "msg-mft-axes")["data"]  # the same bars as a Plotly chart (PNG download)
    assert plotly_bars[0]["x"] == pytest.approx([100 * expected["axes"][axis] for axis in AXES], abs=1e-6)
    assert plotly_bars[1]["text"] == [f"{axis[1]} {100 * (1 - expected['axes'][axis]):.1f}%" for axis in AXES]
    assert plotly_bars[2]["x"] == [50.0] * 4  # the decision tick: 50% of the shown probability


STORY_MESSAGES = (
    "ㅋㅋㅋㅋ 아 진짜 웃겨 죽겠다", "ㅇㅋ", "주말엔 집에서 혼자 책 읽으면서 쉬는 게 제일 좋아요", "일단 원인부터 정리해 보자",
    "그 얘기 듣고 너무 속상했겠다 ㅠㅠ 괜찮아?", "갑자기 바다 보고 싶어졌어 ㅋㅋ 지금 출발할 사람?", "계획표 다 짰어",
    "오늘 파티 몇 시야?? 빨리 가자!!", "음… 잘 모르겠어요", "I think so", "내일 모임 시간 딱 지켜야 해", "배고프다",
)


def test_headline_bars_and_closest_types_tell_one_story(predictors):
    """For many messages, in both models: the big type is each bar's letter above 50% and the first closest type."""
    at = new_app()
    at.segmented_control(key="model_choice").set_value("MFT + FT").run()
    for message in STORY_MESSAGES:
        at.chat_input[0].set_value(message).run()
        assert not at.exception
        headlines = shown_types(at)
        closest = [c.value for c in at.caption if c.value.startswith("가까운 유형")]
        for index, mode in enumerate(("mft", "ft")):
            (html,) = bars_html(at, f"msg-{mode}-axes")
            letters = bold_letters(html)
            first_closest = closest[index].split(": ", 1)[1].split()[0]
            assert headlines[index] == letters == first_closest == predictors[mode].predict([message])[0]["type"]


def test_model_switch_shows_ft_and_both_side_by_side(predictors):
    at = new_app()
    at.chat_input[0].set_value(MESSAGE).run()
    at.segmented_control(key="model_choice").set_value("FT").run()
    assert_bars_match(at, "msg-ft-axes", predictors["ft"].predict([MESSAGE])[0])
    assert not bars_html(at, "msg-mft-axes")
    at.segmented_control(key="model_choice").set_value("MFT + FT").run()
    assert not at.exception
    for mode in ("mft", "ft"):
        assert_bars_match(at, f"msg-{mode}-axes", predictors[mode].predict([MESSAGE])[0])
    assert shown_types(at) == [predictors[m].predict([MESSAGE])[0]["type"] for m in ("mft", "ft")]


def test_example_button_predicts_the_example(predictors):
    at = new_app()
    at.button(key="example_1").click().run()
    assert any(EXAMPLE_MESSAGES[1] in t for t in texts(at.text))
    assert_bars_match(at, "msg-mft-axes", predictors["mft"].predict([EXAMPLE_MESSAGES[1]])[0])


@pytest.mark.parametrize("bad, message", [
    ("", "메시지를 입력해 주세요"),
    ("   \n\t  ", "메시지를 입력해 주세요"),
    ("😀😂👍🔥", "분석할 글자가 없어요"),
    ("...!!! ???", "분석할 글자가 없어요"),
])
def test_bad_messages_render_a_message_not_a_result(bad, message):
    at = new_app()
    at.chat_input[0].set_value(bad).run()
    assert not at.exception
    assert any(message in w for w in texts(at.warning))
    assert not at.get("plotly_chart") and not any("mbti-axes" in m.value for m in at.markdown)


def test_long_message_is_truncated_with_a_notice(predictors):
    long = "계획을 미리 세우는 편이에요. " * 400
    assert len(long.strip()) == 6799
    at = new_app()
    at.chat_input[0].set_value(long).run()
    assert not at.exception
    assert any("5,000" in i and "6,799" in i for i in texts(at.info))
    assert_bars_match(at, "msg-mft-axes", predictors["mft"].predict([long.strip()[:5000]])[0])


def test_non_korean_text_gets_a_caution_and_a_prediction(predictors):
    at = new_app()
    at.chat_input[0].set_value("I always plan my weekends ahead").run()
    assert any("한국어가 아닌" in i for i in texts(at.info))
    assert_bars_match(at, "msg-mft-axes", predictors["mft"].predict(["I always plan my weekends ahead"])[0])


def test_type_mentions_are_masked_and_noted(predictors):
    at = new_app()
    at.chat_input[0].set_value("저 INFP인데 계획 세우는 거 좋아해요").run()
    assert any("[TYPE]" in i for i in texts(at.info))
    assert_bars_match(at, "msg-mft-axes", predictors["mft"].predict(["저 INFP인데 계획 세우는 거 좋아해요"])[0])


def test_chat_log_mode_aggregates_one_speaker_with_breakdown(predictors):
    at = new_app()
    at.segmented_control(key="input_mode").set_value("대화 로그 · Chat log").run()
    at.text_area(key="chat_log").set_value(KAKAO_LOG).run()
    assert not at.exception
    assert at.selectbox(key="speaker").value == "민지"  # the most frequent speaker
    minji = ["내일 발표 자료 다 만들었어?", "나는 어제 미리 끝내 놨어\n순서도 정리해 둘게", "9시에 만나서 한 번 맞춰 보자"]
    expected = predictors["mft"].predict_person(minji)
    assert_bars_match(at, "log-mft-axes", expected)
    assert shown_types(at) == [expected["type"]]
    heatmap = chart(at, "log-mft-breakdown")["data"][0]
    assert len(heatmap["z"]) == 3
    for row, message in zip(heatmap["z"], expected["messages"]):
        assert row == pytest.approx([100 * message["axes"][a] for a in AXES], abs=1e-6)
    table = at.dataframe[0].value
    assert list(table["message"]) == minji and list(table["type"]) == [m["type"] for m in expected["messages"]]
    assert any("건너뛰었어요" in i for i in texts(at.info))  # date, system and photo lines

    at.selectbox(key="speaker").set_value("서준").run()
    assert_bars_match(at, "log-mft-axes", predictors["mft"].predict_person(["아직 ㅋㅋ 오늘 밤에 몰아서 하려고"]))


def test_chat_log_one_message_per_line_and_bad_logs(predictors):
    at = new_app()
    at.segmented_control(key="input_mode").set_value("대화 로그 · Chat log").run()
    lines = ["오늘 뭐 해?", "", "나는 집에서 쉴래", "😀😀"]
    at.text_area(key="chat_log").set_value("\n".join(lines)).run()
    assert_bars_match(at, "log-mft-axes", predictors["mft"].predict_person(["오늘 뭐 해?", "나는 집에서 쉴래"]))
    for bad, message in (("   \n  ", "분석할 메시지가 없어요"), ("😀\n👍👍\n", "분석할 메시지가 없어요")):
        at.text_area(key="chat_log").set_value(bad).run()
        assert not at.exception
        assert any(message in w for w in texts(at.warning)), texts(at.warning)
        assert not at.get("plotly_chart") and not any("mbti-axes" in m.value for m in at.markdown)


# -- Fill-mask ----------------------------------------------------------------------------------------------
def fill_page() -> AppTest:
    at = new_app()
    at.switch_page("app_pages/fill_mask.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def column_tokens(at: AppTest) -> dict[str, list[str]]:
    """Per type column: the token cells of its markdown table (highlight markup kept)."""
    out = {}
    headers = texts(at.subheader)
    tables = [m.value for m in at.markdown if m.value.startswith("| # |")]
    for mbti, table in zip(headers, tables):
        out[mbti] = [line.split(" | ")[1] for line in table.splitlines()[2:]]
    return out


def test_fill_mask_renders_four_columns_matching_the_predictor(predictors):
    at = fill_page()
    assert at.text_area(key="fill_text").value == FILL_MASK_EXAMPLE
    assert texts(at.subheader) == list(DEFAULT_FILL_TYPES)
    fills = predictors["mft"].fill_mask(FILL_MASK_EXAMPLE, list(DEFAULT_FILL_TYPES), 5)
    unique = unique_tokens(fills)
    shown = column_tokens(at)
    assert list(shown) == list(DEFAULT_FILL_TYPES)
    for mbti in DEFAULT_FILL_TYPES:
        expected = [f":orange-background[**{i['token']}**]" if i["token"] in unique[mbti] else i["token"]
                    for i in fills[mbti]]
        assert shown[mbti] == expected
    quotes = [m.value for m in at.markdown if m.value.startswith("> ")]
    assert quotes == [f"> {FILL_MASK_EXAMPLE.replace('[MASK]', '**' + fills[t][0]['token'] + '**')}" for t in DEFAULT_FILL_TYPES]
    # Under the columns: the words each type raises against the 16-type mean, with their lift.
    raised = predictors["mft"].raised_words(FILL_MASK_EXAMPLE, list(DEFAULT_FILL_TYPES), 5)
    tables = [m.value for m in at.markdown if "×lift" in m.value]
    assert len(tables) == 4
    for mbti, table in zip(DEFAULT_FILL_TYPES, tables):
        rows = [line.split(" | ") for line in table.splitlines()[2:]]
        assert [row[0].lstrip("| ") for row in rows] == [item["token"] for item in raised[mbti]]
        assert [row[1] for row in rows] == [f"×{item['lift']:.3f}" for item in raised[mbti]]


def test_fill_mask_type_pickers_top_k_and_insert_button(predictors):
    at = fill_page()
    at.selectbox(key="fill_type_1").set_value("INFP").run()
    at.slider(key="top_k").set_value(3).run()
    assert texts(at.subheader) == ["ISTJ", "INFP", "INTJ", "ESFP"]
    fills = predictors["mft"].fill_mask(FILL_MASK_EXAMPLE, ["ISTJ", "INFP", "INTJ", "ESFP"], 3)
    shown = column_tokens(at)
    assert {t: [re.sub(r":orange-background\[\*\*(.*)\*\*\]", r"\1", c) for c in cells] for t, cells in shown.items()} \
        == {t: [i["token"] for i in items] for t, items in fills.items()}

    at.text_area(key="fill_text").set_value("주말에는 보통").run()
    assert any("[MASK]가 없어요" in w for w in texts(at.warning))
    at.button(key="insert_mask").click().run()
    assert at.text_area(key="fill_text").value == "주말에는 보통 [MASK]"
    assert not at.warning and len(texts(at.subheader)) == 4


@pytest.mark.parametrize("bad, message", [
    ("", "문장을 입력해 주세요"),
    ("   ", "문장을 입력해 주세요"),
    ("마스크 없는 문장이에요", "[MASK]가 없어요"),
    ("[MASK] 하고 [MASK] 했어", "하나만 넣어 주세요 (2개 있음)"),
    ("😀 [MASK] 👍", "문맥이 될 단어가 필요해요"),
])
def test_fill_mask_bad_inputs_render_a_message(bad, message):
    at = fill_page()
    at.text_area(key="fill_text").set_value(bad).run()
    assert not at.exception
    assert any(message in w for w in texts(at.warning)), texts(at.warning)
    assert not at.subheader


def test_fill_mask_long_and_non_korean_inputs(predictors):
    at = fill_page()
    long = "할 일은 미리미리 [MASK] 마음이 편하지. " + "그리고 " * 2000
    at.text_area(key="fill_text").set_value(long).run()
    assert any("5,000" in i for i in texts(at.info))
    assert len(texts(at.subheader)) == 4
    at.text_area(key="fill_text").set_value("I will [MASK] tomorrow").run()
    assert any("한국어가 아닌" in i for i in texts(at.info)) and len(texts(at.subheader)) == 4


# -- Results and About --------------------------------------------------------------------------------------
def test_results_page_shows_confusion_matrices_metrics_and_study_figures(dirs):
    at = new_app()
    at.switch_page("app_pages/results.py").run()
    assert not at.exception, [e.value for e in at.exception]
    confusion = {mode: json.loads((dirs[mode] / "confusion.json").read_text()) for mode in ("mft", "ft")}
    heatmaps = chart(at, "confusion")["data"]
    assert [h["name"] for h in heatmaps] == [f"{m} {a}" for m in ("mft", "ft") for a in AXES]
    for heatmap in heatmaps:
        mode, axis = heatmap["name"].split()
        assert heatmap["z"] == confusion[mode]["comment"][axis]["matrix"]
        assert heatmap["y"] == [f"true {letter}" for letter in axis]

    table = frame_with(at, "mean macro-F1")
    assert list(table["model"]) == ["majority baseline", "TF-IDF + LR baseline", "FT (ours)", "MFT (ours)"]
    report = json.loads((dirs["reports"] / "mft_vs_ft.json").read_text())
    mft = report["mft"]["summary"]["test"]["mean_macro_f1"]
    assert table.loc[3, "mean macro-F1"] == f"{mft['mean']:.3f} ± {mft['std']:.3f}"
    assert table.loc[3, "seeds"] == len(report["mft"]["seeds"]) == 2
    study = frame_with(at, "study MFT (theirs)")
    assert list(study["study MFT (theirs)"]) == ["81.64", "80.86", "82.31", "81.88", "81.50"]  # no loss: not comparable
    assert list(study["study FT (theirs)"]) == ["81.30", "81.31", "82.82", "81.78", "79.29"]
    bars = {trace["name"]: trace for trace in chart(at, "axis_accuracy")["data"]}
    assert bars["MFT (study, theirs)"]["y"] == [80.86, 82.31, 81.88, 81.50]
    assert bars["FT (ours)"]["y"] == pytest.approx(
        [100 * report["ft"]["summary"]["test"][f"{a}_accuracy"]["mean"] for a in AXES])
    assert any("MFT − FT" in m for m in texts(at.markdown))
    curves = chart(at, "curves")["data"]
    assert {trace["name"] for trace in curves} >= {"MFT seed0 train", "FT seed1 train", "MFT seed0 validation"}

    at.segmented_control(key="level").set_value("writer").run()
    for heatmap in chart(at, "confusion")["data"]:
        mode, axis = heatmap["name"].split()
        assert heatmap["z"] == confusion[mode]["writer"][axis]["matrix"]


def test_about_page_has_method_data_and_caveats_in_both_languages():
    at = new_app()
    at.switch_page("app_pages/about.py").run()
    assert not at.exception
    body = " ".join(texts(at.markdown))
    for needle in ("닉네임 라벨", "유형 언급 가리기", "MBTI의 한계", "Nickname labels", "Masking of type mentions",
                   "MBTI's limits", "TEAM-UROP/Crawling", "e9t/nsmc", "81.64"):
        assert needle in body


# -- Missing or broken artefacts ----------------------------------------------------------------------------
def test_missing_checkpoints_show_a_clear_message_on_every_page(tmp_path, monkeypatch):
    monkeypatch.setenv("MBTI_CHECKPOINT_DIR", str(tmp_path / "nowhere"))
    monkeypatch.setenv("MBTI_REPORTS_DIR", str(tmp_path / "no-reports"))
    at = new_app()
    at.chat_input[0].set_value(MESSAGE).run()
    assert not at.exception
    assert any("could not be loaded" in e and "MBTI_CHECKPOINT_DIR" in e for e in texts(at.error))
    at.switch_page("app_pages/fill_mask.py").run()
    assert not at.exception and any("could not be loaded" in e for e in texts(at.error))
    at.switch_page("app_pages/results.py").run()
    assert not at.exception
    assert any("No trained-model results yet" in w for w in texts(at.warning))
    assert list(frame_with(at, "study MFT (theirs)")["study MFT (theirs)"])[0] == "81.64"


def test_malformed_results_files_are_listed_not_raised(dirs, tmp_path, monkeypatch):
    broken = tmp_path / "checkpoints"
    (broken / "mft").mkdir(parents=True)
    (broken / "mft" / "metrics.json").write_text("{not json", encoding="utf-8")
    (broken / "mft" / "confusion.json").write_text("[1, 2]", encoding="utf-8")
    monkeypatch.setenv("MBTI_CHECKPOINT_DIR", str(broken))
    results = app_support.load_results()
    assert any("unreadable" in p and "metrics.json" in p for p in results.problems)
    assert any("not a JSON object" in p for p in results.problems)
    assert results.report  # the report of the tiny run still loads
    at = new_app()
    at.switch_page("app_pages/results.py").run()
    assert not at.exception
    assert at.expander and "Missing or unreadable" in at.expander[0].label


def test_server_start_warm_up_hands_the_loaded_models_to_the_pages(predictors):
    """app.py's st.App lifespan starts the warm-up at server start; the pages (and Gradio) get those objects."""
    from mbti_core import model_cache
    from mbti_core.app_support import MODES, model_source
    from app_pages import common

    model_cache.clear()
    common.start_warm_up()
    thread = model_cache.start_warm_up([])  # a second start returns the running warm-up, whatever it is asked
    thread.join(timeout=120)
    assert not thread.is_alive()
    for mode in MODES:
        assert model_cache.loaded(model_source(mode))
        loaded = model_cache.predictor(model_source(mode))
        assert common.get_predictor(mode) is loaded
        assert loaded.predict([MESSAGE])[0]["axes"] == pytest.approx(predictors[mode].predict([MESSAGE])[0]["axes"])


def test_model_cache_loads_once_for_concurrent_callers_and_forgets_failures(dirs, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from mbti_core import model_cache

    model_cache.clear()
    source = str(dirs["checkpoints"] / "ft")
    with ThreadPoolExecutor(4) as pool:
        loaded = list(pool.map(model_cache.predictor, [source] * 4))
    assert all(model is loaded[0] for model in loaded)
    missing = tmp_path / "later"
    with pytest.raises(FileNotFoundError):
        model_cache.predictor(str(missing))
    assert not model_cache.loaded(str(missing))
    shutil.copytree(source, missing)  # fixed while the server runs: the next call loads it
    assert model_cache.predictor(str(missing)).predict([MESSAGE])[0]["type"] == loaded[0].predict([MESSAGE])[0]["type"]


def test_reliability_box_close_calls_and_short_message_note_come_from_the_report(dirs, predictors, tmp_path,
                                                                               monkeypatch):
    """With reports/reliability.json made for the served checkpoint, a prediction shows the measured box; an axis
    near 50% is marked as a close call; a short message says what such messages scored."""
    import numpy as np

    from mbti_core.studies.reliability import measure

    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=(400, 4))
    probs = np.clip(y * 0.2 + rng.uniform(0.3, 0.6, size=(400, 4)), 0, 1)
    lengths = rng.integers(1, 120, size=400)
    types = ["ESTJ" if i % 3 else "INFP" for i in range(400)]
    report = {"n": 400, "writers": 40, "checkpoints": {
        mode: {"source": str(dirs[mode]), **measure(y, probs, [0.5] * 4, lengths, types)}
        for mode in ("mft", "ft")}}
    reports = tmp_path / "reports"
    shutil.copytree(dirs["reports"], reports)
    (reports / "reliability.json").write_text(json.dumps(report), encoding="utf-8")
    monkeypatch.setenv("MBTI_REPORTS_DIR", str(reports))

    at = new_app()
    at.chat_input[0].set_value("ㅇㅋ 고마워").run()  # 6 characters: the shortest length band
    assert not at.exception
    assert any("짧은 메시지예요 (6자)" in text and "A short message" in text for text in texts(at.info))
    (box,) = [e for e in at.expander if e.label.startswith("이 예측은 얼마나")]
    box_text = " ".join(m.value for m in box.markdown)
    accuracy = report["checkpoints"]["mft"]["axes"]["EI"]["accuracy"]
    assert f"E/I {100 * accuracy:.0f}%" in box_text and "held-out comments" in box_text
    result = predictors["mft"].predict(["ㅇㅋ 고마워"])[0]
    close = [f"{a[0]}/{a[1]}" for a in AXES if abs(result["axes"][a] - 0.5) < 0.05]
    notes = [text for text in texts(at.info) if text.startswith("애매함 · close call")]
    assert bool(notes) == bool(close) and (not close or ", ".join(close) in notes[0])

    report["checkpoints"]["mft"]["source"] = str(tmp_path / "another-model")  # figures of another checkpoint
    (reports / "reliability.json").write_text(json.dumps(report), encoding="utf-8")
    at = new_app()
    at.chat_input[0].set_value(MESSAGE).run()
    (box,) = [e for e in at.expander if e.label.startswith("이 예측은 얼마나")]
    assert "No measured reliability" in " ".join(m.value for m in box.markdown)


def test_messages_curve_on_the_results_page_and_where_a_chat_log_sits(dirs, predictors, tmp_path, monkeypatch):
    import numpy as np

    from mbti_core.evaluation import message_draws
    from mbti_core.studies.reliability import writer_curve

    rng = np.random.default_rng(2)
    writers = np.repeat([f"w{i}" for i in range(30)], 12)
    y = np.repeat(rng.integers(0, 2, size=(30, 4)), 12, axis=0)
    probs = np.clip(0.5 + (y - 0.5) * 0.2 + rng.normal(0, 0.1, size=y.shape), 0.01, 0.99)
    draws = message_draws(writers, counts=(1, 2, 3, 5, 10))
    logits = np.log(probs / (1 - probs))
    models = {name: {"points": writer_curve(draws, y, logits * scale, lambda rows: 1 / (1 + np.exp(-rows.mean(0))))}
              for name, scale in (("mft", 1.0), ("ft", 0.9), ("tfidf_lr", 0.8))}
    reports = tmp_path / "reports"
    shutil.copytree(dirs["reports"], reports)
    (reports / "reliability.json").write_text(json.dumps({"writer_curve": {"messages": [1, 2, 3, 5, 10],
                                                                           "models": models}}), encoding="utf-8")
    monkeypatch.setenv("MBTI_REPORTS_DIR", str(reports))

    at = new_app()
    at.switch_page("app_pages/results.py").run()
    assert not at.exception
    traces = chart(at, "writer_curve")["data"]
    f1 = {t["name"]: t for t in traces if t["showlegend"] is not False}
    assert set(f1) == {"MFT (ours)", "FT (ours)", "TF-IDF + LR"}
    assert f1["MFT (ours)"]["y"] == pytest.approx([p["mean_macro_f1"] for p in models["mft"]["points"]])
    assert f1["MFT (ours)"]["x"] == [1, 2, 3, 5, 10]

    at = new_app()
    at.segmented_control(key="input_mode").set_value("대화 로그 · Chat log").run()
    at.text_area(key="chat_log").set_value(KAKAO_LOG).run()  # 민지: 3 messages
    note = next(c.value for c in at.caption if c.value.startswith("메시지 3개"))
    three = next(p for p in models["mft"]["points"] if p["messages"] == 3)
    tfidf = next(p for p in models["tfidf_lr"]["points"] if p["messages"] == 3)
    assert f"pooling 3 messages of held-out writers gave mean macro-F1 {three['mean_macro_f1']:.2f}" in note
    assert f"TF-IDF {tfidf['mean_macro_f1']:.2f}" in note
    assert any("3개 메시지 · 3 messages" in c.value for c in at.caption)


def test_results_page_shows_the_reliability_diagram_and_calibration_table(dirs, predictors, tmp_path, monkeypatch):
    """reports/reliability.json with a calibration block for the served checkpoints: the Results page draws each
    axis' reliability bins against the diagonal and lists ECE (shown and plain sigmoid) with their intervals."""
    import numpy as np
    import pandas as pd

    from mbti_core.studies.reliability import calibration_block, measure
    from mbti_core.types import type_labels

    rng = np.random.default_rng(5)
    test = pd.DataFrame({"writer": np.repeat([f"w{i}" for i in range(20)], 6),
                         "type": np.repeat(rng.choice(TYPES, 20), 6)})
    y = type_labels(test["type"].tolist())
    logits = (y - 0.5) * 1.5 + rng.normal(0, 1, size=y.shape)
    report = {"n": len(test), "writers": 20, "checkpoints": {}}
    for mode in ("mft", "ft"):
        predictor = predictors[mode]
        report["checkpoints"][mode] = {
            "source": str(dirs[mode]), **measure(y, predictor.probabilities(logits), [0.5] * 4, [20] * len(test),
                                                 test["type"].tolist()),
            "calibration": calibration_block(test, logits, predictor, samples=20)}
    reports = tmp_path / "reports"
    shutil.copytree(dirs["reports"], reports)
    (reports / "reliability.json").write_text(json.dumps(report), encoding="utf-8")
    monkeypatch.setenv("MBTI_REPORTS_DIR", str(reports))

    at = new_app()
    at.switch_page("app_pages/results.py").run()
    assert not at.exception
    diagram = chart(at, "reliability_diagram")["data"]
    bins = report["checkpoints"]["mft"]["axes"]["EI"]["reliability_bins"]
    points = [trace for trace in diagram if trace.get("mode") == "lines+markers"]
    assert len(points) == 4 and points[0]["x"] == pytest.approx([b["mean_p"] for b in bins])
    assert points[0]["y"] == pytest.approx([b["observed"] for b in bins])
    table = frame_with(at, "ECE per comment, shown")
    block = report["checkpoints"]["mft"]["calibration"]
    assert table["axis"].tolist() == ["E/I", "S/N", "T/F", "J/P"]
    assert table["ECE per writer, plain sigmoid"][0].startswith(f"{block['writer']['ece_uncalibrated']['EI']['ece']:.3f} (")
    served = block["mean_macro_f1"]["served"]
    assert any(f"scores mean macro-F1 {served['comment']:.3f} per comment" in c.value for c in at.caption)
