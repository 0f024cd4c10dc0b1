"""``train.py mft`` and ``train.py ft``: MLM Fine Tuning (phases 1 -> 2 -> 3) vs plain Fine Tuning (phase 3).

Both start from the same base encoder and use the same phase-3 data, budget and hyper-parameters, so the
comparison isolates phases 1 and 2. For every seed::

    runs/<mode>/seed<S>/phase<k>/state     resumable loop state (git-ignored)
    runs/<mode>/seed<S>/model/             that seed's checkpoint (fp16 safetensors)
    runs/<mode>/seed<S>/metrics.json       validation + test metrics, thresholds, curves

then the seed with the best *validation* mean macro-F1 is shipped to ``checkpoints/<mode>/`` with
``metrics.json`` (all seeds, mean ± std), ``confusion.json`` and ``curves.json`` beside it, and
``reports/mft_vs_ft.json`` gets this mode's section (plus the baselines of ``reports/baselines.json``).

The dataclass defaults are the intended GPU run; ``--tiny`` shrinks data and budget for a CPU smoke run
(outputs then go under ``runs/tiny/`` so a smoke run never overwrites shipped models or reports).
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import shlex
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from mbti_core import config_args, evaluation, settings
from mbti_core.config_args import MIXED_PRECISION_CHOICES, add_config_arguments
from mbti_core.study_reference import STUDY_FIGURES
from mbti_core.training.loop import LoopConfig, process_state

logger = logging.getLogger(__name__)

PHASE1_DATA = ("study", "ours", "study+ours")
PHASE1_CURVE_TEXTS = 2000
PHASE2_DATA = ("study", "cafe-logodds")


@dataclass
class PhaseConfig:
    epochs: int = 3
    learning_rate: float = 5e-5
    batch_size: int = 64
    warmup_ratio: float = 0.06
    weight_decay: float = 0.01
    max_steps: int | None = None
    group_by_length: bool = False  # batches of similar length (the loop's option); phase 3 uses it


@dataclass
class MFTConfig:
    """One ``train.py mft|ft`` run. Defaults: the GPU run (3 seeds, full data)."""

    mode: str = "mft"                       # "mft" (phases 1, 2, 3) or "ft" (phase 3 only)
    base_model: str = "checkpoints/base"    # local folder or hub id of the pretrained encoder + tokenizer
    data_dir: str | None = None             # raw data directory (default: MBTI_DATA_DIR or ../shared/data)
    output_dir: str | None = None           # the shipped checkpoint (default: checkpoints/<mode>)
    run_dir: str | None = None              # per-seed state and models (default: runs/<mode>)
    report_path: str | None = None          # the comparison report (default: reports/mft_vs_ft.json)
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])  # a model each, best on validation ships
    # Phase-1 data: "study" (the study's translated type descriptions, two-sentence chunks), "ours" (the
    # Korean descriptions in mbti_types_ko.json) or "study+ours".
    phase1_data: str = "study"              # phase-1 descriptions
    # Phase-2 data: "study" (the study's LLM-written persona sentences, seed_study/) or "cafe-logodds" (the
    # ablation: cafe comments of training writers masked by log-odds). ``masked_file`` overrides both: a file in
    # the study's CSV format or the project's masked-sentence JSONL.
    phase2_data: str = "study"              # phase-2 sentences (cafe-logodds: the ablation)
    masked_file: str | None = None          # phase-2 file: the study's CSV format or masked-sentence JSONL
    max_length: int = 128                   # tokens per text
    # Phase 1 has ~1,450 two-sentence chunks; phase 2 ~12k persona sentences (both cheap, CPU minutes).
    phase1: PhaseConfig = field(default_factory=lambda: PhaseConfig(epochs=5, learning_rate=5e-5, batch_size=32))
    phase2: PhaseConfig = field(default_factory=lambda: PhaseConfig(epochs=2, learning_rate=5e-5, batch_size=64))
    # The type-conditioned head: a per-type vocabulary bias (the study head's type term), fitted on the frozen
    # encoder before phase 2's full fine-tune, and fitted again on the final encoder after phase 3 so that the
    # shipped fill-mask matches the shipped encoder (training.type_head).
    type_vocab_bias: bool = True            # the type head's per-type vocabulary bias
    type_head_epochs: int = 20              # type-head epochs on the frozen encoder, before phase 2 and after 3
    type_head_learning_rate: float = 2e-3   # the type head's learning rate
    refit_type_head: bool = True            # fit the type head again on the final encoder
    # Phase 3 (MFT and FT alike) batches texts of similar length: a third of the tokens in a random batch of cafe
    # texts are real, so this halves the CPU time of the longest phase.
    phase3: PhaseConfig = field(default_factory=lambda: PhaseConfig(epochs=3, learning_rate=5e-5, batch_size=64,
                                                                    group_by_length=True))
    # Phase-3 data and class-balance options (the variants the issue asks to try).
    include_posts: bool = True              # posts (title + body) besides comments
    writer_weighting: str = "none"          # none | sqrt | inverse: down-weight prolific writers in the loss
    max_texts_per_writer: int | None = None # cap each writer's training texts
    tune_thresholds: bool = True            # per-axis macro-F1 thresholds chosen on validation (research metrics)
    calibrate: bool = True                  # fit the calibrated probabilities the app shows (train.py calibrate)
    export_onnx: bool = True                # ONNX graphs beside the shipped checkpoint (the app's fast start)
    # Run mechanics.
    mixed_precision: str = "auto"           # auto: bf16 on a GPU that supports it, else fp32
    eval_batch_size: int = 256              # texts per evaluation batch
    resume: bool = False                    # continue from the per-phase state under run_dir; finished seeds are reused
    progress: bool = True                   # progress bars
    tiny: bool = False                      # CPU smoke run: small data, one short epoch, outputs under runs/tiny/
    limit_train: int | None = None          # subsample the training texts, whole writers
    limit_eval: int | None = None           # subsample validation and test, whole writers
    limit_descriptions: int | None = None   # at most this many phase-1 chunks
    limit_masked: int | None = None         # at most this many phase-2 sentences

    def resolved(self) -> "MFTConfig":
        if self.mode not in ("mft", "ft"):
            raise ValueError(f"mode must be mft or ft, not {self.mode!r}")
        if self.phase1_data not in PHASE1_DATA:
            raise ValueError(f"phase1_data must be one of {', '.join(PHASE1_DATA)}, not {self.phase1_data!r}")
        if self.phase2_data not in PHASE2_DATA:
            raise ValueError(f"phase2_data must be one of {', '.join(PHASE2_DATA)}, not {self.phase2_data!r}")
        root = settings.PROJECT_ROOT / "runs" / "tiny" if self.tiny else None
        return replace(
            self,
            output_dir=self.output_dir or str((root or settings.checkpoint_dir()) / self.mode),
            run_dir=self.run_dir or str((root or settings.PROJECT_ROOT / "runs") / (self.mode if not root else f"{self.mode}-runs")),
            report_path=self.report_path or str((root or settings.reports_dir()) / "mft_vs_ft.json"),
        )


def tiny_config(**overrides) -> MFTConfig:
    """A CPU smoke run: a few hundred texts, one short epoch per phase, one seed."""
    small = dict(epochs=1, batch_size=16, warmup_ratio=0.0)
    config = MFTConfig(
        seeds=[0], max_length=64, tiny=True, progress=False, eval_batch_size=64,
        phase1=PhaseConfig(learning_rate=1e-4, **small), phase2=PhaseConfig(learning_rate=1e-4, **small),
        phase3=PhaseConfig(learning_rate=1e-4, group_by_length=True, **small),
        limit_train=400, limit_eval=200, limit_descriptions=200, limit_masked=300, type_head_epochs=2,
    )
    return replace(config, **overrides)


# -- data ---------------------------------------------------------------------------------------------------
def _limit(frame: pd.DataFrame, n: int | None, seed: int = 0) -> pd.DataFrame:
    """A writer-grouped subsample: whole writers, so writer-level metrics stay meaningful."""
    if not n or len(frame) <= n:
        return frame
    writers = frame["writer"].drop_duplicates().sample(frac=1.0, random_state=seed)
    counts = frame.groupby("writer").size().reindex(writers)
    keep = counts.index[(counts.cumsum() <= n) | (np.arange(len(counts)) == 0)]
    out = frame[frame["writer"].isin(set(keep))]
    return out if len(out) else frame.head(n)


def load_phase3_data(config: MFTConfig) -> dict[str, pd.DataFrame]:
    from mbti_core.data import labelled, load_cafe

    cafe = load_cafe(config.data_dir)
    if not config.include_posts:
        cafe = cafe[cafe["source"] == "comment"]
    frames = {split: labelled(cafe, split).reset_index(drop=True) for split in ("train", "validation", "test")}
    frames["train"] = _limit(frames["train"], config.limit_train)
    frames["validation"] = _limit(frames["validation"], config.limit_eval)
    frames["test"] = _limit(frames["test"], config.limit_eval)
    from mbti_core.training.phases import cap_per_writer
    frames["train"] = cap_per_writer(frames["train"], config.max_texts_per_writer).reset_index(drop=True)
    for split, frame in frames.items():
        if frame.empty:
            raise ValueError(f"no labelled cafe texts in the {split} split (data dir: {config.data_dir or 'default'})")
    return frames


def default_masked_file(config: MFTConfig) -> Path:
    """The log-odds masker's phase-2 file for the cafe TRAINING split (helper: ``masking.run.build_phase2_file``),
    built once under the cache dir and reused (the builder resumes a partial file)."""
    import hashlib

    from mbti_core.masking.run import build_phase2_file

    root = settings.data_dir(config.data_dir)
    tag = hashlib.sha1(str(root).encode()).hexdigest()[:8] + (f"-max{config.limit_masked}" if config.limit_masked else "")
    path = settings.cache_dir() / "masked" / f"phase2-logodds-{tag}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    done = path.with_suffix(".done")
    if not done.exists():
        logger.info("building the phase-2 masked-sentence file %s (log-odds masker, training split)", path)
        summary = build_phase2_file(path, root, masker="logodds", max_rows=config.limit_masked, progress=config.progress)
        logger.info("phase-2 file: %s", summary)
        done.write_text("ok\n")
    return path


def load_masked_rows(config: MFTConfig) -> tuple[list[dict], list[dict], str, dict]:
    """Phase-2 rows: (train, validation, source, counts). The study's data (or any file in its CSV format) is
    cleaned by ``data.seed_study`` and split by sentence hash; a masked-sentence JSONL is split the same way."""
    from mbti_core.data.seed_study import MASKED_SENTENCES_FILE, load_study_masked, split_by_sentence, study_file
    from mbti_core.masking.format import read_masked_file

    if config.masked_file and not str(config.masked_file).endswith(".jsonl"):
        study = load_study_masked(config.masked_file)
        train, validation, counts = study.train, study.validation, study.counts
        source = settings.project_relative(config.masked_file)
    elif config.masked_file or config.phase2_data == "cafe-logodds":
        path = Path(config.masked_file) if config.masked_file else default_masked_file(config)
        masked = read_masked_file(path)
        if masked.errors:
            logger.warning(masked.error_summary())
        train, validation = split_by_sentence(masked.rows)
        source, counts = settings.project_relative(path), {"rows_read": len(masked.rows) + len(masked.errors), "dropped_bad_row": len(masked.errors)}
    else:
        study = load_study_masked(data_dir=config.data_dir)
        source = settings.project_relative(study_file(MASKED_SENTENCES_FILE, config.data_dir))
        train, validation, counts = study.train, study.validation, study.counts
    if config.limit_masked:
        rng = np.random.default_rng(0)
        cut = lambda rows, n: [rows[i] for i in sorted(rng.choice(len(rows), n, replace=False))] if len(rows) > n else rows
        train, validation = cut(train, config.limit_masked), cut(validation, max(1, config.limit_masked // 5))
    return train, validation, source, counts


def load_phase1_rows(config: MFTConfig) -> pd.DataFrame:
    """Phase-1 texts with their type, from ``config.phase1_data``."""
    from mbti_core.data import load_descriptions
    from mbti_core.data.seed_study import load_study_documents

    frames = []
    if "study" in config.phase1_data:
        frames.append(load_study_documents(config.data_dir)[["type", "text"]])
    if "ours" in config.phase1_data:
        frames.append(load_descriptions(config.data_dir)[["type", "text"]])
    descriptions = pd.concat(frames, ignore_index=True)
    if config.limit_descriptions and len(descriptions) > config.limit_descriptions:
        descriptions = descriptions.sample(config.limit_descriptions, random_state=0).reset_index(drop=True)
    return descriptions


# -- one seed -----------------------------------------------------------------------------------------------
def loop_config(phase: PhaseConfig, n_examples: int, output_dir: Path, seed: int, config: MFTConfig) -> LoopConfig:
    steps = math.ceil(n_examples / phase.batch_size) * phase.epochs if phase.max_steps is None else phase.max_steps
    return LoopConfig(
        output_dir=str(output_dir), epochs=phase.epochs, max_steps=phase.max_steps,
        learning_rate=phase.learning_rate, weight_decay=phase.weight_decay,
        warmup_steps=int(steps * phase.warmup_ratio), batch_size=phase.batch_size,
        mixed_precision=config.mixed_precision, seed=seed, log_every=max(1, min(50, steps // 10)),
        save_every=1000, progress=config.progress, resume=config.resume, group_by_length=phase.group_by_length,
    )


def run_seed(config: MFTConfig, seed: int, data: dict, phase2: dict | None, descriptions) -> dict:
    import torch

    from mbti_core.encoder import load_tokenizer
    from mbti_core.modeling import MBTIModel
    from mbti_core.training import phases

    seed_dir = Path(config.run_dir) / f"seed{seed}"
    torch.manual_seed(seed)  # the heads' initialisation depends on the seed
    started = time.perf_counter()
    tokenizer = load_tokenizer(config.base_model)
    model = MBTIModel.from_encoder(config.base_model, max_length=config.max_length,
                                   type_vocab_bias=config.type_vocab_bias and config.mode == "mft")
    curves: dict[str, list] = {}
    phase2_summary, type_effect = None, {}
    if config.mode == "mft":
        loop = loop_config(config.phase1, len(descriptions), seed_dir / "phase1", seed, config)
        # The phase-1 curve on a fixed 2,000-text slice of validation (whole writers): the full split after every
        # epoch would cost more than phase 1 itself on a CPU, and the curve only shows the trend.
        curves["phase1"] = phases.run_phase1(model, tokenizer, descriptions, loop, config.max_length,
                                             _limit(data["validation"], PHASE1_CURVE_TEXTS))
        if config.type_head_epochs:
            curves["phase2_head"] = fit_head(config, model, tokenizer, phase2, seed)
            type_effect["phase2_frozen_head"] = measure_type_effect(config, model, tokenizer, phase2)
        loop = loop_config(config.phase2, len(phase2["train"]), seed_dir / "phase2", seed, config)
        curves["phase2"], phase2_summary = phases.run_phase2(model, tokenizer, phase2["train"], loop, config.max_length,
                                                             val_rows=phase2["validation"])
        phase2_summary["cleaning"] = phase2["counts"]
        type_effect["phase2_full"] = measure_type_effect(config, model, tokenizer, phase2)
    loop = loop_config(config.phase3, len(data["train"]), seed_dir / "phase3", seed, config)
    curves["phase3"] = phases.run_phase3(model, tokenizer, data["train"], loop, config.max_length, data["validation"],
                                         config.writer_weighting)
    if config.mode == "mft":
        type_effect["phase3_no_refit"] = measure_type_effect(config, model, tokenizer, phase2)
        if config.refit_type_head and config.type_head_epochs:
            curves["refit_head"] = fit_head(config, model, tokenizer, phase2, seed)
            type_effect["phase3_refit_head"] = measure_type_effect(config, model, tokenizer, phase2)
    train_seconds = time.perf_counter() - started

    # Under `accelerate launch` every process holds the same trained model: each scores its share of the texts,
    # the shares are gathered, and only the main process writes files.
    state = process_state()
    device = state.device if torch.cuda.is_available() else torch.device("cpu")
    model.to(device).eval()

    def split_logits(frame):
        share = phases.process_share(state, len(frame))
        logits = phases.predict_axis_logits(model, tokenizer, frame["text"].iloc[share], config.max_length,
                                            config.eval_batch_size, device)
        return np.concatenate(phases.gathered(state, [logits]))

    logits = {split: split_logits(data[split]) for split in ("validation", "test")}
    probs = {split: evaluation.sigmoid(values) for split, values in logits.items()}
    thresholds = evaluation.choose_thresholds(data["validation"], probs["validation"]) if config.tune_thresholds else [0.5] * 4
    # What the app shows: calibrated probabilities, each letter above 50% (the training split sets the letters' base
    # rates, validation the confidence; the test split is only scored).
    calibrations = (evaluation.fit_calibrations(data["train"], split_logits(data["train"]), data["validation"],
                                                logits["validation"])
                    if config.calibrate else {"calibration": None, "writer_calibration": None})
    result = {
        "seed": seed, "mode": config.mode, "train_seconds": round(train_seconds, 1),
        "device": (torch.cuda.get_device_name() if device.type == "cuda" else
                   f"cpu ({torch.get_num_threads()} thread{'s' if torch.get_num_threads() != 1 else ''}, fp32)")
                  + (f" x {state.num_processes} processes" if state.num_processes > 1 else ""),
        "validation": evaluation.classification_metrics(data["validation"], probs["validation"]),
        "test": evaluation.classification_metrics(data["test"], probs["test"]),
        "thresholds": thresholds,
        **calibrations,
        "served": {split: evaluation.served_metrics(data[split], logits[split], **calibrations)
                   for split in ("validation", "test")},
        "calibration_errors": {split: evaluation.calibration_errors(data[split], logits[split], **calibrations)
                               for split in ("validation", "test")},
    }
    if config.tune_thresholds:
        result["validation_tuned"] = evaluation.classification_metrics(data["validation"], probs["validation"], thresholds)
        result["test_tuned"] = evaluation.classification_metrics(data["test"], probs["test"], thresholds)
    if phase2_summary:
        result["phase2_data"] = phase2_summary
    if type_effect:
        result["type_effect"] = type_effect  # on the phase-2 validation sentences, after each stage
    model.heads_config.thresholds = thresholds
    model.heads_config.calibration = calibrations["calibration"]
    model.heads_config.writer_calibration = calibrations["writer_calibration"]
    model.heads_config.max_length = config.max_length
    if state.is_main_process:
        model.cpu().save_pretrained(seed_dir / "model", tokenizer=tokenizer)
        (seed_dir / "metrics.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
        (seed_dir / "curves.json").write_text(json.dumps(curves, indent=2, ensure_ascii=False) + "\n")
    state.wait_for_everyone()
    return result


def fit_head(config: MFTConfig, model, tokenizer, phase2: dict, seed: int) -> list[dict]:
    """The type-conditioned head alone on the frozen encoder (``training.type_head``)."""
    import torch

    from mbti_core import type_effect
    from mbti_core.training.type_head import fit_type_head

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device)
    train = type_effect.masked_features(model, tokenizer, phase2["train"], config.max_length, config.eval_batch_size)
    validation = (type_effect.masked_features(model, tokenizer, phase2["validation"], config.max_length, config.eval_batch_size)
                  if phase2["validation"] else None)
    return fit_type_head(model, train, epochs=config.type_head_epochs, learning_rate=config.type_head_learning_rate,
                         seed=seed, excluded_ids=type_effect.special_ids(tokenizer), validation=validation)


def measure_type_effect(config: MFTConfig, model, tokenizer, phase2: dict) -> dict:
    from mbti_core import type_effect

    if not phase2["validation"]:
        return {"rows": 0, "note": "no held-out phase-2 sentences to measure on"}
    result = type_effect.measure(model, tokenizer, phase2["validation"], phase2["train"], config.max_length)
    logger.info("type effect: gap %.3f nats, true type 1st %.3f, top-1 %.3f", result["logprob_gap"],
                result["true_type_top1"], result["top1_true"])
    return result


# -- reporting ----------------------------------------------------------------------------------------------
def _headline(metrics: dict) -> dict:
    keys = ("n", "loss", "mean_accuracy", "mean_macro_f1", "type_accuracy", "at_least_2", "at_least_3", "thresholds")
    out = {key: metrics[key] for key in keys if key in metrics}
    out["axes"] = {axis: {k: v for k, v in values.items() if k in ("accuracy", "macro_f1")}
                   for axis, values in metrics["axes"].items()}
    return out


def summarise(results: list[dict]) -> dict:
    summary = {"test": evaluation.mean_std([r["test"] for r in results]),
               "test_writer_level": evaluation.mean_std([r["test"]["writer_level"] for r in results])}
    if all("test_tuned" in r for r in results):
        summary["test_tuned"] = evaluation.mean_std([r["test_tuned"] for r in results])
        summary["test_tuned_writer_level"] = evaluation.mean_std([r["test_tuned"]["writer_level"] for r in results])
    return summary


def write_outputs(config: MFTConfig, results: list[dict], data: dict, masked_source: str | None) -> dict:
    best = max(results, key=lambda r: r["validation"]["mean_macro_f1"])  # chosen on validation, never test
    seed_dir = Path(config.run_dir) / f"seed{best['seed']}"
    output = Path(config.output_dir)
    output.mkdir(parents=True, exist_ok=True)
    for pattern in ("*.safetensors*", "*.onnx", "onnx_export.json"):  # a smaller model must not keep old files
        for stale in output.glob(pattern):
            stale.unlink()
    for item in (seed_dir / "model").iterdir():
        shutil.copy2(item, output / item.name)
    summary = summarise(results)
    settings_used = asdict(config)
    metrics = {
        "mode": config.mode, "shipped_seed": best["seed"], "selected_by": "validation mean_macro_f1",
        "base_model": config.base_model, "masked_file": masked_source, "config": settings_used,
        "data": {split: {"texts": int(len(frame)), "writers": int(frame["writer"].nunique())} for split, frame in data.items()},
        "test": best["test"], "test_tuned": best.get("test_tuned"), "validation": best["validation"],
        "thresholds": best["thresholds"], "seeds": results, "summary": summary,
    }
    (output / "metrics.json").write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n")
    # The exact command that made this checkpoint, beside it (as checkpoints/base/pretrain_command.txt).
    (output / "train_command.txt").write_text(" ".join(shlex.quote(a) for a in ["python", *sys.argv]) + "\n")
    confusion = {level: {axis: values["confusion"] for axis, values in metrics_.get("axes", {}).items()}
                 for level, metrics_ in (("comment", best["test"]), ("writer", best["test"]["writer_level"]))}
    (output / "confusion.json").write_text(json.dumps(confusion, indent=2, ensure_ascii=False) + "\n")
    curves = {f"seed{r['seed']}": json.loads((Path(config.run_dir) / f"seed{r['seed']}" / "curves.json").read_text())
              for r in results}
    (output / "curves.json").write_text(json.dumps(curves, indent=2, ensure_ascii=False) + "\n")
    update_report(config, results, summary)
    if config.export_onnx:
        from mbti_core.onnx_export import export_onnx

        record = export_onnx(output)
        logger.info("ONNX graphs exported to %s (max |onnxruntime - torch| %s)", output, record["max_abs_diff"])
    return metrics


def update_report(config: MFTConfig, results: list[dict], summary: dict) -> Path:
    """reports/mft_vs_ft.json: this mode's per-seed results and mean ± std, the other mode's as left, baselines."""
    path = Path(config.report_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    report = json.loads(path.read_text()) if path.is_file() else {}
    report[config.mode] = {
        "seeds": [{"seed": r["seed"], "train_seconds": r["train_seconds"], "device": r.get("device"),
                   "thresholds": r["thresholds"],
                   "validation": _headline(r["validation"]), "test": _headline(r["test"]),
                   "test_writer_level": _headline(r["test"]["writer_level"]),
                   **({"test_tuned": _headline(r["test_tuned"]),
                       "test_tuned_writer_level": _headline(r["test_tuned"]["writer_level"])} if "test_tuned" in r else {})}
                  for r in results],
        "summary": summary,
        "config": {k: v for k, v in asdict(config).items() if k not in ("resume", "progress")},
    }
    baselines = settings.reports_dir() / "baselines.json"
    if baselines.is_file():
        report["baselines"] = json.loads(baselines.read_text())
    report["study_figures"] = STUDY_FIGURES
    if "mft" in report and "ft" in report:
        report["comparison"] = compare_modes(report["mft"]["summary"], report["ft"]["summary"])
        report["comparison_rule"] = ("beyond_noise: |difference of seed means| > 2 x sqrt(std_mft^2 + std_ft^2). "
                                     "mean_accuracy at thresholds 0.5 (the 'test' rows) is the study's metric")
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return path


def compare_modes(mft: dict, ft: dict) -> dict:
    """MFT minus FT, per level, in our metric (mean macro-F1) and the study's (mean of per-axis accuracies)."""
    comparison = {}
    for key in ("test", "test_tuned", "test_writer_level", "test_tuned_writer_level"):
        if not (mft.get(key) and ft.get(key)):
            continue
        comparison[key] = {}
        for metric in ("mean_macro_f1", "mean_accuracy"):
            a, b = mft[key][metric], ft[key][metric]
            noise = math.sqrt(a["std"] ** 2 + b["std"] ** 2)
            difference = a["mean"] - b["mean"]
            comparison[key][metric] = {"mft_minus_ft": difference, "combined_std": noise,
                                       "beyond_noise": bool(noise > 0 and abs(difference) > 2 * noise)}
    return comparison


# -- entry point --------------------------------------------------------------------------------------------
def run(config: MFTConfig) -> dict:
    config = config.resolved()
    data = load_phase3_data(config)
    phase2, masked_source, descriptions = None, None, None
    if config.mode == "mft":
        descriptions = load_phase1_rows(config)
        train, validation, masked_source, counts = load_masked_rows(config)
        phase2 = {"train": train, "validation": validation, "counts": counts}
    results = [(config.resume and finished_seed(config, seed)) or run_seed(config, seed, data, phase2, descriptions)
               for seed in config.seeds]
    state = process_state()
    if not state.is_main_process:  # the main process ships the checkpoint and writes the report
        state.wait_for_everyone()
        return {"summary": summarise(results), "shipped_seed": max(results, key=lambda r: r["validation"]["mean_macro_f1"])["seed"]}
    metrics = write_outputs(config, results, data, masked_source)
    state.wait_for_everyone()
    return metrics


def finished_seed(config: MFTConfig, seed: int) -> dict | None:
    """A seed this run dir already finished (its model, metrics and curves saved), so that ``--resume`` reuses it:
    seeds can be trained by separate processes side by side and then collected by one run over all seeds."""
    seed_dir = Path(config.run_dir) / f"seed{seed}"
    files = (seed_dir / "metrics.json", seed_dir / "curves.json", seed_dir / "model" / "config.json")
    if not all(path.is_file() for path in files):
        return None
    result = json.loads(files[0].read_text())
    if result.get("mode") != config.mode or result.get("seed") != seed:
        return None
    logger.info("seed %s: reusing the finished run in %s", seed, seed_dir)
    return result


# Options named before they were config fields keep their names (scripts and train_command.txt use them).
_FLAG_NAMES = {"masked_file": "masked", "report_path": "report", "include_posts": "--comments-only"}
_FLAG_HELPS = {"include_posts": "leave posts out of phase 3"}
_FLAG_CHOICES = {"phase1_data": PHASE1_DATA, "phase2_data": PHASE2_DATA, "writer_weighting": ("none", "sqrt", "inverse"),
                 "mixed_precision": MIXED_PRECISION_CHOICES}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``train.py mft`` (and ``train.py ft``, which shares them; phase 1/2 options are ignored there):
    one per ``MFTConfig`` field, given ones replacing the preset (``--tiny``: ``tiny_config``), plus shorthands
    for the three phases."""
    add_config_arguments(parser, MFTConfig, skip=("mode", "phase1", "phase2", "phase3"), names=_FLAG_NAMES,
                         helps=_FLAG_HELPS, choices=_FLAG_CHOICES, only_given=True, presets={"--tiny": tiny_config()})
    def per_phase(config: MFTConfig, name: str) -> str:
        return " ".join(f"{getattr(getattr(config, phase), name):g}" for phase in ("phase1", "phase2", "phase3"))

    def shown(name: str) -> str:
        return f"default: {per_phase(MFTConfig(), name)}; --tiny: {per_phase(tiny_config(), name)}"

    phases = parser.add_argument_group("the three phases (PhaseConfig)")
    phases.add_argument("--epochs", type=int, nargs=3, metavar=("P1", "P2", "P3"),
                        help=f"epochs of phases 1, 2, 3 (FT uses P3; {shown('epochs')})")
    phases.add_argument("--learning-rate", type=float, help=f"for every phase ({shown('learning_rate')})")
    phases.add_argument("--batch-size", type=int, help=f"per process, for every phase ({shown('batch_size')})")
    phases.add_argument("--no-group-by-length", action="store_true",
                        help="phase 3 in random batches (default: batches of similar length, as transformers' Trainer)")


def config_from_args(args, mode: str) -> MFTConfig:
    preset = tiny_config(mode=mode) if getattr(args, "tiny", False) else MFTConfig(mode=mode)
    for name in ("learning_rate", "batch_size"):
        value = getattr(args, name)
        if value is not None and not value > 0:
            raise ValueError(f"--{name.replace('_', '-')} must be positive, got {value:g}")
    phase_updates = {key: value for key, value in (("learning_rate", args.learning_rate),
                                                   ("batch_size", args.batch_size)) if value is not None}
    if args.no_group_by_length:
        phase_updates["group_by_length"] = False
    phases = {}
    for index, name in enumerate(("phase1", "phase2", "phase3")):
        epochs = {"epochs": args.epochs[index]} if args.epochs else {}
        phases[name] = replace(getattr(preset, name), **phase_updates, **epochs)
    return config_args.config_from_args(MFTConfig, args, base=preset, **phases)


def main(args, mode: str | None = None) -> int:
    mode = mode or "mft"
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("mbti_core").setLevel(logging.INFO)
    config = config_from_args(args, mode)
    metrics = run(config)
    if not process_state().is_main_process:
        return 0
    summary = metrics["summary"]["test"]
    print(json.dumps({
        "mode": mode, "output_dir": config.resolved().output_dir, "shipped_seed": metrics["shipped_seed"],
        "test_mean_macro_f1": summary["mean_macro_f1"], "test_mean_accuracy": summary["mean_accuracy"],
        "test_type_accuracy": summary["type_accuracy"],
        "test_writer_level_mean_macro_f1": metrics["summary"]["test_writer_level"]["mean_macro_f1"],
    }, indent=2))
    return 0
