"""``train.py writer-thresholds --checkpoint DIR``: the thresholds of pooled predictions, fitted on validation writers.

A pooled prediction (the Predict page's chat-log mode, ``predict --person``, the batch's per-speaker table) is the
mean of the axis log-odds of one writer's messages. Pooled log-odds are spread differently from one comment's, so
the comment thresholds misplace the decision: the issue that found it saw E predicted for 16% of test writers
where 39% are E. ``train.py mft|ft`` now tunes these thresholds on the validation writers when it ships a
checkpoint; this command does the same for a checkpoint made before, in place: it scores the validation split
(ONNX when exported), tunes per-axis thresholds for writer-level macro-F1 and writes them into ``mbti_heads.json``
(weights and ONNX graphs untouched), recording the command in ``train_command.txt``.
"""
from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

from mbti_core import evaluation
from mbti_core.heads_config import HeadsConfig
from mbti_core.types import type_labels


def fit_writer_thresholds(checkpoint: str | Path, data_dir=None, batch_size: int = 128) -> dict:
    from mbti_core.onnx_predictor import load_predictor
    from mbti_core.training.mft import MFTConfig, load_phase3_data

    folder = Path(checkpoint)
    validation = load_phase3_data(MFTConfig(data_dir=data_dir).resolved())["validation"]
    predictor = load_predictor(str(folder))
    logits, _, _ = predictor.axis_logits(validation["text"].tolist(), batch_size=batch_size)
    probs = evaluation.sigmoid(logits)
    thresholds = evaluation.choose_writer_thresholds(validation, probs)
    _, truth, pooled = evaluation.writer_level(validation["writer"].to_numpy(),
                                               type_labels(validation["type"].tolist()), probs)
    before = evaluation.axis_metrics(truth, pooled, thresholds=predictor.thresholds)
    after = evaluation.axis_metrics(truth, pooled, thresholds=thresholds)
    heads = HeadsConfig.load(folder)
    heads.writer_thresholds = thresholds
    heads.save(folder)
    with open(folder / "train_command.txt", "a", encoding="utf-8") as handle:
        handle.write(" ".join(shlex.quote(a) for a in ["python", *sys.argv]) + "\n")
    return {"checkpoint": str(folder), "writers": int(validation["writer"].nunique()), "writer_thresholds": thresholds,
            "comment_thresholds": list(predictor.thresholds),
            "validation_writer_mean_macro_f1": {"comment_thresholds": before["mean_macro_f1"],
                                                "writer_thresholds": after["mean_macro_f1"]}}


def add_arguments(parser) -> None:
    parser.add_argument("--checkpoint", nargs="+", required=True, help="MBTI checkpoint folder(s), changed in place")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--batch-size", type=int, default=128)


def main(args) -> int:
    for checkpoint in args.checkpoint:
        print(json.dumps(fit_writer_thresholds(checkpoint, args.data_dir, args.batch_size), ensure_ascii=False))
    return 0
