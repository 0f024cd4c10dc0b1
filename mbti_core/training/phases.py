"""The three MFT phases: their datasets, collators, evaluation and one ``run_phase*`` function each.

- Phase 1: type-description sentences -> the classifier (label = the four axes of the described type).
- Phase 2: masked sentences of training-split writers + the writer's type -> the type-conditioned MLM.
- Phase 3: cafe texts of training-split writers -> the classifier.

Every phase trains with the shared loop (``mbti_core.training.loop.train``) and measures with
``mbti_core.evaluation``; this module only turns data into batches and batches into probabilities.
"""
from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from mbti_core import evaluation
from mbti_core.encoding import encode_masked_rows
from mbti_core.modeling import MBTIModel, encode_texts
from mbti_core.training.loop import LoopConfig, train
from mbti_core.types import type_labels

logger = logging.getLogger(__name__)

def pad_batch(sequences: list[list[int]], pad_id: int):
    width = max(len(s) for s in sequences)
    input_ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, sequence in enumerate(sequences):
        input_ids[row, : len(sequence)] = torch.tensor(sequence)
        attention[row, : len(sequence)] = 1
    return input_ids, attention


# -- classification (phases 1 and 3) ------------------------------------------------------------------------
class TextLabelDataset(Dataset):
    """Texts with their [N, 4] axis labels and optional per-example weights."""

    def __init__(self, texts, labels, weights=None):
        self.texts = [str(t) for t in texts]
        self.labels = np.asarray(labels, dtype=np.float32).reshape(len(self.texts), 4)
        self.weights = None if weights is None else np.asarray(weights, dtype=np.float32)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, weights=None) -> "TextLabelDataset":
        return cls(frame["text"].tolist(), type_labels(frame["type"].tolist()), weights)

    def __len__(self) -> int:
        return len(self.texts)

    def __getitem__(self, index: int) -> dict:
        item = {"text": self.texts[index], "labels": self.labels[index]}
        if self.weights is not None:
            item["weight"] = float(self.weights[index])
        return item


def token_lengths(tokenizer, texts: list[str], max_length: int) -> list[int]:
    """Token count of each text after truncation (what the collator will pad to)."""
    encoded = tokenizer(list(texts), truncation=True, max_length=max_length, return_attention_mask=False,
                        return_token_type_ids=False)
    return [len(ids) for ids in encoded["input_ids"]]


class ClassificationCollator:
    """Tokenises a batch of texts (dynamic padding, truncation at max_length)."""

    def __init__(self, tokenizer, max_length: int = 128):
        self.tokenizer = tokenizer
        self.max_length = max_length

    def __call__(self, items: list[dict]) -> dict:
        encoded = self.tokenizer(
            [item["text"] for item in items], padding=True, truncation=True, max_length=self.max_length,
            return_tensors="pt", return_token_type_ids=False,
        )
        batch = {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"],
                 "labels": torch.tensor(np.stack([item["labels"] for item in items]))}
        if "weight" in items[0]:
            batch["weights"] = torch.tensor([item["weight"] for item in items], dtype=torch.float32)
        return batch


def writer_weights(writers, scheme: str = "none") -> np.ndarray | None:
    """Per-example weights so prolific writers do not dominate: 'inverse' gives every writer the same total
    weight, 'sqrt' weights a text by 1/sqrt(texts of its writer); normalised to mean 1. 'none' -> None."""
    if scheme == "none":
        return None
    counts = pd.Series(writers).map(pd.Series(writers).value_counts()).to_numpy(dtype=np.float64)
    if scheme == "inverse":
        weights = 1.0 / counts
    elif scheme == "sqrt":
        weights = 1.0 / np.sqrt(counts)
    else:
        raise ValueError(f"writer weighting must be none, inverse or sqrt, not {scheme!r}")
    return (weights / weights.mean()).astype(np.float32)


def cap_per_writer(frame: pd.DataFrame, max_texts: int | None, seed: int = 0) -> pd.DataFrame:
    """At most ``max_texts`` random texts per writer (None: all)."""
    if not max_texts:
        return frame
    shuffled = frame.sample(frac=1.0, random_state=seed)
    return shuffled.groupby("writer", sort=False).head(max_texts).sort_index()


@torch.no_grad()
def predict_axis_logits(model, tokenizer, texts, max_length: int = 128, batch_size: int = 128,
                        device=None) -> np.ndarray:
    """Axis logits [N, 4] for texts, batched by length (sorted) so padding stays small. Tokenised by
    ``modeling.encode_texts``, the encoding path of the served predictors, so reported and served numbers share
    code (the texts are the cached, already masked ones)."""
    texts = [str(t) for t in texts]
    device = device or next(model.parameters()).device
    order = np.argsort([len(t) for t in texts])
    logits = np.zeros((len(texts), 4), dtype=np.float32)
    was_training = model.training
    model.eval()
    for start in range(0, len(texts), batch_size):
        index = order[start:start + batch_size]
        encoded, _ = encode_texts(tokenizer, [texts[i] for i in index], max_length, device)
        output = model(**encoded)
        logits[index] = output.logits.float().cpu().numpy()
    model.train(was_training)
    return logits


def process_share(accelerator, n: int) -> np.ndarray:
    """This process's contiguous share of ``range(n)`` (shares differ in size by at most one)."""
    return np.array_split(np.arange(n), accelerator.num_processes)[accelerator.process_index]


def gathered(accelerator, values: list) -> list:
    """Every process's ``values`` (a list), concatenated in process order, on every process."""
    if accelerator.num_processes == 1:
        return values
    from accelerate.utils import gather_object

    return gather_object(values)


def classifier_eval_fn(tokenizer, frame: pd.DataFrame, max_length: int, prefix: str = "val", batch_size: int = 128):
    """An eval_fn for the loop: validation loss and headline metrics after every epoch (the curves). Each process
    scores its share of the texts; the shares are gathered, so N processes do the work once, not N times."""

    def eval_fn(model, accelerator, epoch) -> dict:
        share = process_share(accelerator, len(frame))
        logits = predict_axis_logits(model, tokenizer, frame["text"].iloc[share], max_length, batch_size,
                                     accelerator.device)
        probs = evaluation.sigmoid(np.concatenate(gathered(accelerator, [logits])))
        metrics = evaluation.classification_metrics(frame, probs, by_writer=False)
        keys = ("loss", "mean_accuracy", "mean_macro_f1", "type_accuracy")
        return {f"{prefix}_{key}": metrics[key] for key in keys}

    return eval_fn


def _accuracy_metric(outputs, batch) -> dict:
    """Per-batch axis accuracy for the step logs (training curve)."""
    predicted = (outputs.logits.detach() > 0).float()
    return {"accuracy": (predicted == batch["labels"].to(predicted.dtype)).float().mean()}


# -- phase 2: type-conditioned MLM --------------------------------------------------------------------------
class MaskedSentenceDataset(Dataset):
    """Rows of a masked-sentence file, tokenised (``encoding.encode_masked_rows``): one mask token per piece of
    the masked word, its pieces as labels, and the writer's type index. Unusable rows are counted in ``skipped``."""

    def __init__(self, rows, tokenizer, max_length: int = 128):
        examples, _, self.skipped = encode_masked_rows(rows, tokenizer, max_length)
        self.examples: list[tuple[list[int], list[int], int]] = []
        for example in examples:
            labels = [-100] * len(example.input_ids)
            for position, piece in zip(example.mask_positions, example.targets):
                labels[position] = piece
            self.examples.append((example.input_ids, labels, example.type_index))

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, index: int):
        return self.examples[index]


class MaskedSentenceCollator:
    def __init__(self, tokenizer):
        self.pad_id = tokenizer.pad_token_id

    def __call__(self, items) -> dict:
        input_ids, attention = pad_batch([ids for ids, _, _ in items], self.pad_id)
        labels = torch.full_like(input_ids, -100)
        for row, (_, row_labels, _) in enumerate(items):
            labels[row, : len(row_labels)] = torch.tensor(row_labels)
        types = torch.tensor([type_index for _, _, type_index in items], dtype=torch.long)
        return {"input_ids": input_ids, "attention_mask": attention, "type_ids": types, "labels": labels}


def _mlm_accuracy(outputs, batch) -> dict:
    targets = batch["labels"][batch["labels"] != -100]
    return {"accuracy": (outputs.logits.argmax(-1) == targets).float().mean()}


def type_mlm_eval_fn(dataset: MaskedSentenceDataset, tokenizer, batch_size: int = 128):
    """Held-out masked sentences: loss and top-1 / top-5 accuracy of the masked pieces."""
    collate = MaskedSentenceCollator(tokenizer)

    def eval_fn(model, accelerator, epoch) -> dict:
        total_loss, total, top1, top5 = 0.0, 0, 0, 0
        share = process_share(accelerator, len(dataset)).tolist()  # each process its share; the sums are gathered
        for start in range(0, len(share), batch_size):
            batch = collate([dataset[i] for i in share[start:start + batch_size]])
            batch = {k: v.to(accelerator.device) for k, v in batch.items()}
            output = model(**batch)
            targets = batch["labels"][batch["labels"] != -100]
            total_loss += float(output.loss) * len(targets)
            total += len(targets)
            best = output.logits.topk(min(5, output.logits.shape[-1]), dim=-1).indices
            top1 += int((best[:, 0] == targets).sum())
            top5 += int((best == targets[:, None]).any(-1).sum())
        sums = gathered(accelerator, [(total_loss, total, top1, top5)])
        total_loss, total, top1, top5 = (sum(values) for values in zip(*sums))
        return {"val_loss": total_loss / max(total, 1), "val_top1": top1 / max(total, 1), "val_top5": top5 / max(total, 1)}

    return eval_fn


# -- the phases ---------------------------------------------------------------------------------------------
def run_phase1(model: MBTIModel, tokenizer, descriptions: pd.DataFrame, loop: LoopConfig, max_length: int = 128,
               val_frame: pd.DataFrame | None = None) -> list[dict]:
    """Phase 1: the classifier on type-description sentences (validation: cafe validation texts, if given)."""
    dataset = TextLabelDataset.from_frame(descriptions)
    eval_fn = classifier_eval_fn(tokenizer, val_frame, max_length) if val_frame is not None and len(val_frame) else None
    lengths = token_lengths(tokenizer, dataset.texts, max_length) if loop.group_by_length else None
    return train(model.as_classifier(), dataset, loop, collate_fn=ClassificationCollator(tokenizer, max_length),
                 eval_fn=eval_fn, batch_metrics=_accuracy_metric, lengths=lengths)


def split_masked_rows(rows: list[dict], val_fraction: float = 0.05, seed: int = 0) -> tuple[list[dict], list[dict]]:
    """A held-out slice of the masked sentences for phase 2's validation curve."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(rows))
    n_val = int(math.ceil(len(rows) * val_fraction)) if val_fraction > 0 and len(rows) > 1 else 0
    n_val = min(n_val, len(rows) - 1)
    return [rows[i] for i in order[n_val:]], [rows[i] for i in order[:n_val]]


def run_phase2(model: MBTIModel, tokenizer, rows: list[dict], loop: LoopConfig, max_length: int = 128,
               val_fraction: float = 0.05, val_rows: list[dict] | None = None) -> tuple[list[dict], dict]:
    """Phase 2: the type-conditioned MLM on masked sentences, encoder and head together. Validation: ``val_rows``
    when given (the study's hash split), else a random ``val_fraction`` of ``rows``. Returns (history, summary)."""
    if val_rows is None:
        rows, val_rows = split_masked_rows(rows, val_fraction, seed=0)
    train_set = MaskedSentenceDataset(rows, tokenizer, max_length)
    val_set = MaskedSentenceDataset(val_rows, tokenizer, max_length)
    summary = {"rows": len(rows) + len(val_rows), "train_examples": len(train_set), "val_examples": len(val_set),
               "skipped": {k: train_set.skipped[k] + val_set.skipped[k] for k in train_set.skipped}}
    if len(train_set) == 0:
        raise ValueError(f"phase 2 has no usable masked sentences: {summary}")
    logger.info("phase 2 data: %s", summary)
    if loop.epochs <= 0 and not loop.max_steps:
        return [], summary  # the head alone (training.type_head) was the whole of phase 2
    eval_fn = type_mlm_eval_fn(val_set, tokenizer) if len(val_set) else None
    history = train(model.as_type_mlm(), train_set, loop, collate_fn=MaskedSentenceCollator(tokenizer),
                    eval_fn=eval_fn, batch_metrics=_mlm_accuracy)
    return history, summary


def run_phase3(model: MBTIModel, tokenizer, train_frame: pd.DataFrame, loop: LoopConfig, max_length: int = 128,
               val_frame: pd.DataFrame | None = None, writer_weighting: str = "none") -> list[dict]:
    """Phase 3: the classifier on community texts, optionally weighted per writer."""
    weights = writer_weights(train_frame["writer"].tolist(), writer_weighting) if "writer" in train_frame else None
    dataset = TextLabelDataset.from_frame(train_frame, weights)
    eval_fn = classifier_eval_fn(tokenizer, val_frame, max_length) if val_frame is not None and len(val_frame) else None
    lengths = token_lengths(tokenizer, dataset.texts, max_length) if loop.group_by_length else None
    return train(model.as_classifier(), dataset, loop, collate_fn=ClassificationCollator(tokenizer, max_length),
                 eval_fn=eval_fn, batch_metrics=_accuracy_metric, lengths=lengths)
