import numpy as np
import pytest

from mbti_core.evaluation import axis_metrics, bce_loss, binary_metrics, mean_std, tune_thresholds, writer_level


def test_axis_metrics_by_hand():
    y = np.array([[1, 0, 1, 0], [0, 0, 1, 1], [1, 1, 0, 0], [0, 1, 0, 1]])
    p = np.array([[0.9, 0.1, 0.8, 0.3], [0.2, 0.6, 0.7, 0.4], [0.4, 0.9, 0.1, 0.2], [0.1, 0.8, 0.6, 0.9]])
    m = axis_metrics(y, p)
    assert m["n"] == 4
    assert m["axes"]["EI"]["accuracy"] == 0.75  # third row wrong
    assert m["axes"]["EI"]["confusion"] == {"labels": ["E", "I"], "matrix": [[1, 1], [0, 2]]}
    assert m["axes"]["SN"]["accuracy"] == 0.75 and m["axes"]["JP"]["accuracy"] == 0.75
    # rows: right axes per example = 4, 2, 3, 3
    assert m["type_accuracy"] == 0.25 and m["at_least_3"] == 0.75 and m["at_least_2"] == 1.0
    assert m["mean_accuracy"] == pytest.approx(np.mean([0.75, 0.75, 0.75, 0.75]))
    assert m["loss"] == pytest.approx(bce_loss(y, p))


def test_macro_f1_punishes_majority_guessing():
    y = np.array([[1, 1, 1, 1]] * 8 + [[0, 0, 0, 0]] * 2)
    m = axis_metrics(y, np.full((10, 4), 0.9))
    assert m["mean_accuracy"] == pytest.approx(0.8)
    assert m["mean_macro_f1"] == pytest.approx(0.8 / 1.8)  # F1 of the majority class 8/9, minority 0


def test_bad_shapes_raise():
    with pytest.raises(ValueError, match="shape"):
        axis_metrics(np.zeros((3, 4)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="no examples"):
        axis_metrics(np.zeros((0, 4)), np.zeros((0, 4)))


def test_writer_level_pools_log_odds():
    writers = ["a", "a", "b"]
    y = np.array([[1, 1, 1, 1], [1, 1, 1, 1], [0, 0, 0, 0]])
    p = np.array([[0.9] * 4, [0.4] * 4, [0.2] * 4])
    ids, y_w, p_w = writer_level(writers, y, p)
    assert list(ids) == ["a", "b"]
    np.testing.assert_array_equal(y_w, [[1] * 4, [0] * 4])
    expected = 1 / (1 + np.exp(-(np.log(9) + np.log(0.4 / 0.6)) / 2))
    np.testing.assert_allclose(p_w[0], expected)


def test_tune_thresholds_finds_the_gap():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=(400, 4))
    p = np.where(y == 1, 0.65, 0.55) + rng.normal(0, 0.01, size=y.shape)
    thresholds = tune_thresholds(y, p)
    assert all(0.56 <= t <= 0.64 for t in thresholds)
    assert axis_metrics(y, p, thresholds)["mean_accuracy"] > 0.95 > axis_metrics(y, p)["mean_accuracy"]


def test_mean_std_over_seeds():
    runs = [axis_metrics(np.eye(4, dtype=int)[[0, 1, 2, 3]], np.eye(4) * s + 0.1) for s in (0.5, 0.8)]
    summary = mean_std(runs)
    assert summary["mean_macro_f1"]["mean"] == pytest.approx(np.mean([r["mean_macro_f1"] for r in runs]))
    assert "EI_accuracy" in summary and summary["loss"]["std"] > 0


def test_binary_metrics():
    m = binary_metrics([0, 1, 1, 0], [0.2, 0.7, 0.4, 0.1])
    assert m == pytest.approx({"n": 4, "accuracy": 0.75, "f1": 2 / 3, "loss": m["loss"]})


def test_writer_thresholds_are_tuned_on_pooled_log_odds():
    """Each writer's comments lean weakly one way: pooled, the writers separate at a threshold far from the
    comment-level one, and choose_writer_thresholds finds it."""
    import pandas as pd

    from mbti_core import evaluation

    rng = np.random.default_rng(1)
    rows, probs = [], []
    for writer in range(60):
        mbti = "ESTJ" if writer % 2 else "INFP"
        lean = 0.62 if writer % 2 else 0.55  # both sides above 0.5 per comment: pooled, they split near 0.585
        for _ in range(20):
            rows.append({"writer": f"w{writer}", "type": mbti})
            probs.append(np.clip(lean + rng.normal(0, 0.02, 4), 0.01, 0.99))
    frame, probs = pd.DataFrame(rows), np.array(probs)
    thresholds = evaluation.choose_writer_thresholds(frame, probs)
    assert all(0.56 <= t <= 0.61 for t in thresholds)
    _, truth, pooled = evaluation.writer_level(frame["writer"].to_numpy(), evaluation.type_labels(frame["type"]), probs)
    assert axis_metrics(truth, pooled, thresholds)["mean_macro_f1"] == 1.0 > axis_metrics(truth, pooled)["mean_macro_f1"]


def test_expected_calibration_error_and_the_calibration_block():
    from mbti_core import evaluation

    y = np.array([1, 0, 1, 1, 0, 0, 1, 0])
    p = np.array([0.9, 0.1, 0.8, 0.6, 0.4, 0.2, 0.65, 0.35])
    # bins: 0.1 -> [0]; 0.2 -> [0]; 0.35 -> [0]; 0.4 -> [0]; 0.6 and 0.65 -> [1, 1]; 0.8 -> [1]; 0.9 -> [1]
    expected = (0.1 + 0.2 + 0.35 + 0.4 + abs(0.625 - 1) * 2 + 0.2 + 0.1) / 8
    assert evaluation.expected_calibration_error(y, p) == pytest.approx(expected)
    assert evaluation.expected_calibration_error(np.array([1, 0]), np.array([0.55, 0.55])) == pytest.approx(0.05)
    y4, p4 = np.stack([y] * 4, axis=1), np.stack([p] * 4, axis=1)
    block = evaluation.calibration(y4, p4, writers=np.array(["a", "a", "b", "b", "c", "c", "d", "d"]))
    assert block["comment"]["EI"] == pytest.approx(expected) and set(block["writer"]) == {"EI", "SN", "TF", "JP"}
