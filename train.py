"""Training entry point: `python train.py SUBCOMMAND …` (or `accelerate launch train.py …` on several GPUs).

  pretrain  pretrain the Korean encoder (tokenizer + masked LM) -> checkpoints/base
  nsmc      fine-tune an encoder on NSMC sentiment and report test accuracy
  mft       MLM Fine Tuning: phases 1 -> 2 -> 3 -> checkpoints/mft
  ft        plain fine-tuning: phase 3 only -> checkpoints/ft
  type-head re-fit a checkpoint's type-conditioned head on its frozen encoder
  nsmc-scaling  the NSMC data-size study (10k..50k reviews) -> reports/nsmc_scaling.json
"""
import sys

from mbti_core.cli import main

COMMANDS = {
    "pretrain": ("mbti_core.training.pretrain", "pretrain the Korean encoder and write checkpoints/base"),
    "nsmc": ("mbti_core.training.nsmc", "fine-tune an encoder on NSMC sentiment; test accuracy vs TF-IDF"),
    "mft": ("mbti_core.training.mft", "MLM Fine Tuning: phases 1, 2 and 3 on one encoder"),
    "ft": ("mbti_core.training.ft", "plain fine-tuning: phase 3 alone from the same base"),
    "type-head": ("mbti_core.training.type_head",
                  "re-fit a checkpoint's type-conditioned head on its frozen encoder (the study's persona sentences)"),
    "writer-thresholds": ("mbti_core.training.writer_thresholds",
                          "fit a checkpoint's thresholds for pooled (per-writer) predictions on validation writers"),
    "nsmc-scaling": ("mbti_core.studies.nsmc_scaling", "NSMC data-size scaling study (10k..50k) beside the seed study's figures"),
}

if __name__ == "__main__":
    sys.exit(main(commands=COMMANDS, prog="python train.py"))
