"""Damaged copies of a good checkpoint folder, made the ways real copies break (for tests/test_bad_input.py).

``damage(source, target, kind)`` copies ``source`` to ``target`` and breaks it:

- ``truncated``: ``model.safetensors`` cut to half its size (an interrupted download or copy);
- ``header_length``: the 8-byte header length of ``model.safetensors`` overwritten (a corrupted header);
- ``header_json``: bytes inside the header JSON of ``model.safetensors`` overwritten (a corrupted header);
- ``pickle_only``: ``model.safetensors`` replaced by a ``pytorch_model.bin`` pickle that would create
  ``marker`` if it were ever unpickled (``pickle.load``, or ``torch.load`` with ``weights_only=False``);
- ``half_copied_onnx``: the first ONNX graph (``classifier.onnx``, ``sentiment.onnx``) cut to half its size;
- ``half_copied_folder``: the files copied one by one in name order and the copy stopped half-way through
  ``model.safetensors`` (what follows it is missing).

Never point ``target`` into the project's ``checkpoints/``: copy first, then damage the copy.
"""
from __future__ import annotations

import os
import pickle
import shutil
import struct
from pathlib import Path

KINDS = ("truncated", "header_length", "header_json", "pickle_only", "half_copied_onnx", "half_copied_folder")


class WritesMarker:
    """Unpickling this calls ``open(marker, "w")``: the marker file appears if anything ever unpickles it."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return open, (self.marker, "w")


def _cut(path: Path, fraction: float = 0.5) -> None:
    with open(path, "r+b") as handle:
        handle.truncate(int(os.path.getsize(path) * fraction))


def damage(source: str | Path, target: str | Path, kind: str, marker: str | Path | None = None) -> Path:
    source, target = Path(source), Path(target)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if kind == "half_copied_folder":
        target.mkdir(parents=True)
        for file in sorted(source.iterdir()):
            shutil.copy2(file, target / file.name)
            if file.name == "model.safetensors":
                _cut(target / file.name)
                break
        return target
    shutil.copytree(source, target)
    weights = target / "model.safetensors"
    if kind == "truncated":
        _cut(weights)
    elif kind == "header_length":
        with open(weights, "r+b") as handle:
            handle.write(struct.pack("<Q", 2**62))
    elif kind == "header_json":
        with open(weights, "r+b") as handle:
            handle.seek(12)
            handle.write(b"\xff\x00garbage\xfe" * 3)
    elif kind == "pickle_only":
        weights.unlink()
        marker = Path(marker) if marker else target / "UNPICKLED"
        (target / "pytorch_model.bin").write_bytes(pickle.dumps({"weights": WritesMarker(str(marker))}))
    elif kind == "half_copied_onnx":
        _cut(sorted(target.glob("*.onnx"))[0])
    return target
