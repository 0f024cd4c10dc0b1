"""Training stages: the shared loop (``loop``), pretraining (``pretrain``), NSMC check (``nsmc``), MFT/FT phases."""
from mbti_core.training.loop import LoopConfig, make_accelerator, read_progress, train  # noqa: F401
