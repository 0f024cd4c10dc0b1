"""Is a checkpoint folder complete and intact? One check, torch-free, run by every loader before it reads a weight.

``check_checkpoint(folder)`` looks at what an MBTI checkpoint (``mbti_heads.json``, see ``mbti_core.modeling``) or a
sentiment checkpoint (``sentiment.json``, see ``mbti_core.sentiment``) must hold, and raises ``CheckpointError``
(a ``ValueError``) with one line saying which file is wrong and what to do:

- the JSON files (``config.json``, ``mbti_heads.json`` / ``sentiment.json``, ``tokenizer.json``) parse;
- the encoder weights are ``model.safetensors`` (or the shards of ``model.safetensors.index.json``) and each
  head file the heads config names is there;
- every ``.safetensors`` file has a sane header (length, JSON, dtypes, shapes, offsets) and exactly the size that
  header describes: a truncated or half-copied file, or a corrupted header, is caught here, before onnxruntime,
  safetensors or transformers meet it;
- a folder holding only pickled weights (``pytorch_model.bin``, ``*.pt``, ...) is refused: the project loads
  weights from safetensors only and never unpickles a file (a pickle can run any code when loaded).

The backends call it (``OnnxPredictor``, ``MBTIModel.from_pretrained``, both sentiment predictors), so the CLI,
the Streamlit pages and the Gradio app all get the same message. A folder that does not exist stays a
``FileNotFoundError``. Reading headers and the small JSON files costs a few milliseconds.
"""
from __future__ import annotations

import hashlib
import json
import math
import struct
from pathlib import Path

from mbti_core.heads_config import HEADS_CONFIG_NAME, SENTIMENT_CONFIG_NAME

ENCODER_WEIGHTS = "model.safetensors"
ENCODER_INDEX = "model.safetensors.index.json"
CLASSIFIER_WEIGHTS = "classifier_head.safetensors"
TYPE_MLM_WEIGHTS = "type_mlm_head.safetensors"
MAX_SHARD_SIZE = "15MB"  # 15 * 10**6 bytes per weight file: under 15 MiB with the header (the Spaces budget)
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
MAX_HEADER_BYTES = 100_000_000  # the safetensors format's own limit
DTYPE_BYTES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
               "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}
COPY_AGAIN = "copy the checkpoint folder again (or retrain / download it)"
# The ONNX graphs beside a checkpoint (written by mbti_core.onnx_export, read by mbti_core.onnx_predictor), and
# the record of which safetensors headers they were exported from.
EXPORT_INFO_NAME = "onnx_export.json"
EXPORT_FORMAT = 1
CLASSIFIER_GRAPH = "classifier.onnx"
FILL_MASK_GRAPH = "fill_mask.onnx"
SENTIMENT_GRAPH = "sentiment.onnx"


class CheckpointError(ValueError):
    """A checkpoint folder that cannot be served: a damaged or missing file, or pickled weights instead of
    safetensors. The message names the file and what to do."""


def read_safetensors_header(path: str | Path) -> tuple[dict, int]:
    """(header without ``__metadata__``, byte offset where the tensor data starts) of a safetensors file, checked
    against the file's size. Raises ``CheckpointError`` for a truncated file or a corrupted header."""
    path = Path(path)
    size = path.stat().st_size
    if size < 8:
        raise CheckpointError(f"{path} is truncated ({size} bytes): {COPY_AGAIN}")
    with open(path, "rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        if not 2 <= length <= min(MAX_HEADER_BYTES, size - 8):
            raise CheckpointError(f"{path} has a corrupted safetensors header (it claims {length:,} header bytes in a "
                                  f"{size:,}-byte file): {COPY_AGAIN}")
        raw = handle.read(length)
    try:
        header = json.loads(raw)
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError
        raise CheckpointError(f"{path} has a corrupted safetensors header (not JSON: {error}): {COPY_AGAIN}") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path} has a corrupted safetensors header (not a JSON object): {COPY_AGAIN}")
    header.pop("__metadata__", None)
    end = 0
    for name, entry in header.items():
        try:
            begin, stop = (int(v) for v in entry["data_offsets"])
            expected = DTYPE_BYTES[entry["dtype"]] * math.prod(int(d) for d in entry["shape"])
        except (KeyError, TypeError, ValueError):
            raise CheckpointError(f"{path} has a corrupted safetensors header (entry {name!r}): {COPY_AGAIN}") from None
        if not 0 <= begin <= stop or stop - begin != expected:
            raise CheckpointError(f"{path} has a corrupted safetensors header (entry {name!r} has offsets "
                                  f"{begin}..{stop} for {expected} bytes): {COPY_AGAIN}")
        end = max(end, stop)
    if 8 + length + end != size:
        raise CheckpointError(f"{path} is {size:,} bytes but its header describes {8 + length + end:,}: the file is "
                              f"truncated or was damaged in copying; {COPY_AGAIN}")
    return header, 8 + length


def _json(path: Path, what: str) -> dict:
    if not path.is_file():
        raise CheckpointError(f"{path.parent} has no {path.name} ({what}): the folder is incomplete; {COPY_AGAIN}")
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise CheckpointError(f"{path} is damaged (not valid JSON: {error}): {COPY_AGAIN}") from None
    if not isinstance(value, dict):
        raise CheckpointError(f"{path} is damaged (not a JSON object): {COPY_AGAIN}")
    return value


def pickle_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_file() and p.suffix.lower() in PICKLE_SUFFIXES)


def encoder_weight_files(folder: Path) -> list[Path]:
    """The encoder's safetensors files: ``model.safetensors``, or the shards its index names. Raises
    ``CheckpointError`` when there are none (naming any pickle found instead, which is never loaded)."""
    if (folder / ENCODER_INDEX).is_file():
        index = _json(folder / ENCODER_INDEX, "the index of the weight shards")
        shards = sorted(set(index.get("weight_map", {}).values())) if isinstance(index.get("weight_map"), dict) else []
        if not shards:
            raise CheckpointError(f"{folder / ENCODER_INDEX} names no weight shards: {COPY_AGAIN}")
        missing = [name for name in shards if not (folder / name).is_file()]
        if missing:
            raise CheckpointError(f"{folder} is incomplete: {', '.join(missing)} named by {ENCODER_INDEX} "
                                  f"{'is' if len(missing) == 1 else 'are'} missing; {COPY_AGAIN}")
        return [folder / name for name in shards]
    if (folder / ENCODER_WEIGHTS).is_file():
        return [folder / ENCODER_WEIGHTS]
    pickles = pickle_files(folder)
    if pickles:
        raise CheckpointError(
            f"{folder} holds {', '.join(pickles)} (pickled PyTorch weights) but no {ENCODER_WEIGHTS}: this project "
            "loads weights only from safetensors and never unpickles a file (loading a pickle can run any code). "
            "Save the model again with save_pretrained() (safetensors is its default), in a trusted environment")
    raise CheckpointError(f"{folder} has no {ENCODER_WEIGHTS}: the folder is incomplete; {COPY_AGAIN}")


def check_checkpoint(path: str | Path, kind: str | None = None, tokenizer: bool = True) -> Path:
    """Check an MBTI (``kind="mbti"``) or sentiment (``"sentiment"``) checkpoint folder; ``None`` tells them apart
    by ``sentiment.json``; ``tokenizer=False`` skips the tokenizer files (loading the model alone). Returns the
    folder; raises ``FileNotFoundError`` when it does not exist and ``CheckpointError`` when it is incomplete or
    damaged (see the module docstring)."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"checkpoint directory not found: {folder}")
    if kind is None:
        kind = "sentiment" if (folder / SENTIMENT_CONFIG_NAME).is_file() else "mbti"
    if kind not in ("mbti", "sentiment"):
        raise ValueError(f"kind must be 'mbti' or 'sentiment', got {kind!r}")
    if kind == "mbti" and not (folder / HEADS_CONFIG_NAME).is_file():
        raise FileNotFoundError(f"not an MBTI checkpoint (no {HEADS_CONFIG_NAME}): {folder}")
    heads = _json(folder / (HEADS_CONFIG_NAME if kind == "mbti" else SENTIMENT_CONFIG_NAME), "what the model is")
    _json(folder / "config.json", "the encoder's configuration")
    files = encoder_weight_files(folder)
    if kind == "mbti":
        files.append(folder / CLASSIFIER_WEIGHTS)
        if heads.get("has_type_mlm"):
            files.append(folder / TYPE_MLM_WEIGHTS)
    for file in files:
        if not file.is_file():
            raise CheckpointError(f"{folder} has no {file.name} (head weights): the folder is incomplete; {COPY_AGAIN}")
        read_safetensors_header(file)
    other_vocabulary = (folder / "vocab.txt").is_file() or any(folder.glob("*.model"))  # a slow tokenizer's files
    if tokenizer and ((folder / "tokenizer.json").exists() or not other_vocabulary):
        _json(folder / "tokenizer.json", "the tokenizer")
    return folder


def safetensors_header(path: Path) -> tuple[dict, int, bytes]:
    """(header without ``__metadata__``, byte offset where tensor data starts, raw header bytes), unchecked: for
    files ``check_checkpoint`` has passed."""
    with open(path, "rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        raw = handle.read(length)
    header = json.loads(raw)
    header.pop("__metadata__", None)
    return header, 8 + length, raw


def header_digest(path: Path) -> str:
    """SHA-256 of a safetensors header: names, dtypes, shapes and offsets (an exported graph records it)."""
    return hashlib.sha256(safetensors_header(path)[2]).hexdigest()
