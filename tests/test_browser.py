"""End to end in a real browser: ``streamlit run app.py`` on 127.0.0.1 + Playwright driving Debian's chromium.

Needs ``apt-get install chromium fonts-nanum`` (CI does it). Without /usr/bin/chromium the test is skipped,
unless MBTI_REQUIRE_BROWSER=1 (set in CI), where a missing browser is a failure. Screenshots go to
``screenshots/`` (git-ignored) with ``timings.json``; timings are printed, never asserted (see
``python -m tests.support.browser_timing`` for the benchmark).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from mbti_core.app_support import DEFAULT_FILL_TYPES
from mbti_core.onnx_predictor import load_predictor
from tests.support.app_checkpoints import tiny_app_dirs
from tests.support.browser_timing import CHROMIUM, FIRST_MESSAGE, ROOT, run_session

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REQUIRED = os.environ.get("MBTI_REQUIRE_BROWSER") == "1"


def _require(condition: bool, reason: str) -> None:
    if condition:
        return
    if REQUIRED:
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    _require(Path(CHROMIUM).is_file(), f"{CHROMIUM} not installed (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _require(False, "the playwright Python package is not installed")
    dirs = tiny_app_dirs(tmp_path_factory)
    out = run_session(dirs["checkpoints"], dirs["reports"], ROOT / "screenshots", repeats=3)
    (ROOT / "screenshots" / "timings.json").write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
    print("\nbrowser timings:", json.dumps({k: v for k, v in out.items() if k.endswith("_s")}, indent=2))
    return dirs, out


def test_korean_font_is_installed():
    _require(shutil.which("fc-list") is not None, "fontconfig not installed")
    korean = subprocess.run(["fc-list", ":lang=ko", "family"], capture_output=True, text=True, check=True).stdout
    assert "Nanum" in korean, "no Korean font: screenshots would show boxes (apt-get install fonts-nanum)"


def test_first_prediction_in_the_browser_shows_the_predictors_bars(session):
    dirs, out = session
    expected = load_predictor(dirs["mft"]).predict([FIRST_MESSAGE])[0]
    axes = expected["axes"]
    assert out["first_axis_texts"] == [text for axis, p in axes.items()
                                       for text in (f"{axis[0]} {100 * p:.1f}%", f"{axis[1]} {100 * (1 - p):.1f}%")]
    assert out["first_type"] == expected["type"]
    assert len(out["later_prediction_s"]) == 3 and out["server_alive"]


def test_every_prediction_tells_one_story_in_the_browser(session):
    """For each message typed: the headline type is the bars' letters above 50% and the first closest type."""
    _, out = session
    assert len(out["stories"]) == 4
    for story in out["stories"]:
        assert story["headline"] == story["bar_letters"] == story["first_closest"], story


def test_predict_url_and_phone_width(session):
    _, out = session
    assert out["predict_url_ok"]  # /predict opens the Predict page
    assert out["phone_result_in_view"]  # at 390 x 844 the type and the bars need no scrolling


def test_both_models_side_by_side_in_the_browser(session):
    dirs, out = session
    assert out["both_types"] == [load_predictor(dirs[m]).predict([FIRST_MESSAGE])[0]["type"]
                                 for m in ("mft", "ft")]


def test_fill_mask_page_shows_four_type_columns(session):
    _, out = session
    assert out["fill_mask_headings"] == list(DEFAULT_FILL_TYPES)


def test_screenshots_of_every_page_are_saved(session):
    _, out = session
    assert set(out["screenshots"]) == {"predict", "predict_emoji", "predict_both", "predict_chat_log",
                                       "predict_chat_log_breakdown", "fill_mask", "results", "results_confusion",
                                       "results_curves", "about", "predict_phone"}
    for path in out["screenshots"].values():
        path = Path(path)
        assert path.parent == ROOT / "screenshots" and path.stat().st_size > 5_000
