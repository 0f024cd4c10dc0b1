"""Phase-2 masking: the file format, the offline maskers, and the OpenAI masker against a real local server."""
from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import pytest

from mbti_core.masking import (
    LogOddsMasker, MaskedFileError, RandomMasker, candidate_words, make_row, read_input_rows, read_masked_file,
    run_masking, validate_row,
)
from mbti_core.masking.command import run_cli
from mbti_core.masking.format import JsonlAppender, row_id
from mbti_core.masking.openai_masker import (
    MaskerFatalError, OpenAIMasker, OpenAISettings, estimate_cost, parse_answer, price_for,
)
from mbti_core.masking.run import InputError, InputRow, build_phase2_file, fit_logodds_on_cafe

from tests.support.openai_stub_server import COMPLETION_TOKENS, PROMPT_TOKENS, stub_environment

ROOT = Path(__file__).resolve().parent.parent
MASK_COMMAND = [sys.executable, "-m", "mbti_core", "mask"]
KEY = "sk-test-secret-123"


# ---------------------------------------------------------------- fixtures

CHARACTERISTIC = {  # words each type's writers use in the toy corpus
    "ISTJ": ["계획표", "미리미리"],
    "ENFP": ["신나요", "설레요"],
    "INTP": ["논리적으로", "궁금해서"],
    "ESFP": ["파티", "놀러가요"],
}
FILLERS = ["오늘 날씨가 좋네요", "저도 그렇게 생각해요", "맞아요 진짜 그래요", "그래서 어떻게 됐어요?"]


def toy_corpus():
    """48 rows: 4 types x 4 writers x 3 sentences, each with its type's words and shared filler."""
    texts, types, writers = [], [], []
    for mbti, words in CHARACTERISTIC.items():
        for writer in range(4):
            for k in range(3):
                texts.append(f"{words[(writer + k) % 2]} {FILLERS[(writer + k) % 4]}!")
                types.append(mbti)
                writers.append(f"{mbti}-{writer}")
    return texts, types, writers


@pytest.fixture
def stub(monkeypatch):
    with stub_environment(monkeypatch, KEY) as server:
        yield server


def fast_settings(**overrides) -> OpenAISettings:
    values = dict(model="gpt-4o", timeout=1.0, max_retries=2, backoff_base=0.01, backoff_max=0.05)
    values.update(overrides)
    return OpenAISettings(**values)


def read_jsonl(path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


# ---------------------------------------------------------------- the file format

def test_make_row_masks_the_given_occurrence_and_validates():
    text = "좋아 좋아 정말 좋아"
    row = make_row(text, 6, 8, "enfp")
    assert row["masked"] == "좋아 좋아 [MASK] 좋아" and row["token"] == "정말"
    assert validate_row(row) is None
    second = make_row(text, 3, 5, None)
    assert second["masked"] == "좋아 [MASK] 정말 좋아" and validate_row(second) is None
    with pytest.raises(ValueError):
        make_row(text, 5, 5, None)


def test_read_masked_file_reports_bad_rows_with_line_numbers(tmp_path):
    good = make_row("할 일은 미리미리 해야 편하지", 5, 9, "ISTJ", masker="logodds", id="0:a")
    lines = [
        json.dumps(good, ensure_ascii=False),                                                  # 1 ok
        json.dumps({**good, "masked": "[MASK] 일은 [MASK] 해야 편하지"}, ensure_ascii=False),  # 2 two masks
        json.dumps({**good, "token": "천천히"}, ensure_ascii=False),                           # 3 token mismatch
        json.dumps({**good, "type": "ABCD"}, ensure_ascii=False),                              # 4 bad type
        "",                                                                                    # 5 blank: ignored
        json.dumps({"text": "x", "masked": "[MASK]"}),                                         # 6 missing keys
        "{not json",                                                                           # 7 invalid JSON
        json.dumps({**good, "type": "istj", "id": "1:b"}, ensure_ascii=False),                 # 8 ok, lower case
        json.dumps({**good, "masked": "할 일은 미리미리 해야 편하지"}, ensure_ascii=False),    # 9 no mask
        json.dumps({**good, "type": None, "id": "2:c"}, ensure_ascii=False),                   # 10 ok, unknown type
        '{"text": "할 일은',                                                                   # 11 torn last line
    ]
    path = tmp_path / "masked.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    result = read_masked_file(path)
    assert [row["id"] for row in result.rows] == ["0:a", "1:b", "2:c"]
    assert [row["type"] for row in result.rows] == ["ISTJ", "ISTJ", None]
    assert [line for line, _ in result.errors] == [2, 3, 4, 6, 7, 9, 11]
    reasons = dict(result.errors)
    assert "exactly once, found 2" in reasons[2]
    assert "put back" in reasons[3]
    assert "not an MBTI type" in reasons[4]
    assert "missing key" in reasons[6]
    assert "invalid JSON" in reasons[7] and "torn" not in reasons[7]
    assert "found 0" in reasons[9]
    assert "torn last line" in reasons[11]
    assert "7 bad row(s)" in result.error_summary()
    with pytest.raises(MaskedFileError, match="line 2"):
        read_masked_file(path, strict=True)
    with pytest.raises(MaskedFileError, match="not found"):
        read_masked_file(tmp_path / "missing.jsonl")


def test_appender_cuts_a_torn_last_line_and_knows_done_ids(tmp_path):
    path = tmp_path / "out.jsonl"
    row = make_row("저는 계획표 좋아해요", 3, 6, "ISTJ", id="0:x")
    path.write_text(json.dumps(row, ensure_ascii=False) + "\n" + '{"text": "반쯤 쓰인', encoding="utf-8")
    with JsonlAppender(path) as out:
        assert out.done_ids == {"0:x"} and out.truncated_bytes > 0
        out.write(make_row("신나요 진짜", 0, 3, "ENFP", id="1:y"))
    result = read_masked_file(path)
    assert not result.errors and [r["id"] for r in result.rows] == ["0:x", "1:y"]


# ---------------------------------------------------------------- offline maskers

def test_candidate_words_skip_placeholders_punctuation_jamo_and_urls():
    text = "아 그분이구나.ㅋㅋㅋ [TYPE]님을 만나서 3.내가 좋아요~♡ https://x.com/a ㅠㅠ 2024"
    words = [text[w.start:w.end] for w in candidate_words(text)]
    assert words == ["아", "그분이구나", "만나서", "내가", "좋아요"]
    assert [text[w.start:w.end] for w in candidate_words(text, min_chars=2)] == ["그분이구나", "만나서", "내가", "좋아요"]


def test_logodds_masks_the_word_characteristic_of_the_writers_type():
    texts, types, writers = toy_corpus()
    masker = LogOddsMasker().fit(texts, types, writers=writers)
    sentence = "주말에는 계획표 만들고 파티 가요. 논리적으로 신나요"
    chosen = {mbti: sentence[c.start:c.end] for mbti in CHARACTERISTIC
              for c in [masker.choose(sentence, mbti)]}
    assert chosen == {"ISTJ": "계획표", "ESFP": "파티", "INTP": "논리적으로", "ENFP": "신나요"}
    assert masker.score("계획표", "ISTJ") > 1.0 > masker.score("계획표", "ENFP")
    assert masker.score("계획표", "ENFP") < 0 and masker.score("처음보는말", "ISTJ") == 0.0
    assert {word for word, _ in masker.top_words("ENFP", 2)} == {"신나요", "설레요"}
    row = make_row(sentence, *(lambda c: (c.start, c.end))(masker.choose(sentence, "ISTJ")), "ISTJ")
    assert row["masked"] == "주말에는 [MASK] 만들고 파티 가요. 논리적으로 신나요" and validate_row(row) is None
    with pytest.raises(ValueError, match="type"):
        masker.choose(sentence, None)
    assert masker.choose("ㅋㅋㅋ [TYPE]", "ISTJ") is None
    with pytest.raises(RuntimeError, match="not fitted"):
        LogOddsMasker().choose(sentence, "ISTJ")


def test_logodds_counts_writers_not_a_prolific_writers_tics():
    # One ENFP writer says 헐랭 in 20 messages; five ENFP writers each say 설렘 once.
    texts, types, writers = [], [], []
    for k in range(20):
        texts.append(f"헐랭 오늘도 좋네요 {'요' * (k % 3)}")
        types.append("ENFP"), writers.append("chatty")
    for w in range(5):
        texts.append("설렘 가득한 하루")
        types.append("ENFP"), writers.append(f"enfp-{w}")
    for w in range(10):
        texts.append("오늘도 좋네요 하루")
        types.append("ISTJ"), writers.append(f"istj-{w}")
    by_writer = LogOddsMasker(min_count=1).fit(texts, types, writers=writers)
    by_token = LogOddsMasker(min_count=1).fit(texts, types)
    assert by_writer.score("설렘", "ENFP") > by_writer.score("헐랭", "ENFP")
    assert by_token.score("헐랭", "ENFP") > by_token.score("설렘", "ENFP")


def test_random_masker_is_deterministic_and_masks_one_occurrence():
    sentences = [f"좋아 좋아 정말 좋아 오늘은 {k}번째 맑은 날" for k in range(30)]
    first = [RandomMasker(seed=1).choose(s, None, key=str(k)) for k, s in enumerate(sentences)]
    again = [RandomMasker(seed=1).choose(s, None, key=str(k)) for k, s in enumerate(sentences)]
    other = [RandomMasker(seed=2).choose(s, None, key=str(k)) for k, s in enumerate(sentences)]
    assert first == again and first != other
    assert len({(c.start, c.end) for c in first}) > 3  # really random across rows
    for sentence, choice in zip(sentences, first):
        row = make_row(sentence, choice.start, choice.end, None)
        assert row["masked"].count("[MASK]") == 1 and validate_row(row) is None
    assert RandomMasker(0).choose("ㅋㅋㅋ !!", None) is None


# ---------------------------------------------------------------- input files and the offline run

def test_read_input_rows_txt_csv_jsonl_and_malformed(tmp_path):
    (tmp_path / "a.txt").write_text("첫 문장이에요\n\n  둘째   문장  \n", encoding="utf-8")
    rows = read_input_rows(tmp_path / "a.txt")
    assert [r.text for r in rows] == ["첫 문장이에요", "", "둘째 문장"] and rows[2].id == row_id(2, "둘째 문장")
    (tmp_path / "b.csv").write_text('text,type\n"쉼표, 있는 문장",enfp\n그냥 문장,\n', encoding="utf-8")
    assert [(r.text, r.type) for r in read_input_rows(tmp_path / "b.csv")] == [("쉼표, 있는 문장", "ENFP"), ("그냥 문장", None)]
    with gzip.open(tmp_path / "c.jsonl.gz", "wt", encoding="utf-8") as handle:
        handle.write('{"text": "압축된 문장", "type": "INTJ"}\n\n{"text": "타입 없음"}\n')
    assert [(r.text, r.type) for r in read_input_rows(tmp_path / "c.jsonl.gz")] == [("압축된 문장", "INTJ"), ("타입 없음", None)]
    (tmp_path / "no_text.csv").write_text("sentence,type\n가,ENFP\n", encoding="utf-8")
    with pytest.raises(InputError, match="needs a 'text' column"):
        read_input_rows(tmp_path / "no_text.csv")
    (tmp_path / "bad.jsonl").write_text('{"text": "좋아"}\n{broken\n{"text": "나쁜 타입", "type": "XYZW"}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"line 2: invalid JSON.*line 3: not an MBTI type"):
        read_input_rows(tmp_path / "bad.jsonl")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        read_input_rows(tmp_path / "latin1.txt")


def test_logodds_run_skips_untyped_rows_and_resumes_without_duplicates(tmp_path):
    texts, types, writers = toy_corpus()
    masker = LogOddsMasker().fit(texts, types, writers=writers)
    rows = [InputRow(row_id(i, t), t, ty) for i, (t, ty) in enumerate(zip(texts[:10], types[:10]))]
    rows += [InputRow(row_id(10, "타입 모르는 문장"), "타입 모르는 문장", None), InputRow(row_id(11, ""), "", "ISTJ")]
    output = tmp_path / "out.jsonl"
    summary = run_masking(rows[:6], masker, output, progress=False)
    assert (summary.done, summary.skipped) == (6, 0)
    summary = run_masking(rows, masker, output, progress=False)
    assert (summary.done, summary.already_done, summary.skipped) == (4, 6, 2)
    assert summary.skipped_reasons == {"no_type": 1, "empty_text": 1}
    result = read_masked_file(output)
    assert not result.errors and sorted(r["id"] for r in result.rows) == sorted(r.id for r in rows[:10])
    assert all(r["token"] in CHARACTERISTIC[r["type"]] and r["masker"] == "logodds" for r in result.rows)


def test_mask_command_logodds_with_fit_file_and_random(tmp_path, capsys):
    texts, types, _ = toy_corpus()
    fit = tmp_path / "fit.jsonl"
    fit.write_text("".join(json.dumps({"text": t, "type": ty}, ensure_ascii=False) + "\n"
                           for t, ty in zip(texts, types)), encoding="utf-8")
    data = tmp_path / "in.csv"
    data.write_text("text,type\n계획표 먼저 짜고 파티 가요,ISTJ\n계획표 먼저 짜고 파티 가요,ESFP\n타입 없는 문장,\n",
                    encoding="utf-8")
    out = tmp_path / "out.jsonl"
    code = run_cli(["--masker", "logodds", "--input", str(data), "--fit-file", str(fit), "--output", str(out),
                    "--no-progress"])
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0 and (summary["done"], summary["skipped"]) == (2, 1)
    assert [r["token"] for r in read_jsonl(out)] == ["계획표", "파티"]
    out_random = tmp_path / "random.jsonl"
    assert run_cli(["--masker", "random", "--input", str(data), "--output", str(out_random), "--no-progress",
                    "--seed", "3", "--limit", "2"]) == 0
    assert len(read_masked_file(out_random).rows) == 2
    assert run_cli(["--masker", "random", "--input", str(tmp_path / "nope.txt"), "--output", str(out)]) == 2
    assert "input file not found" in capsys.readouterr().err


def test_build_phase2_file_uses_only_training_writers(tmp_path, monkeypatch):
    """A tiny raw cafe in the real file format: the phase-2 file and the log-odds counts hold train writers only."""
    monkeypatch.setenv("MBTI_CACHE_DIR", str(tmp_path / "cache"))
    types = list(CHARACTERISTIC)
    comments = []
    for w in range(40):
        mbti = types[w % 4]
        for k in range(3):
            text = f"{CHARACTERISTIC[mbti][k % 2]} {FILLERS[k]}. 고유단어{w} 정말 그래요"
            comments.append({"board": "자유", "source_file": "x.csv", "comments": text,
                             "comments_writer": f"회원{w} {mbti}"})
    cafe = tmp_path / "data" / "mbti_cafe"
    cafe.mkdir(parents=True)
    import pandas as pd

    pd.DataFrame(comments).to_csv(cafe / "comments.csv.gz", index=False)
    pd.DataFrame([{"board": "자유", "source_file": "p.csv", "title": "제목이에요", "contents": "['본문 첫 줄이에요']",
                   "author": "회원0 ISTJ", "comments": ""}]).to_csv(cafe / "posts.csv.gz", index=False)
    from mbti_core.data import load_cafe

    frame = load_cafe(tmp_path / "data")
    train_writers = set(frame.loc[frame.split == "train", "writer"])
    assert 0 < len(train_writers) < 40  # some writers are held out
    output = tmp_path / "phase2.jsonl"
    summary = build_phase2_file(output, tmp_path / "data", max_rows=50, progress=False)
    result = read_masked_file(output)
    assert not result.errors and len(result.rows) == summary.done == 50
    train_texts = " ".join(frame.loc[frame.split == "train", "text"])
    assert all(row["text"] in train_texts and row["type"] in types for row in result.rows)
    vocab = fit_logodds_on_cafe(tmp_path / "data", min_count=1).vocab
    numbers_in_vocab = {int(word.removeprefix("고유단어")) for word in vocab if word.startswith("고유단어")}
    train_numbers = {int(w.split()[0].removeprefix("회원")) for w in train_writers}
    assert numbers_in_vocab == train_numbers
    again = build_phase2_file(output, tmp_path / "data", max_rows=50, progress=False)
    assert (again.done, again.already_done) == (0, 50)


# ---------------------------------------------------------------- the OpenAI masker

def test_parse_answer_and_prices():
    text = "할 일은 미리미리 해야지"
    assert parse_answer('{"token": " 미리미리 "}', text)[0].start == 5
    assert parse_answer('```json\n{"token": "해야지"}\n```', text)[1] is None
    assert parse_answer("{'token': 미리}", text) == (None, "malformed_json")
    assert parse_answer('{"token": "나중에"}', text) == (None, "token_not_in_text")
    assert parse_answer('{"token": ""}', text) == (None, "empty_token")
    assert parse_answer('["미리미리"]', text) == (None, "malformed_json")
    decomposed = json.dumps({"token": unicodedata.normalize("NFD", "미리미리")})  # same word, other Unicode form
    assert parse_answer(decomposed, text)[0].start == 5
    assert price_for("gpt-4o-mini-2024-07-18") == (0.15, 0.60) and price_for("gpt-4o") == (2.50, 10.00)
    assert price_for("qwen2.5:7b") is None and estimate_cost("qwen2.5:7b", 10, 10) is None
    assert estimate_cost("gpt-4o", 1_000_000, 100_000) == pytest.approx(3.50)


def test_openai_masker_against_scripted_server(stub, tmp_path):
    sentences = {
        "valid": "저는 계획표 없이는 못 살아요",
        "malformed": "오늘 완전 신나요 진짜로",
        "not_in_text": "논리적으로 따져보면 그렇죠",
        "rate_limited": "파티 가면 에너지 충전돼요",
        "server_error": "미리미리 해두면 편하잖아요",
        "always_500": "궁금해서 물어봤어요",
        "slow": "설레요 내일 여행 가요",
    }
    stub.script(sentences["valid"], {"token": "계획표"})
    stub.script(sentences["malformed"], {"content": "토큰은 신나요 입니다"})
    stub.script(sentences["not_in_text"], {"token": "감정적으로"})
    stub.script(sentences["rate_limited"], {"status": 429, "retry_after": 0}, {"token": "에너지"})
    stub.script(sentences["server_error"], {"status": 500}, {"token": "미리미리"})
    stub.script(sentences["always_500"], *[{"status": 500}] * 3)
    stub.script(sentences["slow"], {"delay": 3.0, "token": "설레요"}, {"token": "여행"})
    rows = [InputRow(name, text, "ISTJ" if name != "slow" else None) for name, text in sentences.items()]
    output = tmp_path / "gpt.jsonl"
    summary = run_masking(rows, OpenAIMasker(fast_settings()), output, concurrency=3, progress=False)

    assert (summary.done, summary.rejected, summary.failed) == (4, 2, 1)
    assert summary.rejected_reasons == {"malformed_json": 1, "token_not_in_text": 1}
    assert summary.failed_reasons == {"http_500": 1}
    # 429 -> 1 retry, 500 -> 1, persistent 500 -> max_retries (2), timeout -> 1
    assert summary.retries == 5
    answered = 6  # 200 answers the client received (the slow one timed out)
    assert (summary.prompt_tokens, summary.completion_tokens) == (answered * PROMPT_TOKENS, answered * COMPLETION_TOKENS)
    assert summary.estimated_cost_usd == pytest.approx((300 * 2.50 + 42 * 10.00) / 1e6)
    assert "ESTIMATE" in summary.cost_note
    assert stub.count(sentences["always_500"]) == 3 and stub.count(sentences["slow"]) == 2
    tokens = {row["id"]: row["token"] for row in read_masked_file(output, strict=True).rows}
    assert tokens == {"valid": "계획표", "rate_limited": "에너지", "server_error": "미리미리", "slow": "여행"}
    request = stub.requests[0]
    assert request["authorization"] == f"Bearer {KEY}" and request["body"]["model"] == "gpt-4o"
    assert request["body"]["response_format"]["type"] == "json_schema"
    prompt = request["body"]["messages"][-1]["content"]
    assert "MBTI의 특성에 맞는 가장 중요한 토큰 1개를 [MASK] 해 줘" in prompt and "MBTI: ISTJ" in prompt
    assert KEY not in json.dumps(summary.to_dict()) and KEY not in output.read_text(encoding="utf-8")

    # A rerun asks again only for the rejected and failed rows (the server now gives its default answer).
    again = run_masking(rows, OpenAIMasker(fast_settings()), output, concurrency=3, progress=False)
    assert (again.done, again.already_done, again.rejected, again.failed) == (3, 4, 0, 0)
    ids = [row["id"] for row in read_masked_file(output, strict=True).rows]
    assert sorted(ids) == sorted(sentences)


def test_openai_concurrency_is_bounded(stub, tmp_path):
    stub.default_delay = 0.1
    rows = [InputRow(str(k), f"문장 {k}번 이에요", "ENFP") for k in range(12)]
    summary = run_masking(rows, OpenAIMasker(fast_settings()), tmp_path / "o.jsonl", concurrency=3, progress=False)
    assert summary.done == 12 and summary.retries == 0
    assert stub.max_in_flight == 3


def test_openai_fatal_errors_are_one_line(stub, tmp_path, monkeypatch, capsys):
    data = tmp_path / "in.txt"
    data.write_text("한 문장\n두 문장\n", encoding="utf-8")
    args = ["--masker", "openai", "--input", str(data), "--output", str(tmp_path / "o.jsonl"), "--no-progress",
            "--timeout", "0.5", "--backoff-base", "0.01", "--max-retries", "1"]

    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(MaskerFatalError, match="OPENAI_API_KEY is not set"):
        OpenAIMasker()
    assert run_cli(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("mask: error: OPENAI_API_KEY is not set") and len(err.splitlines()) == 1

    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-key")
    assert run_cli(args) == 2
    err = capsys.readouterr().err.strip()
    assert "rejected OPENAI_API_KEY (HTTP 401)" in err and "sk-wrong-key" not in err and len(err.splitlines()) == 1

    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    stub.stop()  # nothing listens on that port now
    started = time.monotonic()
    assert run_cli(args) == 2
    err = capsys.readouterr().err.strip()
    assert "cannot reach the OpenAI-compatible server" in err and len(err.splitlines()) == 1
    assert time.monotonic() - started < 10
    assert not (tmp_path / "o.jsonl").read_text()  # nothing half-written


def test_mask_command_resumes_after_sigkill(stub, tmp_path):
    """Kill `python -m mbti_core mask` mid-run, rerun it: every input row is in the output exactly once."""
    stub.default_delay = 0.15
    n = 40
    data = tmp_path / "in.jsonl"
    data.write_text("".join(json.dumps({"text": f"문장 번호 {k} 입니다", "type": "INFP"}, ensure_ascii=False) + "\n"
                            for k in range(n)), encoding="utf-8")
    output = tmp_path / "out.jsonl"
    command = MASK_COMMAND + ["--masker", "openai", "--input", str(data), "--output", str(output),
                              "--concurrency", "2", "--timeout", "5", "--backoff-base", "0.01", "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and process.poll() is None:
        if output.exists() and len(output.read_bytes().splitlines()) >= 6:
            break
        time.sleep(0.05)
    assert process.poll() is None, process.communicate()[1].decode()
    process.send_signal(signal.SIGKILL)
    process.wait()
    written_before = len(read_masked_file(output).rows)  # a torn last line is not counted
    assert 6 <= written_before < n

    stub.default_delay = 0.0
    rerun = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout.strip().splitlines()[-1])
    assert summary["already_done"] == written_before and summary["done"] == n - written_before
    result = read_masked_file(output, strict=True)
    expected = {row.id for row in read_input_rows(data)}
    ids = [row["id"] for row in result.rows]
    assert len(ids) == n and set(ids) == expected
