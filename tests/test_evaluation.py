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


def test_macro_f1_by_threshold_equals_sklearn():
    from sklearn.metrics import f1_score

    from mbti_core.evaluation import macro_f1_by_threshold

    rng = np.random.default_rng(1)
    grid = np.linspace(0.0, 1.0, 41)  # includes thresholds where one class is never predicted
    cases = [(rng.integers(0, 2, 300), rng.random(300)), (np.ones(50, dtype=int), rng.random(50)),
             (np.zeros(50, dtype=int), rng.random(50)), (np.array([0, 1, 1, 0]), np.array([0.5, 0.5, 0.9, 0.1]))]
    for y, p in cases:
        expected = [f1_score(y, (p >= t).astype(int), average="macro", labels=[0, 1], zero_division=0) for t in grid]
        np.testing.assert_allclose(macro_f1_by_threshold(y, p, grid), expected, atol=1e-12)


def test_mean_std_over_seeds():
    runs = [axis_metrics(np.eye(4, dtype=int)[[0, 1, 2, 3]], np.eye(4) * s + 0.1) for s in (0.5, 0.8)]
    summary = mean_std(runs)
    assert summary["mean_macro_f1"]["mean"] == pytest.approx(np.mean([r["mean_macro_f1"] for r in runs]))
    assert "EI_accuracy" in summary and summary["loss"]["std"] > 0


def test_binary_metrics():
    m = binary_metrics([0, 1, 1, 0], [0.2, 0.7, 0.4, 0.1])
    assert m == pytest.approx({"n": 4, "accuracy": 0.75, "f1": 2 / 3, "loss": m["loss"]})


def _miscalibrated(rng, n: int, share: float, writers: int = 0):
    """Labels drawn from a true logit, and a model logit that is 2.5x too confident and shifted by +0.8."""
    true_logit = rng.normal(0, 1, size=(n, 4)) + np.log(share / (1 - share))
    y = (rng.uniform(size=(n, 4)) < 1 / (1 + np.exp(-true_logit))).astype(int)
    return 2.5 * true_logit + 0.8, y


def test_fit_calibration_moves_ece_down_on_miscalibrated_logits():
    from mbti_core import evaluation

    rng = np.random.default_rng(0)
    train_logits, train_y = _miscalibrated(rng, 20000, 0.4)
    validation_logits, validation_y = _miscalibrated(rng, 3000, 0.4)
    test_logits, test_y = _miscalibrated(rng, 20000, 0.4)
    parameters = np.array(evaluation.fit_calibration(validation_logits, validation_y, train_logits, train_y))
    assert parameters.shape == (4, 2) and np.allclose(parameters[:, 0], 0.4, atol=0.05)  # 1 / 2.5
    before = evaluation.sigmoid(test_logits)
    after = evaluation.sigmoid(evaluation.apply_calibration(test_logits, parameters.tolist()))
    for axis in range(4):
        ece_before = evaluation.expected_calibration_error(test_y[:, axis], before[:, axis])
        ece_after = evaluation.expected_calibration_error(test_y[:, axis], after[:, axis])
        assert ece_after < 0.02 < 0.1 < ece_before
    assert np.array_equal(evaluation.apply_calibration(test_logits, None), test_logits)


def test_calibration_takes_the_letters_base_rate_from_the_prior_split():
    """The bias comes from the (large) prior split: with validation at a 70% share and training at 40%, the mean
    calibrated probability on training is the training share, whatever validation's is."""
    from mbti_core import evaluation

    rng = np.random.default_rng(1)
    train_logits, train_y = _miscalibrated(rng, 20000, 0.4)
    validation_logits, validation_y = _miscalibrated(rng, 3000, 0.7)
    parameters = evaluation.fit_calibration(validation_logits, validation_y, train_logits, train_y)
    calibrated = evaluation.sigmoid(evaluation.apply_calibration(train_logits, parameters))
    assert calibrated.mean(axis=0) == pytest.approx(train_y.mean(axis=0), abs=1e-6)
    # Writer-balanced weights: a writer with 9 texts weighs as much as one with 1.
    assert evaluation.writer_balanced_weights(["a"] * 9 + ["b"]).tolist() == pytest.approx([1 / 9] * 9 + [1.0])


def test_fit_calibrations_and_served_metrics_on_writer_frames():
    """Per comment and per writer (mean logit), the served probabilities follow the fitted calibrations; ECE
    reported before and after."""
    import pandas as pd

    from mbti_core import evaluation
    from mbti_core.types import TYPES, bits_to_type

    rng = np.random.default_rng(2)

    def frame(writers: int, per_writer: int):
        logits, y = _miscalibrated(rng, writers * per_writer, 0.45)
        types = [bits_to_type(row.astype(bool)) for row in np.repeat(y[::per_writer], per_writer, axis=0)]
        return pd.DataFrame({"writer": np.repeat([f"w{i}" for i in range(writers)], per_writer), "type": types}), logits

    (train, train_logits), (validation, validation_logits) = frame(2000, 5), frame(400, 5)
    fitted = evaluation.fit_calibrations(train, train_logits, validation, validation_logits)
    assert np.array(fitted["calibration"]).shape == (4, 2) and np.array(fitted["writer_calibration"]).shape == (4, 4)
    served = evaluation.served_probabilities(validation, validation_logits, **fitted)
    expected = evaluation.sigmoid(evaluation.apply_calibration(validation_logits, fitted["calibration"]))
    assert np.allclose(served["comment"][1], expected) and served["writer"][1].shape == (400, 4)
    pooled = evaluation.apply_writer_calibration(np.ones((2, 4)), [1, 5], fitted["writer_calibration"])
    a, c, d, b = np.array(fitted["writer_calibration"]).T
    assert pooled[1] == pytest.approx(a + c * np.log(5) + d * np.log(5) + b) and pooled[0] == pytest.approx(a + b)
    errors = evaluation.calibration_errors(validation, validation_logits, **fitted)
    assert set(errors) == {"bins", "comment", "writer"}
    assert all(errors["comment"]["ece"][a] < errors["comment"]["ece_uncalibrated"][a] for a in errors["comment"]["ece"])
    metrics = evaluation.served_metrics(validation, validation_logits, **fitted)
    assert metrics["thresholds"] == [0.5] * 4 and metrics["writer_level"]["n"] == 400
    assert set(TYPES) >= set(validation["type"])


def test_expected_calibration_error_and_the_calibration_block():
    import pandas as pd

    from mbti_core import evaluation

    y = np.array([1, 0, 1, 1, 0, 0, 1, 0])
    p = np.array([0.9, 0.1, 0.8, 0.6, 0.4, 0.2, 0.65, 0.35])
    # bins: 0.1 -> [0]; 0.2 -> [0]; 0.35 -> [0]; 0.4 -> [0]; 0.6 and 0.65 -> [1, 1]; 0.8 -> [1]; 0.9 -> [1]
    expected = (0.1 + 0.2 + 0.35 + 0.4 + abs(0.625 - 1) * 2 + 0.2 + 0.1) / 8
    assert evaluation.expected_calibration_error(y, p) == pytest.approx(expected)
    assert evaluation.expected_calibration_error(np.array([1, 0]), np.array([0.55, 0.55])) == pytest.approx(0.05)
    y4, p4 = np.stack([y] * 4, axis=1), np.stack([p] * 4, axis=1)
    frame = pd.DataFrame({"writer": ["a", "a", "b", "b", "c", "c", "d", "d"],
                          "type": ["ESTJ" if label else "INFP" for label in y]})
    block = evaluation.calibration_errors(frame, np.log(p4 / (1 - p4)))
    assert block["comment"]["ece"]["EI"] == pytest.approx(expected) and set(block["writer"]["ece"]) == {"EI", "SN", "TF", "JP"}
    assert block["comment"]["ece_uncalibrated"] == block["comment"]["ece"]  # no calibration given


def test_axis_auc_ranks_and_ignores_monotone_changes():
    from sklearn.metrics import roc_auc_score

    from mbti_core import evaluation

    rng = np.random.default_rng(0)
    y = (rng.random((300, 4)) < 0.3).astype(int)
    scores = y * 0.8 + rng.normal(0, 1, size=y.shape)
    auc = evaluation.axis_auc(y, scores)
    assert auc == pytest.approx([roc_auc_score(y[:, i], scores[:, i]) for i in range(4)])
    # a calibration keeps the order, and so the AUC
    assert evaluation.axis_auc(y, evaluation.sigmoid(2 * scores - 1)) == pytest.approx(auc)
    y[:, 0] = 1
    assert np.isnan(evaluation.axis_auc(y, scores)[0])  # one class: no ranking to score
