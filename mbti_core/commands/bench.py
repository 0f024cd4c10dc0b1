"""``python -m mbti_core bench --checkpoint DIR``: CPU latency and memory of the shipped Predictor.

Measures (after warm-up) p50/p95 in milliseconds of: one message, a batch of 64 messages, fill-mask for 4
types, the 16-type grid, both together (what the Fill-mask page computes), the reverse word -> types ranking,
an explanation (``Predictor.explain``, integrated gradients) of a 50-token message; batch scoring
throughput in messages/s (``mbti_core.batch.score_table`` on ``--batch-messages`` chat messages, the median of
3 runs, input checks included); the time to load the checkpoint (imports included: what a fresh process waits
for); and the process's peak resident memory. ``--backend`` picks onnxruntime or torch (default: as the app,
ONNX when the folder has an export).
Targets (issue 8): batch scoring >= 200 messages/s and an explanation <= 1 s on the CI CPU. Runs on CPU unless
``--device`` says otherwise; ``--threads`` pins the intra-op threads (default: the backend's choice).
"""
from __future__ import annotations

import platform
import resource
import sys
import time

import numpy as np

from mbti_core.commands import add_checkpoint_argument, emit
from mbti_core.predictor_base import STUDY_FILL_SENTENCE

MESSAGES = [
    "내일 모임 시간 딱 지켜야 해. 늦으면 곤란하니까.",
    "오늘 그냥 즉흥으로 놀러 갈래? 계획 없이 가는 게 더 재밌어 ㅋㅋ",
    "저는 혼자 있는 시간이 꼭 필요해요. 그래야 에너지가 충전되거든요.",
    "그 사람 기분이 상했을까 봐 계속 신경 쓰여요 ㅠㅠ",
    "논리적으로 따져보면 그 방법이 제일 효율적이야.",
    "새로운 아이디어 떠오르면 바로 해보고 싶어져요!",
    "정리정돈 안 되어 있으면 집중이 안 돼요",
    "사람들 많은 곳 가면 오히려 기운 나요",
]
FILL_TEXT = STUDY_FILL_SENTENCE


def add_arguments(parser) -> None:
    add_checkpoint_argument(parser)
    parser.add_argument("--repeats", type=int, default=50, help="timed runs per measurement")
    parser.add_argument("--backend", choices=["auto", "onnx", "torch"], default="auto",
                        help="auto (the default, as the app and CLI): ONNX when the folder has an export, else torch")
    parser.add_argument("--threads", type=int, default=None, help="intra-op threads (default: the backend's choice)")
    parser.add_argument("--device", default="cpu", help="torch device (a GPU device implies the torch backend)")
    parser.add_argument("--batch-messages", type=int, default=1000, help="messages for the batch scoring throughput")
    parser.add_argument("--explain-tokens", type=int, default=50, help="length of the explained message in tokens")


def _timings(function, repeats: int, warmup: int = 3) -> dict:
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": round(float(np.percentile(times, 50)), 2), "p95_ms": round(float(np.percentile(times, 95)), 2),
            "runs": repeats}


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024, 1)  # bytes on macOS, KB on Linux


def main(args) -> int:
    from mbti_core.commands import quiet_transformers, require_positive
    from mbti_core.onnx_predictor import OnnxPredictor, load_predictor

    require_positive(args, "repeats", "threads", "batch_messages", "explain_tokens")
    rss_before = _peak_rss_mb()
    started = time.perf_counter()  # includes importing the backend (onnxruntime or torch + transformers)
    if args.backend == "onnx":
        predictor = OnnxPredictor.from_pretrained(args.checkpoint, threads=args.threads)
    else:
        predictor = load_predictor(args.checkpoint, backend=args.backend, device=args.device,
                                   before_torch=quiet_transformers)
    load_seconds = time.perf_counter() - started
    backend = "onnx" if isinstance(predictor, OnnxPredictor) else "torch"
    if backend == "torch" and args.threads:
        import torch

        torch.set_num_threads(args.threads)
    batch = [MESSAGES[i % len(MESSAGES)] for i in range(64)]
    report = {
        "checkpoint": args.checkpoint, "backend": backend, "device": args.device if backend == "torch" else "cpu",
        "threads": args.threads, "cpu": platform.processor() or platform.machine(),
        "load_seconds": round(load_seconds, 3),
        "one_message": _timings(lambda: predictor.predict(MESSAGES[0]), args.repeats),
        "batch_64": _timings(lambda: predictor.predict(batch), max(5, args.repeats // 5)),
    }
    if predictor.has_fill_mask:
        four = ["ISTJ", "ENFP", "INTJ", "ESFP"]
        # Every timed call starts without the predictor's last-sentence cache: each one pays the model call.
        report["fill_mask_4_types"] = _timings(
            lambda: (predictor.clear_fill_cache(), predictor.fill_mask(FILL_TEXT, four, 5)), args.repeats)
        report["fill_grid_16_types"] = _timings(
            lambda: (predictor.clear_fill_cache(), predictor.fill_grid(FILL_TEXT)), args.repeats)
        report["fill_mask_4_types_and_grid"] = _timings(
            lambda: (predictor.clear_fill_cache(), predictor.fill_mask(FILL_TEXT, four, 5), predictor.fill_grid(FILL_TEXT)),
            args.repeats)
        report["types_for_word"] = _timings(lambda: predictor.types_for_word(FILL_TEXT.replace("[MASK]", "해"), "미리미리"),
                                            args.repeats)
    else:
        report["fill_mask_4_types"] = "not available: checkpoint has no type-conditioned MLM head (FT)"
    report["batch_scoring"] = _batch_throughput(predictor, args.batch_messages)
    if backend == "onnx":  # explanations need gradients: the torch model of the same folder, loaded on first use
        started = time.perf_counter()
        predictor.torch_predictor()
        report["explain_torch_load_seconds"] = round(time.perf_counter() - started, 3)
    report["explain"] = _explain_latency(predictor, args.explain_tokens, max(5, args.repeats // 5))
    report["peak_rss_mb"] = _peak_rss_mb()
    report["peak_rss_mb_before_load"] = rss_before
    emit(report)
    return 0


def _batch_throughput(predictor, n_messages: int, runs: int = 3) -> dict:
    """Messages/s of batch scoring as the CLI and the Batch page do it (reading excluded, row checks included)."""
    import pandas as pd

    from mbti_core.batch import InputTable, score_table

    # Varied lengths as in a real chat export: 1-3 of the sample messages per row.
    texts = [" ".join(MESSAGES[(i + j) % len(MESSAGES)] for j in range(1 + i % 3)) for i in range(n_messages)]
    table = InputTable(pd.DataFrame({"text": texts}, index=pd.RangeIndex(1, n_messages + 1, name="row")), "csv", "utf-8")
    score_table(predictor, InputTable(table.frame.head(64), "csv", "utf-8"), "text")  # warm-up
    seconds = []
    for _ in range(runs):
        result = score_table(predictor, table, "text")
        seconds.append(result.seconds)
    median = float(np.median(seconds))
    return {"messages": n_messages, "scored": len(result.scored), "runs": runs, "median_seconds": round(median, 3),
            "messages_per_second": round(n_messages / median, 1), "target_messages_per_second": 200}


def _explain_latency(predictor, n_tokens: int, repeats: int) -> dict:
    """Latency of Predictor.explain on a message of ``n_tokens`` tokens (special tokens excluded)."""
    from mbti_core.inference import EXPLAIN_STEPS

    words, text = " ".join(MESSAGES * 10).split(), ""
    for word in words:
        candidate = f"{text} {word}".strip()
        if len(predictor.tokenizer(candidate, add_special_tokens=False)["input_ids"]) > n_tokens:
            break
        text = candidate
    explanation = predictor.explain(text)
    return {"tokens": len(explanation["tokens"]), "steps": EXPLAIN_STEPS,
            "max_abs_delta": round(max(abs(d) for d in explanation["delta"].values()), 5),
            **_timings(lambda: predictor.explain(text), repeats, warmup=2), "target_ms": 1000}
