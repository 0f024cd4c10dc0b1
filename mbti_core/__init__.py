from mbti_core.types import AXES, TYPES  # noqa: F401
