"""``train.py ft``: plain Fine Tuning (phase 3 only) from the same base encoder, with the same phase-3 data,
budget and hyper-parameters as ``train.py mft``. Everything lives in :mod:`mbti_core.training.mft`."""
from __future__ import annotations

import argparse

from mbti_core.training import mft


def add_arguments(parser: argparse.ArgumentParser) -> None:
    mft.add_arguments(parser)


def main(args) -> int:
    return mft.main(args, mode="ft")
