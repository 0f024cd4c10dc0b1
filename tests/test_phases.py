"""The three phases on tiny models (loss goes down, phase 2 learns type-specific fills) and tiny end-to-end
``train.py mft`` / ``train.py ft`` runs on a small fake data directory in the real raw format."""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mbti_core import evaluation
from mbti_core.encoding import encode_masked_text, token_pieces
from mbti_core.training import phases
from mbti_core.training import ft as ft_command
from mbti_core.training import mft
from mbti_core.types import TYPE_INDEX
from tests.support.mft_helpers import (
    CLASS_TEXTS, TYPE_WORDS, build_encoder_dir, build_tokenizer, class_frame, loop_config, masked_rows, new_model,
    write_seed_study,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tokenizer():
    return build_tokenizer()


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory, tokenizer):
    return build_encoder_dir(tmp_path_factory.mktemp("enc"), "bert", tokenizer)


def test_encode_masked_text_keeps_the_mask_in_long_texts(tokenizer):
    text = "계획 " * 200 + "[MASK] 마음이 편하지" + " 즉흥" * 50
    encoding = encode_masked_text(tokenizer, text, n_masks=2, max_length=32)
    assert len(encoding.input_ids) == 32 and encoding.truncated
    assert encoding.input_ids[0] == tokenizer.cls_token_id and encoding.input_ids[-1] == tokenizer.sep_token_id
    assert [encoding.input_ids[i] for i in encoding.mask_positions] == [tokenizer.mask_token_id] * 2
    short = encode_masked_text(tokenizer, "할 일은 [MASK] 편하지", max_length=32)
    assert not short.truncated and len(short.mask_positions) == 1
    with pytest.raises(ValueError, match="exactly one"):
        encode_masked_text(tokenizer, "[MASK] 그리고 [MASK]")


def test_masked_dataset_labels_and_skips(tokenizer):
    rows = masked_rows(1) + [
        {"text": "x", "masked": "할 일은 [MASK] 편하지", "token": "계획", "type": None},
        {"text": "x", "masked": "할 일은 [MASK] 편하지", "token": "ⓩⓩⓩ", "type": "ISTJ"},  # unknown characters
    ]
    dataset = phases.MaskedSentenceDataset(rows, tokenizer, max_length=64)
    assert len(dataset) == len(masked_rows(1))
    assert dataset.skipped["no_type"] == 1 and dataset.skipped["unknown_token"] == 1
    ids, labels, type_index = dataset[0]
    targets = [label for label in labels if label != -100]
    assert targets == token_pieces(tokenizer, rows[0]["token"])
    assert type_index == TYPE_INDEX[rows[0]["type"]]
    batch = phases.MaskedSentenceCollator(tokenizer)([dataset[0], dataset[1]])
    assert batch["input_ids"].shape == batch["labels"].shape and batch["type_ids"].tolist()[0] == type_index


def test_writer_weights_and_caps():
    writers = ["a"] * 8 + ["b"] * 2
    inverse = phases.writer_weights(writers, "inverse")
    assert inverse.mean() == pytest.approx(1.0)
    assert inverse[:8].sum() == pytest.approx(inverse[8:].sum())  # every writer weighs the same in total
    sqrt = phases.writer_weights(writers, "sqrt")
    assert sqrt[0] < sqrt[-1] and sqrt[:8].sum() > sqrt[8:].sum()
    assert phases.writer_weights(writers, "none") is None
    with pytest.raises(ValueError):
        phases.writer_weights(writers, "bogus")
    frame = pd.DataFrame({"writer": writers, "text": [str(i) for i in range(10)]})
    capped = phases.cap_per_writer(frame, 3)
    assert capped.groupby("writer").size().to_dict() == {"a": 3, "b": 2}


def _losses(history):
    return [row["train_loss"] for row in history]


def test_phase1_classifier_loss_decreases(encoder_dir, tokenizer, tmp_path):
    model = new_model(encoder_dir)
    frame = class_frame()
    history = phases.run_phase1(model, tokenizer, frame, loop_config(tmp_path / "p1", epochs=10, batch_size=8), 64,
                                val_frame=frame)
    losses = _losses(history)
    assert losses[-1] < losses[0] * 0.8, losses
    assert "val_mean_macro_f1" in history[-1] and history[-1]["val_loss"] < history[0]["val_loss"]


def test_phase3_weighted_loss_decreases(encoder_dir, tokenizer, tmp_path):
    model = new_model(encoder_dir)
    frame = class_frame()
    history = phases.run_phase3(model, tokenizer, frame, loop_config(tmp_path / "p3", epochs=10, batch_size=8), 64,
                                val_frame=frame, writer_weighting="inverse")
    assert _losses(history)[-1] < _losses(history)[0] * 0.8
    probs = evaluation.sigmoid(phases.predict_axis_logits(model, tokenizer, frame["text"], 64))
    metrics = evaluation.classification_metrics(frame, probs)
    assert metrics["mean_accuracy"] > 0.9 and metrics["writer_level"]["n"] == frame["writer"].nunique()


def test_training_scores_texts_as_the_served_predictor_does(encoder_dir, tokenizer):
    """Reported and served numbers share code: training's scorer (length-sorted batches of a model in memory) and
    ``BasePredictor.axis_logits`` give the same axis logits for the same (already masked) texts."""
    from mbti_core.inference import Predictor

    model = new_model(encoder_dir)
    texts = class_frame()["text"].tolist() + ["짧", "아주 " * 80]  # one text cut at max_length
    trained = phases.predict_axis_logits(model, tokenizer, texts, max_length=64, batch_size=5)
    served, _, _ = Predictor(model, tokenizer).axis_logits(texts, batch_size=7)
    np.testing.assert_allclose(trained, served, atol=1e-5)


def test_phase2_learns_type_specific_fills(encoder_dir, tokenizer, tmp_path):
    from mbti_core.inference import Predictor

    model = new_model(encoder_dir)
    history, summary = phases.run_phase2(model, tokenizer, masked_rows(4), loop_config(tmp_path / "p2", epochs=8),
                                         64, val_fraction=0.1)
    assert summary["train_examples"] > 50 and summary["val_examples"] > 0
    assert _losses(history)[-1] < _losses(history)[0] * 0.5
    predictor = Predictor(model, tokenizer)
    fills = predictor.fill_mask("할 일은 미리미리 [MASK] 마음이 편하지", ["ISTJ", "ENFP"], top_k=3)
    assert fills["ISTJ"][0]["token"] == TYPE_WORDS["ISTJ"]
    assert fills["ENFP"][0]["token"] == TYPE_WORDS["ENFP"]


# -- tiny end-to-end runs on a fake data directory --------------------------------------------------------
def make_fake_data_dir(root: Path, repeats: int = 2) -> Path:
    """A small data directory in the real layout: cafe comments of 60 labelled writers (3 * ``repeats`` + 1 each),
    one post, descriptions and the study's files."""
    (root / "mbti_cafe").mkdir(parents=True)
    rows = []
    for i in range(60):
        mbti, nick = ("ISTJ", f"계획러{i} istj") if i % 2 == 0 else ("ENFP", f"즉흥러{i} ENFP")
        for j, text in enumerate(CLASS_TEXTS[mbti] * repeats):
            rows.append({"board": "INFJ ♡ ENFJ", "source_file": "x.csv", "comments": f"{text} {j}",
                         "comments_writer": nick})
        rows.append({"board": "b", "source_file": "x.csv", "comments": f"저 {mbti.lower()}라서 그래요", "comments_writer": nick})
    rows.append({"board": "b", "source_file": "x.csv", "comments": "라벨 없는 글", "comments_writer": "그냥사람"})
    pd.DataFrame(rows).to_csv(root / "mbti_cafe" / "comments.csv.gz", index=False, compression="gzip")
    posts = pd.DataFrame([{"board": "b", "source_file": "p.csv", "title": "제목", "contents": str(["계획 세우는 게 좋아요"]),
                           "author": "계획러0 istj", "comments": ""}])
    posts.to_csv(root / "mbti_cafe" / "posts.csv.gz", index=False, compression="gzip")
    descriptions = {t: {"summary": "계획 세우고 일정 정리했어요. 시간 약속은 꼭 지켜야죠." if t[3] == "J"
                        else "즉흥 여행 너무 재밌어요. 새로운 사람 만나는 거 좋아요!"} for t in TYPE_INDEX}
    (root / "mbti_types_ko.json").write_text(json.dumps(descriptions, ensure_ascii=False), encoding="utf-8")
    write_seed_study(root, repeats=6)
    return root


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return make_fake_data_dir(tmp_path_factory.mktemp("data"))


def _args(argv):
    parser = argparse.ArgumentParser()
    mft.add_arguments(parser)
    return parser.parse_args(argv)


@pytest.mark.slow
def test_tiny_mft_and_ft_end_to_end(encoder_dir, data_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MBTI_CACHE_DIR", str(tmp_path / "cache"))
    common = ["--tiny", "--base-model", str(encoder_dir), "--data-dir", str(data_dir),
              "--report", str(tmp_path / "reports" / "mft_vs_ft.json"), "--no-progress"]
    assert mft.main(_args(common + ["--seeds", "0", "1", "--output-dir", str(tmp_path / "mft"),
                                    "--run-dir", str(tmp_path / "runs-mft")])) == 0
    assert ft_command.main(_args(common + ["--seeds", "0", "--output-dir", str(tmp_path / "ft"),
                                           "--run-dir", str(tmp_path / "runs-ft")])) == 0
    mft_metrics = json.loads((tmp_path / "mft" / "metrics.json").read_text())
    ft_metrics = json.loads((tmp_path / "ft" / "metrics.json").read_text())
    assert [s["seed"] for s in mft_metrics["seeds"]] == [0, 1] and len(ft_metrics["seeds"]) == 1
    phase2_data = mft_metrics["seeds"][0]["phase2_data"]
    assert set(phase2_data) >= {"train_examples", "skipped", "cleaning"}
    assert phase2_data["cleaning"]["dropped_duplicate"] >= 1 and phase2_data["cleaning"]["fixed_swapped_columns"] > 0
    # The type effect is measured after every stage of the schedule, on the held-out persona sentences.
    stages = mft_metrics["seeds"][0]["type_effect"]
    assert set(stages) == {"phase2_frozen_head", "phase2_full", "phase3_no_refit", "phase3_refit_head"}
    assert all(stage["rows"] > 0 and "baseline_word_frequency" in stage for stage in stages.values())
    assert json.loads((tmp_path / "mft" / "mbti_heads.json").read_text())["type_vocab_bias"] is True
    assert "phase2_data" not in ft_metrics["seeds"][0]
    assert (tmp_path / "mft" / "type_mlm_head.safetensors").exists()
    assert not (tmp_path / "ft" / "type_mlm_head.safetensors").exists()
    curves = json.loads((tmp_path / "mft" / "curves.json").read_text())
    assert set(curves["seed0"]) == {"phase1", "phase2_head", "phase2", "phase3", "refit_head"}
    assert set(json.loads((tmp_path / "ft" / "curves.json").read_text())["seed0"]) == {"phase3"}
    confusion = json.loads((tmp_path / "mft" / "confusion.json").read_text())
    assert set(confusion["comment"]) == {"EI", "SN", "TF", "JP"}
    report = json.loads((tmp_path / "reports" / "mft_vs_ft.json").read_text())
    assert {"mft", "ft", "comparison", "study_figures"} <= set(report)
    assert set(report["comparison"]["test"]) == {"mean_macro_f1", "mean_accuracy"}
    assert len(report["mft"]["seeds"]) == 2 and "std" in report["mft"]["summary"]["test"]["mean_macro_f1"]
    assert mft_metrics["data"]["test"]["writers"] > 0 and mft_metrics["data"]["train"]["writers"] > 0
    # The thresholds shipped with the checkpoint are the ones chosen on validation.
    heads = json.loads((tmp_path / "mft" / "mbti_heads.json").read_text())
    assert heads["thresholds"] == mft_metrics["thresholds"]
    shipped = next(s for s in mft_metrics["seeds"] if s["seed"] == mft_metrics["shipped_seed"])
    # The calibrations the app shows are the ones fitted at training time (train and validation splits only).
    assert heads["calibration"] == shipped["calibration"] and heads["writer_calibration"] == shipped["writer_calibration"]
    assert np.array(heads["calibration"]).shape == (4, 2) and all(scale > 0 for scale, _ in heads["calibration"])
    assert set(shipped["served"]["test"]) >= {"mean_macro_f1", "writer_level"}
    assert set(shipped["calibration_errors"]["test"]["comment"]) == {"ece", "ece_uncalibrated"}
    # train.py calibrate recomputes them for a checkpoint in place, through the served predictor.
    from mbti_core.training.calibrate import calibrate_checkpoint

    heads_ft = json.loads((tmp_path / "ft" / "mbti_heads.json").read_text())
    refit = calibrate_checkpoint(tmp_path / "ft", data_dir)
    assert np.array(refit["calibration"]) == pytest.approx(np.array(heads_ft["calibration"]), abs=1e-3)
    assert np.array(refit["writer_calibration"]) == pytest.approx(np.array(heads_ft["writer_calibration"]), abs=1e-2)
    assert json.loads((tmp_path / "ft" / "mbti_heads.json").read_text())["calibration"] == refit["calibration"]

    # --resume re-runs to the same result from the saved per-phase states (no retraining).
    assert ft_command.main(_args(common + ["--seeds", "0", "--output-dir", str(tmp_path / "ft2"),
                                           "--run-dir", str(tmp_path / "runs-ft"), "--resume"])) == 0
    again = json.loads((tmp_path / "ft2" / "metrics.json").read_text())
    assert np.isclose(again["test"]["loss"], ft_metrics["test"]["loss"], atol=1e-4)

    # Seeds trained by separate processes are collected by one --resume run over all of them (seed 0 reused).
    assert ft_command.main(_args(common + ["--seeds", "1", "--output-dir", str(tmp_path / "ft-seed1"),
                                           "--run-dir", str(tmp_path / "runs-ft")])) == 0
    assert ft_command.main(_args(common + ["--seeds", "0", "1", "--output-dir", str(tmp_path / "ft3"),
                                           "--run-dir", str(tmp_path / "runs-ft"), "--resume"])) == 0
    collected = json.loads((tmp_path / "ft3" / "metrics.json").read_text())
    assert [s["seed"] for s in collected["seeds"]] == [0, 1]
    assert collected["seeds"][0]["train_seconds"] == again["seeds"][0]["train_seconds"]
    assert "std" in collected["summary"]["test"]["mean_macro_f1"]


def test_compare_modes_reports_both_metrics_with_the_noise_rule():
    def summary(f1, f1_std, acc, acc_std):
        return {"test": {"mean_macro_f1": {"mean": f1, "std": f1_std}, "mean_accuracy": {"mean": acc, "std": acc_std}}}

    comparison = mft.compare_modes(summary(0.560, 0.002, 0.600, 0.001), summary(0.550, 0.003, 0.599, 0.001))
    f1, acc = comparison["test"]["mean_macro_f1"], comparison["test"]["mean_accuracy"]
    assert f1["mft_minus_ft"] == pytest.approx(0.010) and f1["combined_std"] == pytest.approx(0.0036056, rel=1e-4)
    assert f1["beyond_noise"]  # 0.010 > 2 x 0.0036
    assert acc["mft_minus_ft"] == pytest.approx(0.001) and not acc["beyond_noise"]  # 0.001 < 2 x 0.0014
    assert set(comparison) == {"test"}  # levels missing on either side are left out


@pytest.mark.slow
def test_two_processes_train_the_same_model_as_one(tokenizer, tmp_path):
    """Two processes of batch 16 are one process of batch 32: DDP averages the two half-batch gradients into the
    full batch's, each process takes every other batch of the same seeded order, and evaluation is shared and
    gathered. With dropout off and a training set that divides into whole batches (accelerate pads an uneven
    last batch with repeated texts, as DistributedSampler does), the runs differ only by the order of float sums.

    Tolerance: losses and test metrics within 1e-6; the shipped fp16 weights within one fp16 step (rtol 2e-3).
    Measured: losses agree to ~1e-8 and weights to 3e-5, while training moved the validation loss 0.80 -> 0.62."""
    from safetensors.numpy import load_file

    encoder = build_encoder_dir(tmp_path, "bert", tokenizer, dropout=0.0)
    data = make_fake_data_dir(tmp_path / "data", repeats=5)  # 16 comments per writer: 46 training writers, 736 texts
    launch = [str(Path(sys.executable).parent / "accelerate"), "launch", "--multi_gpu", "--num_processes", "2",
              "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MBTI_CACHE_DIR": str(tmp_path / "cache")}

    def run(processes: int, batch_size: int) -> Path:
        out = tmp_path / f"ft-{processes}"
        command = (launch if processes == 2 else [sys.executable]) + [
            str(ROOT / "train.py"), "ft", "--tiny", "--base-model", str(encoder), "--data-dir", str(data),
            "--comments-only", "--limit-train", "100000", "--no-group-by-length", "--batch-size", str(batch_size),
            "--learning-rate", "1e-3", "--epochs", "1", "1", "2", "--output-dir", str(out),
            "--run-dir", str(tmp_path / f"runs-{processes}"), "--report", str(tmp_path / f"report-{processes}.json"),
            "--no-progress", "--no-export-onnx", "--no-calibrate"]
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, done.stderr[-3000:]
        return out

    one, two = run(1, 32), run(2, 16)
    metrics = {out: json.loads((out / "metrics.json").read_text()) for out in (one, two)}
    assert metrics[one]["data"]["train"]["texts"] % 32 == 0  # whole batches: no padded repeats
    assert metrics[two]["seeds"][0]["device"].endswith("x 2 processes")
    for out in (one, two):  # every test text scored exactly once
        assert metrics[out]["seeds"][0]["test"]["n"] == metrics[out]["data"]["test"]["texts"]
    curves = [json.loads((out / "curves.json").read_text())["seed0"]["phase3"] for out in (one, two)]
    assert [row["global_step"] for row in curves[0]] == [row["global_step"] for row in curves[1]] == [23, 46]
    for key in ("train_loss", "val_loss", "val_mean_accuracy"):
        assert [row[key] for row in curves[1]] == pytest.approx([row[key] for row in curves[0]], abs=1e-6)
    assert curves[0][-1]["val_loss"] < curves[0][0]["val_loss"] - 0.05  # it did train
    test = [metrics[out]["seeds"][0]["test"] for out in (one, two)]
    for key in ("loss", "mean_accuracy", "mean_macro_f1", "type_accuracy"):
        assert test[1][key] == pytest.approx(test[0][key], abs=1e-6)
    for name in ("model.safetensors", "classifier_head.safetensors"):
        weights = [load_file(out / name) for out in (one, two)]
        for key, value in weights[0].items():
            np.testing.assert_allclose(weights[1][key].astype(np.float32), value.astype(np.float32), rtol=2e-3,
                                       atol=1e-4, err_msg=key)


@pytest.mark.slow
def test_accelerate_launch_with_two_cpu_processes_shares_the_work(encoder_dir, data_dir, tmp_path):
    """`accelerate launch --multi_gpu --num_processes 2` on a CPU machine: one gloo group (each process half the
    batches of every phase, evaluation shared and gathered), and one process writing the outputs."""
    out = tmp_path / "mft"
    command = [str(Path(sys.executable).parent / "accelerate"), "launch", "--multi_gpu", "--num_processes", "2",
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", str(ROOT / "train.py"),
               "mft", "--tiny", "--base-model", str(encoder_dir), "--data-dir", str(data_dir), "--seeds", "0",
               "--output-dir", str(out), "--run-dir", str(tmp_path / "runs"), "--report", str(tmp_path / "report.json"),
               "--no-progress", "--no-export-onnx"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MBTI_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count('"output_dir"') == 1  # the summary, from the main process only
    metrics = json.loads((out / "metrics.json").read_text())
    seed = metrics["seeds"][0]
    assert seed["device"].endswith("x 2 processes")
    assert seed["test"]["n"] == metrics["data"]["test"]["texts"]  # the gathered shares cover every test text
    curves = json.loads((out / "curves.json").read_text())["seed0"]
    batches = math.ceil(metrics["data"]["train"]["texts"] / 16)  # --tiny: batch 16 per process, one epoch
    assert curves["phase3"][-1]["global_step"] == math.ceil(batches / 2)
    assert 0 <= curves["phase3"][-1]["val_mean_accuracy"] <= 1
    assert (tmp_path / "report.json").is_file()
