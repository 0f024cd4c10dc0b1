"""Untrained tiny MFT and FT checkpoints (random 2-layer, hidden-32 ELECTRA + the real heads), saved and
loaded through the shipping code: for tests that check plumbing (Gradio API, batch scoring, explanations)
against the Predictor's own outputs, where training (tests/support/app_checkpoints.py) would only cost time.

Layout: ``root/mft`` (with the type-conditioned MLM head) and ``root/ft`` (without): point
``MBTI_CHECKPOINT_DIR`` at ``root``.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script

from tests.support import built_once  # noqa: E402


CALIBRATION = [[0.6, -0.2], [0.8, 0.1], [0.55, 0.05], [1.2, -0.1]]
WRITER_CALIBRATION = [[0.8, 0.4, 0.05, -0.05], [0.7, 0.8, 0.1, 0.0], [0.6, 0.5, 0.05, -0.2], [0.5, 0.5, 0.1, -0.05]]


def build_random_checkpoints(root: str | Path, max_length: int = 64) -> dict[str, Path]:
    from tests.support import mft_helpers

    root = Path(root)
    tokenizer = mft_helpers.build_tokenizer()
    encoder = mft_helpers.build_encoder_dir(root / "base", "electra", tokenizer=tokenizer)
    out = {"checkpoints": root}
    for mode in ("mft", "ft"):
        model = mft_helpers.new_model(encoder, with_type_mlm=mode == "mft", max_length=max_length)
        # Calibrated like a shipped checkpoint, so what the fronts show goes through the calibration.
        model.heads_config.calibration = CALIBRATION
        model.heads_config.writer_calibration = WRITER_CALIBRATION
        # fp32 so a test's Predictor and the app's see bit-identical weights either way
        out[mode] = model.save_pretrained(root / mode, tokenizer=tokenizer, dtype=None)
    return out


def random_checkpoint_dirs(tmp_path_factory) -> dict[str, Path]:
    """Built once per pytest process, under pytest's base temp."""
    return built_once(tmp_path_factory, "random_ckpt", build_random_checkpoints)


if __name__ == "__main__":
    print(build_random_checkpoints(sys.argv[1] if len(sys.argv) > 1 else "runs/random-tiny"))
