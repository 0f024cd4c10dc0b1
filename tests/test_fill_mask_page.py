"""The Fill-mask page's three views (four types, the 16-type grid, word -> types) and its measured-effect caption,
through ``streamlit.testing.v1.AppTest``, and the same in the Gradio app (served for real and called with
gradio_client, plus its UI handlers in process). Everything shown is compared with the predictor's own outputs
and with a ``type_effect.json`` written here; the checkpoints are the untrained tiny ones of
``tests/support/random_checkpoints.py`` (fill-mask plumbing needs no training)."""
from __future__ import annotations

import json
import math
import re
from collections import Counter
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from mbti_core.app_support import (
    DEFAULT_FILL_TYPES, FILL_MASK_EXAMPLE, FILL_MASK_EXAMPLES, GRID_HEADER, WORD_QUERY_EXAMPLE,
)
from mbti_core.onnx_predictor import load_predictor
from mbti_core.types import TYPES
from tests.support.apptest_helpers import texts
from tests.support.gradio_server import served_gradio
from tests.support.random_checkpoints import random_checkpoint_dirs

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "navigation.py")
TIMEOUT = 180        # the first run imports torch/transformers on 2 busy CPU cores
HIGHLIGHT = re.compile(r":orange-background\[\*\*(.*)\*\*\]")
SENTENCE = "할 일은 미리미리 해야 마음이 편하지 않겠어?"  # words the tiny tokenizer can spell: 일은, 미리미리, 해야, ...
SHIPPED = {"rows": 1234, "tokens": 2345, "top1_true": 0.11, "top5_true": 0.3, "top1_other": 0.05, "top5_other": 0.2,
           "logprob_gap": 0.6931, "logprob_gap_se": 0.0123, "true_type_top1": 0.2137, "true_type_top4": 0.5,
           "true_type_mean_rank": 4.2, "chance": {"true_type_top1": 1 / 16},
           "baseline_word_frequency": {"rows": 1234, "true_type_top1": 0.574, "true_type_top4": 0.8}}


def write_report(folder: Path, **changes) -> dict:
    shipped = {**SHIPPED, **changes}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "type_effect.json").write_text(json.dumps({"about": "test", "shipped": shipped}), encoding="utf-8")
    return shipped


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    return random_checkpoint_dirs(tmp_path_factory)


@pytest.fixture(scope="module")
def predictor(dirs):
    return load_predictor(dirs["mft"])  # the loader the apps use, so the very backend they serve


@pytest.fixture()
def reports(tmp_path, dirs, monkeypatch) -> Path:
    """A reports folder of this test (MBTI_REPORTS_DIR) holding a type_effect.json with SHIPPED."""
    folder = tmp_path / "reports"
    write_report(folder)
    monkeypatch.setenv("MBTI_CHECKPOINT_DIR", str(dirs["checkpoints"]))
    monkeypatch.setenv("MBTI_REPORTS_DIR", str(folder))
    for name in ("MBTI_MFT_CHECKPOINT", "MBTI_FT_CHECKPOINT"):
        monkeypatch.delenv(name, raising=False)
    return folder


def fill_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("app_pages/fill_mask.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def show(at: AppTest, view: str) -> AppTest:
    at.segmented_control(key="fill_view").set_value(view).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def effect_caption(at: AppTest) -> str:
    """The measured-effect caption: a Korean and an English one, side by side."""
    korean, english = [c for c in texts(at.caption) if "e^" in c]
    assert korean.startswith("유형이 예측을") and english.startswith("How much does the type")
    return f"{korean}\n{english}"


def grid_cells(at: AppTest) -> dict[str, tuple[str, str]]:
    """The grid table: {type: (token cell, probability cell)}, checking that each cell sits at its letters."""
    (table,) = [m for m in texts(at.markdown) if m.startswith(GRID_HEADER)]
    lines = table.splitlines()
    columns = [c.strip() for c in lines[0].strip().strip("|").split("|")][1:]
    assert columns == ["TJ", "TP", "FJ", "FP"]
    cells = {}
    for line in lines[2:]:
        row, *row_cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        for column, cell in zip(columns, row_cells, strict=True):
            mbti, token, prob = cell.split(" · ")
            assert mbti == row.strip("*") + column
            cells[mbti] = (token, prob)
    return cells


# -- the measured type effect -------------------------------------------------------------------------------
def test_caption_reads_the_measured_figures_from_the_report(reports):
    at = fill_page()
    caption = effect_caption(at)
    ratio = math.exp(SHIPPED["logprob_gap"])
    assert f"{ratio:.2f}" == "2.00"
    for needle in ("1,234", "e^0.693", "≈ 2.00배 높아요", "2.00 times higher", "geometric mean", "기하평균",
                   "0.693 ± 0.012", "21.4%", "57.4%", "1/16 = 6.25%", "held-out"):
        assert needle in caption, (needle, caption)
    source = " ".join(texts(at.caption))
    for needle in ("GPT-4o", "고정관념", "stereotypes", "카페", "cafe ablation"):
        assert needle in source

    # Read at run time: a rewritten report shows on the next run, with its own numbers.
    write_report(reports, rows=1362, logprob_gap=0.005, true_type_top1=0.0646,
                 baseline_word_frequency={"true_type_top1": 0.3})
    at.run()
    caption = effect_caption(at)
    assert f"{math.exp(0.005):.3f}" == "1.005"
    for needle in ("1,362", "e^0.005 ≈ 1.005배", "1.005 times higher", "6.5%", "30.0%"):
        assert needle in caption, (needle, caption)
    assert "2.00" not in caption and "1,234" not in caption


@pytest.mark.parametrize("content", [None, "{not json", "[1, 2]", json.dumps({"shipped": {"rows": "many"}}),
                                     json.dumps({"shipped": {**SHIPPED, "logprob_gap": None}})])
def test_missing_or_malformed_report_gives_a_short_notice(reports, content):
    path = reports / "type_effect.json"
    if content is None:
        path.unlink()
    else:
        path.write_text(content, encoding="utf-8")
    at = fill_page()
    assert not at.exception
    assert not [c for c in texts(at.caption) if "e^" in c]
    assert any("type_effect.json" in c and "not available" in c for c in texts(at.caption))
    assert texts(at.subheader) == list(DEFAULT_FILL_TYPES)  # the rest of the page works


# -- the three views ----------------------------------------------------------------------------------------
def test_four_type_view_is_the_default_and_keeps_working(reports, predictor):
    at = fill_page()
    assert at.segmented_control(key="fill_view").value == "four"
    assert texts(at.subheader) == list(DEFAULT_FILL_TYPES)
    fills = predictor.fill_mask(FILL_MASK_EXAMPLE, list(DEFAULT_FILL_TYPES), 5)
    tables = [m for m in texts(at.markdown) if m.startswith("| # |")]
    assert len(tables) == 4
    for mbti, table in zip(DEFAULT_FILL_TYPES, tables):
        rows = [line.split(" | ") for line in table.splitlines()[2:]]
        assert [HIGHLIGHT.sub(r"\1", row[1]) for row in rows] == [item["token"] for item in fills[mbti]]
        assert [row[2].rstrip(" |") for row in rows] == [f"{100 * item['prob']:.1f}%" for item in fills[mbti]]
    quotes = [m for m in texts(at.markdown) if m.startswith("> ")]
    assert quotes == [f"> {FILL_MASK_EXAMPLE.replace('[MASK]', '**' + fills[t][0]['token'] + '**')}"
                      for t in DEFAULT_FILL_TYPES]
    raised = predictor.raised_words(FILL_MASK_EXAMPLE, list(DEFAULT_FILL_TYPES), 5)
    lift_tables = [m for m in texts(at.markdown) if "×lift" in m]
    assert len(lift_tables) == 4
    for mbti, table in zip(DEFAULT_FILL_TYPES, lift_tables):
        assert table.startswith(f"| {mbti} |")
        rows = [line.split(" | ") for line in table.splitlines()[2:]]
        assert [row[0].lstrip("| ") for row in rows] == [item["token"] for item in raised[mbti]]
        assert [row[1] for row in rows] == [f"×{item['lift']:.3f}" for item in raised[mbti]]
    # The example button steps through the examples and wraps around.
    for expected in [*FILL_MASK_EXAMPLES[1:], FILL_MASK_EXAMPLES[0]]:
        at.button(key="fill_example").click().run()
        assert at.text_area(key="fill_text").value == expected and not at.exception


def test_grid_view_shows_each_types_top_word(reports, predictor):
    at = show(fill_page(), "grid")
    assert not at.subheader  # only the four-type view has type headings
    grid = predictor.fill_grid(FILL_MASK_EXAMPLE)
    assert list(grid) == list(TYPES)
    cells = grid_cells(at)
    assert sorted(cells) == sorted(TYPES) and len(cells) == 16
    tops = Counter(items[0]["token"] for items in grid.values())
    for mbti, (token, prob) in cells.items():
        top = grid[mbti][0]
        assert prob == f"{100 * top['prob']:.1f}%"
        if tops[top["token"]] == 1:  # no other type's top word: highlighted
            assert token == f":orange-background[**{top['token']}**]"
        else:
            assert token == top["token"]

    # The [MASK] sentence is shared with the four-type view and survives switching views.
    at.text_area(key="fill_text").set_value("주말에는 보통 [MASK]").run()
    show(at, "word")
    show(at, "grid")
    assert at.text_area(key="fill_text").value == "주말에는 보통 [MASK]"
    grid = predictor.fill_grid("주말에는 보통 [MASK]")
    assert {t: HIGHLIGHT.sub(r"\1", c[0]) for t, c in grid_cells(at).items()} == \
        {t: i[0]["token"] for t, i in grid.items()}
    at.text_area(key="fill_text").set_value("마스크 없는 문장").run()
    assert any("[MASK]가 없어요" in w for w in texts(at.warning)) and not at.exception
    assert not [m for m in texts(at.markdown) if m.startswith(GRID_HEADER)]


def test_word_view_ranks_the_types_like_the_predictor(reports, predictor):
    at = show(fill_page(), "word")
    assert (at.text_area(key="word_text").value, at.text_input(key="word_word").value) == WORD_QUERY_EXAMPLE
    for sentence, word in (WORD_QUERY_EXAMPLE, (SENTENCE, "일은")):
        at.text_area(key="word_text").set_value(sentence)
        at.text_input(key="word_word").set_value(word).run()
        assert not at.exception and not at.warning
        expected = predictor.types_for_word(sentence, word)
        (frame,) = [d.value for d in at.dataframe]
        assert frame["type"].iloc[0] == expected["types"][0]["type"]
        assert list(frame["type"]) == [item["type"] for item in expected["types"]]
        assert list(frame["rank"]) == list(range(1, 17))
        assert list(frame["share"]) == pytest.approx([100 * item["share"] for item in expected["types"]], abs=1e-9)
        assert frame["share"].sum() == pytest.approx(100)
        assert list(frame["vs_chance"]) == pytest.approx([16 * item["share"] for item in expected["types"]])
        best = expected["types"][0]
        assert any(m.startswith(f"**'{word}'** → **{best['type']}** {100 * best['share']:.1f}%")
                   for m in texts(at.markdown))


@pytest.mark.parametrize("sentence, word, message", [
    (SENTENCE, "없는말", "문장에 없는 단어예요"),
    (SENTENCE, "", "단어 하나를 입력해 주세요"),
    (SENTENCE, "미리미리 해야", "띄어쓰기 없이"),
    ("할 일은 [MASK] 해야지", "해야지", "[MASK] 없이"),
    ("   ", "해야", "문장을 입력해 주세요"),
    (SENTENCE, "않겠어", "This word cannot be scored"),  # the predictor's own check: unknown pieces
])
def test_word_view_bad_input_is_a_warning(reports, sentence, word, message):
    at = show(fill_page(), "word")
    at.text_area(key="word_text").set_value(sentence)
    at.text_input(key="word_word").set_value(word).run()
    assert not at.exception
    (warning,) = texts(at.warning)
    assert message in warning and "\n" not in warning
    assert not at.dataframe


def test_every_view_says_when_the_model_is_missing(reports, tmp_path, monkeypatch):
    monkeypatch.setenv("MBTI_CHECKPOINT_DIR", str(tmp_path / "nowhere"))
    at = fill_page()
    for view in ("four", "grid", "word"):
        show(at, view)
        assert any("could not be loaded" in e for e in texts(at.error)), view
    assert effect_caption(at)  # the measured figures do not need the model


# -- Gradio ---------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client(dirs, tmp_path_factory):
    with served_gradio(dirs["checkpoints"], tmp_path_factory.mktemp("gradio_fill")) as connected:
        yield connected


def assert_fills_equal(result: dict, expected: dict) -> None:
    assert list(result) == list(expected)
    for mbti, items in expected.items():
        assert [i["token"] for i in result[mbti]] == [i["token"] for i in items]
        assert [i["prob"] for i in result[mbti]] == pytest.approx([i["prob"] for i in items], abs=1e-6)


def test_gradio_endpoints_return_what_the_predictor_returns(client, predictor):
    from gradio_client.exceptions import AppError

    assert {"/fill_mask", "/fill_grid", "/types_for_word"} <= set(
        client.view_api(print_info=False, return_format="dict")["named_endpoints"])
    assert_fills_equal(client.predict(FILL_MASK_EXAMPLE, ["ISTJ", "ENFP"], 3, api_name="/fill_mask"),
                       predictor.fill_mask(FILL_MASK_EXAMPLE, ["ISTJ", "ENFP"], 3))
    grid = client.predict(FILL_MASK_EXAMPLE, api_name="/fill_grid")
    assert list(grid) == list(TYPES) and all(len(items) == 1 for items in grid.values())
    assert_fills_equal(grid, predictor.fill_grid(FILL_MASK_EXAMPLE))
    assert_fills_equal(client.predict(FILL_MASK_EXAMPLE, 3, api_name="/fill_grid"),
                       predictor.fill_grid(FILL_MASK_EXAMPLE, 3))

    result = client.predict(SENTENCE, "미리미리", api_name="/types_for_word")
    expected = predictor.types_for_word(SENTENCE, "미리미리")
    assert {k: result[k] for k in ("word", "pieces", "masked", "truncated")} == \
        {k: expected[k] for k in ("word", "pieces", "masked", "truncated")}
    assert [t["type"] for t in result["types"]] == [t["type"] for t in expected["types"]]
    assert [t["share"] for t in result["types"]] == pytest.approx([t["share"] for t in expected["types"]], abs=1e-9)
    assert [t["logprob"] for t in result["types"]] == pytest.approx([t["logprob"] for t in expected["types"]], abs=1e-6)

    for args, api_name, words in (((SENTENCE, "없는말"), "/types_for_word", "does not occur in the sentence"),
                                  ((SENTENCE, "않겠어"), "/types_for_word", "cannot be scored"),
                                  (("할 일은 [MASK] 해야지", "해야지"), "/types_for_word", "without \\[MASK\\]"),
                                  (("마스크 없는 문장",), "/fill_grid", "no \\[MASK\\]")):
        with pytest.raises(AppError, match=words):
            client.predict(*args, api_name=api_name)


@pytest.fixture()
def app_module(reports):
    import gradio_app  # the project root is on pytest's pythonpath

    return gradio_app


def test_gradio_views_format_probabilities_to_one_decimal(app_module, predictor, reports):
    import gradio as gr

    *tables, sentences = app_module.fill_view(FILL_MASK_EXAMPLE, "ISTJ", "ENFP", "INTJ", "ESFP", 4)
    fills = predictor.fill_mask(FILL_MASK_EXAMPLE, ["ISTJ", "ENFP", "INTJ", "ESFP"], 4)
    assert [table.label for table in tables] == ["ISTJ", "ENFP", "INTJ", "ESFP"]
    for table, mbti in zip(tables, fills):
        rows = [line.split(" | ") for line in table.value.splitlines() if re.match(r"\| \d+ \|", line)]
        assert [row[1].strip("*") for row in rows] == [item["token"] for item in fills[mbti]]
        assert [row[2].rstrip(" |") for row in rows] == [f"{100 * item['prob']:.1f}%" for item in fills[mbti]]
    assert f"**ISTJ**: {FILL_MASK_EXAMPLE.replace('[MASK]', fills['ISTJ'][0]['token'])}" in sentences

    grid = predictor.fill_grid(FILL_MASK_EXAMPLE)
    cells = re.findall(r"([EI][SN][TF][JP]) · \**([^|*]+?)\** · ([0-9.]+%)", app_module.grid_view(FILL_MASK_EXAMPLE))
    assert {mbti: (token, prob) for mbti, token, prob in cells} == \
        {mbti: (items[0]["token"], f"{100 * items[0]['prob']:.1f}%") for mbti, items in grid.items()}

    expected = predictor.types_for_word(SENTENCE, "해야")
    rows = re.findall(r"^\| (\d+) \| ([EI][SN][TF][JP]) \| ([0-9.]+%) \|", app_module.word_view(SENTENCE, "해야"), re.M)
    assert rows == [(str(rank), item["type"], f"{100 * item['share']:.1f}%")
                    for rank, item in enumerate(expected["types"], start=1)]

    caption = app_module.type_effect_markdown()  # the same caption, read from the report now
    assert "1,234" in caption and "≈ 2.00배" in caption and "2.00 times higher" in caption and "GPT-4o" in caption
    (reports / "type_effect.json").unlink()
    assert "not available" in app_module.type_effect_markdown()

    for call, args, words in ((app_module.word_view, (SENTENCE, "없는말"), "does not occur"),
                              (app_module.grid_view, ("[MASK] 그리고 [MASK]",), "하나만"),
                              (app_module.types_for_word, ("", "해야"), "complete sentence")):
        with pytest.raises(gr.Error, match=words):
            call(*args)
