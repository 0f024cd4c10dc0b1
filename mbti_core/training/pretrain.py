"""`python train.py pretrain`: our own small Korean encoder, pretrained as a masked LM, into checkpoints/base/.

Objective: BERT masked-LM on an ELECTRA-small-shaped model (`ElectraForMaskedLM`: hidden 256, 4 layers,
256-d embeddings, 8k WordPiece vocabulary). Why MLM and not ELECTRA replaced-token detection:
- the app's fill-mask view and the masked-token accuracy target need a trained masked-token head on the
  shipped encoder itself; ELECTRA trains that head only on its small generator, and the discriminator we would
  ship has none (it would need a further MLM stage, and the accuracy target would measure the weak generator);
- one network, one loss: no generator/discriminator size ratio or loss weight to tune in GPU jobs that are cut
  off after 10 minutes. Text volume is the limit (~16M tokens), so we pack texts into full 256-token blocks (no
  padding wasted, longer contexts) and make many passes.
Why unfactorised embeddings (embedding size = hidden size) and 8k words: with ELECTRA's 128-d embeddings
projected to 256, our first H100 run stayed a bag-of-words model (loss stuck at ~6.85, 6% masked accuracy;
predictions did not change when the context was shuffled), and on a toy copy-the-left-token task the projected
model did not learn in 1,000 steps while the same model without the projection did in 500. A smaller vocabulary
pays for the wider embeddings: ~10 MiB fp16 (model_size_mib), so base + mft + ft + sentiment fit 48 MiB.
The vocabulary projection runs only at the masked positions (MaskedPositionsLM): the same loss, far less work.
The shipped folder loads as `AutoModelForMaskedLM` (ElectraForMaskedLM, fill-mask head included) and as
`AutoModel` (ElectraModel) for every downstream phase, exactly like KcELECTRA would.

Resume: the state lives in --run-dir (default runs/pretrain/); re-run the same command after a cut-off.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from transformers.utils import ModelOutput

from mbti_core import config_args
from mbti_core.config_args import MIXED_PRECISION_CHOICES, add_config_arguments


@dataclass
class PretrainConfig:
    """Defaults reproduce the intended GPU run (one H100, ~6-8 minutes of training)."""
    output_dir: str = "checkpoints/base"       # the shipped HF folder
    run_dir: str = "runs/pretrain"             # tokenizer, packed blocks, resumable loop state (git-ignored)
    report: str = "reports/pretrain.json"      # the JSON report
    base_model: str | None = None              # continue pretraining this encoder (its tokenizer is kept)
    data_dir: str | None = None                # raw data directory (default: MBTI_DATA_DIR or ../shared/data)
    # tokenizer
    # Four fine-tuned copies ship beside the base (mft, ft, sentiment): at ~10 MiB each they fit 48 MiB.
    vocab_size: int = 8_000                    # WordPiece vocabulary
    # model (ElectraForMaskedLM; ignored with base_model). embedding_size < hidden_size (ELECTRA's factorised
    # embeddings) trained a bag-of-words model here: see the module docstring.
    embedding_size: int = 256
    hidden_size: int = 256
    num_layers: int = 4
    num_heads: int = 4
    intermediate_size: int = 1024
    max_position_embeddings: int = 512
    # data
    block_size: int = 256                      # packed sequence length, [CLS] ... [SEP] included
    mlm_probability: float = 0.15
    max_texts: int | None = None               # a subset of the pretraining text (smoke runs)
    # optimisation (the shared loop)
    batch_size: int = 256                      # per device
    gradient_accumulation_steps: int = 1
    learning_rate: float = 7e-4
    weight_decay: float = 0.01
    warmup_steps: int = 1000                   # optimizer steps, not seconds: compilation cannot eat them
    max_steps: int = 10_000                    # ~650M tokens, ~45 passes over the text
    time_budget_minutes: float | None = None   # fewer steps (the decay re-planned) if max_steps would not fit
    max_grad_norm: float = 1.0
    mixed_precision: str = "auto"
    seed: int = 42
    log_every: int = 100
    save_every: int = 1000
    progress: bool = True                      # a progress bar (else logs only)
    # evaluation
    eval_texts: int = 5_000                    # cafe validation/test texts for masked-token accuracy
    epoch_eval_texts: int = 1_000              # the cheaper per-epoch validation check
    epoch_eval_every: int = 5                  # ... run after every this many epochs
    eval_batch_size: int = 128
    nsmc: bool = True                          # fine-tune on NSMC after pretraining and report accuracy
    nsmc_train: int = 50_000
    nsmc_test: int = 20_000                    # balanced; the test split has ~10k negatives
    extra: dict = field(default_factory=dict)


def tiny_overrides() -> dict:
    """A tiny CPU config that exercises every stage in about a minute."""
    return dict(
        run_dir="runs/pretrain-tiny", output_dir="runs/pretrain-tiny/base", report="runs/pretrain-tiny/pretrain.json",
        vocab_size=4000, embedding_size=64, hidden_size=64, num_layers=2, num_heads=2, intermediate_size=128,
        max_position_embeddings=128, block_size=64, max_texts=20_000, batch_size=32, learning_rate=1e-3,
        warmup_steps=20, max_steps=200, log_every=20, save_every=100, eval_texts=500, epoch_eval_texts=200,
        eval_batch_size=64, nsmc_train=2_000, nsmc_test=1_000, epoch_eval_every=1,
    )


def model_size_mib(config) -> float:
    """fp16 size of ElectraForMaskedLM for an ElectraConfig, from an actual (meta-device) instantiation."""
    from transformers import ElectraForMaskedLM

    with torch.device("meta"):
        model = ElectraForMaskedLM(config)
    # parameters() yields the tied output weights once, as save_pretrained stores them.
    count = sum(p.numel() for p in model.parameters())
    return count * 2 / 2**20


def electra_config(cfg: PretrainConfig, vocab_size: int, pad_token_id: int = 0):
    from transformers import ElectraConfig

    return ElectraConfig(
        vocab_size=vocab_size,
        embedding_size=cfg.embedding_size,
        hidden_size=cfg.hidden_size,
        num_hidden_layers=cfg.num_layers,
        num_attention_heads=cfg.num_heads,
        intermediate_size=cfg.intermediate_size,
        max_position_embeddings=cfg.max_position_embeddings,
        pad_token_id=pad_token_id,
        tie_word_embeddings=True,
    )


# ---------------------------------------------------------------- data

def pack_texts(tokenizer, texts, block_size: int, batch: int = 2000) -> np.ndarray:
    """Tokenise texts, join them with [SEP] and cut the stream into [CLS] + (block_size - 2) tokens + [SEP]
    blocks. Returns an int32 array [n_blocks, block_size]; the ragged tail is dropped."""
    if block_size < 8:
        raise ValueError("block_size must be at least 8")
    body = block_size - 2
    sep = tokenizer.sep_token_id
    pieces: list[np.ndarray] = []
    for start in range(0, len(texts), batch):
        # verbose=False: long texts are fine here (they are cut into blocks), no "too long" warning
        encoded = tokenizer(list(texts[start:start + batch]), add_special_tokens=False, verbose=False)["input_ids"]
        for ids in encoded:
            if ids:
                pieces.append(np.asarray(ids + [sep], dtype=np.int32))
    if not pieces:
        raise ValueError("no tokens to pack: the text list is empty")
    stream = np.concatenate(pieces)
    n_blocks = len(stream) // body
    if n_blocks == 0:
        raise ValueError(f"only {len(stream)} tokens: fewer than one block of {block_size}")
    blocks = stream[: n_blocks * body].reshape(n_blocks, body)
    cls = np.full((n_blocks, 1), tokenizer.cls_token_id, dtype=np.int32)
    end = np.full((n_blocks, 1), sep, dtype=np.int32)
    return np.concatenate([cls, blocks, end], axis=1)


class BlockDataset(torch.utils.data.Dataset):
    def __init__(self, blocks: np.ndarray):
        self.blocks = blocks

    def __len__(self):
        return len(self.blocks)

    def __getitem__(self, index):
        return {"input_ids": torch.from_numpy(self.blocks[index].astype(np.int64))}


class MLMCollator:
    """Stack packed blocks and mask them with DataCollatorForLanguageModeling's 80/10/10 rule; the
    special-token mask is computed with one vectorised isin (the stock per-row Python path is slow)."""

    def __init__(self, tokenizer, mlm_probability: float = 0.15, *, mask_replace_prob: float = 0.8,
                 random_replace_prob: float = 0.1, seed: int | None = None):
        from transformers import DataCollatorForLanguageModeling

        self.masker = DataCollatorForLanguageModeling(
            tokenizer, mlm_probability=mlm_probability, mask_replace_prob=mask_replace_prob,
            random_replace_prob=random_replace_prob,
        )
        if seed is not None:  # a fixed masking for evaluation; training uses the (checkpointed) global RNG
            self.masker.generator = torch.Generator().manual_seed(seed)
        self.special_ids = torch.tensor(sorted(set(tokenizer.all_special_ids)))
        self.pad_id = tokenizer.pad_token_id

    def __call__(self, examples):
        input_ids = torch.stack([torch.as_tensor(e["input_ids"]) for e in examples]).long()
        return self.mask(input_ids)

    def mask(self, input_ids, attention_mask=None):
        special = torch.isin(input_ids, self.special_ids)
        masked, labels = self.masker.torch_mask_tokens(input_ids.clone(), special_tokens_mask=special)
        if attention_mask is None:
            attention_mask = (input_ids != self.pad_id).long()
        return {"input_ids": masked, "attention_mask": attention_mask, "labels": labels}


@dataclass
class MaskedPositionsOutput(ModelOutput):
    """MaskedPositionsLM's output with its accuracy as a declared field: under several processes DDP rebuilds the
    output from its fields, and an extra key on a MaskedLMOutput broke that (found by the two-process test)."""

    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None
    accuracy: torch.Tensor | None = None


class MaskedPositionsLM(torch.nn.Module):
    """Trains a *ForMaskedLM with the vocabulary projection run only at the masked positions (~15% of tokens):
    the same cross-entropy as the full forward, without the [batch x 256 x vocab] logits. Returns the loss, the
    logits of the selected positions and their top-1 accuracy (logged by the loop). The wrapped model is trained
    in place and saved as usual."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        if hasattr(model, "generator_predictions"):       # ELECTRA
            self.head = lambda h: model.generator_lm_head(model.generator_predictions(h))
        elif hasattr(model, "cls"):                       # BERT
            self.head = model.cls
        elif hasattr(model, "lm_head"):                   # RoBERTa and friends
            self.head = model.lm_head
        else:
            raise ValueError(f"{type(model).__name__}: no known masked-LM head to run on masked positions")

    def forward(self, input_ids, attention_mask=None, labels=None):
        hidden = self.model.base_model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        selected = labels != -100
        targets = labels[selected]
        logits = self.head(hidden[selected])
        loss = torch.nn.functional.cross_entropy(logits.float(), targets)
        return MaskedPositionsOutput(loss=loss, logits=logits,
                                     accuracy=(logits.detach().argmax(-1) == targets).float().mean())


@torch.no_grad()
def evaluate_masked_lm(model, tokenizer, texts, *, max_length: int = 256, batch_size: int = 128,
                       mlm_probability: float = 0.15, seed: int = 0, device=None) -> dict:
    """Masked-token top-1 accuracy on held-out texts, each text on its own (as the app sees a message).

    The same 15% of tokens (fixed seed) are scored twice: all replaced by [MASK] ("accuracy", the fill-mask
    setting, the headline figure) and with BERT's 80/10/10 corruption ("accuracy_80_10_10", which is easier
    because 10% of the targets are left visible)."""
    model.eval()
    device = device or next(model.parameters()).device
    results = {}
    for name, mask_prob, random_prob in (("accuracy", 1.0, 0.0), ("accuracy_80_10_10", 0.8, 0.1)):
        collator = MLMCollator(tokenizer, mlm_probability, mask_replace_prob=mask_prob,
                               random_replace_prob=random_prob, seed=seed)
        correct, total, loss_sum = 0, 0, 0.0
        for start in range(0, len(texts), batch_size):
            enc = tokenizer(list(texts[start:start + batch_size]), truncation=True, max_length=max_length,
                            padding=True, return_tensors="pt")
            batch = collator.mask(enc["input_ids"], enc["attention_mask"])
            batch = {k: v.to(device) for k, v in batch.items()}
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            selected = batch["labels"] != -100
            if selected.any():
                chosen = logits[selected].float()
                targets = batch["labels"][selected]
                correct += int((chosen.argmax(-1) == targets).sum())
                total += int(selected.sum())
                loss_sum += float(torch.nn.functional.cross_entropy(chosen, targets, reduction="sum"))
        results[name] = correct / max(total, 1)
        if name == "accuracy":
            results["loss"] = loss_sum / max(total, 1)
            results["masked_tokens"] = total
    results["texts"] = len(texts)
    return results


def cafe_eval_texts(split: str, n: int, data_dir=None, seed: int = 0) -> list[str]:
    """n cafe texts of one writer-disjoint split (mention-masked by the data layer), a fixed sample."""
    from mbti_core.data import load_cafe

    cafe = load_cafe(data_dir)
    rows = cafe[cafe["split"] == split]
    if len(rows) > n:
        rows = rows.sample(n=n, random_state=seed)
    return rows["text"].tolist()


# ---------------------------------------------------------------- stages

def prepare_tokenizer(cfg: PretrainConfig, texts):
    """The base model's tokenizer, or ours: trained once into run_dir/tokenizer and reused on resume."""
    from mbti_core import encoder
    from mbti_core.tokenizer import load_tokenizer, save_tokenizer, train_tokenizer

    if cfg.base_model:
        return encoder.load_tokenizer(cfg.base_model)
    path = Path(cfg.run_dir) / "tokenizer"
    meta = path / "requested.json"
    requested = {"vocab_size": cfg.vocab_size, "texts": len(texts)}
    if (path / "tokenizer.json").is_file():
        if meta.is_file() and json.loads(meta.read_text()) != requested:
            raise ValueError(f"{path} was trained for {json.loads(meta.read_text())}, not {requested}: "
                             "use another --run-dir (or delete that one) to train a new tokenizer")
        return load_tokenizer(path)
    tokenizer = train_tokenizer(texts, cfg.vocab_size)
    save_tokenizer(tokenizer, path)
    meta.write_text(json.dumps(requested) + "\n")
    return tokenizer


def prepare_blocks(cfg: PretrainConfig, tokenizer, texts) -> np.ndarray:
    """Packed blocks, cached in run_dir keyed by the tokenizer, block size and text."""
    digest = hashlib.sha1()
    digest.update(json.dumps(tokenizer.get_vocab(), sort_keys=True).encode())
    digest.update(f"{cfg.block_size}:{len(texts)}:{texts[0] if texts else ''}:{texts[-1] if texts else ''}".encode())
    path = Path(cfg.run_dir) / f"blocks-{digest.hexdigest()[:12]}.npy"
    if path.is_file():
        return np.load(path, allow_pickle=False)
    blocks = pack_texts(tokenizer, texts, cfg.block_size)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(tmp, blocks, allow_pickle=False)
    os.replace(tmp, path)
    return blocks


def build_model(cfg: PretrainConfig, tokenizer):
    from mbti_core import encoder

    if cfg.base_model:
        _, model = encoder.load_masked_lm(cfg.base_model)
        return model
    from transformers import ElectraForMaskedLM

    torch.manual_seed(cfg.seed)
    return ElectraForMaskedLM(electra_config(cfg, len(tokenizer), tokenizer.pad_token_id))


def device_name(accelerator) -> str:
    if accelerator.device.type == "cuda":
        return f"{accelerator.num_processes} x {torch.cuda.get_device_name(accelerator.device)}"
    processes = f" x {accelerator.num_processes} processes" if accelerator.num_processes > 1 else ""
    return f"cpu ({torch.get_num_threads()} threads){processes}"


def run(cfg: PretrainConfig, command: str | None = None, *, texts: list[str] | None = None,
        eval_texts: dict[str, list[str]] | None = None) -> dict:
    """The whole stage: tokenizer -> packed blocks -> MLM training (resumable) -> fp16 folder -> report.

    `texts` / `eval_texts` ({"cafe_validation": [...], "cafe_test": [...]}) replace the data layer's
    pretraining text and cafe evaluation texts (tests, other corpora)."""
    from mbti_core import encoder
    from mbti_core.data import load_pretraining_text
    from mbti_core.tokenizer import describe
    from mbti_core.training.loop import LoopConfig, make_accelerator, read_progress, train

    started = time.perf_counter()
    loop_config = LoopConfig(
        output_dir=str(Path(cfg.run_dir) / "loop"), max_steps=cfg.max_steps, learning_rate=cfg.learning_rate,
        weight_decay=cfg.weight_decay, warmup_steps=cfg.warmup_steps, batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps, max_grad_norm=cfg.max_grad_norm,
        mixed_precision=cfg.mixed_precision, seed=cfg.seed, log_every=cfg.log_every, save_every=cfg.save_every,
        progress=cfg.progress, time_budget_s=cfg.time_budget_minutes * 60 if cfg.time_budget_minutes else None,
    )
    accelerator = make_accelerator(loop_config)
    with accelerator.main_process_first():  # the main process builds the caches, the others read them
        if texts is None:
            texts = load_pretraining_text(cfg.data_dir)["text"].tolist()
        if cfg.max_texts is not None and len(texts) > cfg.max_texts:
            rng = np.random.default_rng(cfg.seed)
            texts = [texts[i] for i in sorted(rng.choice(len(texts), cfg.max_texts, replace=False))]
        tokenizer = prepare_tokenizer(cfg, texts)
        blocks = prepare_blocks(cfg, tokenizer, texts)
        if eval_texts is None:
            eval_texts = {"cafe_validation": cafe_eval_texts("validation", cfg.eval_texts, cfg.data_dir),
                          "cafe_test": cafe_eval_texts("test", cfg.eval_texts, cfg.data_dir)}
        val_texts = next(iter(eval_texts.values()))
    prepare_seconds = time.perf_counter() - started
    accelerator.print(f"{len(texts):,} texts -> {blocks.shape[0]:,} blocks of {cfg.block_size} tokens "
                      f"({blocks.size:,} tokens), vocabulary {len(tokenizer):,}")

    model = build_model(cfg, tokenizer)
    size_mib = sum(p.numel() for p in model.parameters()) * 2 / 2**20
    accelerator.print(f"model: {model.config.model_type}, {sum(p.numel() for p in model.parameters()):,} parameters, "
                      f"~{size_mib:.1f} MiB fp16")
    epoch_texts = val_texts[: cfg.epoch_eval_texts]

    def eval_fn(model, accelerator, epoch):
        # An epoch is short (~250 steps on the GPU config): check every few; the report scores the final model.
        if not accelerator.is_main_process or epoch % cfg.epoch_eval_every:
            return {}
        result = evaluate_masked_lm(accelerator.unwrap_model(model).model, tokenizer, epoch_texts,
                                    max_length=cfg.block_size, batch_size=cfg.eval_batch_size)
        return {"val_masked_accuracy": result["accuracy"], "val_masked_loss": result["loss"]}

    history = train(MaskedPositionsLM(model), BlockDataset(blocks), loop_config,
                    collate_fn=MLMCollator(tokenizer, cfg.mlm_probability), eval_fn=eval_fn, accelerator=accelerator)
    progress = read_progress(loop_config.output_dir) or {}
    steps = progress.get("global_step", 0)
    train_seconds = progress.get("train_seconds", 0.0)
    tokens_seen = steps * cfg.batch_size * cfg.gradient_accumulation_steps * accelerator.num_processes * cfg.block_size

    report: dict = {}
    if accelerator.is_main_process:
        output_dir = Path(cfg.output_dir)
        encoder.save_fp16(model, output_dir, tokenizer)
        command = command or " ".join(shlex.quote(a) for a in sys.argv)
        (output_dir / "pretrain_command.txt").write_text(command + "\n")
        (output_dir / "pretrain_config.json").write_text(json.dumps(asdict(cfg), indent=2) + "\n")
        model.eval()
        evaluation = {
            name: evaluate_masked_lm(model, tokenizer, held_out, max_length=cfg.block_size,
                                     batch_size=cfg.eval_batch_size)
            for name, held_out in eval_texts.items()
        }
        report = {
            "command": command,
            "objective": "masked LM (15% of tokens, 80/10/10), packed blocks",
            "model": {"type": model.config.model_type, "class": type(model).__name__,
                      "parameters": sum(p.numel() for p in model.parameters()),
                      "layers": model.config.num_hidden_layers, "hidden": model.config.hidden_size,
                      "embedding": getattr(model.config, "embedding_size", model.config.hidden_size),
                      "vocab_size": len(tokenizer), "files": encoder.folder_sizes(output_dir)},
            "data": {"texts": len(texts), "blocks": int(blocks.shape[0]), "block_size": cfg.block_size,
                     "corpus_tokens": int(blocks.size)},
            "steps": steps,
            "tokens_seen": tokens_seen,
            "passes_over_text": round(tokens_seen / max(blocks.size, 1), 2),
            "train_seconds": round(train_seconds, 1),
            "prepare_seconds": round(prepare_seconds, 1),
            "tokens_per_second": round(tokens_seen / train_seconds) if train_seconds else None,
            "device": device_name(accelerator),
            "mixed_precision": accelerator.mixed_precision,
            "masked_token_accuracy": evaluation,
            "tokenizer_examples": describe(tokenizer, [
                "내일 모임 시간 딱 지켜야 해. 늦으면 곤란하니까. 할 일은 미리미리 [MASK]야 마음이 편하지 않겠어?",
                "저 [TYPE]인데 이런 거 너무 공감돼요ㅋㅋㅋ 😂",
                "이 영화 진짜 재밌어요 강추!!",
            ]),
            "config": asdict(cfg),
            "history": [{k: v for k, v in row.items() if k != "steps"} for row in history],
            "step_logs": [s for row in history for s in row.get("steps", [])],
        }
        accelerator.print(json.dumps({k: report[k] for k in ("steps", "tokens_seen", "train_seconds",
                                                               "tokens_per_second", "masked_token_accuracy")},
                                     indent=1))
    accelerator.wait_for_everyone()

    if cfg.nsmc:
        from mbti_core.training.nsmc import NsmcConfig, run_nsmc

        nsmc_cfg = NsmcConfig(
            base_model=str(cfg.output_dir), data_dir=cfg.data_dir, n_train=cfg.nsmc_train, n_test=cfg.nsmc_test,
            run_dir=str(Path(cfg.run_dir) / "nsmc"), seed=cfg.seed, progress=cfg.progress,
            mixed_precision=cfg.mixed_precision,
        )
        if cfg.max_texts is not None:  # smoke runs: a smaller, quicker check
            nsmc_cfg.max_length, nsmc_cfg.epochs = min(nsmc_cfg.max_length, cfg.block_size), 1
        nsmc_result = run_nsmc(nsmc_cfg, accelerator=accelerator)
        report["nsmc"] = nsmc_result
    if accelerator.is_main_process:
        report["wall_seconds"] = round(time.perf_counter() - started, 1)
        path = Path(cfg.report)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        accelerator.print(f"wrote {cfg.output_dir} and {path}")
    return report


# ---------------------------------------------------------------- CLI

def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One option per ``PretrainConfig`` field; given ones replace the preset (``--tiny``: ``tiny_overrides``)."""
    add_config_arguments(parser, PretrainConfig, skip=("extra",), names={"nsmc": "--skip-nsmc"},
                         helps={"nsmc": "skip the NSMC fine-tuning check"},
                         choices={"mixed_precision": MIXED_PRECISION_CHOICES}, only_given=True,
                         presets={"--tiny": PretrainConfig(**tiny_overrides())})
    parser.add_argument("--tiny", action="store_true", help="a tiny CPU config for smoke runs (about a minute); "
                                                            "writes under runs/pretrain-tiny unless told otherwise")
    parser.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True,
                        help="continue from the state in the run dir if there is one (default: yes)")


def config_from_args(args) -> PretrainConfig:
    preset = PretrainConfig(**tiny_overrides()) if args.tiny else PretrainConfig()
    cfg = config_args.config_from_args(PretrainConfig, args, base=preset)
    if not args.resume:
        import shutil

        shutil.rmtree(Path(cfg.run_dir) / "loop", ignore_errors=True)
        shutil.rmtree(Path(cfg.run_dir) / "nsmc", ignore_errors=True)
    return cfg


def main(args) -> int:
    run(config_from_args(args))
    return 0
