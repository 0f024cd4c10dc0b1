"""`python -m mbti_core export-onnx --checkpoint DIR [DIR ...]`: ONNX graphs for fast CPU serving.

Writes ``classifier.onnx`` (+ ``fill_mask.onnx`` for MFT; ``sentiment.onnx`` for a sentiment checkpoint) and
``onnx_export.json`` into each folder; the graphs read their weights from the folder's safetensors files (see
``mbti_core.onnx_export``). Prints the export record (JSON line per checkpoint) with the measured
onnxruntime-vs-torch difference.
"""
from __future__ import annotations

from mbti_core import settings
from mbti_core.commands import emit


def add_arguments(parser) -> None:
    parser.add_argument("--checkpoint", nargs="+",
                        default=[str(settings.checkpoint_dir() / name) for name in ("mft", "ft", "sentiment")],
                        help="MBTI or sentiment checkpoint folders (default: the shipped mft, ft and sentiment)")


def main(args) -> int:
    from mbti_core.onnx_export import export_onnx

    for checkpoint in args.checkpoint:
        record = export_onnx(checkpoint)
        emit({"checkpoint": checkpoint, **record})
    return 0
