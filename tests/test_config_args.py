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


MFT_FLAGS = ["--base-model", "--seeds", "--masked", "--phase1-data", "--phase2-data", "--type-head-epochs",
             "--no-type-vocab-bias", "--no-refit-type-head", "--data-dir", "--output-dir", "--run-dir", "--report",
             "--tiny", "--resume", "--max-length", "--epochs", "--learning-rate", "--batch-size", "--writer-weighting",
             "--max-texts-per-writer", "--comments-only", "--no-group-by-length", "--no-tune-thresholds",
             "--no-calibrate", "--limit-train", "--limit-masked", "--no-export-onnx", "--no-progress"]


def test_training_commands_keep_their_flags():
    """mft/ft and nsmc options come from their configs too; every flag scripts and train_command.txt use is there."""
    from mbti_core.training import mft, nsmc, pretrain

    for module, flags in ((mft, MFT_FLAGS), (nsmc, NSMC_FLAGS), (pretrain, PRETRAIN_FLAGS)):
        parser = argparse.ArgumentParser()
        module.add_arguments(parser)
        assert set(flags) <= {option for action in parser._actions for option in action.option_strings}


def test_mft_options_replace_the_preset_only_where_given():
    from dataclasses import replace

    from mbti_core.training import mft

    def parse(argv, mode="mft"):
        parser = argparse.ArgumentParser()
        mft.add_arguments(parser)
        return mft.config_from_args(parser.parse_args(argv), mode)

    assert parse([]) == mft.MFTConfig(mode="mft")
    assert parse(["--tiny"], "ft") == mft.tiny_config(mode="ft")  # the preset's seeds, limits and phases stay
    config = parse(["--tiny", "--seeds", "3", "4", "--comments-only", "--no-calibrate", "--masked", "m.csv",
                    "--report", "r.json", "--epochs", "1", "2", "3", "--batch-size", "8", "--no-group-by-length",
                    "--writer-weighting", "sqrt", "--limit-train", "50"])
    tiny = mft.tiny_config(mode="mft")
    assert config == replace(
        tiny, seeds=[3, 4], include_posts=False, calibrate=False, masked_file="m.csv", report_path="r.json",
        writer_weighting="sqrt", limit_train=50,
        phase1=replace(tiny.phase1, epochs=1, batch_size=8, group_by_length=False),
        phase2=replace(tiny.phase2, epochs=2, batch_size=8, group_by_length=False),
        phase3=replace(tiny.phase3, epochs=3, batch_size=8, group_by_length=False))
    with pytest.raises(SystemExit):
        parse(["--writer-weighting", "square"])
    with pytest.raises(ValueError, match="--batch-size must be positive"):
        parse(["--batch-size", "0"])


NSMC_FLAGS = ["--base-model", "--data-dir", "--n-train", "--n-test", "--epochs", "--batch-size", "--learning-rate",
              "--max-length", "--seed", "--mixed-precision", "--run-dir", "--report", "--no-tfidf", "--no-progress",
              "--output-dir", "--no-export-onnx"]


def test_pretrain_and_nsmc_options_round_trip():
    from mbti_core.training import nsmc, pretrain

    def parse(module, argv):
        parser = argparse.ArgumentParser()
        module.add_arguments(parser)
        return parser.parse_args(argv)

    assert pretrain.config_from_args(parse(pretrain, [])) == pretrain.PretrainConfig()
    tiny = pretrain.PretrainConfig(**pretrain.tiny_overrides())
    assert pretrain.config_from_args(parse(pretrain, ["--tiny"])) == tiny
    given = pretrain.config_from_args(parse(pretrain, ["--tiny", "--skip-nsmc", "--no-progress", "--max-steps", "6",
                                                       "--mixed-precision", "no"]))
    assert given == pretrain.PretrainConfig(**{**pretrain.tiny_overrides(), "nsmc": False, "progress": False,
                                               "max_steps": 6, "mixed_precision": "no"})
    assert config_from_args(nsmc.NsmcConfig, parse(nsmc, [])) == nsmc.NsmcConfig()
    config = config_from_args(nsmc.NsmcConfig, parse(nsmc, ["--no-tfidf", "--n-train", "100", "--output-dir", "o"]))
    assert config == nsmc.NsmcConfig(tfidf_baseline=False, n_train=100, output_dir="o")


def test_presets_are_shown_in_the_help():
    parser = argparse.ArgumentParser()
    add_config_arguments(parser, ToyConfig, skip=("encoders",), presets={"--tiny": ToyConfig(n_train=10, tiny=True)})
    assert "texts per task (default: 4000; --tiny: 10)" in " ".join(parser.format_help().split())


PRETRAIN_FLAGS = ["--base-model", "--data-dir", "--output-dir", "--run-dir", "--report", "--tiny", "--resume",
                  "--no-resume", "--skip-nsmc", "--no-progress", "--vocab-size", "--embedding-size", "--hidden-size",
                  "--num-layers", "--num-heads", "--intermediate-size", "--block-size", "--mlm-probability",
                  "--max-texts", "--batch-size", "--gradient-accumulation-steps", "--learning-rate", "--warmup-steps",
                  "--max-steps", "--time-budget-minutes", "--mixed-precision", "--seed", "--log-every", "--save-every",
                  "--eval-texts", "--nsmc-train", "--nsmc-test"]
