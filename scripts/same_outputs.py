"""Do two versions of the code give the same outputs on the same checkpoints? (A refactor's "no behaviour change".)

Raw outputs only: axis logits of every test-split text (both checkpoints, ONNX and torch backends) and type-
conditioned fill-mask probabilities (MFT, 16 types, top 5). Shown probabilities are left out on purpose: they
include the calibration, which is a checkpoint's setting, not the code's.

    # from the project root, with PYTHONPATH=. so that the script imports the checkout it runs in:
    # 1. the inputs, from this checkout (test-split texts as the data layer caches them, 60 masked sentences)
    PYTHONPATH=. MBTI_DATA_DIR=../shared/data python scripts/same_outputs.py inputs /tmp/same
    # 2. the outputs of each code version, run from its own root on the same checkpoints
    git worktree add /tmp/old 83ca853 && rm -rf /tmp/old/checkpoints && cp -r checkpoints /tmp/old/
    (cd /tmp/old && PYTHONPATH=. python /path/to/scripts/same_outputs.py outputs /tmp/same old)
    PYTHONPATH=. python scripts/same_outputs.py outputs /tmp/same new
    # 3. the comparison (and the metrics of both logit sets on the test split, with the research thresholds)
    PYTHONPATH=. MBTI_DATA_DIR=../shared/data python scripts/same_outputs.py compare /tmp/same old new
"""
from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import numpy as np

CHECKPOINTS = ("mft", "ft")
BACKENDS = ("onnx", "torch")


def inputs(folder: Path) -> None:
    from mbti_core.data import labelled, load_cafe

    texts = labelled(load_cafe(), "test")["text"].astype(str).tolist()
    random.seed(0)
    candidates = [t for t in texts if len(t.split()) >= 4 and "[TYPE]" not in t and len(t) < 100]
    masked = []
    for text in random.sample(candidates, 60):
        words = text.split()
        words[2] = "[MASK]"
        masked.append(" ".join(words))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "texts.json").write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    (folder / "masked.json").write_text(json.dumps(masked, ensure_ascii=False), encoding="utf-8")
    print(f"{len(texts)} texts, {len(masked)} masked sentences in {folder}")


def outputs(folder: Path, name: str) -> None:
    from mbti_core.onnx_predictor import load_predictor
    from mbti_core.types import TYPES

    texts = json.loads((folder / "texts.json").read_text(encoding="utf-8"))
    masked = json.loads((folder / "masked.json").read_text(encoding="utf-8"))
    out = {}
    for checkpoint in CHECKPOINTS:
        for backend in BACKENDS:
            predictor = load_predictor(f"checkpoints/{checkpoint}", backend=backend)
            out[f"{checkpoint}_{backend}_logits"] = predictor.axis_logits(texts, batch_size=64)[0]
            if checkpoint == "mft":
                fills = [predictor.fill_mask(sentence, types=list(TYPES), top_k=5) for sentence in masked]
                out[f"mft_{backend}_fill_probs"] = np.array([[[e["prob"] for e in f[t]] for t in TYPES] for f in fills])
                out[f"mft_{backend}_fill_tokens"] = np.array([[[e["token"] for e in f[t]] for t in TYPES] for f in fills])
    np.savez(folder / f"{name}.npz", **out)
    print(f"wrote {folder / name}.npz")


def compare(folder: Path, first: str, second: str) -> None:
    from mbti_core import evaluation
    from mbti_core.data import labelled, load_cafe
    from mbti_core.heads_config import HeadsConfig

    a, b = np.load(folder / f"{first}.npz"), np.load(folder / f"{second}.npz")
    texts = json.loads((folder / "texts.json").read_text(encoding="utf-8"))
    test = labelled(load_cafe(), "test").reset_index(drop=True)
    for key in a.files:
        if a[key].dtype.kind not in "fi":
            print(f"{key}: {'identical' if (a[key] == b[key]).all() else 'DIFFERENT'}")
            continue
        diff = np.abs(a[key].astype(np.float64) - b[key].astype(np.float64)).reshape(len(a[key]), -1).max(axis=1)
        rows = np.flatnonzero(diff > 1e-6)
        print(f"{key}: max |diff| {diff.max():.3g}; {len(rows)} of {len(diff)} rows over 1e-6; "
              f"max |diff| on the others {np.delete(diff, rows).max():.3g}")
        if key.endswith("_logits") and key.startswith("mft_onnx"):
            for row in rows:
                print(f"    differs: {texts[row][:100]!r}")
    for checkpoint in CHECKPOINTS:
        thresholds = np.array(HeadsConfig.load(f"checkpoints/{checkpoint}").thresholds)
        metrics = [evaluation.classification_metrics(test, evaluation.sigmoid(x[f"{checkpoint}_onnx_logits"]),
                                                     thresholds=thresholds) for x in (a, b)]
        for key in ("mean_macro_f1", "mean_accuracy", "type_accuracy", "loss"):
            print(f"{checkpoint} {key}: {metrics[0][key]:.6f} vs {metrics[1][key]:.6f}")
        print(f"{checkpoint} writer mean_macro_f1: {metrics[0]['writer_level']['mean_macro_f1']:.6f} vs "
              f"{metrics[1]['writer_level']['mean_macro_f1']:.6f}")


if __name__ == "__main__":
    command, folder, *names = sys.argv[1:]
    {"inputs": inputs, "outputs": outputs, "compare": compare}[command](Path(folder), *names)
