"""Drive the real app in a real browser: ``streamlit run app.py`` as a subprocess + Playwright on Debian's
chromium (never a downloaded browser). Used by ``tests/test_browser.py`` and, as a benchmark command::

    .venv/bin/python -m tests.support.browser_timing                      # shipped checkpoints/ (tiny ones if absent)
    .venv/bin/python -m tests.support.browser_timing --checkpoint-dir DIR --repeats 10

It prints the cold start (server process start -> first prediction rendered in the page, with the steps in
between) and the end-to-end latency of later predictions (Enter pressed -> new result rendered and the script
idle), and saves screenshots of every page under ``screenshots/`` (git-ignored).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
FIRST_MESSAGE = "내일 모임 시간 딱 지켜야 해. 늦으면 곤란하니까 미리 준비하자"
LATER_MESSAGES = ["갑자기 바다 보고 싶어졌어 ㅋㅋ 지금 출발할 사람?", "그 얘기 듣고 너무 속상했겠다 ㅠㅠ 괜찮아?",
                  "일단 원인부터 정리해 보자. 근거 없는 추측은 빼고.", "주말엔 집에서 혼자 책 읽는 게 제일 좋아요",
                  "오늘 점심 뭐 먹을지 아직 못 정했어", "회의 자료는 어제 미리 다 보내 뒀어요"]
IDLE = '[data-testid="stApp"]:not([data-test-script-state="running"]):not([data-test-script-state="rerunRequested"])'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def app_server(checkpoint_dir: Path, reports_dir: Path | None = None, port: int | None = None):
    """``streamlit run app.py`` on 127.0.0.1; yields (url, started_at perf_counter, process)."""
    port = port or free_port()
    env = dict(os.environ, MBTI_CHECKPOINT_DIR=str(checkpoint_dir), PYTHONUNBUFFERED="1")
    if reports_dir:
        env["MBTI_REPORTS_DIR"] = str(reports_dir)
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
               "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none"]
    log = tempfile.TemporaryFile()
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield f"http://127.0.0.1:{port}", started, process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # the group this call started (start_new_session)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.seek(0)
        output = log.read().decode("utf-8", "replace")
        log.close()
        if process.returncode not in (0, -signal.SIGTERM, -signal.SIGKILL):
            print(output[-3000:], file=sys.stderr)


def wait_healthy(url: str, process, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode} before serving")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"streamlit did not answer {url}/_stcore/health within {timeout:.0f} s")


def launch_browser(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


def wait_idle(page, timeout_ms: float = 60_000) -> None:
    page.wait_for_selector(IDLE, timeout=timeout_ms)


def send_message(page, text: str, timeout_ms: float = 60_000) -> float:
    """Type ``text`` in the chat input, press Enter, wait until its result is rendered; returns seconds."""
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(text)
    started = time.perf_counter()
    box.press("Enter")
    bubble = page.get_by_test_id("stChatMessage").filter(has_text=text[:20])
    bubble.first.wait_for(timeout=timeout_ms)
    page.locator(".mbti-type").first.wait_for(timeout=timeout_ms)
    wait_idle(page, timeout_ms)
    page.locator(".mbti-axes .mbti-bar-text").first.wait_for(timeout=timeout_ms)
    return time.perf_counter() - started


def axis_bar_texts(page) -> list[str]:
    """The texts of the first prediction's axis bars, per axis first then second letter: 'E 61.2%', 'I 38.8%', ..."""
    bars = page.locator(".mbti-axes").first
    return [t.strip() for t in bars.locator(".mbti-bar-text").all_text_contents()]


def shown_story(page) -> dict:
    """What the page shows for the latest prediction: the headline type, the letter each axis bar shows in bold
    (the page's decision from the exact probabilities) and the first of the closest types."""
    spans = page.locator(".mbti-axes").last.locator(".mbti-bar-text")
    letters = ""
    for index in range(spans.count()):
        span = spans.nth(index)
        if int(span.evaluate("element => getComputedStyle(element).fontWeight")) >= 700:
            letters += span.inner_text().strip()[0]
    closest = page.get_by_text("가까운 유형 · Closest types").last.inner_text()
    return {"headline": page.locator(".mbti-type").last.inner_text().strip(), "bar_letters": letters,
            "first_closest": closest.split(": ", 1)[1].split()[0]}


def shot(page, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def element_shot(locator, folder: Path, name: str) -> Path:
    """One element (scrolled into view): the app scrolls inside its own container, so a full-page screenshot
    holds only the first screen of a long page."""
    path = folder / f"{name}.png"
    locator.screenshot(path=str(path))
    return path


def run_session(checkpoint_dir: Path, reports_dir: Path | None = None, screenshots: Path = ROOT / "screenshots",
                repeats: int = 5, expected_axes: dict | None = None) -> dict:
    """One cold start and a tour of every page; returns timings, the texts read back and the screenshots."""
    from playwright.sync_api import sync_playwright

    screenshots.mkdir(parents=True, exist_ok=True)
    out: dict = {"screenshots": {}, "later_prediction_s": [], "stories": []}
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)  # launched first: the cold start is the server's, not the browser's
        page = browser.new_page(viewport={"width": 1400, "height": 1400}, locale="ko-KR")
        with app_server(checkpoint_dir, reports_dir) as (url, started, process):
            wait_healthy(url, process)
            out["server_ready_s"] = time.perf_counter() - started
            page.goto(url)
            page.get_by_test_id("stChatInputTextArea").wait_for(timeout=60_000)
            out["page_ready_s"] = time.perf_counter() - started
            out["first_prediction_only_s"] = send_message(page, FIRST_MESSAGE)
            out["cold_start_to_first_prediction_s"] = time.perf_counter() - started
            out["first_axis_texts"] = axis_bar_texts(page)
            out["first_type"] = page.locator(".mbti-type").first.inner_text().strip()
            out["screenshots"]["predict"] = shot(page, screenshots, "predict")
            out["stories"].append(shown_story(page))
            for i in range(repeats):
                out["later_prediction_s"].append(send_message(page, LATER_MESSAGES[i % len(LATER_MESSAGES)] + f" {i + 1}"))
                out["stories"].append(shown_story(page))

            # Bad input: emoji only -> a message, no result.
            box = page.get_by_test_id("stChatInputTextArea")
            box.fill("😀😀😀")
            box.press("Enter")
            page.get_by_text("분석할 글자가 없어요").first.wait_for(timeout=30_000)
            wait_idle(page)
            out["screenshots"]["predict_emoji"] = shot(page, screenshots, "predict_emoji")

            # Both models side by side.
            box.fill(FIRST_MESSAGE)
            box.press("Enter")
            page.get_by_test_id("stChatMessage").filter(has_text=FIRST_MESSAGE[:20]).first.wait_for()
            wait_idle(page)
            page.get_by_test_id("stButtonGroup").get_by_text("MFT + FT", exact=True).click()
            page.locator(".mbti-type").nth(1).wait_for(timeout=60_000)
            wait_idle(page)
            out["both_types"] = [t.strip() for t in page.locator(".mbti-type").all_inner_texts()]
            out["screenshots"]["predict_both"] = shot(page, screenshots, "predict_both")
            page.get_by_test_id("stButtonGroup").get_by_text("MFT", exact=True).click()
            wait_idle(page)

            # Chat-log mode with the example KakaoTalk export.
            page.get_by_test_id("stButtonGroup").get_by_text("대화 로그 · Chat log", exact=True).click()
            page.get_by_role("button", name="예시 대화 넣기 · Example chat log").click()
            page.locator(".mbti-type").first.wait_for(timeout=60_000)
            wait_idle(page)
            out["screenshots"]["predict_chat_log"] = shot(page, screenshots, "predict_chat_log")
            out["screenshots"]["predict_chat_log_breakdown"] = element_shot(
                page.get_by_test_id("stPlotlyChart").first, screenshots, "predict_chat_log_breakdown")

            # Fill-mask: the study's example sentence, four default types.
            started_fill = time.perf_counter()
            page.goto(f"{url}/fill-mask")
            page.get_by_role("heading", name="ESFP").wait_for(timeout=60_000)
            wait_idle(page)
            out["fill_mask_page_s"] = time.perf_counter() - started_fill
            out["fill_mask_headings"] = [h.strip() for h in page.locator("h3").all_inner_texts()]
            out["screenshots"]["fill_mask"] = shot(page, screenshots, "fill_mask")
            area = page.get_by_role("textbox").first
            area.fill("주말에는 보통 [MASK] 하는 편이야")
            started_fill = time.perf_counter()
            area.press("Control+Enter")
            page.get_by_text("주말에는 보통").nth(1).wait_for(timeout=60_000)
            wait_idle(page)
            out["fill_mask_later_s"] = time.perf_counter() - started_fill

            page.goto(f"{url}/results")
            page.locator(".js-plotly-plot").nth(2).wait_for(timeout=60_000)
            wait_idle(page)
            out["screenshots"]["results"] = shot(page, screenshots, "results")
            def chart_after(heading: str):  # the first chart under a section heading (sections come and go)
                return page.locator(f"h3:has-text('{heading}')").locator(
                    "xpath=following::*[@data-testid='stPlotlyChart'][1]")

            out["screenshots"]["results_confusion"] = element_shot(chart_after("혼동 행렬"), screenshots,
                                                                   "results_confusion")
            out["screenshots"]["results_curves"] = element_shot(chart_after("학습 곡선"), screenshots, "results_curves")
            if not page.get_by_text("보정 측정값이 없어요").count():  # a reliability report with calibration
                out["screenshots"]["results_reliability"] = element_shot(chart_after("60%는 정말"), screenshots,
                                                                         "results_reliability")
            page.goto(f"{url}/about")
            page.get_by_text("닉네임 라벨").first.wait_for(timeout=60_000)
            out["screenshots"]["about"] = shot(page, screenshots, "about")

            # A link straight to /predict opens the Predict page (not "Page not found").
            page.goto(f"{url}/predict")
            page.get_by_test_id("stChatInputTextArea").wait_for(timeout=60_000)
            wait_idle(page)
            out["predict_url_ok"] = (page.get_by_text("Page not found").count() == 0  # and inside the app's frame
                                     and page.get_by_test_id("stSidebarNav").get_by_text("소개 · About").count() == 1)

            # Phone width: the result is visible without scrolling.
            phone = browser.new_page(viewport={"width": 390, "height": 844}, locale="ko-KR", is_mobile=True)
            phone.goto(url)
            phone.get_by_test_id("stChatInputTextArea").wait_for(timeout=60_000)
            send_message(phone, FIRST_MESSAGE)
            headline = phone.locator(".mbti-type").last.bounding_box()
            bars = phone.locator(".mbti-axes").last.bounding_box()
            pinned = phone.get_by_test_id("stBottom").bounding_box()  # the input pinned at the bottom covers the rest
            out["phone_boxes"] = {"headline": headline, "bars": bars, "chat_input": pinned}
            out["phone_result_in_view"] = bool(headline and bars and pinned and headline["y"] >= 0
                                               and bars["y"] + bars["height"] <= min(844, pinned["y"]))
            out["screenshots"]["predict_phone"] = path = screenshots / "predict_phone.png"
            phone.screenshot(path=str(path))
            phone.close()
            out["server_alive"] = process.poll() is None
        browser.close()
    later = out["later_prediction_s"]
    out["later_prediction_p50_s"] = statistics.median(later) if later else None
    out["later_prediction_max_s"] = max(later) if later else None
    out["screenshots"] = {k: str(v) for k, v in out["screenshots"].items()}
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.browser_timing", description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint-dir", default=None, help="folder with mft/ and ft/ (default: checkpoints/ "
                        "if it holds both, else tiny models trained now in a temporary folder)")
    parser.add_argument("--reports-dir", default=None, help="folder with mft_vs_ft.json (default reports/)")
    parser.add_argument("--repeats", type=int, default=10, help="later predictions to time")
    parser.add_argument("--screenshots", default=str(ROOT / "screenshots"))
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from mbti_core import settings

    checkpoint_dir = Path(args.checkpoint_dir) if args.checkpoint_dir else settings.checkpoint_dir()
    reports_dir = Path(args.reports_dir) if args.reports_dir else None
    with tempfile.TemporaryDirectory() as tmp:
        if not ((checkpoint_dir / "mft").is_dir() and (checkpoint_dir / "ft").is_dir()):
            from tests.support.app_checkpoints import build_tiny_checkpoints

            print(f"no checkpoints in {checkpoint_dir}: training tiny ones in {tmp} …", file=sys.stderr)
            built = build_tiny_checkpoints(tmp)
            checkpoint_dir, reports_dir = built["checkpoints"], reports_dir or built["reports"]
        result = run_session(checkpoint_dir, reports_dir, Path(args.screenshots), args.repeats)
    result["checkpoint_dir"] = str(checkpoint_dir)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
