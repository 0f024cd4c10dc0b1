"""`python -m mbti_core probe`: what each layer knows — linear probes on frozen hidden states.

For every encoder (base, MFT, FT, and the sentiment model if present) and every layer (0 = the embedding
output, then each transformer layer), the mean-pooled hidden states of frozen texts feed a logistic regression
(standardised features, balanced class weights) per task:

- sentiment: trained on NSMC train-split reviews, scored on the movie-disjoint test split;
- E/I, S/N, T/F, J/P: trained on cafe train-split texts, scored on the writer-disjoint test split (no writer
  in both; type mentions masked).

Scores are macro-F1 (and accuracy) from ``mbti_core.evaluation`` → ``reports/probing.json``: a layer × task
table per encoder. This answers "where in the network is E/I encoded, and does MFT move it?".
"""
from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mbti_core import settings
from mbti_core.config_args import add_config_arguments, config_from_args
from mbti_core.studies import features
from mbti_core.types import AXES, type_labels


@dataclass
class ProbingConfig:
    encoders: dict[str, str] = field(default_factory=features.default_encoders)
    data_dir: str | None = None      # raw data directory (None: MBTI_DATA_DIR or ../shared/data)
    tasks: list[str] = field(default_factory=lambda: list(features.TASKS))  # probing tasks
    n_train: int = 4000              # texts per task to fit each probe on
    n_test: int = 2000               # texts per task to score it on
    per_writer: int = 5              # cafe texts per writer (so prolific writers do not dominate)
    max_length: int = 128            # tokens per text
    batch_size: int = 64             # texts per encoder batch
    C: float = 1.0                   # inverse L2 strength of the probes
    max_iter: int = 2000             # logistic regression iterations
    seed: int = 0                    # the texts drawn and the probes' seed
    device: str | None = None        # cuda / cpu (None: cuda if available)
    output: str | None = None        # output JSON (None: reports/probing.json)


def fit_probe(train_x, train_y, test_x, C: float = 1.0, max_iter: int = 2000, seed: int = 0) -> np.ndarray:
    """Standardise, fit a class-balanced logistic regression, return P(label 1) on test_x."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train_y = np.asarray(train_y).astype(int)
    if len(np.unique(train_y)) < 2:
        raise ValueError("a probe needs both labels in its training data")
    probe = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter, class_weight="balanced",
                                                               random_state=seed))
    probe.fit(np.asarray(train_x), train_y)
    return probe.predict_proba(np.asarray(test_x))[:, 1]


def sentiment_scores(y_true, probs) -> dict:
    """accuracy and macro-F1 of a binary probe (binary_metrics gives F1 of the positive class only)."""
    from sklearn.metrics import f1_score

    from mbti_core.evaluation import binary_metrics

    metrics = binary_metrics(y_true, probs)
    y_pred = (np.asarray(probs) >= 0.5).astype(int)
    metrics["macro_f1"] = float(f1_score(np.asarray(y_true).astype(int), y_pred, average="macro", labels=[0, 1],
                                         zero_division=0))
    return metrics


def probe_layers(train_states: np.ndarray, train_y: np.ndarray, test_states: np.ndarray, test_y: np.ndarray,
                 tasks: list[str], cfg: ProbingConfig) -> dict[str, dict[str, list[float]]]:
    """train/test_states [layers, N, H]; y [N, k] (one column per task). -> {"macro_f1": {task: [per layer]},
    "accuracy": {...}} using evaluation.axis_metrics for the MBTI axes and binary metrics for sentiment."""
    from mbti_core.evaluation import axis_metrics

    out = {"macro_f1": {t: [] for t in tasks}, "accuracy": {t: [] for t in tasks}}
    for layer in range(train_states.shape[0]):
        probs = np.stack([fit_probe(train_states[layer], train_y[:, k], test_states[layer], cfg.C, cfg.max_iter,
                                    cfg.seed) for k in range(len(tasks))], axis=1)
        if list(tasks) == list(AXES):
            metrics = axis_metrics(test_y, probs)
            per_task = {axis: metrics["axes"][axis] for axis in AXES}
        else:
            per_task = {task: sentiment_scores(test_y[:, k], probs[:, k]) for k, task in enumerate(tasks)}
        for task in tasks:
            out["macro_f1"][task].append(round(per_task[task]["macro_f1"], 4))
            out["accuracy"][task].append(round(per_task[task]["accuracy"], 4))
    return out


def load_task_data(cfg: ProbingConfig) -> dict[str, dict[str, pd.DataFrame]]:
    """{"sentiment": {"train", "test"}, "mbti": {"train", "test"}} as the config's tasks need them."""
    data = {}
    if "sentiment" in cfg.tasks:
        from mbti_core.data import load_nsmc

        reviews = load_nsmc(cfg.data_dir)
        data["sentiment"] = {"train": features.sentiment_examples(reviews, "train", cfg.n_train, cfg.seed),
                             "test": features.sentiment_examples(reviews, "test", cfg.n_test, cfg.seed)}
    if any(task in AXES for task in cfg.tasks):
        from mbti_core.data import load_cafe

        cafe = load_cafe(cfg.data_dir)
        data["mbti"] = {"train": features.mbti_examples(cafe, "train", cfg.n_train, cfg.seed, cfg.per_writer),
                        "test": features.mbti_examples(cafe, "test", cfg.n_test, cfg.seed, cfg.per_writer)}
    if not data:
        raise ValueError(f"tasks must include sentiment and/or {', '.join(AXES)}, got {cfg.tasks}")
    return data


def _labels(group: str, frame: pd.DataFrame) -> np.ndarray:
    if group == "sentiment":
        return frame["label"].to_numpy().astype(int)[:, None]
    return type_labels(frame["type"]).astype(int)  # 1 = first letter (E, S, T, J)


def build_report(encoders: dict[str, str], data: dict[str, dict[str, pd.DataFrame]], cfg: ProbingConfig) -> dict:
    device = features.device_name(cfg.device)
    groups = {"sentiment": ["sentiment"], "mbti": list(AXES)}
    if "mbti" in data and data["mbti"]["train"]["writer"].isin(data["mbti"]["test"]["writer"]).any():
        raise ValueError("MBTI probe data is not writer-disjoint: a writer is in both train and test")
    tasks = [t for t in features.TASKS if any(t in groups[g] for g in data)]
    scores, accuracy, layers = {}, {}, {}
    for name, path in encoders.items():
        tokenizer, model = features.load_encoder_for_features(path, device)
        scores[name], accuracy[name] = {}, {}
        for group, splits in data.items():
            states = {split: features.layer_features(model, tokenizer, frame["text"].tolist(),
                                                     max_length=cfg.max_length, batch_size=cfg.batch_size,
                                                     device=device)["mean"]
                      for split, frame in splits.items()}
            result = probe_layers(states["train"], _labels(group, splits["train"]), states["test"],
                                  _labels(group, splits["test"]), groups[group], cfg)
            scores[name].update(result["macro_f1"])
            accuracy[name].update(result["accuracy"])
            layers[name] = int(states["train"].shape[0])
        del model
    summary = {}
    for group, splits in data.items():
        summary[group] = {split: int(len(frame)) for split, frame in splits.items()}
        if group == "mbti":
            summary[group].update({f"{split}_writers": int(frame["writer"].nunique()) for split, frame in splits.items()})
    return {
        "metric": "macro_f1", "pooling": "mean over tokens", "tasks": tasks,
        "layers": layers, "layer_names": {n: ["embeddings"] + [f"layer {i}" for i in range(1, k)]
                                          for n, k in layers.items()},
        "scores": scores, "accuracy": accuracy, "encoders": {name: settings.project_relative(path) for name, path in encoders.items()}, "data": summary,
        "splits": {"sentiment": "NSMC: train-split reviews -> movie-disjoint test split (balanced samples)",
                   "mbti": "cafe: train-split writers -> writer-disjoint test-split writers"},
    }


def run(cfg: ProbingConfig) -> dict:
    present, missing = features.available_encoders(cfg.encoders)
    if not present:
        raise FileNotFoundError("none of the encoders exist: " + "; ".join(f"{k}: {v}" for k, v in missing.items()))
    unknown = set(cfg.tasks) - set(features.TASKS)
    if unknown:
        raise ValueError(f"unknown tasks {sorted(unknown)}; choose from {', '.join(features.TASKS)}")
    started = time.perf_counter()
    report = build_report(present, load_task_data(cfg), cfg)
    report["missing"] = missing
    report["config"] = {k: v for k, v in asdict(cfg).items() if k not in ("encoders", "data_dir", "device", "output")}
    report["seconds"] = round(time.perf_counter() - started, 1)
    output = Path(cfg.output or settings.reports_dir() / "probing.json")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    report["output"] = str(output)
    return report


def format_table(report: dict) -> str:
    lines = []
    for name, per_task in report["scores"].items():
        lines.append(f"{name}: macro-F1 per layer")
        lines.append(f"{'layer':<12}" + "".join(f"{task:>11}" for task in per_task))
        for layer, label in enumerate(report["layer_names"][name]):
            lines.append(f"{label:<12}" + "".join(f"{per_task[task][layer]:>11.4f}" for task in per_task))
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--encoders", nargs="+", metavar="NAME=PATH",
                        help="encoders to probe (default: base, mft, ft, sentiment under $MBTI_CHECKPOINT_DIR; "
                             "missing ones are skipped and listed)")
    add_config_arguments(parser, ProbingConfig, skip=("encoders",), choices={"tasks": list(features.TASKS)})


def main(args) -> int:
    cfg = config_from_args(ProbingConfig, args, encoders=features.parse_encoders(args.encoders))
    report = run(cfg)
    print(format_table(report))
    print(f"wrote {report['output']}" + (f" (skipped: {report['missing']})" if report["missing"] else ""))
    return 0
