"""``python -m mbti_core.masking …`` = ``python -m mbti_core mask …``."""
import sys

from mbti_core.masking.command import run_cli

sys.exit(run_cli())
