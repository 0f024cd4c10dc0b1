"""``python -m mbti_core reliability``: how far to trust one prediction, measured on held-out comments.

For each checkpoint (default: the shipped MFT and FT), every comment of the writer-disjoint test split (type
mentions masked, writers never seen in training) is scored as the app scores it (calibrated probabilities, each
letter above 50%), and the report (``reports/reliability.json``) holds what the Predict page says beside a
prediction:

- per axis: accuracy and macro-F1, the share of each letter, and **how often the shown letter is right at each
  displayed probability** ("when the page says 60% it is right x% of the time": bands of the shown letter's
  probability), with the reliability bins (10 bins of P(first letter)) and the expected calibration error;
- **close calls**: predictions within ``CLOSE_MARGIN`` of 50%, their share and accuracy;
- **calibration**: the expected calibration error per axis, per comment and per writer, of the calibrated and
  the uncalibrated probabilities, each with a 95% interval from resampling test writers (a few prolific writers
  move a comment-level ECE a lot), and the macro-F1 of the served decision beside that at the research
  thresholds; and the base-rate gap (the mean shown probability, and the ECE left once the biases match the test
  split's own shares: an oracle diagnostic);
- by message length (characters): accuracy per axis and of the exact type, so a short message can say what to
  expect;
- the exact 16-type accuracy beside chance (1/16) and beside always answering the commonest type;
- **how many messages are needed**: for k = 1, 2, 3, 5, 10, 20, 50, each test writer with at least k comments
  gets k of them drawn at random, pooled as the app pools them (the mean axis logit through the pooled
  calibration, each letter above 50%); mean macro-F1 and exact-type accuracy over those writers, for each model
  and for TF-IDF + logistic regression on the same draws (mean log-odds of its class-balanced probabilities, 50%);
- **writer decisions** (all comments of each test writer pooled): the served decision (pooled calibration, 50%)
  beside thresholds tuned for macro-F1 on *validation* writers, and how often the tuned letters would contradict
  the shown probabilities, and the writer-level ECE those letters would cost if the shown probabilities were
  moved to agree with them; TF-IDF + LR on the same writers;
- **writer separation**: the ROC AUC per axis of each model's pooled probability on validation and test writers
  beside TF-IDF + LR's, with 95% intervals and the paired difference from resampling writers. AUC ignores base
  rates and thresholds, so it tells a weaker ranking of writers apart from a decision rule that favours the
  commoner letter.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from mbti_core import evaluation, settings
from mbti_core.types import AXES, TYPES, type_labels

CLOSE_MARGIN = 0.05  # |P(first letter) - 50%| below this is a close call; the report says how often they are right
CONFIDENCE_BANDS = (0.5, 0.55, 0.6, 0.7, 1.0001)  # the shown letter's probability
LENGTH_BANDS = ((1, 10), (11, 30), (31, 80), (81, None))  # characters of the message
RELIABILITY_BINS = 10
BOOTSTRAP_SAMPLES = 200
ECE_TARGETS = {"comment": 0.03, "writer": 0.05}  # per-axis targets; the report says how often resamples meet them


def _band_label(low: float, high: float) -> str:
    return f"{100 * low:.0f}–{min(100, 100 * high):.0f}%"


def axis_reliability(y_true: np.ndarray, p_first: np.ndarray, threshold: float) -> dict:
    """One axis: accuracy, accuracy by the shown letter's probability, reliability bins, ECE, close calls."""
    from sklearn.metrics import f1_score

    first = p_first >= threshold
    correct = first == (y_true == 1)
    shown = np.where(first, p_first, 1.0 - p_first)  # the probability printed beside the chosen letter
    bands = []
    edges = (0.0, *CONFIDENCE_BANDS) if (shown < 0.5).any() else CONFIDENCE_BANDS
    for low, high in zip(edges[:-1], edges[1:]):
        inside = (shown >= low) & (shown < high)
        if inside.any():
            bands.append({"band": _band_label(low, high), "low": low, "high": min(high, 1.0), "n": int(inside.sum()),
                          "share": float(inside.mean()), "accuracy": float(correct[inside].mean())})
    bins = []
    index = np.clip((p_first * RELIABILITY_BINS).astype(int), 0, RELIABILITY_BINS - 1)
    for b in range(RELIABILITY_BINS):
        inside = index == b
        if inside.any():
            bins.append({"bin": b, "n": int(inside.sum()), "mean_p": float(p_first[inside].mean()),
                         "observed": float((y_true[inside] == 1).mean())})
    ece = evaluation.expected_calibration_error(y_true, p_first, RELIABILITY_BINS)
    close = np.abs(p_first - threshold) < CLOSE_MARGIN
    return {
        "threshold": float(threshold), "n": int(len(y_true)), "accuracy": float(correct.mean()),
        "macro_f1": float(f1_score(y_true, first.astype(int), average="macro", labels=[0, 1], zero_division=0)),
        "first_letter_share_true": float((y_true == 1).mean()), "first_letter_share_predicted": float(first.mean()),
        "by_shown_probability": bands, "reliability_bins": bins, "ece": float(ece),
        "close_calls": {"margin": CLOSE_MARGIN, "share": float(close.mean()),
                        "accuracy": float(correct[close].mean()) if close.any() else None,
                        "accuracy_otherwise": float(correct[~close].mean()) if (~close).any() else None},
    }


def measure(y_true: np.ndarray, probs: np.ndarray, thresholds, lengths, types: list[str]) -> dict:
    """The report of one checkpoint on one split (see the module docstring)."""
    y_true, probs, lengths = np.asarray(y_true).astype(int), np.asarray(probs, dtype=np.float64), np.asarray(lengths)
    thresholds = [float(t) for t in thresholds]
    predicted = probs >= np.asarray(thresholds)
    correct = predicted == (y_true == 1)
    type_right = correct.all(axis=1)
    commonest = max(set(types), key=types.count)
    by_length = []
    for low, high in LENGTH_BANDS:
        inside = (lengths >= low) & ((lengths <= high) if high else True)
        if inside.any():
            by_length.append({"chars": f"{low}–{high}" if high else f"{low}+", "low": low, "high": high,
                              "n": int(inside.sum()), "share": float(inside.mean()),
                              "axis_accuracy": {axis: float(correct[inside, i].mean()) for i, axis in enumerate(AXES)},
                              "mean_axis_accuracy": float(correct[inside].mean()),
                              "type_accuracy": float(type_right[inside].mean())})
    return {
        "n": int(len(y_true)), "thresholds": thresholds,
        "axes": {axis: axis_reliability(y_true[:, i], probs[:, i], thresholds[i]) for i, axis in enumerate(AXES)},
        "type_accuracy": float(type_right.mean()), "type_chance": 1 / len(TYPES),
        "commonest_type": commonest, "commonest_type_share": types.count(commonest) / len(types),
        "by_length": by_length,
    }


def writer_curve(draws: dict[int, list[np.ndarray]], y_true: np.ndarray, logits: np.ndarray, pool) -> list[dict]:
    """Mean macro-F1 and exact-type accuracy of pooled predictions for each number of messages k; ``pool`` maps
    the logits of one writer's k messages [k, 4] to P(first letter) [4], decided at 50%."""
    curve = []
    for k, groups in draws.items():
        if not groups:
            continue
        pooled = np.stack([pool(logits[rows]) for rows in groups])
        truth = np.stack([y_true[rows[0]] for rows in groups])
        metrics = evaluation.axis_metrics(truth, pooled)
        curve.append({"messages": k, "writers": len(groups), "mean_macro_f1": metrics["mean_macro_f1"],
                      "mean_accuracy": metrics["mean_accuracy"], "type_accuracy": metrics["type_accuracy"]})
    return curve


def _interval(values) -> list[float]:
    return [float(v) for v in np.percentile(np.asarray(values), [2.5, 97.5])]


def calibration_block(test, logits: np.ndarray, predictor, samples: int = BOOTSTRAP_SAMPLES, seed: int = 0) -> dict:
    """ECE per axis, per comment and per writer, calibrated and not, with 95% intervals from resampling test
    writers; and the mean macro-F1 of the served decision beside that at the research thresholds."""
    calibrations = {"calibration": predictor.calibration, "writer_calibration": predictor.writer_calibration}
    point = evaluation.calibration_errors(test, logits, **calibrations)
    writers = test["writer"].to_numpy()
    rows_of: dict = {}
    for index, writer in enumerate(writers):
        rows_of.setdefault(writer, []).append(index)
    groups = list(rows_of.values())
    rng = np.random.default_rng(seed)
    draws = {level: {name: [] for name in ("ece", "ece_uncalibrated")} for level in ("comment", "writer")}
    for _ in range(samples):
        picked = rng.integers(0, len(groups), len(groups))
        rows = np.concatenate([groups[i] for i in picked])
        # each resampled writer counts as a new writer, so a writer drawn twice pools as two
        ids = np.concatenate([np.full(len(groups[i]), n) for n, i in enumerate(picked)])
        frame = test.iloc[rows].assign(writer=ids)
        sample = evaluation.calibration_errors(frame, logits[rows], **calibrations)
        for level in draws:
            for name in draws[level]:
                draws[level][name].append([sample[level][name][axis] for axis in AXES])
    out = {"bins": point["bins"], "bootstrap": {"samples": samples, "over": "test writers", "interval": "95%"}}
    for level in ("comment", "writer"):
        out[level] = {name: {axis: {"ece": point[level][name][axis],
                                    "interval": _interval(np.asarray(draws[level][name])[:, i]),
                                    "resamples_within_target": float(
                                        (np.asarray(draws[level][name])[:, i] <= ECE_TARGETS[level]).mean())}
                             for i, axis in enumerate(AXES)} for name in ("ece", "ece_uncalibrated")}
    out["targets"] = dict(ECE_TARGETS)
    served = evaluation.served_metrics(test, logits, **calibrations)
    tuned = evaluation.classification_metrics(test, evaluation.sigmoid(logits), predictor.thresholds)
    out["mean_macro_f1"] = {
        "served": {"comment": served["mean_macro_f1"], "writer": served["writer_level"]["mean_macro_f1"]},
        "research_thresholds": {"comment": tuned["mean_macro_f1"], "writer": tuned["writer_level"]["mean_macro_f1"],
                                "thresholds": list(predictor.thresholds)},
    }
    out["first_letter_share"] = {
        "served_comment": {a: v["first_letter_share_pred"] for a, v in served["axes"].items()},
        "true_comment": {a: v["first_letter_share_true"] for a, v in served["axes"].items()},
        "served_writer": {a: v["first_letter_share_pred"] for a, v in served["writer_level"]["axes"].items()},
        "true_writer": {a: v["first_letter_share_true"] for a, v in served["writer_level"]["axes"].items()},
    }
    if predictor.calibration is not None:
        out["base_rate_gap"] = base_rate_gap(test, logits, predictor.calibration)
    return out


def base_rate_gap(test, logits: np.ndarray, calibration) -> dict:
    """How much of the per-comment ECE is the split's base rates: the mean shown probability per axis, and the ECE
    once each bias is re-set so that the mean equals the *test* comments' share, the scales kept. That uses the
    test labels: a diagnostic of what no label-free fit can know, never a calibration to ship."""
    y_true = type_labels(test["type"].tolist())
    parameters = np.array(calibration, dtype=np.float64)
    shown = evaluation.sigmoid(evaluation.apply_calibration(logits, parameters))
    for axis in range(len(AXES)):
        parameters[axis, 1] = evaluation.bias_for_share(logits[:, axis], parameters[axis, 0], y_true[:, axis].mean())
    oracle = evaluation.sigmoid(evaluation.apply_calibration(logits, parameters))
    return {"mean_shown_probability": {a: float(shown[:, i].mean()) for i, a in enumerate(AXES)},
            "ece_with_test_shares": {a: evaluation.expected_calibration_error(y_true[:, i], oracle[:, i])
                                     for i, a in enumerate(AXES)},
            "note": "oracle: biases set from the test labels' shares; shows the error left by the shape alone"}


def tfidf_probs(data: dict, splits=("validation", "test")) -> dict[str, np.ndarray]:
    """TF-IDF + logistic regression (the project's baseline) fitted on the training split: P(first letter) of
    each of ``splits``, clipped away from 0 and 1 so that log-odds stay finite."""
    from mbti_core.baselines import TfidfAxisClassifier

    model = TfidfAxisClassifier().fit(data["train"]["text"], type_labels(data["train"]["type"].tolist()))
    return {split: np.clip(model.predict_proba(data[split]["text"]), 1e-6, 1 - 1e-6) for split in splits}


def _writer_scores(y_true: np.ndarray, probs: np.ndarray, thresholds) -> dict:
    metrics = evaluation.axis_metrics(y_true, probs, thresholds)
    return {"mean_macro_f1": metrics["mean_macro_f1"], "type_accuracy": metrics["type_accuracy"],
            "macro_f1": {a: v["macro_f1"] for a, v in metrics["axes"].items()},
            "first_letter_share_pred": {a: v["first_letter_share_pred"] for a, v in metrics["axes"].items()},
            "thresholds": metrics["thresholds"]}


def writer_decisions(validation: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray]) -> dict:
    """Each writer's comments pooled as the app pools them (``validation`` and ``test``: (y_true [W, 4], pooled P
    [W, 4]), ``evaluation.served_probabilities(...)["writer"]``): the served decision (each letter above 50%) beside
    per-axis thresholds tuned for macro-F1 on validation writers' pooled probabilities, both on test writers. The
    tuned letters are what a macro-F1 target would ship; ``contradicts_shown`` is the share of test writers for whom
    at least one of them is not the letter the shown probability favours."""
    (val_y, val_p), (test_y, test_p) = validation, test
    thresholds = evaluation.tune_thresholds(val_y, val_p)
    tuned = np.asarray(thresholds)
    contradicts = ((test_p >= tuned) != (test_p >= 0.5)).any(axis=1)
    # the same letters with agreeing probabilities: each axis's log-odds moved so that its threshold becomes 50%
    moved = evaluation.sigmoid(np.log(test_p / (1 - test_p)) - np.log(tuned / (1 - tuned)))
    return {"writers": {"validation": int(len(val_y)), "test": int(len(test_y))},
            "served": {**_writer_scores(test_y, test_p, 0.5), "ece": _axis_ece(test_y, test_p)},
            "validation_writer_thresholds": {**_writer_scores(test_y, test_p, thresholds),
                                             "contradicts_shown": float(contradicts.mean()),
                                             "ece_if_shown_to_agree": _axis_ece(test_y, moved)}}


def _axis_ece(y_true: np.ndarray, probs: np.ndarray) -> dict:
    return {axis: evaluation.expected_calibration_error(y_true[:, i], probs[:, i]) for i, axis in enumerate(AXES)}


def _mean_auc(auc: list[float]) -> float:
    """The mean over the axes that have both letters (a small resample may lack one); nan if none has."""
    finite = [value for value in auc if not np.isnan(value)]
    return float(np.mean(finite)) if finite else float("nan")


def writer_separation(splits: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]], reference: str = "tfidf_lr",
                      samples: int = BOOTSTRAP_SAMPLES, seed: int = 0) -> dict:
    """How well each model ranks writers: ``splits`` maps a split to ``{model: (y_true [W, 4], pooled P [W, 4])}``
    over the same writers in the same order. Per model, the ROC AUC per axis and its mean with a 95% interval from
    resampling writers; per model but the ``reference``, its mean AUC minus the reference's on the same resamples
    (a paired interval: below 0 throughout means the reference ranks these writers better)."""
    out = {}
    for split, models in splits.items():
        y_true = next(iter(models.values()))[0]
        if any(not np.array_equal(y, y_true) for y, _ in models.values()):
            raise ValueError(f"writer separation: the models' {split} writers are not the same rows")
        rng = np.random.default_rng(seed)
        draws = {name: [] for name in models}
        for _ in range(samples):
            rows = rng.integers(0, len(y_true), len(y_true))
            for name, (_, probs) in models.items():
                draws[name].append(_mean_auc(evaluation.axis_auc(y_true[rows], probs[rows])))
        entry = {"writers": int(len(y_true)), "models": {}}
        for name, (_, probs) in models.items():
            auc = evaluation.axis_auc(y_true, probs)
            entry["models"][name] = {"auc": dict(zip(AXES, auc)), "mean_auc": _mean_auc(auc),
                                     "interval": _interval(draws[name])}
        if reference in models:
            entry["minus_" + reference] = {
                name: {"mean_auc": entry["models"][name]["mean_auc"] - entry["models"][reference]["mean_auc"],
                       "interval": _interval(np.asarray(draws[name]) - np.asarray(draws[reference]))}
                for name in models if name != reference}
        out[split] = entry
    return out


def run(checkpoints: dict[str, str], data_dir=None, batch_size: int = 128, with_tfidf: bool = True) -> dict:
    from mbti_core.onnx_predictor import load_predictor
    from mbti_core.training.mft import MFTConfig, load_phase3_data

    started = time.perf_counter()
    data = load_phase3_data(MFTConfig(data_dir=data_dir).resolved())
    test = data["test"]
    texts, types = test["text"].tolist(), test["type"].tolist()
    y_true = type_labels(types)
    report = {"split": "test", "n": len(test), "writers": int(test["writer"].nunique()), "close_margin": CLOSE_MARGIN,
              "checkpoints": {}}
    draws = evaluation.message_draws(test["writer"].to_numpy())
    curves, decisions = {}, {}
    pooled: dict[str, dict] = {"validation": {}, "test": {}}  # split -> model -> (writer y, pooled P)
    for name, source in checkpoints.items():
        predictor = load_predictor(source)
        logits, _, _ = predictor.axis_logits(texts, batch_size=batch_size)
        report["checkpoints"][name] = {
            "source": settings.project_relative(source),
            **measure(y_true, predictor.probabilities(logits), [0.5] * len(AXES), [len(t) for t in texts], types),
            "calibration": calibration_block(test, logits, predictor)}
        curves[name] = {"points": writer_curve(draws, y_true, logits, predictor.pooled_probabilities)}
        validation_logits, _, _ = predictor.axis_logits(data["validation"]["text"].tolist(), batch_size=batch_size)
        calibrations = {"calibration": predictor.calibration, "writer_calibration": predictor.writer_calibration}
        for split, split_logits in (("validation", validation_logits), ("test", logits)):
            pooled[split][name] = evaluation.served_probabilities(data[split], split_logits, **calibrations)["writer"]
        decisions[name] = writer_decisions(pooled["validation"][name], pooled["test"][name])
    if with_tfidf:
        baseline = tfidf_probs(data)
        curves["tfidf_lr"] = {"points": writer_curve(draws, y_true, np.log(baseline["test"] / (1 - baseline["test"])),
                                                     lambda rows: evaluation.sigmoid(rows.mean(axis=0)))}
        for split in pooled:
            frame = data[split]
            _, writer_y, writer_p = evaluation.writer_level(frame["writer"].to_numpy(),
                                                            type_labels(frame["type"].tolist()), baseline[split])
            pooled[split]["tfidf_lr"] = (writer_y, writer_p)
        writer_y, writer_p = pooled["test"]["tfidf_lr"]
        decisions["tfidf_lr"] = {"served": {**_writer_scores(writer_y, writer_p, 0.5),
                                            "ece": _axis_ece(writer_y, writer_p)}}
    report["writer_decisions"] = {
        "models": decisions,
        "how": "all comments of each test writer pooled (models: mean axis logit through the pooled calibration; "
               "TF-IDF + LR: mean log-odds of its class-balanced probabilities); 'served': each letter above 50%; "
               "'validation_writer_thresholds': per-axis thresholds tuned for macro-F1 on validation writers"}
    report["writer_separation"] = {
        "splits": writer_separation(pooled),
        "how": "ROC AUC per axis of each writer's pooled probability (models: as the app pools them; TF-IDF + LR: "
               "mean log-odds), all comments of each writer; 95% intervals from resampling writers. The models' pooled "
               "calibration was fitted on the validation writers; it reorders writers only through its dependence "
               "on the number of messages"}
    report["writer_curve"] = {"messages": list(evaluation.MESSAGE_COUNTS), "models": curves,
                              "how": "k random comments per test writer with at least k, pooled as the app pools "
                                     "them (mean axis logit, then the pooled calibration), each letter above 50%; "
                                     "TF-IDF + LR: mean log-odds of its class-balanced probabilities, 50%"}
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["command"] = " ".join(shlex.quote(a) for a in ["python", "-m", "mbti_core", *sys.argv[1:]])
    return report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", nargs="+", default=None, metavar="NAME=DIR",
                        help="checkpoints to measure (default: mft and ft of MBTI_CHECKPOINT_DIR)")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--no-tfidf", action="store_true", help="leave TF-IDF + LR out of the messages curve")
    parser.add_argument("--output", default=str(settings.reports_dir() / "reliability.json"))


def main(args) -> int:
    if args.checkpoint:
        pairs = [item.split("=", 1) for item in args.checkpoint]
        if any(len(pair) != 2 or not all(pair) for pair in pairs):
            raise ValueError("--checkpoint takes NAME=DIR pairs, e.g. mft=checkpoints/mft")
        checkpoints = dict(pairs)
    else:
        checkpoints = {mode: settings.model_checkpoint(mode) for mode in ("mft", "ft")}
    report = run(checkpoints, args.data_dir, args.batch_size, with_tfidf=not args.no_tfidf)
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps({name: {"type_accuracy": round(r["type_accuracy"], 4),
                             "axis_accuracy": {a: round(v["accuracy"], 4) for a, v in r["axes"].items()},
                             "ece": {a: round(v["ece"], 4) for a, v in r["axes"].items()}}
                      for name, r in report["checkpoints"].items()}, ensure_ascii=False))
    print(json.dumps({name: [(p["messages"], round(p["mean_macro_f1"], 3)) for p in curve["points"]]
                      for name, curve in report["writer_curve"]["models"].items()}, ensure_ascii=False))
    return 0
