"""The student study's published figures (their data, their split), kept for the record beside ours.

Their metric is the mean of the four per-axis accuracies. Only their MFT got validation-tuned thresholds; their
split is not writer-disjoint and type mentions were not masked, so the numbers are not comparable with ours.
"""
from __future__ import annotations

STUDY_FIGURES = {
    "source": "student study (their data and split)",
    "metric": "mean of the four per-axis accuracies (%); only their MFT used tuned thresholds",
    "mft": {"accuracy": 81.64, "EI": 80.86, "SN": 82.31, "TF": 81.88, "JP": 81.50, "loss": 1.0580},
    "ft": {"accuracy": 81.30, "EI": 81.31, "SN": 82.82, "TF": 81.78, "JP": 79.29, "loss": 1.2715},
}
