"""What every predictor shares, torch-free: input checks and preprocessing, results from axis logits, and
type-conditioned fill-mask from vocabulary logits.

``Predictor`` (``mbti_core.inference``, torch + transformers) and ``OnnxPredictor``
(``mbti_core.onnx_predictor``, onnxruntime) subclass ``BasePredictor`` and only supply the two model calls:
``_axis_logits_batch`` (texts -> [n, 4] axis logits) and ``_mask_logits`` (one masked text, several types ->
[types, vocab] logits). Everything a user sees is computed here, once, so both backends give the same
results by construction (and tests hold their logits to each other).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from mbti_core.data.mentions import mask_type_mentions
from mbti_core.data.text import normalise_text
from mbti_core.encoding import MASK, MAX_PIECES_PER_MASK, MaskedEncoding, encode_masked_text
from mbti_core.evaluation import apply_calibration, apply_writer_calibration, sigmoid
from mbti_core.heads_config import HEADS_CONFIG_NAME
from mbti_core.types import AXES, TYPE_INDEX, TYPES, normalise_type, predicted_types, type_probabilities

DEFAULT_FILL_TYPES = ("ISTJ", "ENFP", "INTJ", "ESFP")
# The sentence the project has shown since the study (a planner's line): the Fill-mask page's first example.
STUDY_FILL_SENTENCE = "내일 모임 시간 딱 지켜야 해. 늦으면 곤란하니까. 할 일은 미리미리 [MASK]야 마음이 편하지 않겠어?"
_MASK_SPELLINGS = re.compile(r"\[mask\]|<mask>", re.IGNORECASE)
_MASK_SENTINEL = "\ue000"  # a private-use character no preprocessing step touches
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_SURROGATES = re.compile("[\ud800-\udfff]")


class FillMaskUnavailable(ValueError):
    """The checkpoint has no type-conditioned MLM head (an FT checkpoint)."""


class FillMaskResult(dict):
    """``{TYPE: [{"token", "prob"}, ...]}`` (a plain dict for JSON) with ``.truncated`` and ``.text`` (the input
    as the model saw it)."""

    truncated: bool = False
    text: str = ""


def resolve_checkpoint(path_or_hub_id) -> Path:
    """A local checkpoint folder, or a hub id downloaded (configs, safetensors, tokenizer, ONNX graphs only)."""
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

            # Only configs, safetensors, tokenizer files and ONNX graphs: never a pickle.
            return Path(snapshot_download(value, allow_patterns=["*.json", "*.safetensors", "*.txt", "*.model",
                                                                 "*.onnx"]))
        except Exception as error:  # offline, unknown repo, ...: one clear message
            raise FileNotFoundError(
                f"checkpoint not found: {value!r} is not a local folder and could not be fetched from the "
                f"Hugging Face hub ({type(error).__name__}: {error})"
            ) from error
    raise FileNotFoundError(f"checkpoint directory not found: {path}")


def check_text(text, what: str = "text") -> str:
    if not isinstance(text, str):
        raise ValueError(f"{what} must be a string, got {type(text).__name__}")
    if not text.strip():
        raise ValueError(f"{what} is empty (or only whitespace): give a message to analyse")
    if _SURROGATES.search(text):  # no tokenizer encodes them (a TypeError deep inside otherwise)
        raise ValueError(f"{what} holds invalid characters (unpaired surrogates: bytes that were not UTF-8)")
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


def _top(values: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest values, largest first."""
    k = min(k, len(values))
    index = np.argpartition(-values, k - 1)[:k]
    return index[np.argsort(-values[index], kind="stable")]


class BasePredictor:
    """Subclasses set ``tokenizer``, ``max_length``, ``calibration`` and ``writer_calibration`` (from
    ``mbti_heads.json``), ``thresholds`` (research only), ``source``, ``vocab_size`` and ``has_fill_mask``, and
    implement ``_axis_logits_batch`` and ``_mask_logits``.

    What a user reads is one story: each axis' displayed probability is calibrated (``calibration`` for one
    message, ``writer_calibration`` for several messages of one writer pooled), the letter shown is the one above
    50%, and the 16 types are ranked by the product of those same probabilities, so the headline type is always
    the first of them. ``thresholds`` (tuned on validation for macro-F1) only serve research metrics."""

    tokenizer = None
    max_length: int = 128
    calibration: list[list[float]] | None = None
    writer_calibration: list[list[float]] | None = None
    thresholds: list[float]
    source: str = ""
    vocab_size: int = 0
    load_seconds: float | None = None

    @property
    def has_fill_mask(self) -> bool:
        raise NotImplementedError

    def _axis_logits_batch(self, prepared: list[str]) -> tuple[np.ndarray, list[bool]]:
        """Preprocessed texts -> (axis logits [n, 4] float32, truncated flags)."""
        raise NotImplementedError

    def _mask_logits(self, encoding: MaskedEncoding, type_ids: np.ndarray, mask_index: int = 0) -> np.ndarray:
        """One encoded masked text and type indices [t] -> vocabulary logits [t, vocab] at its ``mask_index``-th
        mask token."""
        raise NotImplementedError

    # -- classification ---------------------------------------------------------------------------------------
    def axis_logits(self, texts, batch_size: int = 64) -> tuple[np.ndarray, list[bool], list[str]]:
        """Axis logits [N, 4] for raw texts (preprocessed here), with truncation flags and model inputs."""
        if isinstance(texts, str):
            texts = [texts]
        if texts is None or not hasattr(texts, "__iter__"):
            raise ValueError(f"texts must be a string or a list of strings, got {type(texts).__name__}")
        texts = list(texts)
        if not texts:
            raise ValueError("no texts given")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")  # -1 would score nothing
        prepared = []
        for index, text in enumerate(texts):
            check_text(text, f"text {index + 1}" if len(texts) > 1 else "text")
            clean = preprocess(text)
            if not clean:
                raise ValueError(f"text {index + 1} has nothing left to analyse after normalisation")
            prepared.append(clean)
        logits = np.zeros((len(prepared), len(AXES)), dtype=np.float32)
        truncated: list[bool] = [False] * len(prepared)
        order = np.argsort([len(t) for t in prepared], kind="stable")  # similar lengths batch together
        for start in range(0, len(prepared), batch_size):
            index = order[start:start + batch_size]
            logits[index], cut = self._axis_logits_batch([prepared[i] for i in index])
            for i, flag in zip(index, cut):
                truncated[i] = flag
        return logits, truncated, prepared

    def probabilities(self, logits) -> np.ndarray:
        """Displayed P(first letter) of one message from its axis logits ([4] or [n, 4]): calibrated, with 50% as
        the decision."""
        return sigmoid(apply_calibration(logits, self.calibration))

    def pooled_probabilities(self, logits) -> np.ndarray:
        """One writer's P(first letter) [4] from the axis logits of their n messages [n, 4]: the mean logit, through
        the pooled calibration, which lets the evidence of more messages count for more."""
        logits = np.atleast_2d(np.asarray(logits, dtype=np.float64))
        return sigmoid(apply_writer_calibration(logits.mean(axis=0), len(logits), self.writer_calibration))

    @staticmethod
    def _result(text: str, probs: np.ndarray) -> dict:
        """A result from displayed probabilities [4]: the type is each axis' letter above 50%, the 16 types are
        ranked by the same probabilities, so the headline, the bars and the ranking agree."""
        probs = np.asarray(probs, dtype=np.float64)
        distribution = type_probabilities(probs)
        return {
            "text": text,
            "type": predicted_types(probs)[0],
            "axes": {axis: float(p) for axis, p in zip(AXES, probs)},
            "types": {mbti: float(p) for mbti, p in zip(TYPES, distribution)},
        }

    def predict(self, texts, batch_size: int = 64) -> list[dict]:
        """One result per text (a single string gives a list of one)."""
        if isinstance(texts, str):
            texts = [texts]
        logits, truncated, _ = self.axis_logits(texts, batch_size)
        results = []
        for text, probs, cut in zip(texts, self.probabilities(logits), truncated):
            result = self._result(text, probs)
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
        person = self._result("\n".join(messages), self.pooled_probabilities(logits))
        person.update(
            n_messages=len(messages), skipped_messages=skipped,
            aggregation="mean of axis logits, then the pooled calibration (weight growing with the number of messages)",
            messages=[{**self._result(m, probs), "truncated": cut}
                      for m, probs, cut in zip(messages, self.probabilities(logits), truncated)],
        )
        return person

    # -- type-conditioned fill-mask ---------------------------------------------------------------------------
    @staticmethod
    def _display_token(token: str) -> str:
        for marker in ("##", "Ġ", "▁"):
            if token.startswith(marker) and len(token) > len(marker):
                return token[len(marker):]
        return token

    @property
    def _special_ids(self) -> np.ndarray:
        return np.array(sorted(set(self.tokenizer.all_special_ids)), dtype=np.int64)

    def _require_fill_mask(self) -> None:
        if not self.has_fill_mask:
            raise FillMaskUnavailable(
                f"{self.source or 'this checkpoint'} has no type-conditioned MLM head (an FT model is trained "
                "without phase 2); use the MFT checkpoint for fill-mask"
            )

    def _vocabulary_log_probs(self, encoding: MaskedEncoding, types: list[str], mask_index: int = 0) -> np.ndarray:
        """log p(word | type) over the vocabulary [types, vocab] at one mask token (special tokens excluded)."""
        logits = self._mask_logits(encoding, np.array([TYPE_INDEX[t] for t in types], dtype=np.int64), mask_index)
        logits = logits.astype(np.float64, copy=True)
        logits[:, self._special_ids] = -np.inf  # special tokens ([CLS], [PAD], [TYPE], ...) are never offered
        logits -= logits.max(axis=-1, keepdims=True)
        return logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))

    def _type_probabilities(self, text: str, types: list[str]) -> tuple[np.ndarray, MaskedEncoding, str]:
        """Vocabulary probabilities at the one [MASK] of ``text`` for each type (special tokens excluded). The
        encoder runs once and the head once for all 16 types; the last text's result is kept, so the columns,
        the 16-type grid and the raised words of one sentence cost one model call. Returns (probs [types,
        vocab], encoding, the text as the model saw it)."""
        self._require_fill_mask()
        check_text(text)
        cached = getattr(self, "_last_fill", None)
        if cached is not None and cached[0] == text:
            _, probs, encoding, prepared = cached
        else:
            prepared = preprocess_masked(text)
            encoding = encode_masked_text(self.tokenizer, prepared, 1, self.max_length)
            probs = np.exp(self._vocabulary_log_probs(encoding, list(TYPES))).astype(np.float32)
            self._last_fill = (text, probs, encoding, prepared)  # one tuple: replaced atomically across threads
        return probs[[TYPE_INDEX[t] for t in types]], encoding, prepared

    def clear_fill_cache(self) -> None:
        """Forget the last sentence's fill-mask probabilities (for benchmarks that time the model call)."""
        self._last_fill = None

    def _check_types_and_k(self, types, top_k: int) -> list[str]:
        if isinstance(types, str):
            types = [types]
        types = [normalise_type(t) for t in types]  # ValueError naming the bad type
        if not types:
            raise ValueError("give at least one MBTI type")
        offered = self.vocab_size - len(self._special_ids)
        if not isinstance(top_k, int) or not 1 <= top_k <= offered:
            raise ValueError(f"top_k must be an integer between 1 and {offered}, got {top_k!r}")
        return types

    def _rows(self, ids: np.ndarray, values: dict[str, np.ndarray]) -> list[dict]:
        tokens = self.tokenizer.convert_ids_to_tokens([int(i) for i in ids])
        return [{"token": self._display_token(token), **{name: float(column[i]) for name, column in values.items()}}
                for i, token in enumerate(tokens)]

    def fill_mask(self, text: str, types=DEFAULT_FILL_TYPES, top_k: int = 5) -> FillMaskResult:
        """For each type, the ``top_k`` most probable words at the one [MASK]: ``{TYPE: [{"token", "prob"}]}``."""
        types = self._check_types_and_k(types, top_k)
        probs, encoding, prepared = self._type_probabilities(text, types)
        result = FillMaskResult()
        for row, mbti in enumerate(types):
            top = _top(probs[row], top_k)
            result[mbti] = self._rows(top, {"prob": probs[row, top]})
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
        pool = _top(mean, min(candidates, int((mean > 0).sum())))
        result = FillMaskResult()
        for mbti in types:
            row = probs[TYPES.index(mbti), pool]
            lift = row / mean[pool]
            order = _top(lift, top_k)
            result[mbti] = self._rows(pool[order], {"prob": row[order], "lift": lift[order]})
        result.truncated = encoding.truncated
        result.text = prepared
        return result

    def fill_grid(self, text: str, top_k: int = 1) -> FillMaskResult:
        """All 16 types' ``top_k`` fills of the one [MASK] (``{TYPE: [{"token", "prob"}]}``, in ``TYPES`` order,
        for a 4x4 grid); one encoder run."""
        return self.fill_mask(text, list(TYPES), top_k)

    def types_for_word(self, text: str, word: str) -> dict:
        """The reverse question: given a complete sentence and one word in it (its first occurrence), which types
        make that word most likely at its place. The word is masked with one mask token per subword piece and
        scored piece by piece: log p(word | type) = sum of the pieces' log-probabilities. Returns ``{"types":
        [{"type", "logprob", "share"}] best first, "pieces", "masked", "truncated"}``, where ``share`` is
        p(word | type) normalised over the 16 types (what a uniform prior over types would make of it)."""
        self._require_fill_mask()
        check_text(text)
        check_text(word, "word")
        word = normalise_text(word)
        clean = normalise_text(text)
        if MASK.lower() in clean.lower() or "<mask>" in clean.lower():
            raise ValueError(f"give the complete sentence, without {MASK}, and the word to look at")
        start = clean.find(word)
        if start < 0:
            raise ValueError(f"the word {word!r} does not occur in the sentence")
        pieces = self.tokenizer(word, add_special_tokens=False)["input_ids"]
        unk = getattr(self.tokenizer, "unk_token_id", None)
        if not pieces or (unk is not None and unk in pieces):
            raise ValueError(f"the model's vocabulary cannot spell {word!r} (unknown pieces)")
        if len(pieces) > MAX_PIECES_PER_MASK:
            raise ValueError(f"{word!r} is {len(pieces)} subword pieces; give a word of at most {MAX_PIECES_PER_MASK}")
        masked = preprocess_masked(clean[:start] + MASK + clean[start + len(word):])
        encoding = encode_masked_text(self.tokenizer, masked, len(pieces), self.max_length)
        types = list(TYPES)
        logprob = np.zeros(len(types))
        for index, piece in enumerate(pieces):
            logprob += self._vocabulary_log_probs(encoding, types, index)[:, piece]
        share = np.exp(logprob - logprob.max())
        share /= share.sum()
        order = np.argsort(-logprob, kind="stable")
        return {"word": word, "pieces": self.tokenizer.convert_ids_to_tokens(pieces), "masked": masked,
                "truncated": encoding.truncated,
                "types": [{"type": types[i], "logprob": float(logprob[i]), "share": float(share[i])} for i in order]}
