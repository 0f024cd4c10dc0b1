"""The MFT models: an MBTI classifier and a type-conditioned masked LM on one shared encoder.

- ``MBTIClassifier``: encoder -> ``[CLS]`` hidden state -> MLP hidden->512->256->128->4, one logit per axis
  (EI, SN, TF, JP; sigmoid = P(E), P(S), P(T), P(J)), binary cross-entropy with optional per-example weights.
- ``TypeConditionedMLM``: the hidden state at each ``[MASK]`` joined with a learned 128-d embedding of the
  writer's type -> dense + GELU + LayerNorm -> vocabulary logits through the encoder's *input* word
  embeddings (tied, so the head costs only a few hundred KB).

Both wrap any Hugging Face encoder (``AutoModel``: BERT, ELECTRA, RoBERTa, ...). A checkpoint folder is a
normal Hugging Face model folder for the encoder (``config.json`` + fp16 ``*.safetensors`` shards of at most
15 MB + tokenizer files), plus ``mbti_heads.json`` and one safetensors file per head::

    checkpoints/mft/
      config.json, model.safetensors (or model-0000x-of-0000y.safetensors + index), tokenizer.json, ...
      mbti_heads.json                 # head sizes, which heads exist, max length, thresholds
      classifier_head.safetensors
      type_mlm_head.safetensors       # MFT only: FT checkpoints have no type-conditioned head
      classifier.onnx, fill_mask.onnx, onnx_export.json
                                      # optional: ONNX graphs reading the safetensors above (mbti_core.onnx_export)

Everything loads offline from safetensors; nothing is unpickled.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from torch.nn import functional as F
from transformers import AutoModel
from transformers.utils import ModelOutput

from mbti_core.checkpoint_files import CLASSIFIER_WEIGHTS as CLASSIFIER_WEIGHTS_NAME  # one definition of the names
from mbti_core.checkpoint_files import MAX_SHARD_SIZE
from mbti_core.checkpoint_files import TYPE_MLM_WEIGHTS as TYPE_MLM_WEIGHTS_NAME
from mbti_core.encoding import encode_batch
from mbti_core.heads_config import HeadsConfig
from mbti_core.types import AXES, TYPES



@dataclass
class ClassifierOutput(ModelOutput):
    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None  # [batch, 4] axis logits


@dataclass
class TypeMLMOutput(ModelOutput):
    loss: torch.Tensor | None = None
    logits: torch.Tensor | None = None  # [n_masked, vocab]


def load_encoder(name_or_path: str | Path, dtype: torch.dtype = torch.float32) -> nn.Module:
    """Any Hugging Face encoder by local path or hub id, as the bare ``AutoModel`` (no task head).

    Delegates to ``mbti_core.encoder`` (local folder -> HF cache -> hub, one clear error). ``dtype`` is explicit
    because transformers 5 defaults to the stored dtype (our checkpoints are fp16).
    """
    from mbti_core.encoder import EncoderNotFoundError, _from_pretrained

    try:
        return _from_pretrained(AutoModel, name_or_path, "encoder", dtype=dtype, use_safetensors=True)
    except EncoderNotFoundError:
        raise
    except OSError as error:
        raise FileNotFoundError(f"encoder not found: {name_or_path}: {error}") from error


def encoder_hidden_size(encoder: nn.Module) -> int:
    return int(encoder.config.hidden_size)


def cls_hidden_state(encoder: nn.Module, input_ids, attention_mask=None, token_type_ids=None) -> torch.Tensor:
    """Last-layer hidden states [batch, seq, hidden] of ``encoder``."""
    kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
    if token_type_ids is not None:
        kwargs["token_type_ids"] = token_type_ids
    return encoder(**kwargs).last_hidden_state


class ClassifierHead(nn.Module):
    """hidden -> 512 -> 256 -> 128 -> 4 with ReLU and dropout between the layers."""

    def __init__(self, hidden_size: int, sizes=(512, 256, 128), dropout: float = 0.1, num_axes: int = len(AXES)):
        super().__init__()
        layers: list[nn.Module] = [nn.Dropout(dropout)]
        previous = hidden_size
        for size in sizes:
            layers += [nn.Linear(previous, size), nn.ReLU(), nn.Dropout(dropout)]
            previous = size
        layers.append(nn.Linear(previous, num_axes))
        self.mlp = nn.Sequential(*layers)

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.mlp(pooled)


class TypeMLMHead(nn.Module):
    """[hidden at MASK ; type embedding] -> dense -> GELU -> LayerNorm -> tied vocabulary projection + bias
    (+ a per-type vocabulary bias when ``type_vocab_bias``).

    The per-type bias is the direct type -> vocabulary term of the study's head (one linear layer over
    hidden ⊕ type: its type half *is* a per-type bias over the vocabulary). Without it the type only acts
    through the dense layer, where the sentence context drowns it out.
    """

    def __init__(self, hidden_size: int, embedding_dim: int, vocab_size: int, num_types: int = len(TYPES),
                 type_embedding_dim: int = 128, layer_norm_eps: float = 1e-12, type_vocab_bias: bool = False):
        super().__init__()
        self.type_embedding = nn.Embedding(num_types, type_embedding_dim)
        self.dense = nn.Linear(hidden_size + type_embedding_dim, embedding_dim)
        self.layer_norm = nn.LayerNorm(embedding_dim, eps=layer_norm_eps)
        self.bias = nn.Parameter(torch.zeros(vocab_size))
        self.type_bias = nn.Embedding(num_types, vocab_size) if type_vocab_bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.type_embedding.weight, std=0.02)
        self.dense.reset_parameters()
        self.layer_norm.reset_parameters()
        nn.init.zeros_(self.bias)
        if self.type_bias is not None:
            nn.init.zeros_(self.type_bias.weight)

    def forward(self, masked_hidden: torch.Tensor, type_ids: torch.Tensor, word_embeddings: torch.Tensor):
        """masked_hidden [n, hidden], type_ids [n] -> logits [n, vocab]."""
        joined = torch.cat([masked_hidden, self.type_embedding(type_ids)], dim=-1)
        transformed = self.layer_norm(F.gelu(self.dense(joined)))
        logits = transformed @ word_embeddings.t() + self.bias
        if self.type_bias is not None:
            logits = logits + self.type_bias(type_ids)
        return logits


class MBTIModel(nn.Module):
    """One encoder with the classifier head and (for MFT) the type-conditioned MLM head.

    ``MBTIClassifier`` and ``TypeConditionedMLM`` are this model with a different ``forward``; they share
    the same parameters, so phase 1 -> 2 -> 3 just hands the same object from one view to the next
    (``as_classifier()`` / ``as_type_mlm()``), and one checkpoint folder holds everything.
    """

    def __init__(self, encoder: nn.Module, heads_config: HeadsConfig | None = None, with_type_mlm: bool | None = None):
        super().__init__()
        self.encoder = encoder
        self.heads_config = heads_config or HeadsConfig()
        if with_type_mlm is not None:
            self.heads_config.has_type_mlm = with_type_mlm
        hidden = encoder_hidden_size(encoder)
        self.classifier = ClassifierHead(hidden, self.heads_config.classifier_sizes, self.heads_config.classifier_dropout)
        self.type_mlm: TypeMLMHead | None = None
        if self.heads_config.has_type_mlm:
            self.add_type_mlm_head()

    # -- construction ---------------------------------------------------------------------------------------
    @classmethod
    def from_encoder(cls, name_or_path: str | Path, with_type_mlm: bool = False, **heads_kwargs) -> "MBTIModel":
        encoder = load_encoder(name_or_path)
        # The head's dropout follows the encoder's config as in transformers' classification heads
        # (classifier_dropout, else hidden_dropout_prob): 0.1 for our base; an encoder without dropout gives a
        # deterministic model (the multi-process equivalence test relies on it).
        dropout = getattr(encoder.config, "classifier_dropout", None)
        dropout = getattr(encoder.config, "hidden_dropout_prob", None) if dropout is None else dropout
        if dropout is not None:
            heads_kwargs.setdefault("classifier_dropout", float(dropout))
        config = HeadsConfig(base_model=str(name_or_path), **heads_kwargs)
        return cls(encoder, config, with_type_mlm=with_type_mlm)

    def add_type_mlm_head(self) -> TypeMLMHead:
        if self.type_mlm is None:
            words = self.word_embeddings
            eps = float(getattr(self.encoder.config, "layer_norm_eps", 1e-12))
            self.type_mlm = TypeMLMHead(
                encoder_hidden_size(self.encoder), words.shape[1], words.shape[0],
                num_types=self.heads_config.num_types,
                type_embedding_dim=self.heads_config.type_embedding_dim, layer_norm_eps=eps,
                type_vocab_bias=self.heads_config.type_vocab_bias,
            ).to(device=words.device, dtype=words.dtype)
            self.heads_config.has_type_mlm = True
        return self.type_mlm

    @property
    def word_embeddings(self) -> torch.Tensor:
        return self.encoder.get_input_embeddings().weight

    # -- computation ------------------------------------------------------------------------------------------
    def hidden_states(self, input_ids, attention_mask=None, token_type_ids=None) -> torch.Tensor:
        return cls_hidden_state(self.encoder, input_ids, attention_mask, token_type_ids)

    def classify(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.classifier(hidden[:, 0])

    def type_mlm_logits(self, masked_hidden: torch.Tensor, type_ids: torch.Tensor) -> torch.Tensor:
        if self.type_mlm is None:
            raise ValueError("this model has no type-conditioned MLM head (an FT checkpoint); use an MFT checkpoint")
        return self.type_mlm(masked_hidden, type_ids, self.word_embeddings)

    def classifier_loss(self, logits, labels, weights=None) -> torch.Tensor:
        per_example = F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype), reduction="none").mean(-1)
        if weights is None:
            return per_example.mean()
        weights = weights.to(per_example.dtype)
        return (per_example * weights).sum() / weights.sum().clamp_min(1e-8)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, labels=None, weights=None):
        """The classifier forward (the default view)."""
        logits = self.classify(self.hidden_states(input_ids, attention_mask, token_type_ids))
        loss = None if labels is None else self.classifier_loss(logits, labels, weights)
        return ClassifierOutput(loss=loss, logits=logits)

    def forward_type_mlm(self, input_ids, type_ids, attention_mask=None, token_type_ids=None, labels=None):
        """labels [batch, seq]: target token id at masked positions, -100 elsewhere (the HF convention).

        The type of example b is joined to every masked position of b. Logits are returned only for the
        masked positions, in row-major order, so the vocabulary projection never runs on the whole sequence.
        """
        if labels is None:
            raise ValueError("forward_type_mlm needs labels marking the masked positions (-100 elsewhere)")
        hidden = self.hidden_states(input_ids, attention_mask, token_type_ids)
        positions = labels != -100
        masked_hidden = hidden[positions]
        example_index = positions.nonzero(as_tuple=True)[0]
        logits = self.type_mlm_logits(masked_hidden, type_ids[example_index])
        loss = F.cross_entropy(logits.float(), labels[positions]) if logits.shape[0] else hidden.sum() * 0.0
        return TypeMLMOutput(loss=loss, logits=logits)

    def as_classifier(self) -> "MBTIClassifier":
        return MBTIClassifier(self)

    def as_type_mlm(self) -> "TypeConditionedMLM":
        self.add_type_mlm_head()
        return TypeConditionedMLM(self)

    # -- persistence ------------------------------------------------------------------------------------------
    def save_pretrained(self, directory: str | Path, tokenizer=None, dtype: torch.dtype | None = torch.float16,
                        max_shard_size: str = MAX_SHARD_SIZE) -> Path:
        """Write the encoder (HF format), the heads and ``mbti_heads.json``; fp16 by default for shipping."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        cast = (lambda t: t.detach().to("cpu", dtype).contiguous()) if dtype else (lambda t: t.detach().cpu().contiguous())
        for stale in list(directory.glob("model*.safetensors")) + list(directory.glob("model.safetensors.index.json")):
            stale.unlink()  # a smaller re-save must not leave old shards beside the new ones
        encoder_state = {k: cast(v) for k, v in self.encoder.state_dict().items()}
        self.encoder.save_pretrained(directory, state_dict=encoder_state, max_shard_size=max_shard_size)
        save_file({k: cast(v) for k, v in self.classifier.state_dict().items()}, str(directory / CLASSIFIER_WEIGHTS_NAME),
                  metadata={"format": "pt"})
        mlm_path = directory / TYPE_MLM_WEIGHTS_NAME
        if self.type_mlm is not None:
            save_file({k: cast(v) for k, v in self.type_mlm.state_dict().items()}, str(mlm_path), metadata={"format": "pt"})
        elif mlm_path.exists():
            mlm_path.unlink()
        self.heads_config.has_type_mlm = self.type_mlm is not None
        self.heads_config.save(directory)
        if tokenizer is not None:
            tokenizer.save_pretrained(directory)
        return directory

    @classmethod
    def from_pretrained(cls, directory: str | Path, dtype: torch.dtype = torch.float32) -> "MBTIModel":
        from mbti_core.checkpoint_files import CheckpointError, check_checkpoint

        # FileNotFoundError / CheckpointError before any weight is read (the tokenizer is not needed here)
        directory = check_checkpoint(directory, "mbti", tokenizer=False)
        heads_config = HeadsConfig.load(directory)
        try:
            # use_safetensors: never fall back to a pickle (pytorch_model.bin), whatever else the folder holds
            encoder = AutoModel.from_pretrained(str(directory), dtype=dtype, use_safetensors=True, local_files_only=True)
            model = cls(encoder, heads_config)
            model.classifier.load_state_dict(_load_safetensors(directory / CLASSIFIER_WEIGHTS_NAME, dtype))
            if heads_config.has_type_mlm:
                model.type_mlm.load_state_dict(_load_safetensors(directory / TYPE_MLM_WEIGHTS_NAME, dtype))
        except (OSError, RuntimeError) as error:  # shapes that do not match the configs, an unreadable file
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise CheckpointError(f"{directory}: the weights do not fit the checkpoint's configuration ({first}); "
                                  "copy the checkpoint folder again (or retrain it)") from error
        return model.to(dtype).eval()


def _load_safetensors(path: Path, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise FileNotFoundError(f"missing head weights: {path}")
    return {k: v.to(dtype) for k, v in load_file(str(path)).items()}


class _View(nn.Module):
    """Shares all parameters with an ``MBTIModel``; only ``forward`` differs."""

    def __init__(self, model: MBTIModel):
        super().__init__()
        self.model = model

    @property
    def encoder(self):
        return self.model.encoder

    def save_pretrained(self, directory, tokenizer=None, **kwargs) -> Path:
        return self.model.save_pretrained(directory, tokenizer=tokenizer, **kwargs)


class MBTIClassifier(_View):
    """``forward(input_ids, attention_mask, labels=None, weights=None)`` -> ``.loss``, ``.logits`` [batch, 4]."""

    def __init__(self, model: MBTIModel):
        super().__init__(model)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, labels=None, weights=None):
        return self.model(input_ids, attention_mask, token_type_ids, labels=labels, weights=weights)

    @classmethod
    def from_encoder(cls, name_or_path, **kwargs) -> "MBTIClassifier":
        return cls(MBTIModel.from_encoder(name_or_path, **kwargs))

    @classmethod
    def from_pretrained(cls, directory, dtype: torch.dtype = torch.float32) -> "MBTIClassifier":
        return cls(MBTIModel.from_pretrained(directory, dtype))


class TypeConditionedMLM(_View):
    """``forward(input_ids, attention_mask, type_ids, labels)`` -> ``.loss``, ``.logits`` [n_masked, vocab]."""

    def __init__(self, model: MBTIModel):
        model.add_type_mlm_head()
        super().__init__(model)

    def forward(self, input_ids, type_ids, attention_mask=None, token_type_ids=None, labels=None):
        return self.model.forward_type_mlm(input_ids, type_ids, attention_mask, token_type_ids, labels=labels)

    @classmethod
    def from_encoder(cls, name_or_path, **kwargs) -> "TypeConditionedMLM":
        return cls(MBTIModel.from_encoder(name_or_path, with_type_mlm=True, **kwargs))

    @classmethod
    def from_pretrained(cls, directory, dtype: torch.dtype = torch.float32) -> "TypeConditionedMLM":
        return cls(MBTIModel.from_pretrained(directory, dtype))


def encode_texts(tokenizer, texts: list[str], max_length: int, device="cpu") -> tuple[dict, list[bool]]:
    """``encoding.encode_batch`` as torch tensors on ``device``: ``({"input_ids", "attention_mask"}, truncated)``."""
    input_ids, attention, truncated = encode_batch(tokenizer, texts, max_length)
    return {"input_ids": torch.from_numpy(input_ids).to(device),
            "attention_mask": torch.from_numpy(attention).to(device)}, truncated
