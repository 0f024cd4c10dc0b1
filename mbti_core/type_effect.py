"""How much the MBTI type changes a type-conditioned masked LM's prediction, measured on masked sentences.

For every row (a sentence with its masked word and the type it was written as), the encoder runs once; the
type-conditioned head then scores the masked word's pieces under each of the 16 types. From those scores:

- ``top1_true`` / ``top5_true``: masked-token accuracy with the true type; ``top1_other`` / ``top5_other``: the
  same averaged over the 15 other types (per token).
- ``logprob_gap`` (± ``logprob_gap_se``): per row, log p(span | true type) minus the mean over the 15 other
  types, summed over the span's pieces, in nats; the mean over rows and its standard error.
- ``true_type_top1`` / ``true_type_top4`` / ``true_type_mean_rank``: where the true type ranks among the 16
  when the types are ranked by p(span | type) (chance: 1/16, 4/16, 8.5).
- ``baseline_word_frequency``: the same ranking from per-type word counts of the training rows (no model,
  no context), so the model's ranking can be read against a vocabulary-only rule.

Special tokens are excluded from the vocabulary, as in the served fill-mask. ``MaskedFeatures`` holds the
encoder's hidden states at the masked positions, so a head can be scored (or fitted: ``training.type_head``)
on a frozen encoder without running it again.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np
import torch

from mbti_core.encoding import encode_masked_rows
from mbti_core.types import TYPE_INDEX, TYPES

CHANCE = {"true_type_top1": 1 / len(TYPES), "true_type_top4": 4 / len(TYPES), "true_type_mean_rank": (len(TYPES) + 1) / 2}


@dataclass
class MaskedFeatures:
    """Encoder hidden states at every masked position of the usable rows, one line per masked token."""

    hidden: torch.Tensor      # [tokens, hidden]
    targets: torch.Tensor     # [tokens] the piece to predict
    types: torch.Tensor       # [tokens] the row's type index
    row: torch.Tensor         # [tokens] index into ``rows`` (the usable rows)
    rows: list[dict]          # the usable rows, in order
    skipped: dict[str, int]

    def __len__(self) -> int:
        return int(self.targets.shape[0])


@torch.no_grad()
def masked_features(model, tokenizer, rows, max_length: int = 128, batch_size: int = 64) -> MaskedFeatures:
    """Run ``model``'s encoder once over the masked rows and keep the hidden states at the masks."""
    examples, kept, skipped = encode_masked_rows(rows, tokenizer, max_length)
    if not examples:
        raise ValueError(f"no usable masked sentences (skipped: {skipped})")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    hidden, targets, types, row_of = [], [], [], []
    order = np.argsort([len(e.input_ids) for e in examples], kind="stable")
    for start in range(0, len(order), batch_size):
        batch = [int(i) for i in order[start:start + batch_size]]
        width = max(len(examples[i].input_ids) for i in batch)
        ids = torch.full((len(batch), width), tokenizer.pad_token_id, dtype=torch.long)
        attention = torch.zeros_like(ids)
        for r, i in enumerate(batch):
            ids[r, : len(examples[i].input_ids)] = torch.tensor(examples[i].input_ids)
            attention[r, : len(examples[i].input_ids)] = 1
        states = model.hidden_states(ids.to(device), attention.to(device)).float().cpu()
        for r, i in enumerate(batch):
            example = examples[i]
            hidden.append(states[r, example.mask_positions])
            targets += example.targets
            types += [example.type_index] * len(example.targets)
            row_of += [i] * len(example.targets)
    model.train(was_training)
    return MaskedFeatures(torch.cat(hidden), torch.tensor(targets), torch.tensor(types), torch.tensor(row_of),
                          [rows[i] for i in kept], skipped)


def special_ids(tokenizer) -> list[int]:
    return sorted(set(tokenizer.all_special_ids))


@torch.no_grad()
def type_scores(model, features: MaskedFeatures, excluded_ids, batch_size: int = 512) -> dict[str, torch.Tensor]:
    """For every masked token: log p(target | type) for all 16 types [tokens, 16], and the target's rank
    (0 = most probable) under each type [tokens, 16]."""
    device = next(model.parameters()).device
    excluded = torch.tensor(list(excluded_ids), dtype=torch.long, device=device)
    logprob = torch.zeros(len(features), len(TYPES))
    rank = torch.zeros(len(features), len(TYPES), dtype=torch.long)
    for start in range(0, len(features), batch_size):
        hidden = features.hidden[start:start + batch_size].to(device)
        target = features.targets[start:start + batch_size].to(device)
        for t in range(len(TYPES)):
            type_ids = torch.full((hidden.shape[0],), t, dtype=torch.long, device=device)
            logits = model.type_mlm_logits(hidden.to(model.word_embeddings.dtype), type_ids).float()
            logits[:, excluded] = -math.inf
            log_probs = torch.log_softmax(logits, dim=-1)
            true = log_probs.gather(1, target[:, None])
            logprob[start:start + len(target), t] = true[:, 0].cpu()
            rank[start:start + len(target), t] = (log_probs > true).sum(-1).cpu()
    return {"logprob": logprob, "rank": rank}


def _rank_stats(scores: np.ndarray, true_index: np.ndarray) -> dict:
    """Rank of the true type among the columns of ``scores`` [rows, 16] (higher = more likely), ties shared
    evenly (expected rank under a random tie-break)."""
    true = scores[np.arange(len(scores)), true_index][:, None]
    higher = (scores > true).sum(1)
    ties = (scores == true).sum(1) - 1
    mean_rank = 1 + higher + ties / 2
    top1 = np.where(higher == 0, 1.0 / (1 + ties), 0.0)
    # P(rank <= 4) under a random order of the tied types.
    top4 = np.array([min(1.0, max(0.0, (4 - h) / (1 + t))) for h, t in zip(higher, ties)])
    return {"true_type_top1": float(top1.mean()), "true_type_top4": float(top4.mean()),
            "true_type_mean_rank": float(mean_rank.mean())}


def effect_metrics(features: MaskedFeatures, scores: dict[str, torch.Tensor]) -> dict:
    logprob, rank = scores["logprob"].double().numpy(), scores["rank"].numpy()
    true_type = features.types.numpy()
    tokens = np.arange(len(true_type))
    is_true = np.zeros_like(logprob, dtype=bool)
    is_true[tokens, true_type] = True
    true_rank, other_rank = rank[tokens, true_type], rank[~is_true].reshape(len(tokens), -1)
    # Sum the pieces of each row's span.
    n_rows = len(features.rows)
    row_logprob = np.zeros((n_rows, len(TYPES)))
    np.add.at(row_logprob, features.row.numpy(), logprob)
    row_type = np.array([TYPE_INDEX[r["type"]] for r in features.rows])
    true_row = row_logprob[np.arange(n_rows), row_type]
    others = (row_logprob.sum(1) - true_row) / (len(TYPES) - 1)
    gap = true_row - others
    return {
        "rows": n_rows, "tokens": int(len(tokens)),
        "top1_true": float((true_rank == 0).mean()), "top5_true": float((true_rank < 5).mean()),
        "top1_other": float((other_rank == 0).mean()), "top5_other": float((other_rank < 5).mean()),
        "logprob_gap": float(gap.mean()), "logprob_gap_se": float(gap.std(ddof=1) / math.sqrt(n_rows)) if n_rows > 1 else 0.0,
        **_rank_stats(row_logprob, row_type),
    }


def word_frequency_baseline(train_rows, eval_rows, smoothing: float = 0.5) -> dict:
    """Rank the 16 types for each evaluated row by the smoothed frequency of its masked word among the
    training rows of each type (a per-type word list: no model, no context)."""
    counts = {t: Counter() for t in TYPES}
    for row in train_rows:
        counts[row["type"]][row["token"]] += 1
    vocabulary = len({row["token"] for row in train_rows}) + 1
    totals = {t: sum(c.values()) for t, c in counts.items()}
    scores = np.array([[math.log((counts[t][row["token"]] + smoothing) / (totals[t] + smoothing * vocabulary))
                        for t in TYPES] for row in eval_rows])
    truth = np.array([TYPE_INDEX[row["type"]] for row in eval_rows])
    return {"rows": len(eval_rows), **_rank_stats(scores, truth),
            "rule": f"per-type counts of the masked word in {len(train_rows)} training rows, add-{smoothing} smoothing"}


def measure(model, tokenizer, rows, train_rows=None, max_length: int = 128, features: MaskedFeatures | None = None) -> dict:
    """All the type-effect figures of ``model`` on ``rows`` (and the word-frequency baseline, given training rows)."""
    features = features or masked_features(model, tokenizer, rows, max_length)
    result = effect_metrics(features, type_scores(model, features, special_ids(tokenizer)))
    result["skipped"] = features.skipped
    result["chance"] = CHANCE
    if train_rows:
        result["baseline_word_frequency"] = word_frequency_baseline(train_rows, features.rows)
    return result
