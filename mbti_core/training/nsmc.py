"""`python train.py nsmc`: does an encoder understand Korean? Fine-tune it on NSMC sentiment and compare.

The check of the pretraining issue: fine-tune on <= 50,000 balanced training reviews, score the balanced
movie-disjoint test sample (the same samples as `mbti_core.baselines`, so the TF-IDF figure is comparable),
and fit the TF-IDF char n-gram + logistic-regression baseline on exactly the same reviews. Works for any
encoder (`--base-model` hub id or folder): AutoModelForSequenceClassification on top of it.

`--output-dir checkpoints/sentiment` also ships the fine-tuned model as a sentiment checkpoint (fp16
safetensors + tokenizer + sentiment.json, read by `mbti_core.sentiment.SentimentPredictor`).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from mbti_core.config_args import MIXED_PRECISION_CHOICES, add_config_arguments, config_from_args


@dataclass
class NsmcConfig:
    base_model: str = "checkpoints/base"  # encoder hub id or folder
    data_dir: str | None = None         # raw data directory (default: MBTI_DATA_DIR or ../shared/data)
    n_train: int = 50_000               # balanced training reviews
    n_test: int = 20_000                # balanced test reviews (movie-disjoint from training)
    max_length: int = 128               # tokens per review
    epochs: int = 2
    batch_size: int = 64                # per process
    learning_rate: float = 1e-4
    warmup_ratio: float = 0.06          # of the optimizer steps
    weight_decay: float = 0.01
    seed: int = 42
    run_dir: str = "runs/nsmc"          # resumable loop state, one folder per base-model fingerprint
    mixed_precision: str = "auto"       # auto: bf16 on a GPU that supports it, else fp32
    progress: bool = True               # a progress bar
    eval_batch_size: int = 256          # reviews per evaluation batch
    tfidf_baseline: bool = True         # TF-IDF char n-grams + LR fitted and scored on the same reviews
    output_dir: str | None = None       # also ship the fine-tuned model here as a sentiment checkpoint
    export_onnx: bool = True            # with output_dir: ONNX graph beside it (the app's fast start)


class EncodedDataset(torch.utils.data.Dataset):
    def __init__(self, tokenizer, texts, labels, max_length: int):
        self.encoded = tokenizer(list(texts), truncation=True, max_length=max_length)["input_ids"]
        self.labels = [int(y) for y in labels]

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        return {"input_ids": self.encoded[index], "labels": self.labels[index]}


def _fingerprint(base_model: str) -> str:
    """Identifies the base weights, so a resumed fine-tune never continues from another encoder's state."""
    digest = hashlib.sha1(str(base_model).encode())
    path = Path(base_model)
    if path.is_dir():
        for file in sorted(path.glob("*.safetensors")) + sorted(path.glob("config.json")):
            digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


@torch.no_grad()
def predict_positive(model, tokenizer, texts, *, max_length: int, batch_size: int, device, autocast) -> np.ndarray:
    """P(positive) for each text."""
    model.eval()
    probs = []
    for start in range(0, len(texts), batch_size):
        enc = tokenizer(list(texts[start:start + batch_size]), truncation=True, max_length=max_length,
                        padding=True, return_tensors="pt").to(device)
        with autocast():
            logits = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).logits
        probs.append(torch.softmax(logits.float(), -1)[:, 1].cpu().numpy())
    return np.concatenate(probs)


def run_nsmc(cfg: NsmcConfig, accelerator=None) -> dict:
    """Balanced NSMC samples (as mbti_core.baselines) -> fine-tune -> test metrics + TF-IDF on the same rows."""
    from mbti_core.baselines import nsmc_tfidf_baseline
    from mbti_core.data import load_nsmc, nsmc_sample

    reviews = load_nsmc(cfg.data_dir)
    train_rows = nsmc_sample(reviews, "train", cfg.n_train, seed=0)
    test_rows = nsmc_sample(reviews, "test", cfg.n_test, seed=0)
    result = finetune_and_score(cfg, train_rows, test_rows, accelerator=accelerator)
    if result:
        result["split"] = "movie-disjoint test, label-balanced sample (seed 0)"
        if cfg.tfidf_baseline:
            result["tfidf_baseline"] = nsmc_tfidf_baseline(train_rows, test_rows)
            result["beats_tfidf"] = result["accuracy"] > result["tfidf_baseline"]["accuracy"]
        print(json.dumps({k: result[k] for k in ("accuracy", "f1", "test_size")}
                         | {"tfidf_accuracy": result.get("tfidf_baseline", {}).get("accuracy")}))
    return result


def epoch_train_accuracy(steps: list[dict]) -> float | None:
    """The running training accuracy of one epoch from the loop's logged windows, each weighted by its steps."""
    total, weighted, previous = 0, 0.0, None
    for row in steps:
        if "accuracy" not in row:
            continue
        length = row["step"] - previous if previous is not None else row["step"]
        length = max(length, 1)
        total, weighted, previous = total + length, weighted + length * row["accuracy"], row["step"]
    return round(weighted / total, 5) if total else None


def finetune_and_score(cfg: NsmcConfig, train_rows, test_rows, accelerator=None, eval_each_epoch: bool = False) -> dict:
    """Fine-tune AutoModelForSequenceClassification(cfg.base_model, 2 labels) on train_rows (text, label) with
    the shared loop, then score test_rows. Returns the metrics on the main process ({} on the others).

    eval_each_epoch: also score test_rows after every epoch (val_loss / val_accuracy / val_f1 in the history,
    as the scaling study records them). cfg.output_dir: ship the model there as a sentiment checkpoint."""
    from transformers import AutoModelForSequenceClassification, DataCollatorWithPadding

    from mbti_core import encoder
    from mbti_core.evaluation import binary_metrics
    from mbti_core.training.loop import LoopConfig, make_accelerator, read_progress, train

    tokenizer = encoder.load_tokenizer(cfg.base_model)
    model = encoder._from_pretrained(AutoModelForSequenceClassification, cfg.base_model, "encoder",
                                     num_labels=2, dtype=torch.float32)
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    steps_per_epoch = -(-len(train_rows) // cfg.batch_size)
    loop_config = LoopConfig(
        output_dir=str(Path(cfg.run_dir) / _fingerprint(cfg.base_model)), epochs=cfg.epochs,
        learning_rate=cfg.learning_rate, weight_decay=cfg.weight_decay, batch_size=cfg.batch_size,
        warmup_steps=int(cfg.warmup_ratio * steps_per_epoch * cfg.epochs), mixed_precision=cfg.mixed_precision,
        seed=cfg.seed, log_every=max(steps_per_epoch // 10, 1), save_every=max(steps_per_epoch // 2, 1),
        progress=cfg.progress,
    )
    accelerator = accelerator or make_accelerator(loop_config)
    dataset = EncodedDataset(tokenizer, train_rows["text"], train_rows["label"], cfg.max_length)

    def accuracy(outputs, batch):
        return {"accuracy": (outputs.logits.detach().argmax(-1) == batch["labels"]).float().mean()}

    def score_each_epoch(trained, accelerator, epoch):
        probs = predict_positive(accelerator.unwrap_model(trained), tokenizer, list(test_rows["text"]),
                                 max_length=cfg.max_length, batch_size=cfg.eval_batch_size,
                                 device=accelerator.device, autocast=accelerator.autocast)
        metrics = binary_metrics(list(test_rows["label"]), probs)
        return {"val_loss": metrics["loss"], "val_accuracy": metrics["accuracy"], "val_f1": metrics["f1"]}

    history = train(model, dataset, loop_config, collate_fn=DataCollatorWithPadding(tokenizer),
                    accelerator=accelerator, batch_metrics=accuracy,
                    eval_fn=score_each_epoch if eval_each_epoch else None)
    progress = read_progress(loop_config.output_dir) or {}

    result: dict = {}
    if accelerator.is_main_process:
        started = time.perf_counter()
        model.to(accelerator.device)
        probs = predict_positive(model, tokenizer, list(test_rows["text"]), max_length=cfg.max_length,
                                 batch_size=cfg.eval_batch_size, device=accelerator.device,
                                 autocast=accelerator.autocast)
        result = binary_metrics(list(test_rows["label"]), probs)
        result.update({
            "base_model": cfg.base_model, "model_type": model.config.model_type,
            "train_size": len(train_rows), "test_size": len(test_rows),
            "train_seconds": round(progress.get("train_seconds", 0.0), 1),
            "eval_seconds": round(time.perf_counter() - started, 1),
            "config": asdict(cfg),
            "history": [{**{k: v for k, v in row.items() if k != "steps"},
                         "train_accuracy": epoch_train_accuracy(row.get("steps", []))} for row in history],
        })
        if cfg.output_dir:
            from mbti_core.sentiment import save_sentiment_checkpoint

            model.to("cpu")
            save_sentiment_checkpoint(model, tokenizer, cfg.output_dir, max_length=cfg.max_length, metadata={
                "base_model": cfg.base_model, "train_size": len(train_rows),
                "test": {k: result[k] for k in ("accuracy", "f1", "loss", "n")},
                "split": "movie-disjoint NSMC test split, label-balanced sample",
                "config": {k: v for k, v in asdict(cfg).items() if k not in ("data_dir", "progress")},
            })
            result["output_dir"] = str(cfg.output_dir)
            if cfg.export_onnx:
                from mbti_core.onnx_export import export_onnx

                result["onnx_max_abs_diff"] = export_onnx(cfg.output_dir)["max_abs_diff"]
    accelerator.wait_for_everyone()
    return result


def merge_into_report(path: str | Path, key: str, value: dict) -> None:
    """Add value under key in a JSON report, keeping what is already there."""
    path = Path(path)
    report = json.loads(path.read_text()) if path.is_file() else {}
    report[key] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser, NsmcConfig, names={"tfidf_baseline": "tfidf"},
                         choices={"mixed_precision": MIXED_PRECISION_CHOICES})
    parser.add_argument("--report", help="merge the result under the key 'nsmc' into this JSON file "
                                         "(e.g. reports/pretrain.json); printed either way")


def main(args) -> int:
    cfg = config_from_args(NsmcConfig, args)
    result = run_nsmc(cfg)
    if result and args.report:
        merge_into_report(args.report, "nsmc", result)
    return 0
