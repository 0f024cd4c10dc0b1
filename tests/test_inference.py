"""Predictor and the predict / fill-mask / evaluate / bench CLI on tiny checkpoints built here."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mbti_core.inference import FillMaskUnavailable, Predictor, preprocess_masked
from mbti_core.training import phases
from mbti_core.types import TYPES, type_probabilities
from tests.support.mft_helpers import (
    CLASS_TEXTS, build_encoder_dir, build_tokenizer, class_frame, loop_config, masked_rows, new_model,
)

PROJECT = Path(__file__).resolve().parent.parent
FILL = "할 일은 미리미리 [MASK] 마음이 편하지"


@pytest.fixture(scope="module")
def tokenizer():
    return build_tokenizer()


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory, tokenizer):
    """An MFT-like checkpoint (phase 2 then 3 on toy data) and an FT-like one (phase 3 only)."""
    root = tmp_path_factory.mktemp("ck")
    encoder_dir = build_encoder_dir(root, "bert", tokenizer)
    mft = new_model(encoder_dir)
    phases.run_phase2(mft, tokenizer, masked_rows(3), loop_config(root / "p2", epochs=6), 64, val_fraction=0.0)
    phases.run_phase3(mft, tokenizer, class_frame(2), loop_config(root / "p3", epochs=2), 64)
    mft.save_pretrained(root / "mft", tokenizer=tokenizer)
    ft = new_model(encoder_dir)
    phases.run_phase3(ft, tokenizer, class_frame(2), loop_config(root / "p3ft", epochs=2), 64)
    ft.save_pretrained(root / "ft", tokenizer=tokenizer)
    return {"mft": root / "mft", "ft": root / "ft", "root": root}


@pytest.fixture(scope="module")
def predictor(checkpoints):
    return Predictor.from_pretrained(checkpoints["mft"], device="cpu")


def test_predict_shapes_and_probabilities(predictor):
    results = predictor.predict(["계획 세우고 일정 정리했어요", "즉흥 여행 너무 재밌어요 ㅋㅋ", "a"])
    assert len(results) == 3
    for result in results:
        assert set(result) >= {"text", "type", "axes", "types", "truncated"}
        assert list(result["axes"]) == ["EI", "SN", "TF", "JP"]
        assert all(0.0 < p < 1.0 for p in result["axes"].values())
        assert list(result["types"]) == list(TYPES)
        assert sum(result["types"].values()) == pytest.approx(1.0, abs=1e-9)
        expected = type_probabilities(np.array(list(result["axes"].values())))
        assert np.allclose(list(result["types"].values()), expected)
        # One story: each letter is the one above 50%, and the headline is the most probable of the 16 types.
        assert result["type"] == "".join(a[0] if p >= 0.5 else a[1] for a, p in result["axes"].items())
        assert result["type"] == max(result["types"], key=result["types"].get)
    assert results[0]["text"] == "계획 세우고 일정 정리했어요"
    assert predictor.predict("하나만")[0]["text"] == "하나만"


def test_batch_matches_single_and_order(predictor):
    texts = ["짧다", "계획 세우고 일정 정리했어요 " * 5, "즉흥 여행"]
    batch = predictor.predict(texts)
    for text, result in zip(texts, batch):
        single = predictor.predict(text)[0]
        assert result["text"] == text
        assert np.allclose(list(single["axes"].values()), list(result["axes"].values()), atol=1e-5)


def test_mentions_are_masked_like_training(predictor):
    with_mention = predictor.predict("저 INFP인데 계획 좋아해요")[0]
    placeholder = predictor.predict("저 [TYPE]인데 계획 좋아해요")[0]
    other_type = predictor.predict("저 estj인데 계획 좋아해요")[0]
    assert with_mention["axes"] == pytest.approx(placeholder["axes"])
    assert other_type["axes"] == pytest.approx(placeholder["axes"])
    assert predictor.predict("계획 좋아해요")[0]["axes"] != pytest.approx(placeholder["axes"])  # not a constant


def test_long_text_is_truncated_and_noted(predictor):
    result = predictor.predict("계획 " * 3000)[0]
    assert result["truncated"] is True and sum(result["types"].values()) == pytest.approx(1.0)
    assert predictor.predict("계획")[0]["truncated"] is False
    fills = predictor.fill_mask("계획 " * 300 + FILL, ["ISTJ"], 3)
    assert fills.truncated and len(fills["ISTJ"]) == 3


def test_predict_person_is_mean_of_logits(predictor):
    messages = CLASS_TEXTS["ISTJ"] + ["", "   "]
    person = predictor.predict_person(messages)
    assert person["n_messages"] == 3 and person["skipped_messages"] == 2 and len(person["messages"]) == 3
    logits, _, _ = predictor.axis_logits(CLASS_TEXTS["ISTJ"])
    expected = 1 / (1 + np.exp(-logits.mean(axis=0)))
    assert np.allclose(list(person["axes"].values()), expected, atol=1e-6)
    assert sum(person["types"].values()) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="no non-empty messages"):
        predictor.predict_person(["", " \n "])


def test_fill_mask_differs_by_type_and_runs_encoder_once(predictor):
    calls = []
    handle = predictor.model.encoder.register_forward_hook(lambda *a: calls.append(1))
    try:
        fills = predictor.fill_mask(FILL, ["ISTJ", "ENFP", "INTJ", "ESFP"], top_k=5)
    finally:
        handle.remove()
    assert len(calls) == 1  # one encoder pass for all four types
    assert list(fills) == ["ISTJ", "ENFP", "INTJ", "ESFP"]
    for entries in fills.values():
        assert len(entries) == 5 and all(set(e) == {"token", "prob"} for e in entries)
        probs = [e["prob"] for e in entries]
        assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.0 + 1e-6
        assert not any(e["token"].startswith("[") for e in entries)  # no special tokens offered
    assert fills["ISTJ"][0]["token"] == "계획" and fills["ENFP"][0]["token"] == "즉흥"
    assert predictor.fill_mask(FILL.replace("[MASK]", "[mask]"), "istj", 1)["ISTJ"][0]["token"] == "계획"


def test_raised_words_are_the_words_each_type_lifts_against_the_16_type_mean(predictor):
    import torch

    from mbti_core.types import TYPES

    raised = predictor.raised_words(FILL, ["ISTJ", "ENFP"], top_k=3, candidates=50)
    assert raised["ISTJ"][0]["token"] == "계획" and raised["ENFP"][0]["token"] == "즉흥"
    for entries in raised.values():
        lifts = [e["lift"] for e in entries]
        assert lifts == sorted(lifts, reverse=True) and lifts[0] > 1.0
    # The lift is p(word | type) / mean over the 16 types, from the same probabilities fill_mask shows.
    everything = predictor.fill_mask(FILL, list(TYPES), top_k=60)
    word = raised["ISTJ"][0]["token"]
    per_type = torch.tensor([next(e["prob"] for e in everything[t] if e["token"] == word) for t in TYPES])
    assert raised["ISTJ"][0]["prob"] == pytest.approx(float(per_type[TYPES.index("ISTJ")]), rel=1e-5)
    assert raised["ISTJ"][0]["lift"] == pytest.approx(float(per_type[TYPES.index("ISTJ")] / per_type.mean()), rel=1e-4)
    with pytest.raises(ValueError, match="candidates"):
        predictor.raised_words(FILL, ["ISTJ"], top_k=5, candidates=2)


@pytest.mark.parametrize("text, message", [
    ("", "empty"), ("   \n\t ", "empty"), ("마스크 없음", "exactly one"), ("[MASK] 그리고 [MASK]", "exactly one"),
])
def test_fill_mask_bad_text(predictor, text, message):
    with pytest.raises(ValueError, match=message):
        predictor.fill_mask(text, ["ISTJ"])


def test_bad_inputs(predictor, checkpoints, tmp_path):
    with pytest.raises(ValueError, match="not an MBTI type: 'ABCD'"):
        predictor.fill_mask(FILL, ["ISTJ", "ABCD"])
    with pytest.raises(ValueError, match="top_k"):
        predictor.fill_mask(FILL, ["ISTJ"], top_k=0)
    with pytest.raises(ValueError, match="empty"):
        predictor.predict(["좋아요", "  "])
    with pytest.raises(ValueError, match="must be a string"):
        predictor.predict([None])
    with pytest.raises(ValueError, match="no texts"):
        predictor.predict([])
    missing = tmp_path / "no-such-checkpoint"
    with pytest.raises(FileNotFoundError, match=str(missing)):
        Predictor.from_pretrained(missing)
    with pytest.raises(FileNotFoundError, match="mbti_heads.json"):
        Predictor.from_pretrained(checkpoints["root"] / "tiny-bert")  # an encoder folder, not an MBTI checkpoint
    with pytest.raises(FillMaskUnavailable, match="no type-conditioned MLM head"):
        Predictor.from_pretrained(checkpoints["ft"]).fill_mask(FILL, ["ISTJ"])


def test_preprocess_masked_keeps_mask_and_masks_mentions():
    assert preprocess_masked("저  INFP인데  미리미리 [MASK]야") == "저 [TYPE]인데 미리미리 [MASK]야"
    assert preprocess_masked("<mask> 좋아") == "[MASK] 좋아"


# -- CLI contract, run as a user would ----------------------------------------------------------------------
COMMANDS = {name: (f"mbti_core.commands.{module}", name) for name, module in
            (("predict", "predict"), ("fill-mask", "fill_mask"), ("evaluate", "evaluate"), ("bench", "bench"))}


def run_cli(*args) -> subprocess.CompletedProcess:
    """``python -m mbti_core ARGS`` once the lead registered the commands; until then the same cli.main with
    this module's command table."""
    from mbti_core import cli

    if all(name in cli.COMMANDS for name in COMMANDS):
        command = [sys.executable, "-m", "mbti_core", *args]
    else:
        code = ("import sys; from mbti_core.cli import main; "
                f"sys.exit(main(sys.argv[1:], commands={COMMANDS!r}))")
        command = [sys.executable, "-c", code, *args]
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    return subprocess.run(command, capture_output=True, text=True, cwd=PROJECT, env=env, timeout=300)


def run_in_process(capsys, *args) -> subprocess.CompletedProcess:
    """The same parser and modules in this process (cheaper than a subprocess for the error paths)."""
    from mbti_core import cli

    capsys.readouterr()
    code = cli.main(list(args), commands=COMMANDS)
    captured = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, captured.out, captured.err)


@pytest.mark.slow
def test_cli_predict_text(checkpoints):
    out = run_cli("predict", "--checkpoint", str(checkpoints["mft"]), "--text", "계획 세우고 일정 정리했어요")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert set(result) >= {"text", "type", "axes"} and list(result["axes"]) == ["EI", "SN", "TF", "JP"]
    assert result["type"] in TYPES and result["text"] == "계획 세우고 일정 정리했어요"


def test_cli_predict_files(checkpoints, tmp_path, capsys):
    run_cli = lambda *args: run_in_process(capsys, *args)  # noqa: E731

    lines = tmp_path / "texts.txt"
    lines.write_text("첫 번째 메시지\n\n두 번째 메시지\n", encoding="utf-8")
    out = run_cli("predict", "--checkpoint", str(checkpoints["mft"]), "--input", str(lines))
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert out.returncode == 0 and [r["text"] for r in rows] == ["첫 번째 메시지", "두 번째 메시지"]

    csv = tmp_path / "texts.csv"
    pd.DataFrame({"id": [1, 2, 3], "text": ["하나", "", "셋"]}).to_csv(csv, index=False)
    out = run_cli("predict", "--checkpoint", str(checkpoints["mft"]), "--input", str(csv))
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert out.returncode == 1 and len(rows) == 3 and "error" in rows[1] and rows[2]["text"] == "셋"

    jsonl = tmp_path / "texts.jsonl"
    jsonl.write_text('{"text": "하나"}\n{"text": "둘"}\n', encoding="utf-8")
    out = run_cli("predict", "--checkpoint", str(checkpoints["mft"]), "--input", str(jsonl), "--person")
    person = json.loads(out.stdout)
    assert out.returncode == 0 and person["n_messages"] == 2 and len(person["messages"]) == 2


@pytest.mark.slow
def test_cli_fill_mask_contract(checkpoints):
    out = run_cli("fill-mask", "--checkpoint", str(checkpoints["mft"]), "--text", FILL,
                  "--types", "ISTJ", "ENFP", "INTJ", "ESFP", "--top-k", "5")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert list(result) == ["ISTJ", "ENFP", "INTJ", "ESFP"]
    assert all(len(v) == 5 and set(v[0]) == {"token", "prob"} for v in result.values())
    assert result["ISTJ"][0]["token"] != result["ENFP"][0]["token"]


@pytest.mark.parametrize("args, message", [
    (["fill-mask", "--text", "마스크 없음"], "exactly one"),
    (["fill-mask", "--text", FILL, "--types", "XXXX"], "not an MBTI type"),
    (["predict", "--text", "   "], "empty"),
])
def test_cli_bad_input_is_one_clear_line(checkpoints, args, message, capsys):
    out = run_in_process(capsys, *args[:1], "--checkpoint", str(checkpoints["mft"]), *args[1:])
    assert out.returncode == 2 and out.stdout == ""
    assert out.stderr.startswith(f"{args[0]}: error:") and message in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.splitlines()) == 1


def test_cli_missing_checkpoint_and_ft_fill_mask(checkpoints, tmp_path, capsys):
    run_cli = lambda *args: run_in_process(capsys, *args)  # noqa: E731
    out = run_cli("predict", "--checkpoint", str(tmp_path / "nowhere"), "--text", "안녕")
    assert out.returncode == 2 and str(tmp_path / "nowhere") in out.stderr
    out = run_cli("fill-mask", "--checkpoint", str(checkpoints["ft"]), "--text", FILL)
    assert out.returncode == 2 and "MFT checkpoint" in out.stderr


@pytest.mark.slow
def test_cli_evaluate_raw_comments_file(checkpoints, tmp_path):
    rows = []
    for i in range(12):
        mbti, nick = ("ISTJ", f"계획러{i} ISTJ") if i % 2 == 0 else ("ENFP", f"즉흥{i} enfp")
        for text in CLASS_TEXTS[mbti]:
            rows.append({"board": "b", "source_file": "f", "comments": text, "comments_writer": nick})
    rows.append({"board": "b", "source_file": "f", "comments": "저 istj에요", "comments_writer": "이름만"})  # unlabelled
    path = tmp_path / "comments.csv.gz"
    pd.DataFrame(rows).to_csv(path, index=False, compression="gzip")
    out = run_cli("evaluate", "--checkpoint", str(checkpoints["mft"]), "--cafe-comments", str(path))
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["labelled_rows"] == 36 and result["writers"] == 12
    metrics = result["metrics"]
    assert metrics["n"] == 36 and metrics["writer_level"]["n"] == 12 and "confusion" in metrics["axes"]["EI"]
    assert metrics["thresholds"] == [0.5] * 4  # what the app shows: calibrated, each letter above 50%
    assert result["metrics_tuned_thresholds"]["n"] == 36
    for level in ("comment", "writer"):
        block = result["calibration"][level]
        assert set(block) == {"ece", "ece_uncalibrated"} and set(block["ece"]) == {"EI", "SN", "TF", "JP"}
        assert all(0 <= ece <= 1 for ece in block["ece"].values())


def test_cli_evaluate_malformed_file(checkpoints, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    out = run_in_process(capsys, "evaluate", "--checkpoint", str(checkpoints["mft"]), "--cafe-comments", str(bad))
    assert out.returncode == 2 and "comments" in out.stderr


@pytest.mark.slow
def test_cli_bench_reports_latency_and_memory(checkpoints):
    out = run_cli("bench", "--checkpoint", str(checkpoints["mft"]), "--repeats", "3")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    for key in ("one_message", "batch_64", "fill_mask_4_types"):
        assert 0 < report[key]["p50_ms"] <= report[key]["p95_ms"]
    assert report["load_seconds"] > 0 and report["peak_rss_mb"] > 50
