"""`python -m mbti_core embeddings`: 3-D maps of sentence embeddings (PCA and t-SNE) for the app.

For each encoder (base, MFT, FT, sentiment — whichever exist) the test examples are embedded (mean-pooled last
layer by default, or the ``[CLS]`` state) and reduced to 3-D with scikit-learn's PCA and t-SNE:

- "nsmc": a label-balanced sample of the movie-disjoint NSMC test split, coloured by sentiment;
- "cafe": labelled cafe texts of the writer-disjoint test split (type mentions masked), coloured by each MBTI
  axis (E/I, S/N, T/F, J/P).

Every encoder embeds the same texts, so the maps compare. ``reports/embeddings.json`` holds a few hundred points
per map with rounded coordinates and short text snippets (for hover), so the page opens fast.
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
from mbti_core.types import AXES

SNIPPET_CHARS = 60
DATASET_OF_TASK = {"sentiment": "nsmc", **{axis: "cafe" for axis in AXES}}


@dataclass
class EmbeddingConfig:
    encoders: dict[str, str] = field(default_factory=features.default_encoders)
    data_dir: str | None = None      # raw data directory (None: MBTI_DATA_DIR or ../shared/data)
    datasets: list[str] = field(default_factory=lambda: ["nsmc", "cafe"])  # test sentences to map
    n_points: int = 300              # test examples per map
    pooling: str = "mean"            # "mean" over real tokens, or "cls"
    max_length: int = 128            # tokens per text
    batch_size: int = 64             # texts per encoder batch
    perplexity: float = 30.0         # t-SNE perplexity
    seed: int = 0                    # the sentences drawn, PCA and t-SNE
    decimals: int = 3                # coordinates kept in the report
    device: str | None = None        # cuda / cpu (None: cuda if available)
    output: str | None = None        # output JSON (None: reports/embeddings.json)


def reduce_3d(vectors: np.ndarray, perplexity: float = 30.0, seed: int = 0) -> dict:
    """{"pca": [N, 3], "tsne": [N, 3], "pca_variance": explained variance ratio of the 3 components}."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    vectors = np.asarray(vectors, dtype=np.float64)
    n = len(vectors)
    if n < 5:
        raise ValueError(f"need at least 5 points for a 3-D map, got {n}")
    pca = PCA(n_components=3, random_state=seed).fit(vectors)
    # t-SNE needs perplexity < n; on few points a smaller one keeps local structure readable.
    tsne = TSNE(n_components=3, perplexity=min(perplexity, max(2.0, (n - 1) / 3)), init="pca",
                learning_rate="auto", random_state=seed)
    # One thread: on a few hundred points t-SNE takes a second, while its OpenMP threads can spin for a minute
    # on a busy machine (measured: 0.08 s single-threaded vs 14-40 s threaded on 2 loaded cores).
    with threadpool_limits(limits=1):
        coordinates = tsne.fit_transform(vectors)
    return {"pca": pca.transform(vectors), "tsne": coordinates, "pca_variance": pca.explained_variance_ratio_}


def _rounded(array, decimals: int) -> list:
    return np.round(np.asarray(array, dtype=np.float64), decimals).tolist()


def build_maps(encoders: dict[str, str], examples: dict[str, pd.DataFrame], cfg: EmbeddingConfig) -> dict:
    """The report for ``examples`` ({"nsmc": text, label} and/or {"cafe": text, type}) under each encoder."""
    if not encoders:
        raise ValueError("no encoders to map")
    device = features.device_name(cfg.device)
    if cfg.pooling not in ("mean", "cls"):
        raise ValueError(f"pooling must be 'mean' or 'cls', not {cfg.pooling!r}")
    datasets = {}
    for name, frame in examples.items():
        entry = {"text": [str(t)[:SNIPPET_CHARS] for t in frame["text"]], "labels": {}}
        if name == "nsmc":
            entry["labels"]["sentiment"] = ["positive" if int(y) else "negative" for y in frame["label"]]
        else:
            entry["labels"].update(features.axis_labels(frame["type"]))
            entry["types"] = list(frame["type"])
        datasets[name] = entry
    maps: dict[str, dict] = {}
    for encoder_name, path in encoders.items():
        tokenizer, model = features.load_encoder_for_features(path, device)
        maps[encoder_name] = {}
        for name, frame in examples.items():
            states = features.layer_features(model, tokenizer, frame["text"].tolist(), max_length=cfg.max_length,
                                             batch_size=cfg.batch_size, device=device)
            vectors = states["cls"] if cfg.pooling == "cls" else states["mean"][-1]
            reduced = reduce_3d(vectors, cfg.perplexity, cfg.seed)
            maps[encoder_name][name] = {
                "pca": _rounded(reduced["pca"], cfg.decimals), "tsne": _rounded(reduced["tsne"], cfg.decimals),
                "pca_variance": _rounded(reduced["pca_variance"], 4),
            }
        del model
    tasks = {task: dataset for task, dataset in DATASET_OF_TASK.items() if dataset in examples}
    return {"pooling": cfg.pooling, "layer": "last", "encoders": {name: settings.project_relative(path) for name, path in encoders.items()}, "tasks": tasks,
            "datasets": datasets, "maps": maps}


def load_examples(cfg: EmbeddingConfig) -> dict[str, pd.DataFrame]:
    """The test examples every encoder embeds (the project's cleaned, split tables)."""
    examples = {}
    if "nsmc" in cfg.datasets:
        from mbti_core.data import load_nsmc

        examples["nsmc"] = features.sentiment_examples(load_nsmc(cfg.data_dir), "test", cfg.n_points, cfg.seed)
    if "cafe" in cfg.datasets:
        from mbti_core.data import load_cafe

        examples["cafe"] = features.mbti_examples(load_cafe(cfg.data_dir), "test", cfg.n_points, cfg.seed)
    if not examples:
        raise ValueError(f"datasets must include nsmc and/or cafe, got {cfg.datasets}")
    return examples


def run(cfg: EmbeddingConfig) -> dict:
    present, missing = features.available_encoders(cfg.encoders)
    if not present:
        raise FileNotFoundError("none of the encoders exist: " + "; ".join(f"{k}: {v}" for k, v in missing.items()))
    started = time.perf_counter()
    report = build_maps(present, load_examples(cfg), cfg)
    report["missing"] = missing
    report["splits"] = {"nsmc": "movie-disjoint NSMC test split, label-balanced sample",
                        "cafe": "writer-disjoint cafe test split, labelled texts, <= 5 per writer"}
    report["config"] = {k: v for k, v in asdict(cfg).items() if k not in ("encoders", "data_dir", "device", "output")}
    report["seconds"] = round(time.perf_counter() - started, 1)
    output = Path(cfg.output or settings.reports_dir() / "embeddings.json")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    report["output"] = str(output)
    return report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--encoders", nargs="+", metavar="NAME=PATH",
                        help="encoders to map (default: base, mft, ft, sentiment under $MBTI_CHECKPOINT_DIR; "
                             "missing ones are skipped and listed)")
    add_config_arguments(parser, EmbeddingConfig, skip=("encoders",),
                         choices={"datasets": ["nsmc", "cafe"], "pooling": ["mean", "cls"]})


def main(args) -> int:
    cfg = config_from_args(EmbeddingConfig, args, encoders=features.parse_encoders(args.encoders))
    report = run(cfg)
    sizes = {name: len(entry["text"]) for name, entry in report["datasets"].items()}
    print(json.dumps({"output": report["output"], "encoders": list(report["maps"]), "points": sizes,
                      "missing": report["missing"], "seconds": report["seconds"]}, ensure_ascii=False))
    return 0
