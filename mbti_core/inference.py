"""``Predictor``: a shipped checkpoint -> MBTI predictions and type-conditioned [MASK] fills.

Inputs get exactly the preprocessing of training (``normalise_text`` then ``mask_type_mentions``), so a
message that names a type ("저 INFP인데") is judged on its wording, not on the label it quotes.

- ``predict(texts)`` -> per text ``{"text", "type", "axes": {"EI": P(E), "SN": P(S), "TF": P(T), "JP": P(J)},
  "types": {16 types: probability}, "truncated"}``.
- ``predict_person(texts)`` -> one prediction for several messages of one writer: the mean of the per-message
  axis *logits* (log-odds). Independent pieces of evidence add in log-odds, so this is the natural way to
  pool them, and a few confident messages count more than many neutral ones (averaging probabilities would
  drown them); the mean rather than the sum keeps the result from becoming over-confident, because messages
  of one person are far from independent. It is the same pooling as ``evaluation.writer_level``, so the
  writer-level metrics in the reports describe exactly what this method does.
- ``fill_mask(text, types, top_k)`` -> ``{TYPE: [{"token", "prob"}, ...]}``; the encoder runs once and its
  hidden state at ``[MASK]`` is reused for every type (only the small head runs per type).
- ``explain(text)`` -> the prediction plus per-token attributions of each axis logit (integrated gradients on
  the input embeddings; see the method for why).
"""
from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import torch

from mbti_core.data.mentions import mask_type_mentions
from mbti_core.data.text import normalise_text
from mbti_core.modeling import (
    HEADS_CONFIG_NAME, MASK, MAX_CHARS_PER_TOKEN, MBTIModel, encode_masked_text, encode_texts,
)
from mbti_core.types import AXES, TYPE_INDEX, TYPES, normalise_type, predicted_types, type_probabilities

DEFAULT_FILL_TYPES = ("ISTJ", "ENFP", "INTJ", "ESFP")
_MASK_SPELLINGS = re.compile(r"\[mask\]|<mask>", re.IGNORECASE)
_MASK_SENTINEL = "\ue000"  # a private-use character no preprocessing step touches
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
EXPLAIN_STEPS = 24  # Gauss-Legendre points for integrated gradients (|delta| well under 0.01 logits in tests)


class FillMaskUnavailable(ValueError):
    """The checkpoint has no type-conditioned MLM head (an FT checkpoint)."""


class FillMaskResult(dict):
    """``{TYPE: [{"token", "prob"}, ...]}`` (a plain dict for JSON) with ``.truncated`` and ``.text`` (the input
    as the model saw it)."""

    truncated: bool = False
    text: str = ""


def _resolve_checkpoint(path_or_hub_id) -> Path:
    path = Path(path_or_hub_id).expanduser()
    if path.is_dir():
        if not (path / HEADS_CONFIG_NAME).is_file():
            raise FileNotFoundError(f"not an MBTI checkpoint (no {HEADS_CONFIG_NAME}): {path}")
        return path
    value = str(path_or_hub_id)
    local_looking = value.startswith((".", "/", "~")) or Path(value.split("/")[0]).is_dir()
    if _HUB_ID.match(value) and not local_looking:
        try:
            from huggingface_hub import snapshot_download

            # Only configs, safetensors and tokenizer files: never a pickle.
            return Path(snapshot_download(value, allow_patterns=["*.json", "*.safetensors", "*.txt", "*.model"]))
        except Exception as error:  # offline, unknown repo, ...: one clear message
            raise FileNotFoundError(
                f"checkpoint not found: {value!r} is not a local folder and could not be fetched from the "
                f"Hugging Face hub ({type(error).__name__}: {error})"
            ) from error
    raise FileNotFoundError(f"checkpoint directory not found: {path}")


def _check_text(text, what: str = "text") -> str:
    if not isinstance(text, str):
        raise ValueError(f"{what} must be a string, got {type(text).__name__}")
    if not text.strip():
        raise ValueError(f"{what} is empty (or only whitespace): give a message to analyse")
    return text


def preprocess(text: str) -> str:
    """The training preprocessing: NFC/whitespace normalisation, then MBTI mentions -> [TYPE]."""
    return mask_type_mentions(normalise_text(text))


def preprocess_masked(text: str) -> str:
    """As ``preprocess``, keeping the one [MASK] (any case, or RoBERTa's <mask>) intact."""
    text = _MASK_SPELLINGS.sub(_MASK_SENTINEL, normalise_text(text))
    count = text.count(_MASK_SENTINEL)
    if count != 1:
        raise ValueError(
            f"the text must contain exactly one {MASK} (found {count}): e.g. '할 일은 미리미리 {MASK}야 마음이 편하지'"
        )
    return mask_type_mentions(text).replace(_MASK_SENTINEL, MASK)


class Predictor:
    def __init__(self, model: MBTIModel, tokenizer, device: str | torch.device = "cpu", source: str = ""):
        self.model = model.to(device).eval()
        self.tokenizer = tokenizer
        self.device = torch.device(device)
        self.source = source
        self.max_length = int(model.heads_config.max_length)
        self.thresholds = list(model.heads_config.thresholds)
        self.load_seconds: float | None = None
        # Special tokens ([CLS], [PAD], [TYPE], ...) are never offered as fills.
        self._special_ids = torch.tensor(sorted(set(tokenizer.all_special_ids)), dtype=torch.long)

    @classmethod
    def from_pretrained(cls, path_or_hub_id, device: str | None = None) -> "Predictor":
        from transformers import AutoTokenizer

        started = time.perf_counter()
        directory = _resolve_checkpoint(path_or_hub_id)
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        model = MBTIModel.from_pretrained(directory)
        tokenizer = AutoTokenizer.from_pretrained(str(directory))
        predictor = cls(model, tokenizer, device, source=str(path_or_hub_id))
        predictor.load_seconds = time.perf_counter() - started
        return predictor

    @property
    def has_fill_mask(self) -> bool:
        return self.model.type_mlm is not None

    # -- classification ---------------------------------------------------------------------------------------
    def _encode(self, texts: list[str]) -> tuple[dict, list[bool]]:
        return encode_texts(self.tokenizer, texts, self.max_length, self.device)

    @torch.inference_mode()
    def axis_logits(self, texts, batch_size: int = 64) -> tuple[np.ndarray, list[bool], list[str]]:
        """Axis logits [N, 4] for raw texts (preprocessed here), with truncation flags and model inputs."""
        if isinstance(texts, str):
            texts = [texts]
        texts = list(texts)
        if not texts:
            raise ValueError("no texts given")
        prepared = []
        for index, text in enumerate(texts):
            _check_text(text, f"text {index + 1}" if len(texts) > 1 else "text")
            clean = preprocess(text)
            if not clean:
                raise ValueError(f"text {index + 1} has nothing left to analyse after normalisation")
            prepared.append(clean)
        logits = np.zeros((len(prepared), len(AXES)), dtype=np.float32)
        truncated: list[bool] = [False] * len(prepared)
        order = np.argsort([len(t) for t in prepared], kind="stable")  # similar lengths batch together
        for start in range(0, len(prepared), batch_size):
            index = order[start:start + batch_size]
            batch, cut = self._encode([prepared[i] for i in index])
            logits[index] = self.model(**batch).logits.float().cpu().numpy()
            for i, flag in zip(index, cut):
                truncated[i] = flag
        return logits, truncated, prepared

    def _result(self, text: str, axis_logits: np.ndarray) -> dict:
        probs = 1.0 / (1.0 + np.exp(-axis_logits.astype(np.float64)))
        distribution = type_probabilities(probs)
        return {
            "text": text,
            "type": predicted_types(probs, self.thresholds)[0],
            "axes": {axis: float(p) for axis, p in zip(AXES, probs)},
            "types": {mbti: float(p) for mbti, p in zip(TYPES, distribution)},
        }

    def predict(self, texts, batch_size: int = 64) -> list[dict]:
        """One result per text (a single string gives a list of one)."""
        if isinstance(texts, str):
            texts = [texts]
        logits, truncated, _ = self.axis_logits(texts, batch_size)
        results = []
        for text, row, cut in zip(texts, logits, truncated):
            result = self._result(text, row)
            result["truncated"] = cut
            results.append(result)
        return results

    def predict_person(self, texts, batch_size: int = 64) -> dict:
        """One prediction for several messages of one writer (blank messages are skipped and counted)."""
        if isinstance(texts, str):
            texts = [texts]
        messages = [t for t in texts if isinstance(t, str) and t.strip() and preprocess(t)]
        skipped = len(list(texts)) - len(messages)
        if not messages:
            raise ValueError("no non-empty messages to analyse")
        logits, truncated, _ = self.axis_logits(messages, batch_size)
        person = self._result("\n".join(messages), logits.mean(axis=0))
        person.update(
            n_messages=len(messages), skipped_messages=skipped, aggregation="mean of axis logits",
            messages=[{**self._result(m, row), "truncated": cut} for m, row, cut in zip(messages, logits, truncated)],
        )
        return person

    # -- type-conditioned fill-mask ---------------------------------------------------------------------------
    def _display_token(self, token: str) -> str:
        for marker in ("##", "Ġ", "▁"):
            if token.startswith(marker) and len(token) > len(marker):
                return token[len(marker):]
        return token

    @torch.inference_mode()
    def _type_probabilities(self, text: str, types: list[str]):
        """Vocabulary probabilities at the one [MASK] of ``text`` for each type (special tokens excluded): the
        encoder runs once, the type-conditioned head once per type. Returns (probs [types, vocab], encoding, text)."""
        if not self.has_fill_mask:
            raise FillMaskUnavailable(
                f"{self.source or 'this checkpoint'} has no type-conditioned MLM head (an FT model is trained "
                "without phase 2); use the MFT checkpoint for fill-mask"
            )
        _check_text(text)
        prepared = preprocess_masked(text)
        encoding = encode_masked_text(self.tokenizer, prepared, 1, self.max_length)
        input_ids = torch.tensor([encoding.input_ids], device=self.device)
        hidden = self.model.hidden_states(input_ids, torch.ones_like(input_ids))  # the encoder runs once
        at_mask = hidden[0, encoding.mask_positions[0]].expand(len(types), -1)
        type_ids = torch.tensor([TYPE_INDEX[t] for t in types], device=self.device)
        logits = self.model.type_mlm_logits(at_mask, type_ids).float()
        logits[:, self._special_ids.to(self.device)] = float("-inf")
        return logits.softmax(-1), encoding, prepared

    def _check_types_and_k(self, types, top_k: int) -> list[str]:
        if isinstance(types, str):
            types = [types]
        types = [normalise_type(t) for t in types]  # ValueError naming the bad type
        if not types:
            raise ValueError("give at least one MBTI type")
        vocab_size = self.model.word_embeddings.shape[0]
        if not isinstance(top_k, int) or not 1 <= top_k <= vocab_size - len(self._special_ids):
            raise ValueError(f"top_k must be an integer between 1 and {vocab_size - len(self._special_ids)}, got {top_k!r}")
        return types

    def _rows(self, ids: torch.Tensor, values: dict[str, torch.Tensor]) -> list[dict]:
        tokens = self.tokenizer.convert_ids_to_tokens(ids.tolist())
        columns = {name: column.tolist() for name, column in values.items()}
        return [{"token": self._display_token(token), **{name: float(column[i]) for name, column in columns.items()}}
                for i, token in enumerate(tokens)]

    def fill_mask(self, text: str, types=DEFAULT_FILL_TYPES, top_k: int = 5) -> FillMaskResult:
        """For each type, the ``top_k`` most probable words at the one [MASK]: ``{TYPE: [{"token", "prob"}]}``."""
        types = self._check_types_and_k(types, top_k)
        probs, encoding, prepared = self._type_probabilities(text, types)
        top = probs.topk(top_k, dim=-1)
        result = FillMaskResult()
        for row, mbti in enumerate(types):
            result[mbti] = self._rows(top.indices[row], {"prob": top.values[row]})
        result.truncated = encoding.truncated
        result.text = prepared
        return result

    def raised_words(self, text: str, types=DEFAULT_FILL_TYPES, top_k: int = 5, candidates: int = 200) -> FillMaskResult:
        """For each type, the words the type embedding raises most at the [MASK]: ``{TYPE: [{"token", "prob",
        "lift"}]}`` with lift = p(word | type) / mean over the 16 types of p(word | t) (1.0 = no change), among
        the ``candidates`` most probable words of that 16-type mean (ratios of rare words are noise). It shows
        what the type changes even when every type's most probable words are the same."""
        types = self._check_types_and_k(types, top_k)
        if not isinstance(candidates, int) or candidates < top_k:
            raise ValueError(f"candidates must be an integer >= top_k ({top_k}), got {candidates!r}")
        probs, encoding, prepared = self._type_probabilities(text, list(TYPES))
        mean = probs.mean(0)
        pool = mean.topk(min(candidates, int((mean > 0).sum()))).indices
        result = FillMaskResult()
        for mbti in types:
            row = probs[TYPES.index(mbti), pool]
            lift = row / mean[pool]
            order = lift.topk(min(top_k, len(pool))).indices
            result[mbti] = self._rows(pool[order], {"prob": row[order], "lift": lift[order]})
        result.truncated = encoding.truncated
        result.text = prepared
        return result

    # -- explanations -----------------------------------------------------------------------------------------
    def _encode_one_with_offsets(self, prepared: str) -> tuple[list[int], list[tuple[int, int]], bool]:
        """One prepared text -> (ids, character offsets, truncated), cut exactly as ``_encode`` cuts it."""
        cut = prepared[: self.max_length * MAX_CHARS_PER_TOKEN]
        encoding = self.tokenizer(cut, add_special_tokens=True, truncation=False, return_offsets_mapping=True)
        ids, offsets = list(encoding["input_ids"]), [tuple(o) for o in encoding["offset_mapping"]]
        truncated = len(cut) < len(prepared) or len(ids) > self.max_length
        if len(ids) > self.max_length:
            ids = ids[: self.max_length - 1] + ids[-1:]
            offsets = offsets[: self.max_length - 1] + offsets[-1:]
        return ids, offsets, truncated

    def explain(self, text: str, steps: int = EXPLAIN_STEPS) -> dict:
        """Per-token attributions of the four axis logits, by integrated gradients (IG) on the input embeddings.

        For each axis logit f (log-odds of E, S, T, J), token i gets
        ``(x_i - x'_i) · ∫_0^1 ∂f/∂x_i (x' + α(x - x')) dα``, where x are the word embeddings of the text and
        the baseline x' puts the ``[PAD]`` embedding at every text token ([CLS]/[SEP], positions and the
        attention mask stay as they are, so the baseline is "the same frame with no words in it"). The
        integral uses ``steps``-point Gauss-Legendre quadrature; all points, the input and the baseline run as
        one batch through one forward pass, then one backward pass per axis.

        Why IG rather than occlusion: (1) completeness — the attributions of an axis add up to
        f(input) − f(baseline), so they are in log-odds units one can add and compare across axes, and the
        method can be checked (``delta`` reports the quadrature error); occlusion scores carry no such
        guarantee and miss interactions (deleting one of two redundant cue words changes little, so both
        look unimportant). (2) Cost — IG is one batched forward/backward whatever the length; occlusion needs
        one forward per token (50+ for a chat message) and, with Korean subword pieces, deleting a piece
        leaves a mangled word that the model never saw. Caveat, as for any attribution method: it explains
        this model's arithmetic, not why a person writes the way they do.

        Positive attribution pushes toward the axis' first letter (E, S, T, J), negative toward the second
        (I, N, F, P). Returns ``{"text", "model_text", "type", "axes", "types", "truncated", "tokens":
        [{"token", "start", "end"}] (offsets into model_text), "attributions": {axis: [per token]},
        "logits": {axis}, "baseline_logits": {axis}, "delta": {axis: sum - (logit - baseline)}, "method"}``.
        """
        _check_text(text)
        if not isinstance(steps, int) or not 2 <= steps <= 256:
            raise ValueError(f"steps must be an integer between 2 and 256, got {steps!r}")
        prepared = preprocess(text)
        if not prepared:
            raise ValueError("the text has nothing left to analyse after normalisation")
        ids, offsets, truncated = self._encode_one_with_offsets(prepared)
        fixed_ids = {self.tokenizer.cls_token_id, self.tokenizer.sep_token_id, self.tokenizer.pad_token_id,
                     self.tokenizer.bos_token_id, self.tokenizer.eos_token_id} - {None}
        varied = torch.tensor([token_id not in fixed_ids for token_id in ids], device=self.device)
        input_ids = torch.tensor([ids], device=self.device)
        embedding = self.model.encoder.get_input_embeddings()
        with torch.no_grad():
            x = embedding(input_ids)[0]                                            # [seq, emb]
            pad = embedding.weight[self.tokenizer.pad_token_id]
            baseline = torch.where(varied[:, None], pad.expand_as(x), x)
        nodes, weights = np.polynomial.legendre.leggauss(steps)                     # on [-1, 1]
        alphas = torch.tensor(np.concatenate([[0.0, 1.0], (nodes + 1) / 2]), dtype=x.dtype, device=self.device)
        weights = torch.tensor(weights / 2, dtype=x.dtype, device=self.device)      # on [0, 1]: sum to 1
        with torch.enable_grad():
            points = (baseline + alphas[:, None, None] * (x - baseline)).requires_grad_(True)
            hidden = self.model.encoder(inputs_embeds=points,
                                        attention_mask=torch.ones(points.shape[:2], dtype=torch.long,
                                                                  device=self.device)).last_hidden_state
            logits = self.model.classify(hidden)                                   # [2 + steps, 4]
            attributions = []
            for axis in range(len(AXES)):
                (grads,) = torch.autograd.grad(logits[2:, axis], points, grad_outputs=weights,
                                               retain_graph=axis < len(AXES) - 1)
                attributions.append(((x - baseline) * grads.sum(0)).sum(-1))       # [seq]
        attributions = torch.stack(attributions).detach().float().cpu().numpy()    # [4, seq]
        logits = logits.detach().float().cpu().numpy()
        keep = [i for i in range(len(ids)) if bool(varied[i])]
        tokens = self.tokenizer.convert_ids_to_tokens(ids)
        result = self._result(text, logits[1])
        result.update(
            truncated=truncated, model_text=prepared,
            tokens=[{"token": self._display_token(tokens[i]), "start": int(offsets[i][0]), "end": int(offsets[i][1])}
                    for i in keep],
            attributions={axis: [float(attributions[a, i]) for i in keep] for a, axis in enumerate(AXES)},
            logits={axis: float(logits[1, a]) for a, axis in enumerate(AXES)},
            baseline_logits={axis: float(logits[0, a]) for a, axis in enumerate(AXES)},
            method=f"integrated gradients on input embeddings, [PAD] baseline, {steps}-point Gauss-Legendre",
        )
        result["delta"] = {axis: float(attributions[a].sum() - (logits[1, a] - logits[0, a]))
                           for a, axis in enumerate(AXES)}
        return result
