"""Batch scoring (mbti_core.batch): reading CSV/TSV/JSONL/TXT with its limits and messages, scoring equal to the
Predictor's, failed rows reported; the CLI (`predict --input --output`) as a subprocess; the Streamlit page."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from mbti_core import batch
from mbti_core.batch import PROB_COLUMNS, BatchInputError, read_table, score_table
from mbti_core.inference import Predictor
from mbti_core.types import AXES
from tests.support.random_checkpoints import random_checkpoint_dirs

ROOT = Path(__file__).resolve().parent.parent
MESSAGES = ["내일 모임 시간 딱 지켜야 해", "즉흥 여행 너무 재밌어요 ㅋㅋ", "쉼표, 그리고 \"따옴표\"도 있는 문장", "계획 세우고 일정 정리했어요"]
GOOD_CSV = pd.DataFrame({"id": [1, 2, 3, 4, 5, 6], "message": [MESSAGES[0], "", MESSAGES[1], "?! ... !!", MESSAGES[2], MESSAGES[3]]})


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    return random_checkpoint_dirs(tmp_path_factory)


@pytest.fixture(scope="module")
def predictor(dirs):
    return Predictor.from_pretrained(dirs["mft"])


def csv_bytes(frame: pd.DataFrame, encoding: str = "utf-8") -> bytes:
    return frame.to_csv(index=False).encode(encoding)


# -- reading ----------------------------------------------------------------------------------------------------
def test_reads_utf8_cp949_and_bom(tmp_path):
    for encoding, expected in (("utf-8", "utf-8"), ("utf-8-sig", "utf-8"), ("cp949", "cp949")):
        table = read_table(csv_bytes(GOOD_CSV, encoding), "messages.csv")
        assert table.encoding == expected and table.columns == ["id", "message"]
        assert table.frame["message"].tolist() == GOOD_CSV["message"].tolist()
        assert table.guess_text_column() == "message"
    path = tmp_path / "m.tsv"
    path.write_bytes(GOOD_CSV.to_csv(index=False, sep="\t").encode("utf-8"))
    assert read_table(path).frame["message"].tolist()[2] == MESSAGES[1]


@pytest.mark.parametrize("name, data, words", [
    ("bad.csv", b"a,b\n1,2\n3,4,5\n", "malformed CSV .*Expected 2 fields in line 3, saw 3"),
    ("bad.csv", b'text\n"unclosed\n', "malformed CSV .*EOF inside string"),
    ("latin.csv", b"text\n\x80\x80abc\n", "neither UTF-8 nor CP949"),
    ("empty.csv", b"  \n", "empty"),
    ("header.csv", b"text\n", "no rows"),
    ("x.xlsx", b"PK...", "unsupported file type '.xlsx'"),
])
def test_bad_files_get_clear_messages(name, data, words):
    with pytest.raises(BatchInputError, match=words):
        read_table(data, name)


def test_limits(tmp_path):
    with pytest.raises(BatchInputError, match="rows; the limit is 3"):
        read_table(csv_bytes(GOOD_CSV), "m.csv", max_rows=3)
    path = tmp_path / "big.csv"
    path.write_bytes(b"text\n" + "가나다라 마바사\n".encode() * 2000)
    with pytest.raises(BatchInputError, match=r"MB; the limit is 0.01 MB"):
        read_table(path, max_mb=0.01)
    with pytest.raises(FileNotFoundError):
        read_table(tmp_path / "missing.csv")


def test_jsonl_bad_lines_become_failed_rows(predictor):
    lines = [json.dumps({"text": MESSAGES[0]}, ensure_ascii=False), "{not json", "[1, 2]", "",
             json.dumps({"text": 42}), json.dumps({"other": "x"}), json.dumps({"text": MESSAGES[1]}, ensure_ascii=False)]
    table = read_table("\n".join(lines).encode(), "m.jsonl")
    assert table.n_rows == 6
    result = score_table(predictor, table, "text")
    assert result.scored["row"].tolist() == [1, 6] and result.n_rows == 6
    reasons = dict(zip(result.failed["row"], result.failed["reason"]))
    assert "line 2 is not JSON" in reasons[2] and "not a JSON object" in reasons[3]
    assert reasons[4].startswith("not text (int") and reasons[5].startswith("empty")


# -- scoring ----------------------------------------------------------------------------------------------------
def test_scores_equal_the_predictor_and_failures_are_kept(predictor):
    table = read_table(csv_bytes(GOOD_CSV), "m.csv")
    calls = []
    result = score_table(predictor, table, "message", batch_size=2, progress=lambda done, total: calls.append((done, total)))
    assert calls[0] == (0, 4) and calls[-1] == (4, 4) and len(calls) == 3
    assert result.scored["row"].tolist() == [1, 3, 5, 6]
    for (_, row), text in zip(result.scored.iterrows(), [MESSAGES[0], MESSAGES[1], MESSAGES[2], MESSAGES[3]]):
        expected = predictor.predict([text])[0]
        assert row["text"] == text and row["type"] == expected["type"]
        assert [row[c] for c in PROB_COLUMNS] == pytest.approx([expected["axes"][a] for a in AXES], abs=1e-5)
    assert result.failed["row"].tolist() == [2, 4]
    assert "empty" in result.failed["reason"][0] and "no words" in result.failed["reason"][1]
    full = result.table()
    assert full["row"].tolist() == [1, 2, 3, 4, 5, 6] and full["error"].astype(bool).tolist() == [
        False, True, False, True, False, False]
    back = pd.read_csv(pd.io.common.BytesIO(result.to_csv_bytes()), encoding="utf-8-sig", keep_default_na=False)
    assert list(back.columns) == ["row", "id", *batch.RESULT_COLUMNS[1:]] and back["text"][4] == MESSAGES[2]
    assert back["id"].tolist() == [1, 2, 3, 4, 5, 6]  # the file's own columns come back, failed rows included


KAKAO_EXPORT = """홍길동 님과 카카오톡 대화
저장한 날짜 : 2024-01-05 12:00:00

--------------- 2024년 1월 3일 수요일 ---------------
2024. 1. 3. 오후 3:12, 민지 : 내일 모임 시간 딱 지켜야 해
2024. 1. 3. 오후 3:13, 준호 : 즉흥 여행 너무 재밌어요 ㅋㅋ
2024. 1. 3. 오후 3:14, 민지 : 계획 세우고 일정 정리했어요
2024. 1. 3. 오후 3:15, 준호 : 사진
2024. 1. 3. 오후 3:16, 민지 : 쉼표, 그리고 "따옴표"도 있는 문장
"""


def test_kakaotalk_export_is_one_row_per_message_and_pools_per_speaker(predictor):
    table = read_table(KAKAO_EXPORT.encode("utf-8"), "KakaoTalk_chat.txt")
    assert table.format == "kakaotalk" and table.columns == ["speaker", "text"]
    assert table.frame["speaker"].tolist() == ["민지", "준호", "민지", "민지"]  # the photo placeholder is not a message
    assert table.guess_speaker_column() == "speaker" and table.guess_text_column() == "text"
    result = score_table(predictor, table)
    assert result.table()["speaker"].tolist() == ["민지", "준호", "민지", "민지"]
    pooled = result.by_speaker("speaker", predictor)
    assert pooled["speaker"].tolist() == ["민지", "준호"] and pooled["messages"].tolist() == [3, 1]
    person = predictor.predict_person([MESSAGES[0], MESSAGES[3], MESSAGES[2]])
    first = pooled.iloc[0]
    assert first["type"] == person["type"]
    assert [first[c] for c in PROB_COLUMNS] == pytest.approx([person["axes"][a] for a in AXES], abs=1e-5)
    assert pooled.iloc[1]["type"] == predictor.predict_person([MESSAGES[1]])["type"]
    with pytest.raises(BatchInputError, match="no column 'who'"):
        result.by_speaker("who", predictor)


def test_input_columns_named_like_results_are_kept_under_another_name(predictor):
    frame = pd.DataFrame({"type": ["ENFP", "ISTJ"], "text": [MESSAGES[1], MESSAGES[0]], "writer": ["a", "b"]})
    result = score_table(predictor, read_table(csv_bytes(frame), "labelled.csv"))
    table = result.table()
    assert list(table.columns[:3]) == ["row", "type (input)", "writer"]
    assert table["type (input)"].tolist() == ["ENFP", "ISTJ"] and table["type"].tolist() == [
        r["type"] for r in predictor.predict([MESSAGES[1], MESSAGES[0]])]


def test_missing_column(predictor):
    with pytest.raises(BatchInputError, match="no column 'text'; the columns are: id, message"):
        score_table(predictor, read_table(csv_bytes(GOOD_CSV), "m.csv"), "text")


# -- CLI --------------------------------------------------------------------------------------------------------
def run_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mbti_core", "predict", *args], cwd=str(ROOT), capture_output=True,
                          text=True, timeout=300)


@pytest.mark.slow
def test_cli_batch_scoring(dirs, predictor, tmp_path):
    source = tmp_path / "in.csv"
    source.write_bytes(csv_bytes(GOOD_CSV, "cp949"))
    out = tmp_path / "preds.csv"
    done = run_cli("--checkpoint", str(dirs["mft"]), "--input", str(source), "--output", str(out), "--column", "message")
    assert done.returncode == 1, done.stderr  # two rows failed
    assert "scored 4 of 6 rows (column 'message', cp949)" in done.stderr and "2 rows failed" in done.stderr
    frame = pd.read_csv(out, encoding="utf-8-sig", keep_default_na=False)
    assert frame["row"].tolist() == [1, 2, 3, 4, 5, 6]
    expected = predictor.predict([MESSAGES[1]])[0]
    assert frame["type"][2] == expected["type"] and float(frame["P(E)"][2]) == pytest.approx(expected["axes"]["EI"], abs=1e-5)
    assert frame["error"][1] and not frame["error"][0]

    missing = run_cli("--checkpoint", str(dirs["mft"]), "--input", str(source), "--output", str(out), "--column", "x")
    assert missing.returncode == 2 and "no column 'x'" in missing.stderr and "Traceback" not in missing.stderr

    chat = tmp_path / "KakaoTalk_chat.txt"
    chat.write_text(KAKAO_EXPORT, encoding="utf-8")
    done = run_cli("--checkpoint", str(dirs["mft"]), "--input", str(chat), "--output", str(tmp_path / "chat.csv"),
                   "--by-speaker")
    assert done.returncode == 0, done.stderr
    assert "2 speakers pooled (column 'speaker')" in done.stderr
    speakers = pd.read_csv(tmp_path / "chat.speakers.csv", encoding="utf-8-sig")
    assert speakers["speaker"].tolist() == ["민지", "준호"] and speakers["messages"].tolist() == [3, 1]
    no_speaker = run_cli("--checkpoint", str(dirs["mft"]), "--input", str(source), "--output", str(out),
                         "--column", "message", "--by-speaker")
    assert no_speaker.returncode == 2 and "no speaker column" in no_speaker.stderr


@pytest.mark.slow
def test_cli_json_lines_contract_kept(dirs, tmp_path):
    source = tmp_path / "in.csv"
    source.write_bytes(csv_bytes(pd.DataFrame({"text": MESSAGES[:2]})))
    done = run_cli("--checkpoint", str(dirs["mft"]), "--input", str(source))
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["text"] for r in rows] == MESSAGES[:2] and set(rows[0]) >= {"type", "axes", "types", "truncated"}
    other = tmp_path / "other.csv"
    other.write_bytes(csv_bytes(GOOD_CSV.iloc[[0, 2]]))
    done = run_cli("--checkpoint", str(dirs["mft"]), "--input", str(other), "--column", "message")
    assert [json.loads(line)["text"] for line in done.stdout.splitlines()] == [MESSAGES[0], MESSAGES[1]]


# -- the Streamlit page -----------------------------------------------------------------------------------------
def test_batch_page(dirs, predictor, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("MBTI_CHECKPOINT_DIR", str(dirs["checkpoints"]))
    for name in ("MBTI_MFT_CHECKPOINT", "MBTI_FT_CHECKPOINT"):
        monkeypatch.delenv(name, raising=False)
    at = AppTest.from_file(str(ROOT / "navigation.py"), default_timeout=180).run()
    at.switch_page("app_pages/batch.py").run()
    assert not at.exception, [e.value for e in at.exception]
    at.file_uploader(key="batch_file").set_value(("bad.csv", b"a,b\n1,2\n3,4,5\n", "text/csv")).run()
    assert any("malformed CSV" in e.value for e in at.error)
    at.file_uploader(key="batch_file").set_value(("m.csv", csv_bytes(GOOD_CSV, "cp949"), "text/csv")).run()
    assert at.selectbox(key="batch_column").value == "message"
    at.button(key="batch_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    frames = [element.value for element in at.dataframe]
    scored = next(frame for frame in frames if "P(E)" in frame.columns)
    assert scored["row"].tolist() == [1, 3, 5, 6]
    assert scored["P(E)"].tolist() == pytest.approx([predictor.predict([m])[0]["axes"]["EI"] for m in MESSAGES], abs=1e-5)
    failed = next(frame for frame in frames if "reason" in frame.columns)
    assert failed["row"].tolist() == [2, 4]
    assert scored["id"].tolist() == ["1", "3", "5", "6"]  # the file's own columns (read as text) beside the scores
    assert at.get("download_button")

    at.file_uploader(key="batch_file").set_value(("KakaoTalk_chat.txt", KAKAO_EXPORT.encode(), "text/plain")).run()
    at.button(key="batch_run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    pooled = next(e.value for e in at.dataframe if "messages" in e.value.columns)
    assert pooled["speaker"].tolist() == ["민지", "준호"] and pooled["messages"].tolist() == [3, 1]
