import sys

from mbti_core.cli import main

sys.exit(main())
