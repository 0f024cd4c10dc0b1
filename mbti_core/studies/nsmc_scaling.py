"""`python train.py nsmc-scaling`: how NSMC sentiment accuracy grows with the number of training reviews.

The seed study fine-tuned multilingual BERT-base on 10k, 20k, 30k, 40k and 50k Naver movie reviews with test
sets half that size, 5 epochs, batch 16, max length 128, and recorded train loss/accuracy and validation
loss/accuracy/F1. We repeat it on our encoder with the shared loop (``training.nsmc.finetune_and_score``):

- training reviews: a label-balanced sample of the movie-disjoint *train* split (seed 0; the samples are nested,
  each size's reviews contain the smaller sizes' reviews);
- evaluation reviews ("validation" in the study's words): a label-balanced sample of half the size from the
  held-out movies. The test split alone has ~10k negative reviews, too few for the 25k set of the 50k run, so
  the held-out pool is the validation + test movies (``--eval-splits`` changes it); no model selection is done
  on it (fixed 5 epochs), so it serves as a test set;
- per epoch: train loss and running accuracy, validation loss, accuracy and F1 (``evaluation.binary_metrics``).

``reports/nsmc_scaling.json`` keeps our rows under "ours" and the study's published figures under "theirs",
labelled. Resumable per size: a finished size with the same settings is skipped; an interrupted one resumes
from the loop's saved state (``runs/nsmc-scaling/size<N>-<settings>/``). ``--tiny`` is a CPU smoke run whose
outputs go under ``runs/tiny/``.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from mbti_core import settings
from mbti_core.config_args import MIXED_PRECISION_CHOICES, add_config_arguments, config_from_args

STUDY_SIZES = (10_000, 20_000, 30_000, 40_000, 50_000)
THEIRS = {
    "source": "seed study: multilingual BERT-base (bert-base-multilingual-cased) fine-tuned on NSMC, "
              "5 epochs, batch 16, max length 128; their own random train/test split",
    "model": "bert-base-multilingual-cased (~178M parameters)",
    "rows": [
        {"train_size": 10_000, "test_size": 5_000, "val_accuracy": 0.8258, "val_f1": 0.81},
        {"train_size": 20_000, "test_size": 10_000, "val_accuracy": 0.8430, "val_f1": 0.84},
        {"train_size": 30_000, "test_size": 15_000, "val_accuracy": 0.8467, "val_f1": 0.85},
        {"train_size": 40_000, "test_size": 20_000, "val_accuracy": 0.8576, "val_f1": 0.86},
        {"train_size": 50_000, "test_size": 25_000, "val_accuracy": 0.8621, "val_f1": 0.86},
    ],
}


@dataclass
class ScalingConfig:
    base_model: str = "checkpoints/base"             # encoder folder or hub id
    data_dir: str | None = None                      # raw data directory (None: MBTI_DATA_DIR or ../shared/data)
    sizes: list[int] = field(default_factory=lambda: list(STUDY_SIZES))  # training-set sizes
    test_fraction: float = 0.5                       # test set = half the training size, as in the study
    eval_splits: list[str] = field(default_factory=lambda: ["validation", "test"])  # held-out movie splits the test sets are drawn from
    epochs: int = 5                                  # epochs per size
    batch_size: int = 16                             # training batch size
    max_length: int = 128                            # tokens per review
    learning_rate: float = 5e-5                      # AdamW learning rate
    seed: int = 42                                   # data sample and training seed
    mixed_precision: str = "auto"                    # auto (bf16 on CUDA) / no / bf16 / fp16
    eval_batch_size: int = 256                       # reviews per evaluation batch
    run_dir: str = "runs/nsmc-scaling"               # resumable per-size state
    report_path: str | None = None                   # output JSON (None: reports/nsmc_scaling.json; --tiny: runs/tiny/)
    force: bool = False                              # retrain sizes already in the report
    progress: bool = True                            # a progress bar
    tiny: bool = False                               # CPU smoke run: sizes 200 and 400, one epoch

    def resolved(self) -> "ScalingConfig":
        if self.tiny:
            # A CPU smoke run: two small sizes, one short epoch; never touches the real report.
            root = settings.PROJECT_ROOT / "runs" / "tiny"
            return replace(self, sizes=self.sizes if self.sizes != list(STUDY_SIZES) else [200, 400], epochs=1,
                           max_length=min(self.max_length, 64), eval_batch_size=64,
                           run_dir=str(root / "nsmc-scaling"),
                           report_path=self.report_path or str(root / "nsmc_scaling.json"))
        return replace(self, report_path=self.report_path or str(settings.reports_dir() / "nsmc_scaling.json"))


def settings_key(cfg: ScalingConfig) -> str:
    """What makes two runs of one size the same experiment (the base weights included)."""
    from mbti_core.training.nsmc import _fingerprint

    fields = {k: getattr(cfg, k) for k in ("test_fraction", "eval_splits", "epochs", "batch_size", "max_length",
                                           "learning_rate", "seed")}
    fields["base"] = _fingerprint(cfg.base_model)
    return hashlib.sha1(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:10]


def study_samples(reviews, size: int, cfg: ScalingConfig):
    """(train rows, evaluation rows) of one size: balanced samples, train movies vs held-out movies."""
    from mbti_core.data import nsmc_sample

    train_rows = nsmc_sample(reviews, "train", size, seed=0)
    held_out = reviews[reviews["split"].isin(cfg.eval_splits)].assign(split="held-out")
    eval_rows = nsmc_sample(held_out, "held-out", int(round(size * cfg.test_fraction)), seed=0)
    return train_rows, eval_rows


def read_report(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON ({error.msg}); move it away to start the report afresh") from error


def write_report(path: str | Path, report: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.tmp")
    partial.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    partial.replace(path)  # a kill mid-write keeps the previous report


@contextmanager
def report_lock(path: str | Path):
    """An exclusive lock for one report file (a lock file under the cache dir; no-op where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:  # Windows: run the sizes of one report one after another there
        yield
        return
    lock = settings.cache_dir() / "locks" / (hashlib.sha1(str(Path(path).resolve()).encode()).hexdigest()[:16] + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def size_row(size: int, result: dict, key: str) -> dict:
    """One size's line in the report: the last epoch's figures and the per-epoch history."""
    history = [{k: row.get(k) for k in ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "val_f1")}
               for row in result["history"]]
    last = history[-1] if history else {}
    return {
        "train_size": size, "test_size": result["test_size"], "settings_key": key,
        "train_loss": last.get("train_loss"), "train_accuracy": last.get("train_accuracy"),
        "val_loss": result["loss"], "val_accuracy": result["accuracy"], "val_f1": result["f1"],
        "epochs": history, "train_seconds": result["train_seconds"], "eval_seconds": result["eval_seconds"],
    }


def run_scaling(cfg: ScalingConfig, accelerator=None) -> dict:
    """Train and score every size not yet in the report; returns the report."""
    from mbti_core.data import load_nsmc
    from mbti_core.training.nsmc import NsmcConfig, finetune_and_score

    cfg = cfg.resolved()
    if not cfg.sizes or any(size < 4 for size in cfg.sizes):
        raise ValueError(f"sizes must be training-set sizes of at least 4 reviews, got {cfg.sizes}")
    key = settings_key(cfg)
    reviews = load_nsmc(cfg.data_dir)
    report = read_report(cfg.report_path)
    ours = {row["train_size"]: row for row in report.get("ours", {}).get("rows", [])}
    for size in sorted(set(cfg.sizes)):
        if not cfg.force and ours.get(size, {}).get("settings_key") == key:
            print(f"nsmc-scaling: {size} reviews already in {cfg.report_path} (same settings): skipped")
            continue
        train_rows, eval_rows = study_samples(reviews, size, cfg)
        nsmc_cfg = NsmcConfig(
            base_model=cfg.base_model, data_dir=cfg.data_dir, n_train=size, n_test=len(eval_rows),
            max_length=cfg.max_length, epochs=cfg.epochs, batch_size=cfg.batch_size,
            learning_rate=cfg.learning_rate, seed=cfg.seed, mixed_precision=cfg.mixed_precision,
            progress=cfg.progress, eval_batch_size=cfg.eval_batch_size, tfidf_baseline=False,
            run_dir=str(Path(cfg.run_dir) / f"size{size}-{key}"),
        )
        started = time.perf_counter()
        result = finetune_and_score(nsmc_cfg, train_rows, eval_rows, accelerator=accelerator, eval_each_epoch=True)
        if not result:  # not the main process
            continue
        row = size_row(size, result, key)
        # Sizes may train in parallel processes on one report: merge into what is on disk now, under a lock.
        with report_lock(cfg.report_path):
            ours = {r["train_size"]: r for r in read_report(cfg.report_path).get("ours", {}).get("rows", [])}
            ours[size] = row
            report = {
                "study": "NSMC data-size scaling (train on N reviews, test on N/2)",
                "theirs": THEIRS,
                "ours": {
                    "model": f"{result['model_type']} encoder from {cfg.base_model}",
                    "base_model": cfg.base_model, "model_type": result["model_type"],
                    "split": f"train: balanced sample of the movie-disjoint train split; test: balanced sample of "
                             f"the held-out movies ({' + '.join(cfg.eval_splits)} splits), seed 0",
                    "settings": {k: settings.project_relative(v) if k == "report_path" else v
                                 for k, v in asdict(cfg).items() if k not in ("data_dir", "progress", "force", "sizes")},
                    "rows": [ours[s] for s in sorted(ours)],
                },
            }
            write_report(cfg.report_path, report)
        print(json.dumps({"train_size": size, "val_accuracy": round(result["accuracy"], 4),
                          "val_f1": round(result["f1"], 4), "seconds": round(time.perf_counter() - started, 1)}))
    if not report:
        report = {"study": "NSMC data-size scaling (train on N reviews, test on N/2)", "theirs": THEIRS, "ours": {"rows": []}}
    return report


def format_table(report: dict) -> str:
    theirs = {row["train_size"]: row for row in report.get("theirs", THEIRS)["rows"]}
    ours = {row["train_size"]: row for row in report.get("ours", {}).get("rows", [])}
    lines = [f"{'train':>7}{'test':>7}{'ours acc':>10}{'ours F1':>9}{'theirs acc':>12}{'theirs F1':>11}"
             f"{'train loss':>12}{'train acc':>11}{'val loss':>10}"]
    for size in sorted(set(theirs) | set(ours)):
        o, t = ours.get(size, {}), theirs.get(size, {})

        def cell(row, key, width):
            value = row.get(key)
            return f"{value:>{width}.4f}" if isinstance(value, (int, float)) else f"{'—':>{width}}"

        lines.append(f"{size:>7}{(o or t).get('test_size', 0):>7}" + cell(o, "val_accuracy", 10) + cell(o, "val_f1", 9)
                     + cell(t, "val_accuracy", 12) + cell(t, "val_f1", 11) + cell(o, "train_loss", 12)
                     + cell(o, "train_accuracy", 11) + cell(o, "val_loss", 10))
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, ScalingConfig, names={"report_path": "report"},
                         choices={"eval_splits": ["validation", "test"],
                                  "mixed_precision": MIXED_PRECISION_CHOICES})


def main(args) -> int:
    cfg = config_from_args(ScalingConfig, args)
    report = run_scaling(cfg)
    print(format_table(report))
    print(f"wrote {cfg.resolved().report_path}")
    return 0
