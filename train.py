"""Training entry point: `python train.py SUBCOMMAND …` (or `accelerate launch train.py …` on several GPUs).

  pretrain  pretrain the Korean encoder (tokenizer + masked LM) -> checkpoints/base
  nsmc      fine-tune an encoder on NSMC sentiment and report test accuracy
  mft       MLM Fine Tuning: phases 1 -> 2 -> 3 -> checkpoints/mft
  ft        plain fine-tuning: phase 3 only -> checkpoints/ft
  type-head re-fit a checkpoint's type-conditioned head on its frozen encoder
  calibrate fit a checkpoint's calibrated probabilities (what the app shows; 50% is the decision)
  nsmc-scaling  the NSMC data-size study (10k..50k reviews) -> reports/nsmc_scaling.json
"""
import sys

from mbti_core.cli import TRAINING_COMMANDS, main

if __name__ == "__main__":
    sys.exit(main(commands=TRAINING_COMMANDS, prog="python train.py"))
