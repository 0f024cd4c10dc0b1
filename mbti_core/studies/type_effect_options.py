"""``python -m mbti_core type-effect-options``: which head and schedule keep the type effect, measured
(-> ``reports/type_effect.json``).

Every figure is ``mbti_core.type_effect.measure`` on the held-out part of the study's persona sentences (split
by sentence hash; never trained on). The report holds:

- ``shipped``: the shipped MFT checkpoint (what the Fill-mask page shows), the same object that
  ``python -m mbti_core type-effect --checkpoint checkpoints/mft`` prints.
- ``options``: one row per head / schedule tried, mean ± std over seeds where seeds were run:
  the previous checkpoint (cafe log-odds phase 2, no per-type bias); on the frozen base encoder, the head
  without and with the per-type vocabulary bias. ``option_full_fine_tune``: the whole model fine-tuned from the
  start (no frozen head first, no per-type bias), as the previous schedule did.
- ``stages``: from the MFT training runs (``runs/<mode>/seed*/metrics.json``), each stage of the shipped
  schedule: frozen head -> phase-2 full fine-tune -> phase 3 (no re-fit) -> head re-fitted on the final encoder.
- ``ablation_cafe_logodds``: the same frozen-encoder head fitted on cafe comments of training writers masked by
  log-odds, scored on held-out cafe *writers*: how much real writers' word choice depends on their type.
- ``columns``: the four default types' top-5 fills for the study's sentence and five everyday sentences, and
  how many of the four top-5 sets differ.
- ``phase1_data``: phase 1 on the study's documents alone vs with our Korean descriptions added, each scored
  on the cafe validation split (the classifier as phase 1 leaves it) and on held-out description chunks.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from mbti_core import evaluation, settings

logger = logging.getLogger(__name__)

EVERYDAY_SENTENCES = [  # five everyday chat sentences (the first three are the app's examples)
    "친구들이랑 만나면 [MASK] 얘기를 제일 많이 해.",
    "여행 갈 때는 [MASK] 가는 게 좋아.",
    "오늘 하루는 정말 [MASK].",
    "주말에는 보통 집에서 [MASK] 편이야.",
    "일이 많을 때는 [MASK] 처리하려고 해.",
]
STAGES = ("phase2_frozen_head", "phase2_full", "phase3_no_refit", "phase3_refit_head")
STAGE_LABELS = {
    "phase2_frozen_head": "MFT: head with per-type bias on the frozen phase-1 encoder",
    "phase2_full": "MFT: then phase 2 fine-tunes encoder + head",
    "phase3_no_refit": "MFT: then phase 3 (classification) moves the encoder; phase-2 head kept",
    "phase3_refit_head": "MFT: head re-fitted on the final encoder (shipped)",
}
PARTS = ("options", "fullft", "stages", "cafe", "shipped", "phase1")
KEYS = ("logprob_gap", "true_type_top1", "true_type_top4", "true_type_mean_rank", "top1_true", "top1_other",
        "top5_true", "top5_other")


def _summary(results: list[dict], label: str, how: str) -> dict:
    row = {"option": label, "how": how, "seeds": len(results), "rows": results[0]["rows"]}
    if "baseline_word_frequency" in results[0]:
        row["baseline_word_frequency"] = results[0]["baseline_word_frequency"]
    for key in KEYS:
        values = [r[key] for r in results]
        row[key] = {"mean": float(np.mean(values)), "std": float(np.std(values, ddof=1)) if len(values) > 1 else 0.0}
    return row


def _frozen_head(base_model: str, train_rows, validation_rows, seeds, type_vocab_bias: bool, epochs: int,
                 max_length: int, features_cache: dict) -> list[dict]:
    import torch

    from mbti_core import type_effect
    from mbti_core.encoder import load_tokenizer
    from mbti_core.modeling import MBTIModel
    from mbti_core.training.type_head import fit_type_head

    tokenizer = load_tokenizer(base_model)
    results = []
    for seed in seeds:
        torch.manual_seed(seed)
        model = MBTIModel.from_encoder(base_model, type_vocab_bias=type_vocab_bias).eval()
        model.add_type_mlm_head()
        key = (base_model, id(train_rows))
        if key not in features_cache:
            features_cache[key] = (type_effect.masked_features(model, tokenizer, train_rows, max_length),
                                   type_effect.masked_features(model, tokenizer, validation_rows, max_length))
        train, validation = features_cache[key]
        fit_type_head(model, train, epochs=epochs, seed=seed, excluded_ids=type_effect.special_ids(tokenizer))
        results.append(type_effect.measure(model, tokenizer, validation_rows, train_rows, max_length, features=validation))
    return results


def _full_fine_tune(base_model: str, train_rows, validation_rows, seed: int, max_length: int, run_dir: Path) -> dict:
    """The whole model trained from the start (no frozen head first, no per-type bias): one epoch of phase 2 as
    the previous schedule did it."""
    import torch

    from mbti_core import type_effect
    from mbti_core.encoder import load_tokenizer
    from mbti_core.modeling import MBTIModel
    from mbti_core.training import phases
    from mbti_core.training.loop import LoopConfig

    tokenizer = load_tokenizer(base_model)
    torch.manual_seed(seed)
    model = MBTIModel.from_encoder(base_model)
    loop = LoopConfig(output_dir=str(run_dir / f"full-seed{seed}"), epochs=1, learning_rate=1e-4, batch_size=64,
                      seed=seed, progress=False, resume=False, save_every=10**9, log_every=50)
    phases.run_phase2(model, tokenizer, train_rows, loop, max_length, val_rows=validation_rows[:1])
    return type_effect.measure(model.eval(), tokenizer, validation_rows, train_rows, max_length)


def _cafe_rows(data_dir, n_rows: int, work: Path) -> tuple[list[dict], list[dict]]:
    """Cafe training-writer sentences masked by log-odds, split by writer hash (held-out writers)."""
    from mbti_core.masking.format import read_masked_file
    from mbti_core.masking.run import cafe_training_rows, fit_logodds_on_cafe, run_masking, split_sentences

    rows, train = cafe_training_rows(data_dir, max_rows=n_rows)
    writer_of = {}
    for writer, text in zip(train["writer"], train["text"]):
        for index, _ in enumerate(split_sentences(text)):
            writer_of["cafe:" + hashlib.sha1(f"{writer}\0{text}\0{index}".encode("utf-8")).hexdigest()[:16]] = writer
    path = work / f"cafe-logodds-{n_rows}.jsonl"
    run_masking(rows, fit_logodds_on_cafe(train=train), path, progress=False)
    masked = read_masked_file(path).rows
    held_out = lambda row: int(hashlib.sha1(str(writer_of.get(row["id"], row["id"])).encode()).hexdigest()[:8], 16) % 10 == 0
    return [r for r in masked if not held_out(r)], [r for r in masked if held_out(r)]


def _columns(checkpoint: str) -> dict:
    from mbti_core.onnx_predictor import load_predictor
    from mbti_core.predictor_base import DEFAULT_FILL_TYPES, STUDY_FILL_SENTENCE

    predictor = load_predictor(checkpoint)
    out = {}
    for sentence in [STUDY_FILL_SENTENCE, *EVERYDAY_SENTENCES]:
        fills = predictor.fill_mask(sentence, list(DEFAULT_FILL_TYPES), 5)
        sets = {frozenset(item["token"] for item in fills[t]) for t in DEFAULT_FILL_TYPES}
        out[sentence] = {"distinct_top5_sets": len(sets),
                         "fills": {t: [[item["token"], round(item["prob"], 4)] for item in fills[t]] for t in DEFAULT_FILL_TYPES}}
    return out


def _phase1_data(config_base: str, data_dir, seeds, run_dir: Path) -> dict:
    """Phase 1 alone, on the study's documents vs the study's + ours: the classifier's cafe validation macro-F1
    and its accuracy on held-out study description chunks (10% of paragraphs by hash)."""
    import pandas as pd
    import torch

    from mbti_core.data import labelled, load_cafe, load_descriptions
    from mbti_core.data.seed_study import load_study_documents
    from mbti_core.encoder import load_tokenizer
    from mbti_core.modeling import MBTIModel
    from mbti_core.training import phases
    from mbti_core.training.loop import LoopConfig
    from mbti_core.training.mft import PHASE1_CURVE_TEXTS, _limit
    from mbti_core.types import type_labels

    documents = load_study_documents(data_dir)
    held = documents["paragraph"].map(lambda p: int(hashlib.sha1(str(p).encode()).hexdigest()[:8], 16) % 10 == 0)
    study_train, study_held = documents[~held][["type", "text"]], documents[held][["type", "text"]]
    ours = load_descriptions(data_dir)[["type", "text"]]
    validation = _limit(labelled(load_cafe(data_dir), "validation").reset_index(drop=True), PHASE1_CURVE_TEXTS * 2)
    tokenizer = load_tokenizer(config_base)
    out = {"held_out_chunks": int(len(study_held)), "cafe_validation_texts": int(len(validation))}
    for name, frame in (("study", study_train), ("study+ours", pd.concat([study_train, ours], ignore_index=True))):
        scores = []
        for seed in seeds:
            torch.manual_seed(seed)
            model = MBTIModel.from_encoder(config_base)
            loop = LoopConfig(output_dir=str(run_dir / f"phase1-{name}-{seed}"), epochs=5, learning_rate=5e-5,
                              batch_size=32, warmup_steps=int(0.06 * 5 * len(frame) / 32), seed=seed, progress=False,
                              resume=False, save_every=10**9, log_every=10**6)
            phases.run_phase1(model, tokenizer, frame.reset_index(drop=True), loop, 128)
            cafe = evaluation.classification_metrics(validation, evaluation.sigmoid(phases.predict_axis_logits(
                model, tokenizer, validation["text"], 128)), writer_level=False)
            chunk_probs = evaluation.sigmoid(phases.predict_axis_logits(model, tokenizer, study_held["text"], 128))
            chunk = evaluation.axis_metrics(type_labels(study_held["type"].tolist()), chunk_probs)
            scores.append({"cafe_validation_mean_macro_f1": cafe["mean_macro_f1"],
                           "held_out_chunks_mean_accuracy": chunk["mean_accuracy"],
                           "held_out_chunks_mean_macro_f1": chunk["mean_macro_f1"]})
        out[name] = {"texts": int(len(frame)), **{k: {"mean": float(np.mean([s[k] for s in scores])),
                                                       "std": float(np.std([s[k] for s in scores], ddof=1)) if len(scores) > 1 else 0.0}
                                                   for k in scores[0]}}
    return out


def run(args) -> dict:
    from mbti_core.data.seed_study import load_study_masked

    started = time.perf_counter()
    report_path = Path(args.output)
    report = json.loads(report_path.read_text(encoding="utf-8")) if report_path.is_file() else {}
    study = load_study_masked(data_dir=args.data_dir)
    seeds = list(range(args.seeds))
    work = Path(args.run_dir)
    work.mkdir(parents=True, exist_ok=True)
    features_cache: dict = {}
    parts = set(args.parts)

    if "options" in parts:
        from mbti_core import type_effect
        from mbti_core.encoder import load_tokenizer
        from mbti_core.modeling import MBTIModel

        options = []
        if args.previous_checkpoint:
            previous = MBTIModel.from_pretrained(args.previous_checkpoint)
            options.append(_summary([type_effect.measure(previous, load_tokenizer(args.previous_checkpoint), study.validation,
                                                         study.train, 128)],
                                    "previous shipped MFT", "cafe log-odds phase 2, head without per-type bias, full fine-tune"))
        for bias in (False, True):
            results = _frozen_head(args.base_model, study.train, study.validation, seeds, bias, args.head_epochs, 128,
                                   features_cache)
            options.append(_summary(results, f"frozen base encoder, head {'with' if bias else 'without'} per-type bias",
                                    f"{args.head_epochs} epochs of the head alone on cached hidden states"))
        report["options"] = options
        report["word_frequency_baseline"] = options[-1]["baseline_word_frequency"]  # on the rows the models score

    if "fullft" in parts:
        full = [_full_fine_tune(args.base_model, study.train, study.validation, seed, 128, work) for seed in seeds[:1]]
        report["option_full_fine_tune"] = _summary(full, "whole model fine-tuned from the start (base encoder)",
                                                   "1 epoch of phase 2, lr 1e-4, head without per-type bias")

    if "stages" in parts:
        stages = []
        for mode_dir in args.mft_runs:
            metrics = [json.loads(p.read_text()) for p in sorted(Path(mode_dir).glob("seed*/metrics.json"))]
            metrics = [m for m in metrics if "type_effect" in m]
            for stage in STAGES:
                results = [m["type_effect"][stage] for m in metrics if stage in m["type_effect"]]
                if results:
                    stages.append(_summary(results, STAGE_LABELS[stage], f"train.py mft, {mode_dir}"))
        report["stages"] = stages

    if "cafe" in parts:
        train_rows, held_rows = _cafe_rows(args.data_dir, args.cafe_rows, work)
        results = _frozen_head(args.base_model, train_rows, held_rows, seeds, True, args.head_epochs, 128, features_cache)
        from mbti_core.type_effect import word_frequency_baseline

        report["ablation_cafe_logodds"] = {
            **_summary(results, "cafe comments masked by log-odds (real writers)",
                       "frozen base encoder, head with per-type bias; scored on held-out writers (10% by writer hash)"),
            "train_rows": len(train_rows), "held_out_rows": len(held_rows),
            "baseline_word_frequency": word_frequency_baseline(train_rows, held_rows),
        }

    if "shipped" in parts:
        import subprocess

        done = subprocess.run([sys.executable, "-m", "mbti_core", "type-effect", "--checkpoint", args.checkpoint],
                              capture_output=True, text=True, check=True)
        report["shipped"] = json.loads(done.stdout)
        report["columns"] = _columns(args.checkpoint)

    if "phase1" in parts:
        report["phase1_data"] = _phase1_data(args.base_model, args.data_dir, seeds, work)

    report["about"] = __doc__.split("\n\n")[0].strip()
    command = " ".join(shlex.quote(a) for a in ["python", "-m", "mbti_core", *sys.argv[1:]])
    report.setdefault("commands", {}).update({part: command for part in parts})  # the exact command behind each part
    report["seconds"] = round(time.perf_counter() - started, 1)
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=PARTS, help="which sections to (re)compute")
    parser.add_argument("--base-model", default=str(settings.checkpoint_dir() / "base"))
    parser.add_argument("--checkpoint", default=str(settings.checkpoint_dir() / "mft"), help="the shipped MFT model")
    parser.add_argument("--previous-checkpoint", default=None, help="an earlier MFT checkpoint to measure beside it")
    parser.add_argument("--mft-runs", nargs="*", default=["runs/cpu/mft"], help="train.py mft run dirs (seed*/metrics.json)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--head-epochs", type=int, default=20)
    parser.add_argument("--cafe-rows", type=int, default=13457, help="as many cafe sentences as the study's kept rows")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--run-dir", default="runs/type-effect-options")
    parser.add_argument("--output", default=str(settings.reports_dir() / "type_effect.json"))


def main(args) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    report = run(args)
    print(json.dumps({"parts": args.parts, "seconds": report["seconds"], "output": args.output}, ensure_ascii=False))
    return 0
