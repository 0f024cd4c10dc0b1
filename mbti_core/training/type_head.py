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
