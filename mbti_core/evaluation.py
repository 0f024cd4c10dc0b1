"""One module for every metric, threshold choice, calibration and the sigmoid, so baselines, training and the
app score the same way.

Inputs are axis labels ``y_true`` [N, 4] (1 = first letter: E, S, T, J) and axis probabilities
``probs`` [N, 4] of the first letter (or axis logits, where a function says so). scikit-learn is imported where a
metric or a fit needs it, so serving (which only needs ``sigmoid``, ``apply_calibration`` and
``apply_writer_calibration``) runs without it.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from mbti_core.types import AXES, type_labels

MESSAGE_COUNTS = (1, 2, 3, 5, 10, 20, 50)  # messages per writer: pooled calibration and the "how many" curve


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


def writer_counts(writers) -> np.ndarray:
    """Texts per writer, in ``writer_logits``' order (sorted writer ids)."""
    return pd.Series(np.asarray(writers)).value_counts().sort_index().to_numpy()


def served_probabilities(frame: pd.DataFrame, logits, calibration=None, writer_calibration=None) -> dict:
    """What the app shows for a frame with ``type`` and ``writer`` columns: per comment, the calibrated
    P(first letter); per writer, their mean logit through the pooled calibration. ``{"comment": (y [N, 4], probs),
    "writer": (y [W, 4], probs)}``; each calibration None = the plain sigmoid."""
    y_true = type_labels(frame["type"].tolist())
    writers = frame["writer"].to_numpy()
    _, writer_y, pooled = writer_logits(writers, y_true, logits)
    return {"comment": (y_true, sigmoid(apply_calibration(logits, calibration))),
            "writer": (writer_y, sigmoid(apply_writer_calibration(pooled, writer_counts(writers), writer_calibration)))}


def served_metrics(frame: pd.DataFrame, logits, calibration=None, writer_calibration=None) -> dict:
    """``axis_metrics`` of the served decision (each letter above 50% of the calibrated probability), per comment
    and, under ``writer_level``, per writer (``served_probabilities``)."""
    served = served_probabilities(frame, logits, calibration, writer_calibration)
    metrics = axis_metrics(*served["comment"])
    metrics["writer_level"] = axis_metrics(*served["writer"])
    return metrics


def calibration_errors(frame: pd.DataFrame, logits, calibration=None, writer_calibration=None, bins: int = 10) -> dict:
    """ECE per axis (``bins`` bins) of the served probabilities, per comment and per writer, beside the same for
    the uncalibrated sigmoid: ``{"bins", "comment": {"ece", "ece_uncalibrated"}, "writer": {...}}``."""
    after = served_probabilities(frame, logits, calibration, writer_calibration)
    before = served_probabilities(frame, logits)
    out: dict = {"bins": bins}
    for level in ("comment", "writer"):
        out[level] = {name: {axis: expected_calibration_error(y[:, i], p[:, i], bins) for i, axis in enumerate(AXES)}
                      for name, (y, p) in (("ece", after[level]), ("ece_uncalibrated", before[level]))}
    return out


def writer_balanced_weights(writers) -> np.ndarray:
    """1 / (the writer's number of texts) per text: each writer weighs the same in a fit, however much they post."""
    writers = pd.Series(np.asarray(writers))
    return 1.0 / writers.map(writers.value_counts()).to_numpy(dtype=np.float64)


def _slope(logits, y_true, sample_weight=None) -> float:
    """The slope of a logistic regression of the label on one logit (intercept free, no penalty to speak of)."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1e6, max_iter=1000)
    model.fit(np.asarray(logits, dtype=np.float64).reshape(-1, 1), np.asarray(y_true).astype(int),
              sample_weight=sample_weight)
    return float(model.coef_[0, 0])


def bias_for_share(logits, scale: float, share: float) -> float:
    """The bias b with mean(sigmoid(scale * logits + b)) == share (bisection: the mean rises with b)."""
    logits = np.asarray(logits, dtype=np.float64)
    low, high = -20.0, 20.0
    for _ in range(100):
        middle = (low + high) / 2
        if sigmoid(scale * logits + middle).mean() < share:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def fit_calibration(fit_logits, fit_y, prior_logits, prior_y, fit_weights=None) -> list[list[float]]:
    """Per-axis Platt scaling ``p = sigmoid(scale * logit + bias)``, fitted in two parts.

    - ``scale`` (how confident to be) from held-out data (``fit_*``: validation texts or writers), by logistic
      regression, optionally with ``fit_weights`` (``writer_balanced_weights``: no prolific writer decides it).
    - ``bias`` (how common each letter is) so that the mean calibrated probability over ``prior_*`` (the much
      larger training split) equals its share of the first letter: the validation split's letter shares are a
      small sample of writers and differ from the training split's by up to 0.2.

    Returns ``[[scale, bias]] * 4``; ``apply_calibration`` uses it, and 50% of the result is the decision.
    """
    fit_logits, fit_y = np.asarray(fit_logits, dtype=np.float64), np.asarray(fit_y).astype(int)
    prior_logits, prior_y = np.asarray(prior_logits, dtype=np.float64), np.asarray(prior_y).astype(int)
    out = []
    for axis in range(len(AXES)):
        scale = _slope(fit_logits[:, axis], fit_y[:, axis], fit_weights)
        if not scale > 0:  # no signal on this axis: keep the model's own spread rather than flip or flatten it
            scale = 1.0
        out.append([scale, bias_for_share(prior_logits[:, axis], scale, float(prior_y[:, axis].mean()))])
    return out


def apply_calibration(logits, calibration) -> np.ndarray:
    """Calibrated log-odds ``scale * logit + bias`` per axis (``calibration`` None: the logits unchanged)."""
    logits = np.asarray(logits, dtype=np.float64)
    if calibration is None:
        return logits
    parameters = np.asarray(calibration, dtype=np.float64)
    return logits * parameters[:, 0] + parameters[:, 1]


def message_draws(writers, counts=MESSAGE_COUNTS, seed: int = 0) -> dict[int, list[np.ndarray]]:
    """For each k, one random draw of k row indices per writer who has at least k rows (the same draws for every
    model, so their curves compare like for like)."""
    rng = np.random.default_rng(seed)
    rows_of: dict = {}
    for index, writer in enumerate(np.asarray(writers)):
        rows_of.setdefault(writer, []).append(index)
    return {k: [rng.choice(rows, size=k, replace=False) for rows in rows_of.values() if len(rows) >= k]
            for k in counts}


def pooled_features(mean_logits, counts) -> np.ndarray:
    """[W, 4, 3]: for each writer and axis, the mean logit m, m * ln(n) and ln(n) of n messages."""
    mean_logits = np.asarray(mean_logits, dtype=np.float64)
    log_n = np.log(np.asarray(counts, dtype=np.float64)).reshape(-1, 1)
    return np.stack([mean_logits, mean_logits * log_n, np.broadcast_to(log_n, mean_logits.shape)], axis=-1)


def apply_writer_calibration(mean_logits, counts, calibration) -> np.ndarray:
    """Calibrated log-odds of pooled predictions, ``a*m + c*m*ln(n) + d*ln(n) + b`` per axis for the mean logit m
    of n messages (``calibration`` [[a, c, d, b]] * 4; None: m unchanged)."""
    mean_logits = np.asarray(mean_logits, dtype=np.float64)
    if calibration is None:
        return mean_logits
    parameters = np.asarray(calibration, dtype=np.float64)
    features = pooled_features(np.atleast_2d(mean_logits), np.atleast_1d(counts))
    out = (features * parameters[:, :3]).sum(axis=-1) + parameters[:, 3]
    return out.reshape(mean_logits.shape)


def fit_writer_calibration(validation: pd.DataFrame, validation_logits, train: pd.DataFrame, train_logits,
                           counts=MESSAGE_COUNTS, draws: int = 3) -> list[list[float]]:
    """Per-axis calibration of pooled predictions (``apply_writer_calibration``): how much the mean logit of n
    messages should count grows with n, so confidence builds up as messages add evidence.

    ``a, c, d`` by logistic regression on validation writers, each contributing random draws of k of their
    messages for every k in ``counts`` (``draws`` different draws); ``b`` so that the mean calibrated probability
    over the same kind of draws of *training* writers equals their share of the first letter (the letters' base
    rates from the larger split, as ``fit_calibration``)."""
    from sklearn.linear_model import LogisticRegression

    def pooled(frame, logits, seeds):
        logits, labels = np.asarray(logits, dtype=np.float64), type_labels(frame["type"].tolist())
        rows = [g for seed in seeds for groups in message_draws(frame["writer"].to_numpy(), counts, seed).values()
                for g in groups]
        return (pooled_features(np.stack([logits[g].mean(axis=0) for g in rows]), [len(g) for g in rows]),
                np.stack([labels[g[0]] for g in rows]))

    fit_x, fit_y = pooled(validation, validation_logits, range(draws))
    prior_x, prior_y = pooled(train, train_logits, [0])
    out = []
    for axis in range(len(AXES)):
        model = LogisticRegression(C=1e6, max_iter=1000).fit(fit_x[:, axis], fit_y[:, axis])
        weights = model.coef_[0]
        if not weights[0] + weights[1] * np.log(max(counts)) > 0 or not weights[0] > 0:
            weights = np.array([1.0, 0.0, 0.0])  # no usable signal: the plain mean logit
        bias = bias_for_share(prior_x[:, axis] @ weights, 1.0, float(prior_y[:, axis].mean()))
        out.append([*map(float, weights), bias])
    return out


def writer_logits(writers, y_true, logits) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each writer's texts pooled by the mean of their axis logits: (writer ids, y_true [W, 4], logits [W, 4]);
    ``writer_counts`` gives their numbers of texts in the same order."""
    frame = pd.DataFrame(np.asarray(logits, dtype=np.float64), columns=list(AXES))
    frame["writer"] = np.asarray(writers)
    labels = pd.DataFrame(np.asarray(y_true), columns=[f"y_{a}" for a in AXES])
    labels["writer"] = frame["writer"]
    pooled = frame.groupby("writer", sort=True).mean()
    truth = labels.groupby("writer", sort=True).first()
    return pooled.index.to_numpy(), truth.to_numpy().astype(int), pooled.to_numpy()


def fit_calibrations(train: pd.DataFrame, train_logits, validation: pd.DataFrame, validation_logits) -> dict:
    """A checkpoint's two calibrations (``fit_calibration``) from frames with ``type`` and ``writer`` columns:

    - ``calibration`` (one message): scale from validation comments, each writer weighing the same; bias from the
      training split's comment shares;
    - ``writer_calibration`` (the mean logit of n messages of one writer, ``fit_writer_calibration``): how its
      weight grows with n from validation writers; bias from the training writers' shares.
    """
    train_y, validation_y = type_labels(train["type"].tolist()), type_labels(validation["type"].tolist())
    comment = fit_calibration(validation_logits, validation_y, train_logits, train_y,
                              writer_balanced_weights(validation["writer"].to_numpy()))
    writer = fit_writer_calibration(validation, validation_logits, train, train_logits)
    return {"calibration": comment, "writer_calibration": writer}


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
    ids, truth, pooled = writer_logits(writers, y_true, np.log(probs / (1 - probs)))
    return ids, truth, sigmoid(pooled)


def macro_f1_by_threshold(y_true, probs, grid) -> np.ndarray:
    """Binary macro-F1 of ``probs >= t`` for every t in ``grid`` at once (sklearn's ``f1_score(average="macro",
    labels=[0, 1], zero_division=0)``, from the confusion counts: one pass instead of a sklearn call per t)."""
    y_true = np.asarray(y_true).astype(bool)[None, :]
    predicted = np.asarray(probs, dtype=np.float64)[None, :] >= np.asarray(grid, dtype=np.float64)[:, None]
    true_pos = (predicted & y_true).sum(axis=1)
    false_pos = (predicted & ~y_true).sum(axis=1)
    false_neg = (~predicted & y_true).sum(axis=1)
    true_neg = y_true.shape[1] - true_pos - false_pos - false_neg

    def f1(hits, misses):  # 2TP / (2TP + FP + FN), 0 where the class is neither true nor predicted
        denominator = 2 * hits + misses
        return np.divide(2 * hits, denominator, out=np.zeros(len(hits)), where=denominator > 0)

    return (f1(true_pos, false_pos + false_neg) + f1(true_neg, false_pos + false_neg)) / 2


def axis_auc(y_true, scores) -> list[float]:
    """ROC AUC per axis of a score that rises with the first letter (logits or probabilities alike): how well a
    model ranks texts or writers, whatever the base rates, calibration or thresholds (nan where an axis has one
    class only)."""
    from sklearn.metrics import roc_auc_score

    y_true, scores = np.asarray(y_true).astype(int), np.asarray(scores, dtype=np.float64)
    return [float(roc_auc_score(y_true[:, i], scores[:, i])) if len(np.unique(y_true[:, i])) == 2 else float("nan")
            for i in range(len(AXES))]


def tune_thresholds(y_true, probs, grid=np.linspace(0.2, 0.8, 61)) -> list[float]:
    """Per-axis thresholds that maximise macro-F1 (choose them on validation, apply them on test); the first of
    equal scores."""
    y_true, probs = np.asarray(y_true).astype(int), np.asarray(probs)
    return [float(grid[int(np.argmax(macro_f1_by_threshold(y_true[:, i], probs[:, i], grid)))])
            for i in range(len(AXES))]


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
