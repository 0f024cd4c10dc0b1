"""Export a checkpoint's classifier (and MFT's type-conditioned fill-mask) to ONNX graphs that read their
weights from the checkpoint's own safetensors files.

    python -m mbti_core export-onnx --checkpoint checkpoints/mft checkpoints/ft

Why: the app's cold start. Serving through onnxruntime + tokenizers imports in ~0.1 s where torch +
transformers take ~3-4 s on a 2-core CPU (``mbti_core.onnx_predictor``). Why linked weights: a normal ONNX
export would copy every weight (~11 MiB per model) and the shipped ``checkpoints/`` must stay under 48 MiB.
So every parameter of the graph (exported unoptimised, so parameters keep their names and layout) is replaced
by an ONNX *external data* reference to the same tensor's bytes inside the ``.safetensors`` file (an offset
and a length; safetensors stores raw little-endian arrays), matched by name and checked equal, followed by a
Cast to float32; onnxruntime folds the casts once when the session starts and optimises the graph itself.
A graph is then ~100 KB.

The references hold as long as the safetensors *layout* (each file's header: names, dtypes, shapes, offsets)
is unchanged; retraining with the same shapes rewrites the bytes in place and the graphs read the new
weights. ``onnx_export.json`` records a hash of each header; ``OnnxPredictor`` refuses a folder whose
headers changed (``load_predictor`` then falls back to torch). The export also checks that
``FastTokenizer`` reproduces ``AutoTokenizer`` and that onnxruntime's logits match torch's.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np

from mbti_core.checkpoint_files import (
    CLASSIFIER_GRAPH, EXPORT_FORMAT, EXPORT_INFO_NAME, FILL_MASK_GRAPH, SENTIMENT_GRAPH, header_digest,
    safetensors_header,
)
from mbti_core.encoding import encode_batch

TOLERANCE = 2e-3  # max |onnxruntime - torch| over the check texts' logits (fp32 both; kernels differ)
CHECK_TEXTS = [
    "내일 모임 시간 딱 지켜야 해. 늦으면 곤란하니까 미리 준비하자",
    "갑자기 바다 보고 싶어졌어 ㅋㅋ 지금 출발할 사람?",
    "그 얘기 듣고 너무 속상했겠다 ㅠㅠ 괜찮아? 😢",
    "I'm fine, thanks! 영어랑 섞어 쓰면 어떻게 돼요?",
    "주말엔 집에서 혼자 책 읽는 게 제일 좋아요 " * 30,  # longer than max_length: truncation
]
CHECK_MASKED = ["할 일은 미리미리 [MASK]야 마음이 편하지", "주말에는 보통 [MASK] 하는 편이야 ㅋㅋ"]

_SAFETENSORS_DTYPES = {"F16": (np.float16, 10), "F32": (np.float32, 1)}  # numpy dtype, ONNX data type


def _safetensors_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.safetensors") if p.is_file())


# Graph initializer name prefix (the wrapper's ``model`` attribute + the model's own names) -> the files holding
# those parameters: an MBTI checkpoint keeps its heads apart; a sentiment checkpoint is one HF model.
MBTI_PARAMETER_FILES = {"model.encoder.": "model*.safetensors", "model.classifier.": "classifier_head.safetensors",
                        "model.type_mlm.": "type_mlm_head.safetensors"}
SENTIMENT_PARAMETER_FILES = {"model.": "model*.safetensors"}


def _stored_tensors(directory: Path, parameter_files: dict[str, str]) -> dict[str, dict[str, tuple]]:
    """file pattern -> {key: (file name, dtype name, shape, absolute offset, length)} of the folder's safetensors."""
    stored: dict[str, dict[str, tuple]] = {}
    for pattern in parameter_files.values():
        entries = stored.setdefault(pattern, {})
        for path in sorted(directory.glob(pattern)):
            header, data_start, _ = safetensors_header(path)
            for key, entry in header.items():
                begin, end = entry["data_offsets"]
                entries[key] = (path.name, entry["dtype"], tuple(entry["shape"]), data_start + begin, end - begin)
    return stored


def link_to_safetensors(model_proto, directory: Path, parameter_files: dict[str, str] = MBTI_PARAMETER_FILES) -> dict:
    """Replace each parameter initializer of the graph by an external reference to the same tensor's bytes in the
    checkpoint's safetensors file + a Cast to float32, matched by name and checked equal. Returns counts."""
    import onnx
    from onnx import helper, numpy_helper

    stored = _stored_tensors(directory, parameter_files)
    graph = model_proto.graph
    kept, added_nodes, linked, inline_bytes = [], [], 0, 0
    for init in graph.initializer:
        prefix = next((p for p in parameter_files if init.name.startswith(p)), None)
        if prefix is None or init.data_type != onnx.TensorProto.FLOAT:  # constants, integer buffers (position ids)
            kept.append(init)
            inline_bytes += init.ByteSize()
            continue
        key = init.name[len(prefix):]
        if key not in stored[parameter_files[prefix]]:
            raise ValueError(f"{directory}: parameter {key!r} is not in {parameter_files[prefix]}; cannot link {init.name}")
        file_name, dtype, shape, offset, length = stored[parameter_files[prefix]][key]
        numpy_dtype, onnx_dtype = _SAFETENSORS_DTYPES.get(dtype, (None, None))
        if numpy_dtype is None or shape != tuple(init.dims):
            raise ValueError(f"{directory}: {key} in {file_name} is {dtype} {list(shape)}, the graph has {list(init.dims)}")
        with open(directory / file_name, "rb") as handle:
            handle.seek(offset)
            values = np.frombuffer(handle.read(length), dtype=numpy_dtype).reshape(shape)
        if not np.array_equal(values.astype(np.float32), numpy_helper.to_array(init)):
            raise ValueError(f"{directory}: {key} in {file_name} differs from the model's parameter")
        reference = onnx.TensorProto(name=f"{init.name}__safetensors", data_type=onnx_dtype, dims=list(shape))
        reference.data_location = onnx.TensorProto.EXTERNAL
        for entry_key, value in (("location", file_name), ("offset", str(offset)), ("length", str(length))):
            entry = reference.external_data.add()
            entry.key, entry.value = entry_key, value
        kept.append(reference)
        added_nodes.append(helper.make_node("Cast", [reference.name], [init.name], to=onnx.TensorProto.FLOAT,
                                            name=f"{init.name}__cast"))
        linked += 1
    del graph.initializer[:]
    graph.initializer.extend(kept)
    nodes = added_nodes + list(graph.node)  # the casts feed the old nodes: topological order kept
    del graph.node[:]
    graph.node.extend(nodes)
    return {"linked_parameters": linked, "inline_constants": len(kept) - linked, "inline_bytes": inline_bytes}


def _graphs(model):
    """(logits graph, fill-mask graph) modules around ``model``. The logits graph serves any model whose
    ``forward(input_ids, attention_mask)`` returns ``.logits``: MBTIModel's axis logits, a sentiment
    classifier's two class logits. The wrappers keep the model under ``model``: parameter names start with
    ``model.`` (see ``MBTI_PARAMETER_FILES``)."""
    import torch
    from torch import nn

    class LogitsGraph(nn.Module):
        def __init__(self, wrapped):
            super().__init__()
            self.model = wrapped

        def forward(self, input_ids, attention_mask):
            return self.model(input_ids=input_ids, attention_mask=attention_mask).logits

    class FillMaskGraph(nn.Module):
        """The encoder once on one text; the type-conditioned head on its [MASK] state once per type."""

        def __init__(self, mbti_model):
            super().__init__()
            self.model = mbti_model

        def forward(self, input_ids, mask_position, type_ids):
            hidden = self.model.hidden_states(input_ids, torch.ones_like(input_ids))
            at_mask = hidden[0].index_select(0, mask_position).expand(type_ids.shape[0], -1)
            return self.model.type_mlm_logits(at_mask, type_ids)

    return LogitsGraph(model).eval(), FillMaskGraph(model).eval()


def _export(module, args: tuple, input_names: list[str], output_name: str, dynamic_shapes: dict):
    import torch

    # The exporter's chatter (deprecations, "torchvision is not installed") says nothing about this model.
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(module, args, dynamo=True, input_names=input_names, output_names=[output_name],
                                    dynamic_shapes=dynamic_shapes, optimize=False, verbose=False, external_data=False)
    proto = program.model_proto
    for node in proto.graph.node:  # the exporter's per-node stack traces: most of the file, no use when serving
        del node.metadata_props[:]
        node.doc_string = ""
    return proto


def _save_atomically(model_proto, path: Path) -> None:
    import onnx

    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        onnx.save_model(model_proto, temporary)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def check_tokenizer(directory: Path) -> None:
    """Raise ValueError unless FastTokenizer gives AutoTokenizer's ids, offsets and special ids."""
    from transformers import AutoTokenizer

    from mbti_core.fast_tokenizer import FastTokenizer

    reference, fast = AutoTokenizer.from_pretrained(str(directory)), FastTokenizer.from_pretrained(directory)
    texts = CHECK_TEXTS + [t.replace("[MASK]", reference.mask_token) for t in CHECK_MASKED]
    for text in texts:
        expected = reference(text, add_special_tokens=True, truncation=False, return_offsets_mapping=True)
        got = fast(text, add_special_tokens=True, return_offsets_mapping=True)
        if list(expected["input_ids"]) != got["input_ids"] or \
                [tuple(o) for o in expected["offset_mapping"]] != got["offset_mapping"]:
            raise ValueError(f"{directory}: tokenizers alone does not reproduce AutoTokenizer on {text[:40]!r}; "
                             "this checkpoint can only be served with torch")
    if sorted(set(reference.all_special_ids)) != fast.all_special_ids:
        raise ValueError(f"{directory}: special tokens differ between AutoTokenizer {sorted(set(reference.all_special_ids))} "
                         f"and tokenizer.json {fast.all_special_ids}")
    for name in ("pad_token_id", "mask_token_id", "cls_token_id", "sep_token_id"):
        if getattr(reference, name) != getattr(fast, name):
            raise ValueError(f"{directory}: {name} differs ({getattr(reference, name)} vs {getattr(fast, name)})")


def export_onnx(checkpoint) -> dict:
    """Write the graphs and ``onnx_export.json`` into the checkpoint folder (an MBTI or a sentiment checkpoint);
    returns that record."""
    import onnxruntime
    import torch
    from transformers.utils import logging as hf_logging

    from mbti_core.heads_config import is_sentiment_checkpoint

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    directory = Path(checkpoint)
    if not directory.is_dir():
        raise FileNotFoundError(f"checkpoint directory not found: {directory} (export needs a local folder)")
    check_tokenizer(directory)
    info_path = directory / EXPORT_INFO_NAME
    info_path.unlink(missing_ok=True)  # until the new graphs are checked, the folder is served by torch
    record = {"format": EXPORT_FORMAT, "graphs": {}, "torch": torch.__version__,
              "onnxruntime": onnxruntime.__version__,
              "safetensors_headers": {p.name: header_digest(p) for p in _safetensors_files(directory)}}
    with torch.inference_mode():
        export_graphs = _export_sentiment_graphs if is_sentiment_checkpoint(directory) else _export_mbti_graphs
        compare = export_graphs(directory, record["graphs"])
    info_path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    try:
        record["max_abs_diff"] = compare()
    except Exception:
        info_path.unlink()  # never leave graphs marked as usable that were not checked
        raise
    if max(record["max_abs_diff"].values()) > TOLERANCE:
        info_path.unlink()
        raise ValueError(f"{directory}: onnxruntime differs from torch by {record['max_abs_diff']} (> {TOLERANCE})")
    info_path.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return record


def _sample_inputs(tokenizer):
    """Real tokenised inputs to trace with (two check texts, cut to 16 tokens)."""
    import torch

    ids, mask, _ = encode_batch(tokenizer, CHECK_TEXTS[:2], 16)
    return torch.from_numpy(ids), torch.from_numpy(mask)


def _export_mbti_graphs(directory: Path, graphs: dict):
    """classifier.onnx (+ fill_mask.onnx for MFT); returns the check that compares them with torch."""
    import torch

    from mbti_core.inference import Predictor
    from mbti_core.onnx_predictor import OnnxPredictor

    reference = Predictor.from_pretrained(directory, device="cpu")
    classifier, fill_mask = _graphs(reference.model.float().eval())
    ids, attention = _sample_inputs(reference.tokenizer)
    proto = _export(classifier, (ids, attention), ["input_ids", "attention_mask"], "axis_logits",
                    {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"}})
    graphs["classifier"] = {"file": CLASSIFIER_GRAPH, **link_to_safetensors(proto, directory)}
    _save_atomically(proto, directory / CLASSIFIER_GRAPH)
    stale_fill = directory / FILL_MASK_GRAPH
    if reference.has_fill_mask:
        proto = _export(fill_mask, (ids[:1], torch.tensor([2]), torch.tensor([0, 5, 9])),
                        ["input_ids", "mask_position", "type_ids"], "vocabulary_logits",
                        {"input_ids": {1: "sequence"}, "mask_position": None, "type_ids": {0: "types"}})
        graphs["fill_mask"] = {"file": FILL_MASK_GRAPH, **link_to_safetensors(proto, directory)}
        _save_atomically(proto, stale_fill)
    elif stale_fill.exists():
        stale_fill.unlink()
    return lambda: compare_backends(reference, OnnxPredictor.from_pretrained(directory))


def _export_sentiment_graphs(directory: Path, graphs: dict):
    """sentiment.onnx; returns the check that compares it with torch."""
    from mbti_core.onnx_predictor import OnnxSentimentPredictor
    from mbti_core.sentiment import SentimentPredictor

    reference = SentimentPredictor.from_pretrained(directory, device="cpu")
    logits_graph, _ = _graphs(reference.model.float().eval())
    proto = _export(logits_graph, _sample_inputs(reference.tokenizer),
                    ["input_ids", "attention_mask"], "logits",
                    {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"}})
    graphs["sentiment"] = {"file": SENTIMENT_GRAPH, **link_to_safetensors(proto, directory, SENTIMENT_PARAMETER_FILES)}
    _save_atomically(proto, directory / SENTIMENT_GRAPH)

    def compare() -> dict:
        onnx_predictor = OnnxSentimentPredictor.from_pretrained(directory)
        return {"probabilities": float(np.abs(reference.probabilities(CHECK_TEXTS)[0]
                                              - onnx_predictor.probabilities(CHECK_TEXTS)[0]).max())}

    return compare


def compare_backends(torch_predictor, onnx_predictor) -> dict:
    """Max |difference| of axis logits (and fill-mask probabilities) between two predictors on the check texts."""
    from mbti_core.types import TYPES

    diffs = {"axis_logits": float(np.abs(torch_predictor.axis_logits(CHECK_TEXTS)[0]
                                         - onnx_predictor.axis_logits(CHECK_TEXTS)[0]).max())}
    if torch_predictor.has_fill_mask:
        diffs["fill_mask_probabilities"] = max(
            float(np.abs(torch_predictor._type_probabilities(text, list(TYPES))[0]
                         - onnx_predictor._type_probabilities(text, list(TYPES))[0]).max())
            for text in CHECK_MASKED)
    return diffs
