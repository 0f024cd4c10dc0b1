"""Tiny *trained* MFT and FT checkpoints, with their metrics/confusion/curves JSON and a comparison report,
for the app tests (AppTest and the real browser) and the timing command.

Nothing here is faked: ``mbti_core.training.mft.run_seed`` trains a random 2-layer, hidden-32 encoder on the
toy data of ``tests/support/mft_helpers.py`` (phases 1-2-3 for MFT, phase 3 for FT, a few seconds on CPU) and
``mft.write_outputs`` ships the checkpoints and writes the JSON exactly as ``train.py mft|ft`` does.

Layout under ``root``::

    checkpoints/mft/, checkpoints/ft/    (point MBTI_CHECKPOINT_DIR here)
    reports/mft_vs_ft.json               (point MBTI_REPORTS_DIR here)
"""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run as a script

from tests.support import built_once  # noqa: E402


def _toy_data() -> tuple[dict[str, pd.DataFrame], pd.DataFrame, list[dict]]:
    from tests.support import mft_helpers

    frame = mft_helpers.class_frame(repeats=2)
    # Writer-disjoint toy splits: train writers "-0", evaluation writers "-1" (both types in each).
    train = frame[frame.writer.str.endswith("-0")].reset_index(drop=True)
    held_out = frame[frame.writer.str.endswith("-1")].reset_index(drop=True)
    data = {"train": train, "validation": held_out, "test": held_out}
    descriptions = pd.DataFrame(
        [{"type": mbti, "field": "toy", "text": text} for mbti, texts in mft_helpers.CLASS_TEXTS.items() for text in texts]
    )
    rows = mft_helpers.masked_rows(repeats=2)
    masked = {"train": rows, "validation": rows[:8], "counts": {"kept": len(rows)}}  # toy: scored on seen rows
    return data, descriptions, masked


def build_tiny_checkpoints(root: str | Path, seeds=(0, 1)) -> dict[str, Path]:
    """Train tiny MFT and FT models (``seeds`` each) and ship them under ``root``; returns the folders."""
    from mbti_core.training import mft
    from tests.support import mft_helpers

    root = Path(root)
    base = mft_helpers.build_encoder_dir(root / "base", "electra")
    data, descriptions, masked = _toy_data()
    out = {"checkpoints": root / "checkpoints", "reports": root / "reports"}
    for mode in ("mft", "ft"):
        config = mft.tiny_config(
            mode=mode, base_model=str(base), seeds=list(seeds), max_length=32,
            output_dir=str(out["checkpoints"] / mode), run_dir=str(root / "runs" / mode),
            report_path=str(out["reports"] / "mft_vs_ft.json"),
        )
        config = replace(config, phase1=replace(config.phase1, epochs=2), phase2=replace(config.phase2, epochs=3),
                         phase3=replace(config.phase3, epochs=3, learning_rate=1e-3)).resolved()
        results = [mft.run_seed(config, seed, data, masked if mode == "mft" else None,
                                descriptions if mode == "mft" else None) for seed in config.seeds]
        mft.write_outputs(config, results, data, "toy masked rows" if mode == "mft" else None)
        out[mode] = out["checkpoints"] / mode
    return out


def tiny_app_dirs(tmp_path_factory) -> dict[str, Path]:
    """Build once per pytest process (shared by test_app.py and test_browser.py) under pytest's base temp."""
    return built_once(tmp_path_factory, "app_tiny", build_tiny_checkpoints)


if __name__ == "__main__":
    import json
    import time

    started = time.perf_counter()
    paths = build_tiny_checkpoints(sys.argv[1] if len(sys.argv) > 1 else "runs/app-tiny")
    print(json.dumps({k: str(v) for k, v in paths.items()}, indent=2), f"\n{time.perf_counter() - started:.1f} s")

