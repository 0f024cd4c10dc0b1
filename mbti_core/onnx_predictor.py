"""``OnnxPredictor``: a checkpoint's exported ONNX graphs through onnxruntime + tokenizers, no torch.

Same results as ``Predictor`` (the shared ``BasePredictor`` does everything but the two model calls; the
export checks the logits agree), for the price of a ~0.1 s import instead of torch + transformers' ~3-4 s on
a small CPU: what makes the app's first prediction fast. ``explain`` needs gradients, so it loads the torch
``Predictor`` of the same folder on first use and hands the call to it.

``load_predictor(source, backend="auto")`` picks ONNX when the folder has an up-to-date export (see
``mbti_core.onnx_export``) and onnxruntime is installed, torch otherwise. ``OnnxSentimentPredictor`` and
``load_sentiment_predictor`` do the same for a sentiment checkpoint (``mbti_core.sentiment``).
"""
from __future__ import annotations

import json
import os
import threading
import time
import warnings
from pathlib import Path

import numpy as np

from mbti_core.checkpoint_files import CheckpointError, check_checkpoint
from mbti_core.encoding import MaskedEncoding, encode_batch
from mbti_core.fast_tokenizer import FastTokenizer
from mbti_core.heads_config import HeadsConfig
from mbti_core.checkpoint_files import EXPORT_FORMAT, EXPORT_INFO_NAME, header_digest
from mbti_core.predictor_base import BasePredictor, resolve_checkpoint
from mbti_core.sentiment import SentimentBase, read_sentiment_info

BACKENDS = ("auto", "onnx", "torch")


class OnnxExportUnusable(ValueError):
    """The folder has no ONNX export, or one made for other safetensors files."""


def _session(path: Path, threads: int | None):
    import onnxruntime
    from onnxruntime.capi import onnxruntime_pybind11_state as ort_errors

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads or min(4, os.cpu_count() or 1)
    options.log_severity_level = 3
    try:
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except (ort_errors.Fail, ort_errors.InvalidProtobuf, ort_errors.InvalidGraph, ort_errors.NoSuchFile,
            ort_errors.InvalidArgument, ort_errors.RuntimeException) as error:  # not Python exceptions of one family
        detail = " ".join(str(error).split())
        detail = detail if len(detail) <= 160 else detail[:160] + "…"
        raise CheckpointError(
            f"{path} cannot be read by onnxruntime ({type(error).__name__}: {detail}): the graph is damaged or "
            f"half-copied; copy the folder again or export it again with "
            f"`python -m mbti_core export-onnx --checkpoint {path.parent}`") from None


def read_export_info(directory: Path) -> dict:
    """The folder's ``onnx_export.json``, checked against its safetensors headers (OnnxExportUnusable if not)."""
    path = directory / EXPORT_INFO_NAME
    if not path.is_file():
        raise OnnxExportUnusable(f"no ONNX export in {directory} (run: python -m mbti_core export-onnx --checkpoint {directory})")
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        headers, graphs = dict(info["safetensors_headers"]), dict(info["graphs"])
    except (ValueError, KeyError, TypeError) as error:
        raise OnnxExportUnusable(f"{path} is malformed ({error}); export again") from error
    if info.get("format") != EXPORT_FORMAT:
        raise OnnxExportUnusable(f"{path}: export format {info.get('format')!r}, this code reads {EXPORT_FORMAT}")
    for name, digest in headers.items():
        file = directory / name
        if not file.is_file() or header_digest(file) != digest:
            raise OnnxExportUnusable(f"{directory}: {name} changed layout since the ONNX export; export again")
    for graph in graphs.values():
        if not (directory / graph["file"]).is_file():
            raise OnnxExportUnusable(f"{directory}: {graph['file']} is missing; export again")
    return info


class OnnxPredictor(BasePredictor):
    def __init__(self, directory: str | Path, source: str = "", threads: int | None = None):
        self.directory = check_checkpoint(directory, "mbti")  # CheckpointError before any file is parsed
        info = read_export_info(self.directory)
        heads = HeadsConfig.load(self.directory)
        self.source = source or str(directory)
        self.max_length = int(heads.max_length)
        self.thresholds = list(heads.thresholds)
        self.calibration = heads.calibration
        self.writer_calibration = heads.writer_calibration
        self.vocab_size = int(json.loads((self.directory / "config.json").read_text(encoding="utf-8"))["vocab_size"])
        self.tokenizer = FastTokenizer.from_pretrained(self.directory)
        self._classifier = _session(self.directory / info["graphs"]["classifier"]["file"], threads)
        fill = info["graphs"].get("fill_mask")
        self._fill_mask = _session(self.directory / fill["file"], threads) if fill and heads.has_type_mlm else None
        self._torch_predictor = None
        self._torch_lock = threading.Lock()

    @classmethod
    def from_pretrained(cls, path_or_hub_id, threads: int | None = None) -> "OnnxPredictor":
        started = time.perf_counter()
        predictor = cls(resolve_checkpoint(path_or_hub_id), source=str(path_or_hub_id), threads=threads)
        predictor.load_seconds = time.perf_counter() - started
        return predictor

    @property
    def has_fill_mask(self) -> bool:
        return self._fill_mask is not None

    def _axis_logits_batch(self, prepared: list[str]) -> tuple[np.ndarray, list[bool]]:
        input_ids, attention, truncated = encode_batch(self.tokenizer, prepared, self.max_length)
        (logits,) = self._classifier.run(None, {"input_ids": input_ids, "attention_mask": attention})
        return logits, truncated

    def _mask_logits(self, encoding: MaskedEncoding, type_ids: np.ndarray, mask_index: int = 0) -> np.ndarray:
        (logits,) = self._fill_mask.run(None, {
            "input_ids": np.array([encoding.input_ids], dtype=np.int64),
            "mask_position": np.array(encoding.mask_positions[mask_index:mask_index + 1], dtype=np.int64),
            "type_ids": type_ids.astype(np.int64),
        })
        return logits

    # -- gradients need torch ---------------------------------------------------------------------------------
    @property
    def torch_loaded(self) -> bool:
        return self._torch_predictor is not None

    def torch_predictor(self):
        """The torch ``Predictor`` of the same folder, loaded once (thread-safe) on first use."""
        with self._torch_lock:
            if self._torch_predictor is None:
                from mbti_core.inference import Predictor

                self._torch_predictor = Predictor.from_pretrained(self.directory, device="cpu")
            return self._torch_predictor

    def explain(self, text: str, **kwargs) -> dict:
        """``Predictor.explain`` (integrated gradients) on the torch model of the same weights."""
        return self.torch_predictor().explain(text, **kwargs)


class OnnxSentimentPredictor(SentimentBase):
    """A sentiment checkpoint's ``sentiment.onnx`` through onnxruntime: ``SentimentPredictor``'s results, no torch."""

    def __init__(self, directory: str | Path, source: str = "", threads: int | None = None):
        self.info = read_sentiment_info(directory)
        self.directory = check_checkpoint(directory, "sentiment")
        export = read_export_info(self.directory)
        if "sentiment" not in export["graphs"]:
            raise OnnxExportUnusable(f"{directory}: the ONNX export has no sentiment graph; export again")
        self.source = source or str(directory)
        self.max_length = int(self.info.get("max_length", 128))
        self.tokenizer = FastTokenizer.from_pretrained(self.directory)
        self._session = _session(self.directory / export["graphs"]["sentiment"]["file"], threads)

    @classmethod
    def from_pretrained(cls, path, threads: int | None = None) -> "OnnxSentimentPredictor":
        started = time.perf_counter()
        predictor = cls(Path(str(path)).expanduser(), source=str(path), threads=threads)
        predictor.load_seconds = time.perf_counter() - started
        return predictor

    def _logits_batch(self, prepared: list[str]) -> tuple[np.ndarray, list[bool]]:
        input_ids, attention, truncated = encode_batch(self.tokenizer, prepared, self.max_length)
        (logits,) = self._session.run(None, {"input_ids": input_ids, "attention_mask": attention})
        return logits, truncated


def _auto(load_onnx, load_torch, source, backend: str, device: str | None, before_torch):
    """ONNX when asked or usable (``auto`` on CPU), else torch; a stale export is a warning, a missing one silent."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "onnx" or (backend == "auto" and device in (None, "cpu")):
        try:
            return load_onnx(source)
        except (OnnxExportUnusable, ImportError) as error:
            if backend == "onnx":
                raise
            if not isinstance(error, ImportError) and (Path(str(source)).expanduser() / EXPORT_INFO_NAME).exists():
                warnings.warn(f"{error}: using torch instead", stacklevel=3)
    if before_torch is not None:
        before_torch()
    return load_torch(source, device=device)


def load_sentiment_predictor(source, backend: str = "auto", device: str | None = None, before_torch=None):
    """``OnnxSentimentPredictor`` or ``sentiment.SentimentPredictor``, chosen as ``load_predictor`` chooses."""
    from mbti_core.sentiment import SentimentPredictor  # the module is torch-free; its model loading is not

    return _auto(OnnxSentimentPredictor.from_pretrained, SentimentPredictor.from_pretrained, source, backend, device,
                 before_torch)


def load_predictor(source, backend: str = "auto", device: str | None = None, before_torch=None):
    """A predictor for ``source`` (folder or hub id): ``onnx``, ``torch``, or ``auto`` = ONNX when the folder
    has a usable export and onnxruntime is installed (and no GPU device was asked for), else torch (a stale
    export is reported as a warning). ``before_torch()`` runs before the torch path (e.g. to quiet logs)."""

    def load_torch(path, device=None):
        from mbti_core.inference import Predictor  # torch + transformers: only on this path

        return Predictor.from_pretrained(path, device=device)

    return _auto(OnnxPredictor.from_pretrained, load_torch, source, backend, device, before_torch)
