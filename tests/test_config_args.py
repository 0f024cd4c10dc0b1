"""Command-line options generated from config dataclasses (mbti_core.config_args)."""
from __future__ import annotations

import argparse
from dataclasses import dataclass, field

import pytest

from mbti_core.config_args import add_config_arguments, config_from_args, field_docs


@dataclass
class ToyConfig:
    n_train: int = 4000              # texts per task
    rate: float = 0.5                # a rate of 50%
    tasks: list[str] = field(default_factory=lambda: ["a", "b"])  # which tasks
    sizes: list[int] = field(default_factory=lambda: [1, 2])
    output: str | None = None        # output JSON (None: the default place)
    progress: bool = True            # a progress bar
    tiny: bool = False               # a smoke run
    encoders: dict = field(default_factory=dict)


def parser_for(**kwargs) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    add_config_arguments(parser, ToyConfig, skip=("encoders",), **kwargs)
    return parser


def test_field_docs_are_the_fields_own_comments():
    docs = field_docs(ToyConfig)
    assert docs["n_train"] == "texts per task" and docs["tiny"] == "a smoke run" and "sizes" not in docs


def test_defaults_types_and_round_trip():
    parser = parser_for(names={"output": "report"}, choices={"tasks": ["a", "b", "c"]})
    assert config_from_args(ToyConfig, parser.parse_args([])) == ToyConfig()
    args = parser.parse_args(["--n-train", "10", "--rate", "0.25", "--tasks", "c", "--sizes", "5", "6",
                              "--report", "x.json", "--no-progress", "--tiny"])
    config = config_from_args(ToyConfig, args, encoders={"m": "p"})
    assert config == ToyConfig(n_train=10, rate=0.25, tasks=["c"], sizes=[5, 6], output="x.json", progress=False,
                               tiny=True, encoders={"m": "p"})
    with pytest.raises(SystemExit):
        parser.parse_args(["--tasks", "z"])  # not among the choices
    with pytest.raises(SystemExit):
        parser.parse_args(["--n-train", "many"])  # typed from the annotation
    text = parser.format_help()
    assert "texts per task (default: 4000)" in text and "a rate of 50% (default: 0.5)" in text
    assert "--encoders" not in text and "turn off: a progress bar" in text


@pytest.mark.parametrize("module, flags", [
    ("mbti_core.studies.probing", ["--encoders", "--data-dir", "--tasks", "--n-train", "--n-test", "--per-writer",
                                   "--max-length", "--C", "--seed", "--device", "--output"]),
    ("mbti_core.studies.embeddings", ["--encoders", "--data-dir", "--datasets", "--n-points", "--pooling",
                                      "--max-length", "--perplexity", "--seed", "--device", "--output"]),
    ("mbti_core.studies.nsmc_scaling", ["--base-model", "--data-dir", "--sizes", "--eval-splits", "--epochs",
                                        "--batch-size", "--max-length", "--learning-rate", "--seed",
                                        "--mixed-precision", "--run-dir", "--report", "--force", "--tiny",
                                        "--no-progress"]),
])
def test_generated_commands_keep_their_flags(module, flags):
    """The studies' options now come from their configs; every flag they had before is still there."""
    import importlib

    parser = argparse.ArgumentParser()
    importlib.import_module(module).add_arguments(parser)
    known = {option for action in parser._actions for option in action.option_strings}
    assert set(flags) <= known
