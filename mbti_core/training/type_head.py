"""Fit the type-conditioned MLM head on a frozen encoder, from cached hidden states (``type_effect.MaskedFeatures``).

Full fine-tuning lets the encoder absorb the sentence and the type embedding stops mattering (measured: the
type effect falls to ~0.02 nats). Fitting the head alone keeps the encoder fixed, so the type has to carry
what the context cannot; and since the encoder is fixed, its hidden states at the masks are computed once
and every epoch costs only the head (seconds on a CPU). Used before phase 2's full fine-tune and, after
phase 3 has moved the encoder, to re-fit the head on the encoder that ships.
"""
from __future__ import annotations

import logging
import math

import torch
from torch.nn import functional as F

from mbti_core.type_effect import MaskedFeatures

logger = logging.getLogger(__name__)


def fit_type_head(model, features: MaskedFeatures, epochs: int = 20, learning_rate: float = 2e-3,
                  batch_size: int = 256, weight_decay: float = 0.01, seed: int = 0,
                  excluded_ids=(), reset: bool = False, validation: MaskedFeatures | None = None) -> list[dict]:
    """Train ``model.type_mlm`` (only) on ``features``; the encoder and the tied word embeddings stay frozen.
    Returns one log line per epoch (train loss, and validation loss/top-1 when given)."""
    head = model.add_type_mlm_head()
    if reset:
        head.reset_parameters()
    device = next(model.parameters()).device
    words = model.word_embeddings.detach()
    excluded = torch.tensor(list(excluded_ids), dtype=torch.long, device=device)
    parameters = list(head.parameters())
    optimizer = torch.optim.AdamW(parameters, lr=learning_rate, weight_decay=weight_decay)
    steps = max(1, math.ceil(len(features) / batch_size) * epochs)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=learning_rate, total_steps=steps, pct_start=0.1)
    generator = torch.Generator().manual_seed(seed)
    history = []
    head.train()
    for epoch in range(epochs):
        order = torch.randperm(len(features), generator=generator)
        total, count = 0.0, 0
        for start in range(0, len(order), batch_size):
            index = order[start:start + batch_size]
            hidden = features.hidden[index].to(device, words.dtype)
            logits = head(hidden, features.types[index].to(device), words).float()
            if len(excluded):
                logits[:, excluded] = -1e4
            loss = F.cross_entropy(logits, features.targets[index].to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(parameters, 1.0)
            optimizer.step()
            scheduler.step()
            total += float(loss.detach()) * len(index)
            count += len(index)
        line = {"epoch": epoch + 1, "train_loss": total / max(count, 1)}
        if validation is not None:
            line.update(evaluate_head(model, validation, excluded_ids))
        history.append(line)
        logger.info("type head epoch %d: %s", epoch + 1, line)
    head.eval()
    return history


@torch.no_grad()
def evaluate_head(model, features: MaskedFeatures, excluded_ids=(), batch_size: int = 1024) -> dict:
    """Validation loss and top-1 of the head with each token's true type."""
    device = next(model.parameters()).device
    words = model.word_embeddings
    excluded = torch.tensor(list(excluded_ids), dtype=torch.long, device=device)
    total, top1 = 0.0, 0
    for start in range(0, len(features), batch_size):
        hidden = features.hidden[start:start + batch_size].to(device, words.dtype)
        target = features.targets[start:start + batch_size].to(device)
        logits = model.type_mlm(hidden, features.types[start:start + batch_size].to(device), words).float()
        if len(excluded):
            logits[:, excluded] = -1e4
        total += float(F.cross_entropy(logits, target, reduction="sum"))
        top1 += int((logits.argmax(-1) == target).sum())
    return {"val_loss": total / max(len(features), 1), "val_top1": top1 / max(len(features), 1)}


# -- train.py type-head: re-fit the head of any checkpoint ---------------------------------------------------
def refit_checkpoint(checkpoint, output, epochs: int = 20, learning_rate: float = 2e-3, seed: int = 0,
                     data_dir=None, masked=None, export_onnx: bool = True) -> dict:
    """A checkpoint's encoder and classifier unchanged, its type-conditioned head replaced by one with the
    per-type vocabulary bias, fitted on the frozen encoder with the study's persona sentences (training part);
    saved to ``output`` with the type effect measured on the held-out part before and after."""
    import json
    import shlex
    import shutil
    import sys
    from pathlib import Path

    from mbti_core import type_effect
    from mbti_core.data.seed_study import load_study_masked
    from mbti_core.encoder import load_tokenizer
    from mbti_core.modeling import MBTIModel

    source, output = Path(checkpoint), Path(output)
    study = load_study_masked(masked, data_dir=data_dir)
    tokenizer = load_tokenizer(source)
    model = MBTIModel.from_pretrained(source)
    before = (type_effect.measure(model, tokenizer, study.validation, study.train, model.heads_config.max_length)
              if model.type_mlm is not None else None)
    torch.manual_seed(seed)
    model.heads_config.type_vocab_bias = True
    model.type_mlm = None
    model.add_type_mlm_head()
    train = type_effect.masked_features(model, tokenizer, study.train, model.heads_config.max_length)
    validation = type_effect.masked_features(model, tokenizer, study.validation, model.heads_config.max_length)
    history = fit_type_head(model, train, epochs=epochs, learning_rate=learning_rate, seed=seed,
                            excluded_ids=type_effect.special_ids(tokenizer), validation=validation)
    after = type_effect.measure(model, tokenizer, study.validation, study.train, model.heads_config.max_length,
                                features=validation)
    if output.resolve() != source.resolve():
        output.mkdir(parents=True, exist_ok=True)
        for item in source.iterdir():  # metrics, curves, command files travel with the weights
            if item.is_file() and not item.name.endswith((".onnx", ".safetensors")) and item.name != "onnx_export.json":
                shutil.copy2(item, output / item.name)
    for stale in list(output.glob("*.onnx")) + list(output.glob("onnx_export.json")):
        stale.unlink()
    model.save_pretrained(output, tokenizer=tokenizer)
    record = {"source": str(source), "epochs": epochs, "learning_rate": learning_rate, "seed": seed,
              "history": history, "type_effect_before": before, "type_effect_after": after}
    if export_onnx:
        from mbti_core.onnx_export import export_onnx as export

        record["onnx_max_abs_diff"] = export(output)["max_abs_diff"]
    (output / "type_head_refit.json").write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    # The command that re-fitted the head, after the one that trained the rest (train_command.txt travels along).
    with open(output / "train_command.txt", "a", encoding="utf-8") as handle:
        handle.write(" ".join(shlex.quote(a) for a in ["python", *sys.argv]) + "\n")
    return record


def add_arguments(parser) -> None:
    parser.add_argument("--checkpoint", required=True, help="MFT (or FT) checkpoint folder whose encoder is kept")
    parser.add_argument("--output", required=True, help="where the checkpoint with the re-fitted head is written")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--masked", default=None, help="phase-2 file in the study's CSV format (default: the study's)")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--no-export-onnx", action="store_true")


def main(args) -> int:
    import json

    record = refit_checkpoint(args.checkpoint, args.output, args.epochs, args.learning_rate, args.seed,
                              args.data_dir, args.masked, not args.no_export_onnx)
    summary = {k: record[k] for k in ("source", "epochs", "seed")}
    for key in ("type_effect_before", "type_effect_after"):
        effect = record[key]
        summary[key] = None if effect is None else {k: effect[k] for k in ("rows", "logprob_gap", "true_type_top1", "top1_true")}
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    return 0
