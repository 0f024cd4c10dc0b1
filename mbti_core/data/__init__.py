"""The data layer: one module per source (cafe, descriptions, nsmc, corpus), a Parquet cache of built tables.

``from mbti_core.data import load_cafe`` works as usual; the loaders are imported on first use (PEP 562), so
that the light text helpers (``data.text``, ``data.mentions``) used at inference do not pull in pandas.
"""
from __future__ import annotations

from mbti_core.lazy import lazy_exports

_EXPORTS = {
    "cache": ["load_cafe", "load_descriptions", "load_nsmc", "load_nsmc_reviews", "load_pretraining_text", "labelled"],
    "nsmc": ["nsmc_sample"],
}
__getattr__, __all__ = lazy_exports(__name__, _EXPORTS)
