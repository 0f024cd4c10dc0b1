"""Every bad input of issue 16, through every front: the CLI (``python -m mbti_core`` in a subprocess: exit status,
one ``error:`` line, no traceback), the Streamlit app (AppTest: a message, no exception element) and the Gradio
app (served for real, called with gradio_client: a clean ``AppError``, no traceback in the server log).

Damaged checkpoints are made here from a good tiny one (``tests/support/damaged_checkpoints.py``): truncated weights, two
kinds of corrupted safetensors header, pickled weights only (a pickle that would create a marker file if anything
ever unpickled it), a half-copied ONNX graph and a half-copied folder. Nothing is ever unpickled: the marker never
appears, and an audit hook sees no pickle file opened. The last test prints the battery's counts.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest

from mbti_core.app_support import EXPLAIN_MAX_CHARS, EXPLAIN_NOTE
from mbti_core.batch import MAX_FILE_MB
from mbti_core.checkpoint_files import CheckpointError, check_checkpoint, read_safetensors_header
from tests.support.damaged_checkpoints import KINDS, damage
from tests.support.random_checkpoints import build_random_checkpoints

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_SENTIMENT = ROOT / "checkpoints" / "sentiment"
MESSAGE = "내일 모임 시간 딱 지켜야 해. 늦으면 곤란하니까"
FILL = "할 일은 미리미리 [MASK] 마음이 편하지"
# What each damage must be called in the one-line message.
SAYS = {"truncated": "truncated", "header_length": "corrupted safetensors header",
        "header_json": "corrupted safetensors header", "pickle_only": "never unpickles",
        "half_copied_onnx": "cannot be read by onnxruntime", "half_copied_folder": "truncated"}
COUNTS: dict[str, int] = {"cli": 0, "streamlit": 0, "gradio": 0, "tracebacks": 0}


# -- the checkpoints --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict:
    """A good tiny MFT checkpoint with its ONNX export (as shipped), its damaged copies, and damaged copies of the
    shipped sentiment checkpoint (when there is one; copied first, never touched in place)."""
    from mbti_core.onnx_export import export_onnx

    root = tmp_path_factory.mktemp("bad_input")
    good = build_random_checkpoints(root / "good")
    export_onnx(good["mft"])
    out = {"root": root, "good": good["mft"], "good_ft": good["ft"], "marker": root / "UNPICKLED", "mft": {},
           "sentiment": {}}
    for kind in KINDS:
        out["mft"][kind] = damage(good["mft"], root / "mft" / kind, kind, marker=out["marker"])
        if (SHIPPED_SENTIMENT / "sentiment.json").is_file():
            out["sentiment"][kind] = damage(SHIPPED_SENTIMENT, root / "sentiment" / kind, kind, marker=out["marker"])
    yield out
    assert not out["marker"].exists(), "a pickle was unpickled"


@pytest.fixture(scope="module")
def inputs(folders) -> dict:
    """Input files: good CSV/TXT, a CP949 text file, a binary file, emoji-only lines, a CSV with an unclosed quote,
    and a raw comments file for ``evaluate``."""
    from tests.support.mft_helpers import CLASS_TEXTS

    root = folders["root"] / "inputs"
    root.mkdir()
    files = {"csv": root / "in.csv", "txt": root / "in.txt", "cp949": root / "cp949.txt", "binary": root / "binary.txt",
             "emoji": root / "emoji.txt", "unclosed": root / "unclosed.csv", "comments": root / "comments.csv.gz"}
    pd.DataFrame({"text": [MESSAGE, "주말엔 집에서 쉬고 싶어요"]}).to_csv(files["csv"], index=False)
    files["txt"].write_text(f"{MESSAGE}\n주말엔 집에서 쉬고 싶어요\n", encoding="utf-8")
    files["cp949"].write_bytes(f"{MESSAGE}\n한글 메시지입니다\n".encode("cp949"))
    files["binary"].write_bytes(bytes(range(256)) * 8)
    files["emoji"].write_text(f"😀😀😀\n{MESSAGE}\n👍 !!\n", encoding="utf-8")
    files["unclosed"].write_text('text,type\n"첫 문장인데 따옴표가 안 닫혔어,INTJ\n두 번째 문장,ENFP\n세 번째 문장,ISTJ\n',
                                 encoding="utf-8")
    rows = [{"board": "b", "source_file": "f", "comments": text, "comments_writer": f"닉네임{i} {mbti}"}
            for i in range(6) for mbti in ("ISTJ", "ENFP") for text in CLASS_TEXTS[mbti]]
    pd.DataFrame(rows).to_csv(files["comments"], index=False, compression="gzip")
    return files


# -- the one validation function --------------------------------------------------------------------------------
def test_good_checkpoint_passes_and_every_damage_is_one_checkpoint_error(folders):
    assert check_checkpoint(folders["good"]) == folders["good"]
    header, start = read_safetensors_header(folders["good"] / "model.safetensors")
    assert header and start > 8
    from mbti_core.onnx_predictor import load_predictor

    for kind, folder in folders["mft"].items():
        with pytest.raises(CheckpointError, match=SAYS[kind]) as raised:
            check_checkpoint(folder)
            assert kind == "half_copied_onnx"  # its weights are fine: onnxruntime meets the damaged graph
            load_predictor(folder)
        assert "\n" not in str(raised.value)
    with pytest.raises(FileNotFoundError):
        check_checkpoint(folders["root"] / "nowhere")


def test_a_sharded_checkpoint_with_a_missing_shard(folders, tmp_path):
    import json

    folder = shutil.copytree(folders["good"], tmp_path / "sharded")
    (folder / "model.safetensors").rename(folder / "model-00001-of-00002.safetensors")
    (folder / "model.safetensors.index.json").write_text(json.dumps({"weight_map": {
        "a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}))
    with pytest.raises(CheckpointError, match="model-00002-of-00002.safetensors named by"):
        check_checkpoint(folder)


def test_batch_size_must_be_positive_in_the_library(folders):
    from mbti_core.batch import BatchInputError, read_table, score_table
    from mbti_core.onnx_predictor import load_predictor

    predictor = load_predictor(folders["good"])
    for size in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="batch_size must be a positive integer"):
            predictor.predict([MESSAGE, MESSAGE], batch_size=size)
        with pytest.raises(BatchInputError, match="batch size must be a positive integer"):
            score_table(predictor, read_table(b"text\nhello\n", "a.csv"), batch_size=size)


# -- nothing is ever unpickled --------------------------------------------------------------------------------------
AUDIT = """
import sys
opened = []
def hook(event, args):
    if event == "open" and str(args[0]).endswith(".bin") or event.startswith("pickle."):
        opened.append((event, str(args[0])))
sys.addaudithook(hook)
from mbti_core.cli import main
from mbti_core.inference import Predictor
from mbti_core.modeling import MBTIModel
from mbti_core.onnx_predictor import load_predictor
folder, both = sys.argv[1], sys.argv[2]
codes = [main(["predict", "--checkpoint", folder, "--text", "안녕하세요 반가워요"]),
         main(["fill-mask", "--checkpoint", folder, "--text", "오늘은 [MASK] 좋아"])]
for load in (lambda f: Predictor.from_pretrained(f), MBTIModel.from_pretrained,
             lambda f: load_predictor(f, backend="torch")):
    try:
        load(folder)
    except ValueError as error:
        codes.append(type(error).__name__)
# A folder with good safetensors AND a pickle: loads, from the safetensors, without opening the pickle.
Predictor.from_pretrained(both).predict(["안녕하세요"])
load_predictor(both, backend="torch").predict(["안녕하세요"])
print(codes, opened)
"""


def test_nothing_is_ever_unpickled(folders, tmp_path):
    both = shutil.copytree(folders["good"], tmp_path / "both")
    shutil.copy2(folders["mft"]["pickle_only"] / "pytorch_model.bin", both / "pytorch_model.bin")
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", AUDIT, str(folders["mft"]["pickle_only"]), str(both)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[2, 2, 'CheckpointError', 'CheckpointError', 'CheckpointError'] []"
    assert "never unpickles" in done.stderr and "Traceback" not in done.stderr
    assert not folders["marker"].exists()
    assert time.perf_counter() - started < 120  # it used to take 40-90 s just to fail in torch.load


# -- CLI ----------------------------------------------------------------------------------------------------------
def cli_cases(folders, inputs) -> dict[str, tuple[list, int, str]]:
    """name -> (argv after ``python -m mbti_core``, exit status, words of the one error line)."""
    good, out_dir = str(folders["good"]), folders["root"] / "outputs"
    cases: dict[str, tuple[list, int, str]] = {}
    commands = {
        "predict": ["predict", "--text", MESSAGE],
        "predict-input": ["predict", "--input", str(inputs["txt"])],
        "predict-output": ["predict", "--input", str(inputs["csv"]), "--output", str(out_dir / "damaged.csv")],
        "fill-mask": ["fill-mask", "--text", FILL],
        "evaluate": ["evaluate", "--cafe-comments", str(inputs["comments"])],
        "bench": ["bench", "--repeats", "1", "--batch-messages", "8"],
    }
    for kind, folder in folders["mft"].items():
        for name, argv in commands.items():
            cases[f"{kind}/{name}"] = ([*argv, "--checkpoint", str(folder)], 2, SAYS[kind])
    for kind, folder in folders["sentiment"].items():
        says = "not an MBTI checkpoint" if kind == "half_copied_folder" else SAYS[kind]  # sentiment.json not copied
        cases[f"sentiment-{kind}/predict"] = (["predict", "--text", "이 영화 엄청 재미있네요", "--checkpoint", str(folder)],
                                              2, says)
    cases.update({
        "batch-size -1": (["predict", "--checkpoint", good, "--text", MESSAGE, "--batch-size", "-1"], 2, "positive"),
        "batch-size 0": (["predict", "--checkpoint", good, "--text", MESSAGE, "--batch-size", "0"], 2, "positive"),
        "batch-size -1 --input": (["predict", "--checkpoint", good, "--input", str(inputs["txt"]), "--batch-size", "-1"],
                                  2, "positive"),
        "batch-size 0 --output": (["predict", "--checkpoint", good, "--input", str(inputs["csv"]), "--output",
                                   str(out_dir / "bs0.csv"), "--batch-size", "0"], 2, "positive"),
        "evaluate --batch-size -1": (["evaluate", "--checkpoint", good, "--cafe-comments", str(inputs["comments"]),
                                      "--batch-size", "-1"], 2, "positive"),
        "evaluate --limit 0": (["evaluate", "--checkpoint", good, "--cafe-comments", str(inputs["comments"]),
                                "--limit", "0"], 2, "--limit must be a positive integer"),
        "bench --repeats 0": (["bench", "--checkpoint", good, "--repeats", "0"], 2, "positive"),
        # --output is checked before the checkpoint is even loaded (a damaged one here) and before any scoring.
        "--output is a folder": (["predict", "--checkpoint", str(folders["mft"]["truncated"]), "--input",
                                  str(inputs["csv"]), "--output", str(out_dir)], 2, "is a folder"),
        "--output under a file": (["predict", "--checkpoint", good, "--input", str(inputs["csv"]), "--output",
                                   str(inputs["txt"] / "preds.csv")], 2, "is a file, not a folder"),
        "--output is the input": (["predict", "--checkpoint", good, "--input", str(inputs["csv"]), "--output",
                                   str(inputs["csv"])], 2, "is the input file"),
        "--text invalid UTF-8": (["predict", "--checkpoint", good, "--text", b"\xff\xfe \xed\x95"], 2,
                                 "neither UTF-8 nor CP949"),
        "fill-mask --text invalid UTF-8": (["fill-mask", "--checkpoint", good, "--text", b"\xff [MASK] \xfe"], 2,
                                           "neither UTF-8 nor CP949"),
        "--text emoji only": (["predict", "--checkpoint", good, "--text", "😀😀😀 👍"], 2, "no words to analyse"),
        "--person emoji only": (["predict", "--checkpoint", good, "--text", "😀", "--person"], 2, "no words to analyse"),
        "--input binary": (["predict", "--checkpoint", good, "--input", str(inputs["binary"])], 2,
                           "neither UTF-8 nor CP949"),
        "--input binary --output": (["predict", "--checkpoint", good, "--input", str(inputs["binary"]), "--output",
                                     str(out_dir / "binary.csv")], 2, "neither UTF-8 nor CP949"),
        "fill-mask [MASK] alone": (["fill-mask", "--checkpoint", good, "--text", "[MASK]"], 2, "words around"),
        "fill-mask emoji around [MASK]": (["fill-mask", "--checkpoint", good, "--text", "😀 [MASK] 👍"], 2,
                                          "words around"),
        "mask --input unclosed quote": (["mask", "--masker", "random", "--no-progress", "--input",
                                         str(inputs["unclosed"]), "--output", str(out_dir / "masked.jsonl")], 2,
                                        "malformed CSV in the record starting on line 2"),
    })
    return cases


def run_cli(argv: list) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MBTI_")}
    env["PYTHONPATH"] = str(ROOT)
    command = [os.fsencode(sys.executable), b"-m", b"mbti_core", *[a if isinstance(a, bytes) else os.fsencode(a)
                                                                  for a in argv]]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, timeout=600)
    return subprocess.CompletedProcess(argv, done.returncode, done.stdout.decode("utf-8", "replace"),
                                       done.stderr.decode("utf-8", "replace"))


@pytest.fixture(scope="module")
def cli_runs(folders, inputs) -> dict:
    """All CLI cases, four processes at a time (each is a fresh interpreter, as a user would run it)."""
    (folders["root"] / "outputs").mkdir(exist_ok=True)
    cases = cli_cases(folders, inputs)
    with ThreadPoolExecutor(max_workers=4) as pool:
        runs = dict(zip(cases, pool.map(run_cli, [argv for argv, _, _ in cases.values()])))
    return {name: (cases[name], runs[name]) for name in cases}


def cli_case_names() -> list[str]:
    names = [f"{kind}/{command}" for kind in KINDS
             for command in ("predict", "predict-input", "predict-output", "fill-mask", "evaluate", "bench")]
    names += [f"sentiment-{kind}/predict" for kind in KINDS]
    names += ["batch-size -1", "batch-size 0", "batch-size -1 --input", "batch-size 0 --output",
              "evaluate --batch-size -1", "evaluate --limit 0", "bench --repeats 0", "--output is a folder",
              "--output under a file", "--output is the input", "--text invalid UTF-8", "fill-mask --text invalid UTF-8",
              "--text emoji only", "--person emoji only", "--input binary", "--input binary --output",
              "fill-mask [MASK] alone", "fill-mask emoji around [MASK]", "mask --input unclosed quote"]
    return names


@pytest.mark.parametrize("name", cli_case_names())
def test_cli_bad_input_is_one_clear_line(cli_runs, name):
    if name not in cli_runs:
        pytest.skip("no shipped sentiment checkpoint to copy")
    (argv, status, words), done = cli_runs[name]
    COUNTS["cli"] += 1
    COUNTS["tracebacks"] += "Traceback" in done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == status, done.stderr
    assert len(lines) == 1 and "error: " in lines[0], done.stderr
    assert words in lines[0], lines[0]
    assert done.stdout == ""


def test_cli_nothing_is_lost_or_written_on_failure(cli_runs, folders, inputs):
    out_dir = folders["root"] / "outputs"
    assert sorted(p.name for p in out_dir.iterdir()) == []  # no partial output, not even an empty file
    assert inputs["csv"].read_text(encoding="utf-8").startswith("text\n")  # --output = --input: the input is intact


def test_cli_decodes_like_the_batch_scorer(folders, inputs):
    """A CP949 text file and CP949 bytes in --text are read as Korean (the upload rule), not replaced by '�'."""
    import json

    done = run_cli(["predict", "--checkpoint", str(folders["good"]), "--input", str(inputs["cp949"])])
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["text"] for line in done.stdout.splitlines()] == [MESSAGE, "한글 메시지입니다"]
    done = run_cli(["predict", "--checkpoint", str(folders["good"]), "--text", "한글 메시지".encode("cp949")])
    assert done.returncode == 0 and json.loads(done.stdout)["text"] == "한글 메시지"


def test_cli_emoji_rows_keep_their_place_with_the_fronts_reason(folders, inputs):
    import json

    done = run_cli(["predict", "--checkpoint", str(folders["good"]), "--input", str(inputs["emoji"])])
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert ["error" in row for row in rows] == [True, False, True]
    assert "no words to analyse" in rows[0]["error"] and rows[1]["text"] == MESSAGE


# -- Streamlit ----------------------------------------------------------------------------------------------------
APP = str(ROOT / "navigation.py")


def _app(monkeypatch, folder, env: str = "MBTI_MFT_CHECKPOINT"):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv(env, str(folder))
    return AppTest.from_file(APP, default_timeout=180).run()


def _assert_message(at, words: str) -> None:
    COUNTS["streamlit"] += 1
    COUNTS["tracebacks"] += len(at.exception)
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert any("could not be loaded" in e or "불러올 수 없어요" in e for e in errors), errors
    assert any(words in e for e in errors), errors


@pytest.mark.parametrize("kind", KINDS)
def test_streamlit_pages_with_a_damaged_checkpoint(folders, monkeypatch, kind):
    at = _app(monkeypatch, folders["mft"][kind])
    at.chat_input[0].set_value(MESSAGE).run()
    _assert_message(at, SAYS[kind])
    at.switch_page("app_pages/fill_mask.py").run()  # the example sentence is filled on arrival
    _assert_message(at, SAYS[kind])
    at.switch_page("app_pages/batch.py").run()
    at.file_uploader(key="batch_file").set_value(("m.csv", f"text\n{MESSAGE}\n".encode(), "text/csv")).run()
    at.button(key="batch_run").click().run()
    _assert_message(at, SAYS[kind])


@pytest.mark.parametrize("kind", KINDS)
def test_streamlit_sentiment_page_with_a_damaged_checkpoint(folders, monkeypatch, kind):
    if kind not in folders["sentiment"]:
        pytest.skip("no shipped sentiment checkpoint to copy")
    at = _app(monkeypatch, folders["sentiment"][kind], "MBTI_SENTIMENT_CHECKPOINT")
    at.switch_page("app_pages/sentiment.py").run()
    at.text_area(key="review").set_value("이 영화 엄청 재미있네요").run()
    COUNTS["streamlit"] += 1
    COUNTS["tracebacks"] += len(at.exception)
    assert not at.exception, [e.value for e in at.exception]
    says = "sentiment.json" if kind == "half_copied_folder" else SAYS[kind]
    assert any(says in e.value for e in at.error), [e.value for e in at.error]


def test_streamlit_bad_text_and_files(folders, inputs, monkeypatch):
    """The fronts' own checks: emoji only, a [MASK] with no words, a binary upload, an unclosed quote; a CP949 text
    file is read as Korean."""
    at = _app(monkeypatch, folders["good"])
    at.chat_input[0].set_value("😀😀😀").run()
    assert not at.exception and any("no words to analyse" in w.value for w in at.warning)
    at.switch_page("app_pages/fill_mask.py").run()
    at.text_area(key="fill_text").set_value("[MASK]").run()
    assert not at.exception and any("words around" in w.value for w in at.warning)
    at.switch_page("app_pages/batch.py").run()
    for name, data, words in (("binary.txt", inputs["binary"].read_bytes(), "neither UTF-8 nor CP949"),
                              ("unclosed.csv", inputs["unclosed"].read_bytes(), "malformed CSV")):
        at.file_uploader(key="batch_file").set_value((name, data, "text/plain")).run()
        assert not at.exception and any(words in e.value for e in at.error), [e.value for e in at.error]
    at.file_uploader(key="batch_file").set_value(("cp949.txt", inputs["cp949"].read_bytes(), "text/plain")).run()
    at.button(key="batch_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    scored = next(e.value for e in at.dataframe if "P(E)" in e.value.columns)
    assert scored["text"].tolist() == [MESSAGE, "한글 메시지입니다"]
    COUNTS["streamlit"] += 5


def test_streamlit_explanation_is_capped_and_says_so(folders, monkeypatch):
    """"Why this type?" explains the first EXPLAIN_MAX_CHARS characters of a long message, and the page says so."""
    import re

    from mbti_core.onnx_predictor import load_predictor

    long = "주말엔 집에서 혼자 책 읽는 게 제일 좋아요 " * 40
    at = _app(monkeypatch, folders["good"])
    at.chat_input[0].set_value(long).run()
    at.session_state["why-mft"] = True  # open the expander (it computes only while open)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert EXPLAIN_NOTE in [c.value for c in at.caption]
    (html,) = [m.value for m in at.markdown if "class='mbti-explain'" in m.value]
    expected = load_predictor(folders["good"]).explain(long.strip()[:EXPLAIN_MAX_CHARS])
    assert len(re.findall("data-attribution=", html)) == 4 * len(expected["tokens"])
    shown = re.sub(r"<[^>]+>", "", html.split("<div style='font-size")[0])
    assert len(shown.replace("\n", "")) < EXPLAIN_MAX_CHARS * 4 + 200  # four rows of the cut text, not of 960 chars


def test_streamlit_upload_limit_is_the_batch_pages(folders, monkeypatch):
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["maxUploadSize"] == MAX_FILE_MB  # refused before it reaches memory (default: 200)
    assert "enableXsrfProtection" not in config["server"]  # local runs keep XSRF protection; only the image drops it
    at = _app(monkeypatch, folders["good"])
    at.switch_page("app_pages/batch.py").run()
    assert at.file_uploader(key="batch_file").proto.max_upload_size_mb == MAX_FILE_MB
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "ENV STREAMLIT_SERVER_ENABLE_XSRF_PROTECTION=false" in dockerfile


# -- Gradio -------------------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def gradio(folders):
    """gradio_app.py served on 127.0.0.1, its MFT model read from ``live``: the tests put a damaged copy there
    before each call (a failed load is not cached, so every call loads again)."""
    from gradio_client import Client

    live = folders["root"] / "live" / "mft"
    shutil.copytree(folders["good"], live)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MBTI_")}
    env.update(GRADIO_SERVER_NAME="127.0.0.1", GRADIO_SERVER_PORT=str(port), MBTI_MFT_CHECKPOINT=str(live),
               MBTI_FT_CHECKPOINT=str(folders["good_ft"]), GRADIO_ANALYTICS_ENABLED="False", PYTHONUNBUFFERED="1")
    log = folders["root"] / "gradio.log"
    with open(log, "w") as out:
        server = subprocess.Popen([sys.executable, str(ROOT / "gradio_app.py")], cwd=ROOT, env=env, stdout=out,
                                  stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, log.read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.3)
        yield {"client": Client(f"http://127.0.0.1:{port}/", verbose=False), "live": live, "log": log}
    finally:
        server.terminate()
        server.wait(timeout=30)


def _put(gradio, folder) -> None:
    shutil.rmtree(gradio["live"])
    shutil.copytree(folder, gradio["live"])


def raw_api_error(url: str, api_name: str, data: list) -> str:
    """Call ``api_name`` with plain HTTP (Gradio's /gradio_api/call route, JSON with \\u escapes) and return the
    error event's message; fails when the call does not end in an error event."""
    import json
    import urllib.request

    base = url.rstrip("/")
    request = urllib.request.Request(f"{base}/gradio_api/call/{api_name}", data=json.dumps({"data": data}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        event_id = json.loads(response.read())["event_id"]
    with urllib.request.urlopen(f"{base}/gradio_api/call/{api_name}/{event_id}", timeout=120) as response:
        stream = response.read().decode("utf-8")
    assert "event: error" in stream, stream
    return str(json.loads(stream.split("data: ", 1)[1].splitlines()[0])["error"])


GRADIO_CALLS = {
    "/predict": (MESSAGE,), "/explain": (MESSAGE,), "/fill_mask": (FILL, ["ISTJ", "ENFP"], 3), "/fill_grid": (FILL,),
    "/types_for_word": ("할 일은 미리미리 해야 마음이 편하지", "미리미리"),
}


@pytest.mark.parametrize("kind", KINDS)
def test_gradio_with_a_damaged_checkpoint(gradio, folders, kind):
    from gradio_client.exceptions import AppError

    _put(gradio, folders["mft"][kind])
    for api_name, args in GRADIO_CALLS.items():
        with pytest.raises(AppError) as raised:
            gradio["client"].predict(*args, api_name=api_name)
        COUNTS["gradio"] += 1
        message = str(raised.value)
        assert "could not be loaded" in message and SAYS[kind] in message and "Traceback" not in message, message


def test_gradio_bad_text_and_the_explanation_cap(gradio):
    """Input checks answer before any model loads; the long explanation runs on the good FT model (the MFT slot
    holds damaged copies)."""
    from gradio_client.exceptions import AppError

    client = gradio["client"]
    for api_name, data in (("predict", ["안녕 \udcff 하세요", "mft"]), ("fill_mask", ["안녕 \udcff [MASK]", ["ISTJ"], 3])):
        # gradio_client cannot even send a lone surrogate; a raw HTTP client can (JSON "\udcff"):
        assert "invalid characters" in raw_api_error(client.src, api_name, data)
        COUNTS["gradio"] += 1
    for args, api_name, words in ((("😀😀😀",), "/explain", "no words to analyse"),
                                  (("[MASK]",), "/fill_mask", "words around"),
                                  (("😀 [MASK] 👍",), "/fill_grid", "words around")):
        with pytest.raises(AppError, match=words):
            client.predict(*args, api_name=api_name)
        COUNTS["gradio"] += 1
    long = "주말엔 집에서 혼자 책 읽는 게 제일 좋아요 " * 4000  # ~100,000 characters
    started = time.perf_counter()
    result = client.predict(long, "ft", api_name="/explain")
    COUNTS["gradio"] += 1
    assert len(result["text"]) == EXPLAIN_MAX_CHARS and long.startswith(result["text"])
    assert max(token["end"] for token in result["tokens"]) <= EXPLAIN_MAX_CHARS
    print(f"\n/explain of {len(long):,} characters: {time.perf_counter() - started:.1f} s (first {EXPLAIN_MAX_CHARS})")
    import json

    assert EXPLAIN_NOTE in json.dumps(client.config, ensure_ascii=False)  # said in the "Why this type?" accordion


def test_gradio_server_log_has_no_traceback(gradio):
    log = gradio["log"].read_text(encoding="utf-8", errors="replace")
    COUNTS["tracebacks"] += log.count("Traceback")
    assert "Traceback" not in log, log[-3000:]


def test_battery_counts():
    """Printed with -s; the report quotes it."""
    print(f"\nbad-input battery: CLI {COUNTS['cli']}, Streamlit {COUNTS['streamlit']}, Gradio {COUNTS['gradio']} "
          f"cases; tracebacks {COUNTS['tracebacks']}")
    assert COUNTS["tracebacks"] == 0
