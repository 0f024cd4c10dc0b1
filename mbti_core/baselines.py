"""Honest baselines on the same writer-disjoint split as the models: majority class and TF-IDF + LR."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from mbti_core import settings
from mbti_core.data import labelled, load_cafe, load_nsmc, nsmc_sample
from mbti_core.evaluation import axis_metrics, binary_metrics, writer_level
from mbti_core.types import AXES, type_labels

# The NSMC evaluation sets every model uses: balanced samples of the movie-disjoint splits.
NSMC_TRAIN_SIZE = 50_000
NSMC_TEST_SIZE = 20_000


@dataclass
class TfidfConfig:
    ngram_range: tuple[int, int] = (1, 4)  # character n-grams inside words: robust to Korean morphology
    min_df: int = 2
    max_features: int = 300_000
    C: float = 1.0
    class_weight: str | None = "balanced"  # axis shares differ between splits; don't learn the prior
    max_iter: int = 2000


def _vectorizer(config: TfidfConfig) -> TfidfVectorizer:
    return TfidfVectorizer(
        analyzer="char_wb", ngram_range=tuple(config.ngram_range), min_df=config.min_df,
        max_features=config.max_features, sublinear_tf=True,
    )


class TfidfAxisClassifier:
    """Character n-gram TF-IDF, then one logistic regression per axis."""

    def __init__(self, config: TfidfConfig | None = None):
        self.config = config or TfidfConfig()
        self.vectorizer = _vectorizer(self.config)
        self.models: list[LogisticRegression] = []

    def fit(self, texts, y) -> "TfidfAxisClassifier":
        features = self.vectorizer.fit_transform(list(texts))
        y = np.asarray(y)
        self.models = [
            LogisticRegression(C=self.config.C, class_weight=self.config.class_weight, max_iter=self.config.max_iter)
            .fit(features, y[:, i])
            for i in range(len(AXES))
        ]
        return self

    def predict_proba(self, texts) -> np.ndarray:
        features = self.vectorizer.transform(list(texts))
        return np.stack([model.predict_proba(features)[:, 1] for model in self.models], axis=1)


def nsmc_tfidf_baseline(train: pd.DataFrame, test: pd.DataFrame, config: TfidfConfig | None = None) -> dict:
    """TF-IDF char n-grams + logistic regression for sentiment: accuracy, F1, loss on ``test``."""
    config = config or TfidfConfig()
    vectorizer = _vectorizer(config)
    model = LogisticRegression(C=config.C, max_iter=config.max_iter)
    model.fit(vectorizer.fit_transform(train["text"]), train["label"])
    result = binary_metrics(test["label"], model.predict_proba(vectorizer.transform(test["text"]))[:, 1])
    result.update({"model": "tfidf_lr", "train_size": len(train), "test_size": len(test)})
    return result


def _report(frame: pd.DataFrame, probs: np.ndarray) -> dict:
    y = type_labels(frame["type"])
    result = axis_metrics(y, probs)
    writers, y_w, p_w = writer_level(frame["writer"], y, probs)
    result["writer_level"] = axis_metrics(y_w, p_w)
    return result


def run_baselines(data_dir=None, config: TfidfConfig | None = None) -> dict:
    config = config or TfidfConfig()
    cafe = load_cafe(data_dir)
    train, test = labelled(cafe, "train"), labelled(cafe, "test")
    y_train = type_labels(train["type"])

    # Majority: each axis predicts the training split's more frequent letter, with its share as probability.
    share = y_train.mean(axis=0)
    majority = _report(test, np.tile(share, (len(test), 1)))

    tfidf = TfidfAxisClassifier(config).fit(train["text"], y_train)
    tfidf_lr = _report(test, tfidf.predict_proba(test["text"]))
    tfidf_lr["config"] = asdict(config)

    reviews = load_nsmc(data_dir)
    nsmc = nsmc_tfidf_baseline(
        nsmc_sample(reviews, "train", NSMC_TRAIN_SIZE, seed=0), nsmc_sample(reviews, "test", NSMC_TEST_SIZE, seed=0), config
    )

    return {
        "split": {"train_texts": len(train), "test_texts": len(test),
                  "train_writers": int(train["writer"].nunique()), "test_writers": int(test["writer"].nunique())},
        "majority": majority,
        "tfidf_lr": tfidf_lr,
        "nsmc": nsmc,
    }


def format_table(results: dict) -> str:
    """A plain-text table of the comment-level and writer-level figures."""
    header = f"{'model':<12}{'level':<8}" + "".join(f"{a + ' acc':>9}{a + ' F1':>8}" for a in AXES)
    header += f"{'meanF1':>8}{'type':>7}{'>=2':>7}{'>=3':>7}{'n':>7}"
    lines = [header]
    for name in ("majority", "tfidf_lr"):
        for level, metrics in (("comment", results[name]), ("writer", results[name]["writer_level"])):
            row = f"{name:<12}{level:<8}"
            row += "".join(f"{metrics['axes'][a]['accuracy']:>9.3f}{metrics['axes'][a]['macro_f1']:>8.3f}" for a in AXES)
            row += (f"{metrics['mean_macro_f1']:>8.3f}{metrics['type_accuracy']:>7.3f}"
                    f"{metrics['at_least_2']:>7.3f}{metrics['at_least_3']:>7.3f}{metrics['n']:>7}")
            lines.append(row)
    nsmc = results["nsmc"]
    lines.append(f"NSMC TF-IDF + LR: accuracy {nsmc['accuracy']:.4f}, F1 {nsmc['f1']:.4f} "
                 f"(train {nsmc['train_size']}, movie-disjoint test {nsmc['test_size']})")
    return "\n".join(lines)


def add_arguments(parser) -> None:
    parser.add_argument("--data-dir", help="raw data directory (default: $MBTI_DATA_DIR or ../shared/data)")
    parser.add_argument("--output", default=None, help="where to write the JSON (default: reports/baselines.json)")


def main(args) -> int:
    results = run_baselines(args.data_dir)
    output = args.output or settings.reports_dir() / "baselines.json"
    from pathlib import Path

    Path(output).parent.mkdir(parents=True, exist_ok=True)
    Path(output).write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(format_table(results))
    print(f"wrote {output}")
    return 0
