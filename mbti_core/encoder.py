"""Any Hugging Face encoder by hub id or local folder, tiny test configs, and fp16 safetensors saving.

Everything downstream takes ``--base-model NAME_OR_PATH``: our own ``checkpoints/base``, or with internet (or a
filled HF cache) ``beomi/KcELECTRA-base-v2022``, ``klue/bert-base``, ``bert-base-multilingual-cased``.
Loading tries a local folder first, then the local HF cache (``local_files_only=True``), and only then the hub,
so offline machines never wait on a network timeout for a model they already have.
"""
from __future__ import annotations

import copy
import os
from pathlib import Path

import torch

from mbti_core import settings
from mbti_core.checkpoint_files import MAX_SHARD_SIZE

MAX_FILE_MIB = 15.0

TINY_TYPES = ("bert", "electra", "roberta")


class EncoderNotFoundError(FileNotFoundError):
    """The named encoder is neither a local folder, in the HF cache, nor downloadable."""


def _from_pretrained(loader, name_or_path: str | os.PathLike, what: str, **kwargs):
    """loader.from_pretrained: local folder -> HF cache -> hub, with one clear error at the end."""
    name = str(name_or_path)
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir() or not any(path.iterdir()):
            raise EncoderNotFoundError(f"{what}: {path} is not a model folder (expected config.json, safetensors)")
        return loader.from_pretrained(str(path), local_files_only=True, **kwargs)
    looks_like_path = name.startswith((".", "/", "~")) or os.sep in name.strip("/").replace("/", "", 1)
    if looks_like_path:
        raise EncoderNotFoundError(f"{what}: no such folder: {path}")
    try:
        return loader.from_pretrained(name, local_files_only=True, **kwargs)
    except (OSError, ValueError) as cached_error:
        if settings.hub_offline():
            raise EncoderNotFoundError(
                f"{what}: {name!r} is not in the local Hugging Face cache and HF_HUB_OFFLINE is set "
                f"({cached_error})"
            ) from cached_error
    try:
        return loader.from_pretrained(name, **kwargs)
    except (OSError, ValueError) as error:
        raise EncoderNotFoundError(
            f"{what}: cannot load {name!r}: not a local folder, not in the Hugging Face cache, and the hub "
            f"failed ({error.__class__.__name__}: {str(error).splitlines()[0] if str(error) else ''}). "
            "Pass a local folder such as checkpoints/base."
        ) from error


def load_tokenizer(name_or_path: str | os.PathLike):
    from transformers import AutoTokenizer

    return _from_pretrained(AutoTokenizer, name_or_path, "tokenizer")


def load_encoder(name_or_path: str | os.PathLike, *, dtype: torch.dtype | None = torch.float32):
    """(tokenizer, AutoModel): the bare encoder, fp32 by default (fp16 checkpoints are upcast for training)."""
    from transformers import AutoModel

    tokenizer = load_tokenizer(name_or_path)
    # use_safetensors: weights only from safetensors, never a pickle (pytorch_model.bin) of the folder or hub repo
    model = _from_pretrained(AutoModel, name_or_path, "encoder", dtype=dtype, use_safetensors=True)
    return tokenizer, model


def load_masked_lm(name_or_path: str | os.PathLike, *, dtype: torch.dtype | None = torch.float32):
    """(tokenizer, AutoModelForMaskedLM). A checkpoint without an MLM head gets a freshly initialised one
    (transformers warns); `has_trained_mlm_head` tells whether the head came from the checkpoint."""
    from transformers import AutoModelForMaskedLM

    tokenizer = load_tokenizer(name_or_path)
    model = _from_pretrained(AutoModelForMaskedLM, name_or_path, "masked LM", dtype=dtype, use_safetensors=True)
    return tokenizer, model


def hidden_size(model_or_config) -> int:
    config = getattr(model_or_config, "config", model_or_config)
    return int(config.hidden_size)


def tiny_config(model_type: str, vocab_size: int, **overrides):
    """A random test model's config: 2 layers, hidden 32 (ELECTRA: 16-d factorised embeddings).
    Special ids follow our WordPiece tokenizer ([PAD]=0, [CLS]=2, [SEP]=3)."""
    from transformers import BertConfig, ElectraConfig, RobertaConfig

    common = dict(
        vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=130, pad_token_id=0,
    )
    if model_type == "bert":
        config = BertConfig(**common)
    elif model_type == "electra":
        config = ElectraConfig(embedding_size=16, **common)
    elif model_type == "roberta":
        # RoBERTa's positions start after padding_idx, hence 130 positions for 128 tokens.
        config = RobertaConfig(type_vocab_size=1, bos_token_id=2, eos_token_id=3, **common)
    else:
        raise ValueError(f"tiny_config knows {TINY_TYPES}, not {model_type!r}")
    for key, value in overrides.items():
        setattr(config, key, value)
    return config


def save_fp16(model, output_dir: str | os.PathLike, tokenizer=None, *, max_shard_size: str = MAX_SHARD_SIZE) -> Path:
    """save_pretrained an fp16 copy (the caller's model is untouched) as safetensors shards <= max_shard_size,
    plus the tokenizer files; returns the folder. Raises if any file ends up over 15 MiB."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    half = copy.deepcopy(model).to(dtype=torch.float16)
    half.save_pretrained(str(output_dir), max_shard_size=max_shard_size)
    if tokenizer is not None:
        from mbti_core.tokenizer import save_tokenizer

        save_tokenizer(tokenizer, output_dir)
    check_file_sizes(output_dir)
    return output_dir


def folder_sizes(path: str | os.PathLike) -> dict:
    """{"files": {name: MiB}, "total_mib": ..., "largest_mib": ...} for a checkpoint folder."""
    files = {p.name: p.stat().st_size / 2**20 for p in sorted(Path(path).iterdir()) if p.is_file()}
    return {
        "files": {k: round(v, 3) for k, v in files.items()},
        "total_mib": round(sum(files.values()), 3),
        "largest_mib": round(max(files.values(), default=0.0), 3),
    }


def check_file_sizes(path: str | os.PathLike, max_file_mib: float = MAX_FILE_MIB) -> dict:
    sizes = folder_sizes(path)
    too_big = {k: v for k, v in sizes["files"].items() if v > max_file_mib}
    if too_big:
        raise ValueError(f"files over {max_file_mib} MiB in {path}: {too_big}")
    return sizes
