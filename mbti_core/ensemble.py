"""`python -m mbti_core ensemble`: does a fine-tuned checkpoint add anything to TF-IDF? Blend their log-odds.

TF-IDF + LR (`baselines.TfidfAxisClassifier`) is fitted on the training split. For each axis the blend is
``w * logit(checkpoint) + (1 - w) * logit(tfidf)``; the weight w (0, 0.1, ..., 1) and the threshold are chosen
on the validation split (macro-F1), never on test. The report gives test metrics, comment and writer level,
for TF-IDF alone, each checkpoint alone (its shipped thresholds) and each blend -> reports/ensemble.json.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from mbti_core import evaluation, settings
from mbti_core.types import AXES, type_labels

WEIGHTS = np.round(np.linspace(0.0, 1.0, 11), 2)


def logit(probs: np.ndarray) -> np.ndarray:
    clipped = np.clip(np.asarray(probs, dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.log(clipped / (1 - clipped))


def choose_blend(y_true: np.ndarray, model_logits: np.ndarray, tfidf_logits: np.ndarray) -> tuple[list[float], list[float]]:
    """Per axis, the (weight, threshold) pair with the best validation macro-F1."""
    from sklearn.metrics import f1_score

    best = [(-1.0, 0.0, 0.5)] * len(AXES)  # (validation macro-F1, weight, threshold) per axis
    for w in WEIGHTS:
        probs = evaluation.sigmoid(w * model_logits + (1 - w) * tfidf_logits)
        for axis, threshold in enumerate(evaluation.tune_thresholds(y_true, probs)):
            score = f1_score(y_true[:, axis], (probs[:, axis] >= threshold).astype(int), average="macro")
            if score > best[axis][0] + 1e-9:
                best[axis] = (score, float(w), float(threshold))
    weights, thresholds = [b[1] for b in best], [b[2] for b in best]
    return weights, thresholds


def blend(model_logits: np.ndarray, tfidf_logits: np.ndarray, weights) -> np.ndarray:
    w = np.asarray(weights)[None, :]
    return evaluation.sigmoid(w * model_logits + (1 - w) * tfidf_logits)


_metrics = evaluation.classification_metrics


def run_ensemble(checkpoints: dict[str, str], data_dir=None, batch_size: int = 128) -> dict:
    import torch

    from mbti_core.baselines import TfidfAxisClassifier
    from mbti_core.data import labelled, load_cafe
    from mbti_core.encoder import load_tokenizer
    from mbti_core.modeling import MBTIModel
    from mbti_core.training.phases import predict_axis_logits

    cafe = load_cafe(data_dir)
    splits = {name: labelled(cafe, name).reset_index(drop=True) for name in ("train", "validation", "test")}
    tfidf = TfidfAxisClassifier().fit(splits["train"]["text"], type_labels(splits["train"]["type"]))
    tfidf_logits = {name: logit(tfidf.predict_proba(splits[name]["text"])) for name in ("validation", "test")}
    y_val = type_labels(splits["validation"]["type"])
    report = {
        "split": {name: {"texts": len(frame), "writers": int(frame["writer"].nunique())} for name, frame in splits.items()},
        "rule": "per axis: weight w of the checkpoint's log-odds (0..1 by 0.1) and threshold chosen on validation macro-F1",
        "tfidf_lr": {"test": _metrics(splits["test"], evaluation.sigmoid(tfidf_logits["test"]), 0.5)},
    }
    for name, path in checkpoints.items():
        model = MBTIModel.from_pretrained(path).eval()
        tokenizer = load_tokenizer(path)
        max_length = model.heads_config.max_length or 128
        with torch.inference_mode():
            model_logits = {split: predict_axis_logits(model, tokenizer, splits[split]["text"], max_length, batch_size,
                                                       torch.device("cpu")) for split in ("validation", "test")}
        weights, thresholds = choose_blend(y_val, model_logits["validation"], tfidf_logits["validation"])
        report[name] = {
            "checkpoint": settings.project_relative(path),
            "alone": {"thresholds": list(model.heads_config.thresholds or [0.5] * 4),
                      "test": _metrics(splits["test"], evaluation.sigmoid(model_logits["test"]),
                                       model.heads_config.thresholds or 0.5)},
            "blend": {"weights": weights, "thresholds": thresholds,
                      "test": _metrics(splits["test"], blend(model_logits["test"], tfidf_logits["test"], weights), thresholds)},
        }
    return report


def format_table(report: dict) -> str:
    lines = [f"{'model':<22}{'level':<9}" + "".join(f"{axis + ' F1':>8}" for axis in AXES) + f"{'meanF1':>8}{'type':>7}"]

    def row(name, metrics):
        for level, values in (("comment", metrics), ("writer", metrics["writer_level"])):
            cells = "".join(f"{values['axes'][axis]['macro_f1']:>8.3f}" for axis in AXES)
            lines.append(f"{name:<22}{level:<9}{cells}{values['mean_macro_f1']:>8.3f}{values['type_accuracy']:>7.3f}")

    row("tfidf_lr", report["tfidf_lr"]["test"])
    for name, result in report.items():
        if isinstance(result, dict) and "blend" in result:
            row(f"{name}", result["alone"]["test"])
            row(f"{name}+tfidf", result["blend"]["test"])
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoints", nargs="+", metavar="NAME=PATH", default=None,
                        help="checkpoints to blend (default: mft and ft under $MBTI_CHECKPOINT_DIR)")
    parser.add_argument("--data-dir", help="raw data directory (default: MBTI_DATA_DIR or ../shared/data)")
    parser.add_argument("--output", help="output JSON (default reports/ensemble.json)")


def main(args) -> int:
    if args.checkpoints:
        pairs = [item.split("=", 1) for item in args.checkpoints]
        if any(len(pair) != 2 or not all(pair) for pair in pairs):
            raise ValueError("--checkpoints takes NAME=PATH pairs, e.g. mft=checkpoints/mft")
        checkpoints = dict(pairs)
    else:
        checkpoints = {name: str(settings.checkpoint_dir() / name) for name in ("mft", "ft")}
    for name, path in checkpoints.items():
        if not (Path(path) / "mbti_heads.json").is_file():
            raise ValueError(f"{name}: {path} is not an MBTI checkpoint (no mbti_heads.json)")
    report = run_ensemble(checkpoints, args.data_dir)
    output = Path(args.output) if args.output else settings.reports_dir() / "ensemble.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(format_table(report))
    print(f"wrote {output}")
    return 0
