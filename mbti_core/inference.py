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

import time

import numpy as np
import torch

from mbti_core.encoding import MAX_CHARS_PER_TOKEN, MaskedEncoding
from mbti_core.modeling import MBTIModel, encode_texts
from mbti_core.predictor_base import (  # noqa: F401  re-exported: the public names of this module
    BasePredictor, FillMaskUnavailable, check_text, preprocess, preprocess_masked,
    resolve_checkpoint,
)
from mbti_core.types import AXES

EXPLAIN_STEPS = 24  # Gauss-Legendre points for integrated gradients (|delta| well under 0.01 logits in tests)


class Predictor(BasePredictor):
    """The torch backend: everything, including ``explain`` (gradients) on CPU or GPU."""

    def __init__(self, model: MBTIModel, tokenizer, device: str | torch.device = "cpu", source: str = ""):
        self.model = model.to(device).eval()
        self.tokenizer = tokenizer
        self.device = torch.device(device)
        self.source = source
        self.max_length = int(model.heads_config.max_length)
        self.thresholds = list(model.heads_config.thresholds)
        self.calibration = model.heads_config.calibration
        self.writer_calibration = model.heads_config.writer_calibration
        self.vocab_size = int(model.word_embeddings.shape[0])
        self.load_seconds: float | None = None

    @classmethod
    def from_pretrained(cls, path_or_hub_id, device: str | None = None) -> "Predictor":
        from transformers import AutoTokenizer

        from mbti_core.checkpoint_files import check_checkpoint

        started = time.perf_counter()
        directory = check_checkpoint(resolve_checkpoint(path_or_hub_id), "mbti")  # CheckpointError: one clear line
        device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        model = MBTIModel.from_pretrained(directory)
        tokenizer = AutoTokenizer.from_pretrained(str(directory))
        predictor = cls(model, tokenizer, device, source=str(path_or_hub_id))
        predictor.load_seconds = time.perf_counter() - started
        return predictor

    @property
    def has_fill_mask(self) -> bool:
        return self.model.type_mlm is not None

    @torch.inference_mode()
    def _axis_logits_batch(self, prepared: list[str]) -> tuple[np.ndarray, list[bool]]:
        batch, truncated = encode_texts(self.tokenizer, prepared, self.max_length, self.device)
        return self.model(**batch).logits.float().cpu().numpy(), truncated

    @torch.inference_mode()
    def _mask_logits(self, encoding: MaskedEncoding, type_ids: np.ndarray, mask_index: int = 0) -> np.ndarray:
        input_ids = torch.tensor([encoding.input_ids], device=self.device)
        hidden = self.model.hidden_states(input_ids, torch.ones_like(input_ids))  # the encoder runs once
        at_mask = hidden[0, encoding.mask_positions[mask_index]].expand(len(type_ids), -1)
        types = torch.from_numpy(type_ids).to(self.device)
        return self.model.type_mlm_logits(at_mask, types).float().cpu().numpy()

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
        check_text(text)
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
        result = self._result(text, self.probabilities(logits[1]))
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
