"""One module for every metric, threshold choice and the sigmoid, so baselines, training and the app score the
same way.

Inputs are axis labels ``y_true`` [N, 4] (1 = first letter: E, S, T, J) and axis probabilities
``probs`` [N, 4] of the first letter. scikit-learn is imported where a metric needs it, so serving (which only
needs ``sigmoid``) runs without it.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from mbti_core.types import AXES, type_labels


def sigmoid(x) -> np.ndarray:
    """The logistic function in float64 (axis logits -> probabilities of the first letter)."""
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def _as_thresholds(thresholds) -> np.ndarray:
    return np.broadcast_to(np.asarray(thresholds, dtype=np.float64), (len(AXES),))


def expected_calibration_error(y_true, probs, bins: int = 10) -> float:
    """ECE of one axis: P(first letter) in ``bins`` equal-width bins, the |mean probability - observed share of the
    first letter| of each bin weighted by its size."""
    y_true, probs = np.asarray(y_true, dtype=np.float64), np.asarray(probs, dtype=np.float64)
    index = np.clip((probs * bins).astype(int), 0, bins - 1)
    return float(sum(abs(probs[index == b].mean() - y_true[index == b].mean()) * (index == b).sum()
                     for b in range(bins) if (index == b).any()) / max(len(y_true), 1))


def calibration(y_true, probs, writers=None) -> dict:
    """ECE per axis (10 bins) for comments, and for writers (mean log-odds of their comments) when given."""
    y_true, probs = np.asarray(y_true), np.asarray(probs, dtype=np.float64)
    out = {"bins": 10, "comment": {axis: expected_calibration_error(y_true[:, i], probs[:, i]) for i, axis in enumerate(AXES)}}
    if writers is not None:
        _, truth, pooled = writer_level(writers, y_true, probs)
        out["writer"] = {axis: expected_calibration_error(truth[:, i], pooled[:, i]) for i, axis in enumerate(AXES)}
    return out


def bce_loss(y_true, probs) -> float:
    """Mean binary cross-entropy over the four axes."""
    from sklearn.metrics import log_loss

    y_true, probs = np.asarray(y_true), np.clip(np.asarray(probs, dtype=np.float64), 1e-7, 1 - 1e-7)
    return float(np.mean([log_loss(y_true[:, i], probs[:, i], labels=[0, 1]) for i in range(len(AXES))]))


def axis_metrics(y_true, probs, thresholds=0.5, loss: float | None = None) -> dict:
    """Per-axis accuracy, macro-F1 and confusion matrix; their means; exact-type and >=2 / >=3 axes right.

    Confusion matrices have rows = true, columns = predicted, both in the order (first, second letter),
    e.g. labels ["E", "I"].
    """
    from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

    y_true = np.asarray(y_true).astype(int)
    probs = np.asarray(probs, dtype=np.float64)
    if y_true.shape != probs.shape or y_true.ndim != 2 or y_true.shape[1] != len(AXES):
        raise ValueError(f"expected y_true and probs of shape [N, 4], got {y_true.shape} and {probs.shape}")
    if len(y_true) == 0:
        raise ValueError("no examples to evaluate")
    y_pred = (probs >= _as_thresholds(thresholds)).astype(int)
    per_axis = {}
    for i, axis in enumerate(AXES):
        matrix = confusion_matrix(y_true[:, i], y_pred[:, i], labels=[1, 0])
        per_axis[axis] = {
            "accuracy": float(accuracy_score(y_true[:, i], y_pred[:, i])),
            "macro_f1": float(f1_score(y_true[:, i], y_pred[:, i], average="macro", labels=[0, 1], zero_division=0)),
            "first_letter_share_true": float(y_true[:, i].mean()),
            "first_letter_share_pred": float(y_pred[:, i].mean()),
            "confusion": {"labels": [axis[0], axis[1]], "matrix": matrix.tolist()},
        }
    correct = (y_true == y_pred).sum(axis=1)
    return {
        "n": int(len(y_true)),
        "loss": float(loss) if loss is not None else bce_loss(y_true, probs),
        "axes": per_axis,
        "mean_accuracy": float(np.mean([m["accuracy"] for m in per_axis.values()])),
        "mean_macro_f1": float(np.mean([m["macro_f1"] for m in per_axis.values()])),
        "type_accuracy": float(np.mean(correct == len(AXES))),
        "at_least_2": float(np.mean(correct >= 2)),
        "at_least_3": float(np.mean(correct >= 3)),
        "thresholds": _as_thresholds(thresholds).tolist(),
    }


def writer_level(writers, y_true, probs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Aggregate texts to writers: mean log-odds of each axis (the evidence of several messages adds up).

    Returns (writer ids, y_true [W, 4], probs [W, 4]).
    """
    probs = np.clip(np.asarray(probs, dtype=np.float64), 1e-6, 1 - 1e-6)
    frame = pd.DataFrame(np.log(probs / (1 - probs)), columns=list(AXES))
    frame["writer"] = np.asarray(writers)
    labels = pd.DataFrame(np.asarray(y_true), columns=[f"y_{a}" for a in AXES])
    labels["writer"] = frame["writer"]
    logits = frame.groupby("writer", sort=True).mean()
    truth = labels.groupby("writer", sort=True).first()
    return logits.index.to_numpy(), truth.to_numpy().astype(int), sigmoid(logits.to_numpy())


def tune_thresholds(y_true, probs, grid=np.linspace(0.2, 0.8, 61)) -> list[float]:
    """Per-axis thresholds that maximise macro-F1 (choose them on validation, apply them on test)."""
    from sklearn.metrics import f1_score

    y_true, probs = np.asarray(y_true).astype(int), np.asarray(probs)
    best = []
    for i in range(len(AXES)):
        scores = [f1_score(y_true[:, i], (probs[:, i] >= t).astype(int), average="macro", zero_division=0) for t in grid]
        best.append(float(grid[int(np.argmax(scores))]))
    return best


def mean_std(runs: list[dict], keys=("mean_macro_f1", "mean_accuracy", "type_accuracy", "loss")) -> dict:
    """Mean and sample std of metrics over seeds (and of each axis' accuracy and macro-F1)."""
    out = {}
    for key in keys:
        values = np.array([run[key] for run in runs], dtype=np.float64)
        out[key] = {"mean": float(values.mean()), "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0}
    for axis in AXES:
        for key in ("accuracy", "macro_f1"):
            values = np.array([run["axes"][axis][key] for run in runs], dtype=np.float64)
            out[f"{axis}_{key}"] = {
                "mean": float(values.mean()), "std": float(values.std(ddof=1)) if len(values) > 1 else 0.0
            }
    return out


def binary_metrics(y_true, probs) -> dict:
    """Sentiment-style metrics: accuracy, F1 of the positive class, log loss, n."""
    from sklearn.metrics import accuracy_score, f1_score, log_loss

    y_true, probs = np.asarray(y_true).astype(int), np.asarray(probs, dtype=np.float64)
    y_pred = (probs >= 0.5).astype(int)
    return {
        "n": int(len(y_true)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "f1": float(f1_score(y_true, y_pred, zero_division=0)),
        "loss": float(log_loss(y_true, np.clip(probs, 1e-7, 1 - 1e-7), labels=[0, 1])),
    }


def classification_metrics(frame: pd.DataFrame, probs: np.ndarray, thresholds=0.5, by_writer: bool = True) -> dict:
    """Metrics of a frame with ``type`` (and ``writer``) columns: comment level, and writer level (mean log-odds
    of each writer's texts) when the frame has writers."""
    y_true = type_labels(frame["type"].tolist())
    metrics = axis_metrics(y_true, probs, thresholds=thresholds, loss=bce_loss(y_true, probs))
    if by_writer and "writer" in frame:
        _, writer_truth, writer_probs = writer_level(frame["writer"].to_numpy(), y_true, probs)
        metrics["writer_level"] = axis_metrics(writer_truth, writer_probs, thresholds=thresholds)
    return metrics


def choose_thresholds(frame: pd.DataFrame, probs: np.ndarray) -> list[float]:
    """Per-axis thresholds maximising macro-F1 on a frame with a ``type`` column (validation, never test)."""
    return [float(t) for t in tune_thresholds(type_labels(frame["type"].tolist()), probs)]


def choose_writer_thresholds(frame: pd.DataFrame, probs: np.ndarray) -> list[float]:
    """Per-axis thresholds for pooled predictions: each writer's texts pooled by the mean of their log-odds (as
    ``writer_level``), thresholds maximising writer-level macro-F1 (choose them on validation writers)."""
    _, writer_truth, writer_probs = writer_level(frame["writer"].to_numpy(), type_labels(frame["type"].tolist()), probs)
    return [float(t) for t in tune_thresholds(writer_truth, writer_probs)]
