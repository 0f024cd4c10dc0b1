"""The TF-IDF blend: weights and thresholds come from validation and follow the informative model per axis."""
from __future__ import annotations

import numpy as np
import pytest

from mbti_core import ensemble


@pytest.mark.slow
def test_blend_weights_follow_the_informative_model_per_axis():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=(2000, 4))
    signal = (2 * y - 1) * 2.0
    noise = lambda: rng.normal(0, 1, size=(2000, 4))  # noqa: E731
    model_logits, tfidf_logits = noise(), noise()
    model_logits[:, [0, 2]] += signal[:, [0, 2]]   # the checkpoint knows axes 0 and 2
    tfidf_logits[:, [1, 3]] += signal[:, [1, 3]]   # TF-IDF knows axes 1 and 3

    weights, thresholds = ensemble.choose_blend(y, model_logits, tfidf_logits)

    assert weights[0] >= 0.8 and weights[2] >= 0.8
    assert weights[1] <= 0.2 and weights[3] <= 0.2
    assert all(0.2 <= t <= 0.8 for t in thresholds)
    blended = ensemble.blend(model_logits, tfidf_logits, weights)
    accuracy = ((blended >= np.asarray(thresholds)) == y).mean(axis=0)
    assert (accuracy > 0.9).all()


def test_logit_is_finite_at_the_edges():
    values = ensemble.logit(np.array([0.0, 0.5, 1.0]))
    assert np.isfinite(values).all() and values[1] == 0.0 and values[0] < -10 and values[2] > 10
