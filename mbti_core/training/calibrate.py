"""``train.py calibrate --checkpoint DIR``: fit a checkpoint's calibrations in place (``mbti_heads.json``).

The app shows calibrated probabilities and decides each letter at 50% of them, so the headline, the bars and the
16-type ranking tell one story. ``evaluation.fit_calibrations`` holds the method: Platt scaling per axis, its
scale (how confident to be) from the validation split, its bias (how common each letter is) from the training
split, for one message and for the mean logit of one writer's messages. This command scores the training and
validation splits (ONNX when exported), fits both, writes them into ``mbti_heads.json`` (weights and ONNX graphs
untouched) and appends the command to ``train_command.txt``. ``train.py mft|ft`` fits the same when it ships a
checkpoint. The test split is never read.
"""
from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

from mbti_core import evaluation
from mbti_core.heads_config import HeadsConfig


def calibrate_checkpoint(checkpoint: str | Path, data_dir=None, batch_size: int = 128) -> dict:
    from mbti_core.onnx_predictor import load_predictor
    from mbti_core.training.mft import MFTConfig, load_phase3_data

    folder = Path(checkpoint)
    data = load_phase3_data(MFTConfig(data_dir=data_dir).resolved())
    predictor = load_predictor(str(folder))
    logits = {split: predictor.axis_logits(data[split]["text"].tolist(), batch_size=batch_size)[0]
              for split in ("train", "validation")}
    fitted = evaluation.fit_calibrations(data["train"], logits["train"], data["validation"], logits["validation"])
    heads = HeadsConfig.load(folder)
    heads.calibration, heads.writer_calibration = fitted["calibration"], fitted["writer_calibration"]
    heads.save(folder)
    with open(folder / "train_command.txt", "a", encoding="utf-8") as handle:
        handle.write(" ".join(shlex.quote(a) for a in ["python", *sys.argv]) + "\n")
    return {"checkpoint": str(folder), **fitted,
            "validation_ece": evaluation.calibration_errors(data["validation"], logits["validation"], **fitted)}


def add_arguments(parser) -> None:
    parser.add_argument("--checkpoint", nargs="+", required=True, help="MBTI checkpoint folder(s), changed in place")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--batch-size", type=int, default=128)


def main(args) -> int:
    for checkpoint in args.checkpoint:
        print(json.dumps(calibrate_checkpoint(checkpoint, args.data_dir, args.batch_size), ensure_ascii=False))
    return 0
