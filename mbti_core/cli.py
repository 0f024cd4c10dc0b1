"""The one registry of commands and their one error handler.

`python -m mbti_core SUBCOMMAND` (``COMMANDS``) and `python train.py SUBCOMMAND` (``TRAINING_COMMANDS``) are two
doors onto it: each subcommand is a module with add_arguments(parser) and main(args)."""
from __future__ import annotations

import argparse
import importlib
import sys

# name -> (module, one-line help). Modules are imported only when their subcommand runs,
# so `--help` stays fast and a missing optional dependency only breaks its own command.
COMMANDS: dict[str, tuple[str, str]] = {
    "data": ("mbti_core.datacmd", "build the cached datasets from the raw data and print a summary"),
    "baseline": ("mbti_core.baselines", "majority and TF-IDF + LR baselines on the writer-disjoint test split"),
    "mask": ("mbti_core.masking.command",
             "mask one type-characteristic token per sentence (logodds, random or an OpenAI-compatible LLM)"),
    "generate": ("mbti_core.masking.generate", "LLM-written Korean chat sentences per MBTI type (the study's data step)"),
    "predict": ("mbti_core.commands.predict", "predict MBTI type and axis probabilities for texts (JSON lines)"),
    "fill-mask": ("mbti_core.commands.fill_mask", "type-conditioned [MASK] fills for several MBTI types (JSON)"),
    "evaluate": ("mbti_core.commands.evaluate",
                 "metrics of a checkpoint on a raw cafe comments CSV (or, for a sentiment checkpoint, a raw NSMC file)"),
    "export-onnx": ("mbti_core.commands.export_onnx",
                    "ONNX graphs of a checkpoint that read its safetensors weights (fast CPU serving, no torch)"),
    "type-effect": ("mbti_core.commands.type_effect",
                    "how much the MBTI type changes the type-conditioned fill-mask, on masked sentences (JSON)"),
    "type-effect-options": ("mbti_core.studies.type_effect_options",
                            "which type-MLM head and schedule keep the type effect, measured (reports/type_effect.json)"),
    "reliability": ("mbti_core.studies.reliability",
                    "how far to trust one prediction: accuracy by shown probability, close calls, length (JSON)"),
    "bench": ("mbti_core.commands.bench", "CPU latency (p50/p95), load time and peak memory of a checkpoint"),
    "ensemble": ("mbti_core.ensemble", "blend a checkpoint's axis log-odds with TF-IDF + LR (weights chosen on validation)"),
    "embeddings": ("mbti_core.studies.embeddings", "3-D PCA/t-SNE maps of test-sentence embeddings per encoder (JSON for the app)"),
    "probe": ("mbti_core.studies.probing", "per-layer linear probes (macro-F1) for sentiment and each MBTI axis"),
}


# `python train.py SUBCOMMAND` (or `accelerate launch train.py …`): the training door onto the same handler.
TRAINING_COMMANDS: dict[str, tuple[str, str]] = {
    "pretrain": ("mbti_core.training.pretrain", "pretrain the Korean encoder and write checkpoints/base"),
    "nsmc": ("mbti_core.training.nsmc", "fine-tune an encoder on NSMC sentiment; test accuracy vs TF-IDF"),
    "mft": ("mbti_core.training.mft", "MLM Fine Tuning: phases 1, 2 and 3 on one encoder"),
    "ft": ("mbti_core.training.ft", "plain fine-tuning: phase 3 alone from the same base"),
    "type-head": ("mbti_core.training.type_head",
                  "re-fit a checkpoint's type-conditioned head on its frozen encoder (the study's persona sentences)"),
    "calibrate": ("mbti_core.training.calibrate",
                  "fit a checkpoint's calibrated probabilities (one message, and one writer's pooled messages)"),
    "nsmc-scaling": ("mbti_core.studies.nsmc_scaling", "NSMC data-size scaling study (10k..50k) beside the seed study's figures"),
}

def build_parser(commands: dict[str, tuple[str, str]] = COMMANDS, prog: str = "python -m mbti_core",
                 description: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog, description=description or "Korean MBTI text classification: data, baselines, models.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in commands.items():
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(_module=module_name)
        # Arguments are added lazily in main(); here only the help text is registered.
    return parser


def main(argv=None, commands: dict[str, tuple[str, str]] = COMMANDS, prog: str = "python -m mbti_core") -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(commands, prog, description=(sys.modules["__main__"].__doc__ or "").strip() or None)
    # Find the subcommand, then give its parser the module's own arguments before parsing for real.
    known, _ = parser.parse_known_args(argv[:1] if argv and not argv[0].startswith("-") else argv)
    module = importlib.import_module(known._module)
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    module.add_arguments(subparsers.choices[known.command])
    args = parser.parse_args(argv)
    try:
        return int(module.main(args) or 0)
    except (OSError, ValueError) as err:
        # Bad input, missing or unreadable files (settings.DataNotFoundError and checkpoint_files.CheckpointError
        # included): one clear line, no traceback.
        # Every subcommand relies on this one handler rather than catching the same errors itself.
        print(f"{args.command}: error: {err}", file=sys.stderr)
        return 2
