"""`python -m mbti_core generate` (the study's LLM data step) against a real local OpenAI-compatible server."""
from __future__ import annotations

import csv
import gzip
import io
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from mbti_core import cli
from mbti_core.masking import read_input_rows, read_masked_file
from mbti_core.masking.generate import CSV_COLUMNS, build_messages, check_item, dedup_key, parse_items
from mbti_core.masking.openai_masker import build_messages as mask_messages

from tests.support.openai_stub_server import (
    COMPLETION_TOKENS, PROMPT_TOKENS, generation_request, stub_environment,
)

ROOT = Path(__file__).resolve().parent.parent
COMMAND = [sys.executable, "-m", "mbti_core"]
KEY = "sk-test-generate-456"
FAST = ["--timeout", "3", "--max-retries", "1", "--backoff-base", "0.01", "--backoff-max", "0.02", "--no-progress"]


@pytest.fixture
def stub(monkeypatch):
    with stub_environment(monkeypatch, KEY) as server:
        yield server


def generate(capsys, output, *args) -> tuple[int, dict | None, str]:
    """Run `generate` in-process through the CLI (its error handler included): (exit code, summary, stderr)."""
    code = cli.main(["generate", "--model", "gpt-4o", "--output", str(output), *FAST, *args])
    captured = capsys.readouterr()
    lines = captured.out.strip().splitlines()
    return code, json.loads(lines[-1]) if lines else None, captured.err


def rows_of(path) -> list[tuple[str, str]]:
    """(type, text) of every row of a generated file, in file order; checks the format on the way."""
    path = Path(path)
    data = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    text = data.decode("utf-8")
    assert text.endswith("\n")
    if ".csv" in path.name:
        records = list(csv.reader(io.StringIO(text)))
        assert tuple(records[0]) == CSV_COLUMNS and all(len(r) == 3 and r[2] == "" for r in records[1:])
        return [(r[0], r[1]) for r in records[1:]]
    objects = [json.loads(line) for line in text.splitlines()]
    assert all(set(o) == {"text", "type", "model"} for o in objects)
    return [(o["type"], o["text"]) for o in objects]


# ---------------------------------------------------------------- prompt and answer checks

def test_prompt_parse_and_item_checks():
    messages = build_messages("ISTJ", 3, "여행", ["오늘은 일찍 잘 거야. 내일 할 일이 많거든."])
    prompt = messages[-1]["content"]
    for part in ("반말", "정확히 두 문장", "1인칭", "'MBTI'라는 말은 절대 쓰지 마", '{"items": [["첫째 문장", "둘째 문장"]',
                 "MBTI: ISTJ (내향(I)", "판단(J)", "개수: 3", "주제: 여행", "- 오늘은 일찍 잘 거야."):
        assert part in prompt, part
    # The stub tells generation prompts from masker prompts by these lines.
    assert generation_request({"messages": messages}) == ("ISTJ", 3)
    assert generation_request({"messages": mask_messages("오늘 계획 세웠어", "ISTJ")}) is None

    assert parse_items('```json\n{"items": [["가", "나"]]}\n```') == [["가", "나"]]
    assert parse_items('{"items": []}') == []
    for bad in (None, "", "items: 가 나", '{"item": [["가", "나"]]}', '[["가", "나"]]', '{"items": "가"}'):
        assert parse_items(bad) is None, bad

    good = ["  오늘 할 일 목록부터 정리했어.", "다 끝내고 나니까 속이 시원하다! "]
    assert check_item(good) == ("오늘 할 일 목록부터 정리했어. 다 끝내고 나니까 속이 시원하다!", None)
    cases = {
        "malformed_answer": ["그냥 문자열이야", [1, 2], {"sentences": ["가.", "나."]}],
        "not_two_sentences": [["한 문장뿐이야."], ["하나야.", "둘이야.", "셋이야."], ["첫 문장이야. 또 말해.", "둘째야."],
                              ["", "둘째야."], ["첫째 줄\n둘째 줄", "셋째야."]],
        "not_korean": [["Good morning everyone.", "See you soon."]],
        "type_mention": [["나 완전 INTJ 같아.", "계획 없으면 불안해."], ["역시 인프피는 감성이지.", "나도 그래."],
                         ["나 극J라서 그래.", "어쩔 수 없어."], ["내 mbti 맞혀 봐.", "못 맞히면 밥 사."]],
    }
    for reason, items in cases.items():
        for item in items:
            assert check_item(item) == (None, reason), item
    assert dedup_key("오늘 계획 다 세웠어. 내일 봐!") == dedup_key("오늘계획 다세웠어 내일 봐~")
    assert dedup_key("오늘 계획 다 세웠어.") != dedup_key("어제 계획 다 세웠어.")


# ---------------------------------------------------------------- writing, formats, resume

@pytest.mark.parametrize("name", ["gen.csv", "gen.csv.gz", "gen.jsonl", "gen.jsonl.gz"])
def test_writes_n_per_type_in_the_chosen_format(stub, tmp_path, capsys, name):
    output = tmp_path / name
    code, summary, err = generate(capsys, output, "--types", "istj", "ENFP", "INTP", "--per-type", "3", "--batch", "2")
    assert code == 0, err
    assert summary["format"] == name.split(".", 1)[1]
    assert (summary["requested"], summary["written"], summary["already_written"], summary["total"]) == (9, 9, 0, 9)
    assert summary["per_type"] == {"ISTJ": 3, "ENFP": 3, "INTP": 3} == summary["per_type_written"]
    assert summary["rejected_total"] == 0 and summary["short"] == {} and summary["retries"] == 0
    # 3 rows in batches of 2: two requests per type, asking for 2 then 1.
    assert summary["requests"] == 6 and [stub.count(f"generate:{t}") for t in ("ISTJ", "ENFP", "INTP")] == [2, 2, 2]
    assert sorted(r["body"]["messages"][-1]["content"].split("개수: ")[1][0] for r in stub.requests) == list("111222")
    assert (summary["prompt_tokens"], summary["completion_tokens"]) == (6 * PROMPT_TOKENS, 6 * COMPLETION_TOKENS)
    assert summary["estimated_cost_usd"] == pytest.approx((300 * 2.50 + 42 * 10.00) / 1e6)

    rows = rows_of(output)
    assert Counter(t for t, _ in rows) == {"ISTJ": 3, "ENFP": 3, "INTP": 3}
    assert len({dedup_key(text) for _, text in rows}) == 9 and all(text.count(". ") == 1 for _, text in rows)
    request = stub.requests[0]
    assert request["authorization"] == f"Bearer {KEY}" and request["body"]["model"] == "gpt-4o"
    assert request["body"]["response_format"]["type"] == "json_schema" and request["body"]["temperature"] == 1.0
    assert KEY not in json.dumps(summary) and KEY not in err
    assert not any(KEY in text for _, text in rows) and KEY.encode() not in output.read_bytes()
    if name.startswith("gen.jsonl"):  # exactly what `mask --input` reads
        assert Counter(row.type for row in read_input_rows(output)) == {"ISTJ": 3, "ENFP": 3, "INTP": 3}


@pytest.mark.parametrize("name", ["gen.csv", "gen.jsonl", "gen.csv.gz"])
def test_resume_after_a_torn_last_line_writes_only_the_missing_rows(stub, tmp_path, capsys, name):
    output = tmp_path / name
    code, first, _ = generate(capsys, output, "--types", "ISTJ", "ENFP", "--per-type", "2")
    assert code == 0 and first["written"] == 4 and stub.count("generate:ISTJ") == 1

    # A kill mid-write leaves a torn last line.
    torn = 'ISTJ,"반쯤 쓰다 만 줄' if ".csv" in name else '{"text": "반쯤 쓰다 만 줄'
    with open(output, "ab") as handle:
        handle.write(gzip.compress(torn.encode(), mtime=0)[:16] if name.endswith(".gz") else torn.encode())

    # The next ISTJ answer repeats a row of the first run (spelled a little differently), then 3 new items
    # of which only 2 are still needed.
    earlier = next(text for mbti, text in rows_of_complete(output) if mbti == "ISTJ")
    first_sentence, second_sentence = earlier.split(". ", 1)
    stub.script("generate:ISTJ", {"items": [[first_sentence + "!", second_sentence.rstrip(".")],
                                            ["새 계획표를 만들었어.", "이번엔 꼭 지킬 거야."],
                                            ["주말 일정도 미리 짰어.", "변수는 없어야 해."],
                                            ["하나 더 써 봤어.", "이건 남는 거야."]]})
    stub.requests.clear()
    code, again, err = generate(capsys, output, "--types", "ISTJ", "ENFP", "--per-type", "4")
    assert code == 0, err
    assert (again["already_written"], again["written"], again["total"]) == (4, 4, 8)
    assert again["per_type_written"] == {"ISTJ": 2, "ENFP": 2} and again["per_type"] == {"ISTJ": 4, "ENFP": 4}
    assert again["rejected"]["duplicate"] == 1 and again["rejected_total"] == 1 and again["unused_items"] == 1
    assert again["requests"] == 2  # one request per type, each asking only for the 2 missing rows
    assert all("개수: 2" in r["body"]["messages"][-1]["content"] for r in stub.requests)
    if not name.endswith(".gz"):
        assert again["torn_bytes_removed"] == len(torn.encode())

    rows = rows_of(output)  # checks the format: header once, every line complete
    assert Counter(t for t, _ in rows) == {"ISTJ": 4, "ENFP": 4}
    assert len({dedup_key(text) for _, text in rows}) == 8 and not any("반쯤" in text for _, text in rows)
    assert ("ISTJ", "새 계획표를 만들었어. 이번엔 꼭 지킬 거야.") in rows and not any("남는" in t for _, t in rows)

    stub.requests.clear()
    code, done, _ = generate(capsys, output, "--types", "ISTJ", "ENFP", "--per-type", "4")
    assert code == 0 and done["written"] == 0 and done["requests"] == 0 and not stub.requests


def rows_of_complete(path):
    """Rows of a file whose last line may be torn (read like a resume does, without repairing it)."""
    from mbti_core.masking.generate import GeneratedFile

    copy = Path(path).parent / "copy" / Path(path).name
    copy.parent.mkdir(exist_ok=True)
    copy.write_bytes(Path(path).read_bytes())
    with GeneratedFile(copy):  # opening cuts the torn line off the copy
        pass
    return rows_of(copy)


def test_bad_answers_are_rejected_and_counted_never_fatal(stub, tmp_path, capsys):
    good = [["계획표 없이는 불안해서 못 살아.", "그래서 매일 밤 내일 일정을 적어 둬."],
            ["약속 시간은 무조건 지켜야지.", "늦는 사람은 이해가 안 가."]]
    stub.script(
        "generate:ISTJ",
        {"content": "좋아, 여기 있어: 계획이 최고야."},  # not JSON
        {"status": 429, "retry_after": 0},  # retried
        {"content": "```json\n" + json.dumps({"items": [
            good[0],
            ["계획표 없이는 불안해서 못 살아", "그래서 매일 밤 내일 일정을 적어 둬!"],  # duplicate of the first
            ["한 문장뿐이야."], ["하나야.", "둘이야.", "셋이야."], ["첫 문장이야. 또 말해.", "둘째야."],
            ["나 완전 INTJ 같아.", "계획 없으면 불안해."], ["역시 잇티제는 다르지.", "나도 그래."],
            ["Good morning everyone.", "See you soon."],
            "그냥 문자열",
            good[1],
        ]}, ensure_ascii=False) + "\n```"},
        {"items": []},  # nothing new
        {"status": 500}, {"status": 500},  # still failing after the retry: one api_error, the run goes on
    )
    output = tmp_path / "gen.jsonl"
    code, summary, err = generate(capsys, output, "--types", "ISTJ", "--per-type", "3", "--batch", "3")
    assert code == 0, err
    assert summary["written"] == 3 and summary["per_type"] == {"ISTJ": 3}
    assert summary["rejected"] == {"duplicate": 1, "malformed_answer": 2, "not_two_sentences": 3, "not_korean": 1,
                                   "type_mention": 2, "api_error": 1}
    assert summary["rejected_total"] == 10
    assert summary["retries"] == 2 and summary["requests"] == 7 == stub.count("generate:ISTJ")
    texts = [text for _, text in rows_of(output)]
    assert texts[:2] == [" ".join(item) for item in good] and texts[2].startswith("오늘은 ")

    # A type the model never answers usefully is left short after --patience answers: exit status 1.
    stub.script("generate:ENFP", {"content": "몰라"}, {"items": [["나 엔프피야!", "완전 신나!"]]})
    code, summary, err = generate(capsys, tmp_path / "short.csv", "--types", "ENFP", "--per-type", "2",
                                  "--patience", "2")
    assert code == 1 and err == ""
    assert summary["short"] == {"ENFP": 2} and summary["written"] == 0 and stub.count("generate:ENFP") == 2
    assert summary["rejected"]["malformed_answer"] == 1 and summary["rejected"]["type_mention"] == 1
    assert rows_of(tmp_path / "short.csv") == []


# ---------------------------------------------------------------- faults through `python -m mbti_core generate`

def test_persistent_api_error_exits_2_with_one_line_and_keeps_the_rows(stub, tmp_path, capsys, monkeypatch):
    stub.script("generate:ENFP", *[{"status": 500}] * 4)
    output = tmp_path / "gen.csv.gz"
    command = COMMAND + ["generate", "--model", "gpt-4o", "--output", str(output), "--types", "ISTJ", "ENFP",
                         "--per-type", "2", "--concurrency", "1", "--max-api-failures", "2", *FAST]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    err = result.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in result.stderr
    assert err.startswith("generate: error: 2 requests in a row failed after 1 retries each (last: HTTP 500")
    assert "2 rows of the requested types are in" in err and "rerun to resume" in err
    summary = json.loads(result.stdout)
    assert summary["written"] == 2 and summary["rejected"]["api_error"] == 2 and summary["retries"] == 2
    assert stub.count("generate:ENFP") == 4 and KEY not in result.stdout + result.stderr
    assert Counter(t for t, _ in rows_of(output)) == {"ISTJ": 2}

    # The server is fine again: the rerun keeps the 2 rows and writes only ENFP's.
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["already_written"], summary["written"]) == (2, 2)
    assert summary["per_type_written"] == {"ISTJ": 0, "ENFP": 2}
    assert Counter(t for t, _ in rows_of(output)) == {"ISTJ": 2, "ENFP": 2}

    # Settings errors are one line too (in-process through the same CLI handler).
    args = ("--types", "INFJ", "--per-type", "1")
    monkeypatch.delenv("OPENAI_API_KEY")
    code, _, err = generate(capsys, tmp_path / "o.jsonl", *args)
    assert code == 2 and err.startswith("generate: error: OPENAI_API_KEY is not set") and len(err.splitlines()) == 1
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-key")
    code, _, err = generate(capsys, tmp_path / "o.jsonl", *args)
    assert code == 2 and "rejected OPENAI_API_KEY (HTTP 401)" in err and "sk-wrong-key" not in err
    assert len(err.splitlines()) == 1
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    code, _, err = generate(capsys, tmp_path / "o.txt", *args)
    assert code == 2 and "--output must end in .csv, .csv.gz, .jsonl or .jsonl.gz" in err
    stub.stop()  # nothing listens there now
    code, _, err = generate(capsys, tmp_path / "o.jsonl", *args)
    assert code == 2 and "cannot reach the OpenAI-compatible server" in err and len(err.splitlines()) == 1
    assert (tmp_path / "o.jsonl").read_bytes() == b""  # nothing half-written


# ---------------------------------------------------------------- the README pipeline: generate, then mask

def test_generate_then_mask_with_openai_end_to_end(stub, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    generated, masked = tmp_path / "generated.jsonl", tmp_path / "masked.jsonl"
    result = subprocess.run(COMMAND + ["generate", "--model", "gpt-4o", "--output", str(generated), "--types",
                                       "INFP", "ESTJ", "--per-type", "3", *FAST],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["written"] == 6
    generated_rows = rows_of(generated)

    result = subprocess.run(COMMAND + ["mask", "--masker", "openai", "--model", "gpt-4o", "--input", str(generated),
                                       "--output", str(masked), *FAST],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert (summary["input_rows"], summary["done"], summary["rejected"], summary["failed"]) == (6, 6, 0, 0)
    rows = read_masked_file(masked, strict=True).rows
    assert sorted((row["type"], row["text"]) for row in rows) == sorted(generated_rows)
    assert all(row["masked"].startswith("[MASK] ") and row["token"] == "오늘은" for row in rows)
    mask_prompts = [r["body"]["messages"][-1]["content"] for r in stub.requests
                    if not r["sentence"].startswith("generate:")]
    assert len(mask_prompts) == 6 and sum("MBTI: INFP" in p for p in mask_prompts) == 3

    # The study's CSV is for reading, not for `mask --input` (it has no `text` column): a clear error.
    study_csv = tmp_path / "generated.csv"
    result = subprocess.run(COMMAND + ["generate", "--model", "gpt-4o", "--output", str(study_csv), "--types", "INFP",
                                       "--per-type", "1", *FAST], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0
    assert study_csv.read_text(encoding="utf-8").startswith("MBTI,original_sentence,masked_sentence\nINFP,")
    result = subprocess.run(COMMAND + ["mask", "--masker", "openai", "--input", str(study_csv), "--output",
                                       str(tmp_path / "m2.jsonl"), *FAST], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2 and "CSV needs a 'text' column" in result.stderr
