"""The reliability report (mbti_core.studies.reliability): its figures are exactly what the rows say."""
from __future__ import annotations

import numpy as np
import pytest

from mbti_core.studies.reliability import CLOSE_MARGIN, axis_reliability, measure


def test_axis_reliability_counts_bands_bins_and_close_calls():
    y = np.array([1, 1, 0, 0, 1, 0, 1, 0])
    p = np.array([0.90, 0.62, 0.58, 0.20, 0.52, 0.49, 0.30, 0.05])
    result = axis_reliability(y, p, threshold=0.5)
    shown_right = [True, True, False, True, True, True, False, True]
    assert result["accuracy"] == pytest.approx(np.mean(shown_right))
    bands = {b["band"]: b for b in result["by_shown_probability"]}
    # shown probabilities: .90 .62 .58 .80 .52 .51 .70 .95
    assert bands["50–55%"]["n"] == 2 and bands["50–55%"]["accuracy"] == 1.0
    assert bands["55–60%"]["n"] == 1 and bands["55–60%"]["accuracy"] == 0.0
    assert bands["60–70%"]["n"] == 1 and bands["70–100%"]["n"] == 4 and bands["70–100%"]["accuracy"] == 0.75
    close = result["close_calls"]
    assert close["margin"] == CLOSE_MARGIN and close["share"] == pytest.approx(2 / 8) and close["accuracy"] == 1.0
    assert sum(b["n"] for b in result["reliability_bins"]) == 8
    expected_ece = sum(abs(p[m].mean() - y[m].mean()) * m.sum() for m in
                       [np.clip((p * 10).astype(int), 0, 9) == b for b in range(10)] if m.any()) / 8
    assert result["ece"] == pytest.approx(expected_ece)


def test_a_tuned_threshold_can_show_a_letter_below_half_and_the_bands_say_so():
    result = axis_reliability(np.array([1, 0, 1]), np.array([0.46, 0.40, 0.80]), threshold=0.45)
    bands = {b["band"]: b for b in result["by_shown_probability"]}
    assert bands["0–50%"]["n"] == 1 and bands["0–50%"]["accuracy"] == 1.0  # E shown at 46%


def test_measure_by_length_and_type_chance():
    y = np.array([[1, 1, 1, 1], [0, 0, 0, 0], [1, 0, 1, 0]])
    probs = np.array([[0.9, 0.9, 0.9, 0.9], [0.1, 0.1, 0.6, 0.1], [0.9, 0.1, 0.9, 0.9]])
    report = measure(y, probs, [0.5] * 4, [5, 40, 200], ["ESTJ", "INFP", "ESTJ"])
    assert report["type_accuracy"] == pytest.approx(1 / 3) and report["type_chance"] == 1 / 16
    assert report["commonest_type"] == "ESTJ" and report["commonest_type_share"] == pytest.approx(2 / 3)
    lengths = {band["chars"]: band for band in report["by_length"]}
    assert set(lengths) == {"1–10", "31–80", "81+"} and lengths["1–10"]["type_accuracy"] == 1.0
    assert lengths["31–80"]["mean_axis_accuracy"] == 0.75 and lengths["81+"]["axis_accuracy"]["JP"] == 0.0


def test_message_draws_and_the_writer_curve():
    from mbti_core.evaluation import message_draws
    from mbti_core.studies.reliability import writer_curve

    writers = np.array(["a"] * 6 + ["b"] * 2 + ["c"] * 1)
    draws = message_draws(writers, counts=(1, 2, 5), seed=3)
    assert [len(draws[k]) for k in (1, 2, 5)] == [3, 2, 1]  # writers with at least k comments
    assert all(len(set(rows)) == k for k in (1, 2, 5) for rows in draws[k])
    assert all(set(writers[rows]) == {writers[rows[0]]} for groups in draws.values() for rows in groups)
    assert message_draws(writers, counts=(1, 2, 5), seed=3)[5][0].tolist() == draws[5][0].tolist()  # seeded
    y = np.array([[1, 1, 1, 1]] * 6 + [[0, 0, 0, 0]] * 3)
    logits = np.where(y == 1, 0.4, -0.2)
    curve = writer_curve(draws, y, logits, lambda rows: 1 / (1 + np.exp(-rows.mean(axis=0))))
    assert [(p["messages"], p["writers"]) for p in curve] == [(1, 3), (2, 2), (5, 1)]
    assert all(p["type_accuracy"] == 1.0 and p["mean_macro_f1"] == pytest.approx(1.0 if p["writers"] > 1 else 0.5)
               for p in curve)


def test_writer_decisions_tune_on_validation_writers_and_count_contradictions():
    """Writers whose first letter holds exactly when their pooled P >= 0.4: thresholds tuned on validation writers
    land near 0.4, score perfectly on test writers drawn the same way, and every test writer with a pooled P
    between the tuned threshold and 0.5 is one whose tuned letters contradict the shown probability."""
    import pandas as pd

    from mbti_core import evaluation
    from mbti_core.studies.reliability import writer_decisions
    from mbti_core.types import predicted_types, type_labels

    def writers(seed: int, count: int = 200):
        rng = np.random.default_rng(seed)
        p = rng.uniform(0.2, 0.8, size=(count, 4))
        types = predicted_types(p, thresholds=(0.4,) * 4)
        frame = pd.DataFrame({"writer": [f"w{seed}-{w}" for w in range(count)], "type": types})
        return frame, np.log(p / (1 - p)), p

    (validation, validation_logits, _), (test, logits, p) = writers(0), writers(1)
    # one comment per writer, no calibration: the pooled P is the plain sigmoid of each writer's logit
    out = writer_decisions(evaluation.served_probabilities(validation, validation_logits)["writer"],
                           evaluation.served_probabilities(test, logits)["writer"])
    tuned = out["validation_writer_thresholds"]
    assert all(0.38 <= t <= 0.42 for t in tuned["thresholds"])
    assert tuned["mean_macro_f1"] > 0.97 > out["served"]["mean_macro_f1"]
    expected = ((p >= np.array(tuned["thresholds"])) != (p >= 0.5)).any(axis=1).mean()
    assert tuned["contradicts_shown"] == pytest.approx(expected) and expected > 0.3
    assert out["writers"] == {"validation": 200, "test": 200}
    # the ECE those letters would cost: each axis moved so that its tuned threshold is 50%, which makes them agree
    t = np.array(tuned["thresholds"])
    moved = evaluation.sigmoid(np.log(p / (1 - p)) - np.log(t / (1 - t)))
    assert ((moved >= 0.5) == (p >= t)).all()
    y = type_labels(test["type"].tolist())
    for i, axis in enumerate(("EI", "SN", "TF", "JP")):
        moved_ece = evaluation.expected_calibration_error(y[:, i], moved[:, i])
        assert tuned["ece_if_shown_to_agree"][axis] == pytest.approx(moved_ece)
        assert out["served"]["ece"][axis] == pytest.approx(evaluation.expected_calibration_error(y[:, i], p[:, i]))


def test_writer_separation_ranks_writers_whatever_the_base_rate():
    """A reference that ranks every writer right, a model whose pooled P carries the label with noise, the same
    model with its P moved towards one letter (another base rate, other 50% decisions) and pure noise: AUC is 1,
    the same for the model and its moved copy, near 0.5 for noise, and the paired difference's whole 95% interval
    puts the model below the reference."""
    from mbti_core import evaluation
    from mbti_core.studies.reliability import writer_separation

    rng = np.random.default_rng(3)
    y = (rng.random((400, 4)) < 0.4).astype(int)
    signal = (2 * y - 1) * 0.6 + rng.normal(0, 1, size=y.shape)
    models = {"tfidf_lr": (y, evaluation.sigmoid(4.0 * (2 * y - 1))),
              "model": (y, evaluation.sigmoid(signal)), "moved": (y, evaluation.sigmoid(signal - 1.5)),
              "noise": (y, rng.random(y.shape))}
    out = writer_separation({"test": models}, samples=50)["test"]
    assert out["writers"] == 400 and out["models"]["tfidf_lr"]["mean_auc"] == 1.0
    model, moved = out["models"]["model"], out["models"]["moved"]
    assert model["auc"] == moved["auc"] and 0.6 < model["mean_auc"] < 0.9
    assert model["interval"][0] < model["mean_auc"] < model["interval"][1]
    assert abs(out["models"]["noise"]["mean_auc"] - 0.5) < 0.06
    assert out["minus_tfidf_lr"]["model"]["interval"][1] < 0
    assert out["minus_tfidf_lr"]["model"]["mean_auc"] == pytest.approx(model["mean_auc"] - 1.0)
    with pytest.raises(ValueError, match="not the same rows"):
        writer_separation({"test": {"a": (y, y), "b": (1 - y, y)}}, samples=2)


def test_base_rate_gap_separates_a_shifted_share_from_the_shape():
    """Labels drawn from sigmoid(logit + 1): the right shape, the wrong base rate. Re-setting each bias to the
    test share (the oracle) removes nearly all the error; the shown probabilities keep it."""
    import pandas as pd

    from mbti_core import evaluation
    from mbti_core.studies.reliability import base_rate_gap
    from mbti_core.types import bits_to_type

    rng = np.random.default_rng(0)
    logits = rng.normal(0, 1.5, size=(20000, 4))
    first = rng.random(logits.shape) < evaluation.sigmoid(logits + 1.0)
    out = base_rate_gap(pd.DataFrame({"type": [bits_to_type(row) for row in first]}), logits, [[1.0, 0.0]] * 4)
    shown_ece = [evaluation.expected_calibration_error(first[:, i], evaluation.sigmoid(logits[:, i])) for i in range(4)]
    assert all(e > 0.1 for e in shown_ece)
    assert all(e < 0.03 for e in out["ece_with_test_shares"].values())
    assert all(abs(m - 0.5) < 0.02 for m in out["mean_shown_probability"].values())  # symmetric logits, bias 0


@pytest.mark.slow
def test_reliability_command_on_a_small_data_directory(tmp_path, monkeypatch):
    """The whole command on the fake data of tests/test_phases.py with tiny random checkpoints."""
    import json

    from mbti_core import cli
    from tests.support.random_checkpoints import build_random_checkpoints
    from tests.test_phases import make_fake_data_dir

    data = make_fake_data_dir(tmp_path / "data")
    dirs = build_random_checkpoints(tmp_path / "ckpt")
    monkeypatch.setenv("MBTI_CACHE_DIR", str(tmp_path / "cache"))
    output = tmp_path / "reliability.json"
    assert cli.main(["reliability", "--checkpoint", f"mft={dirs['mft']}", f"ft={dirs['ft']}", "--data-dir", str(data),
                     "--output", str(output)]) == 0
    report = json.loads(output.read_text())
    assert set(report["checkpoints"]) == {"mft", "ft"} and report["n"] > 0
    for entry in report["checkpoints"].values():
        assert entry["n"] == report["n"] and set(entry["axes"]) == {"EI", "SN", "TF", "JP"}
        assert sum(b["n"] for b in entry["by_length"]) == report["n"]
    curve = report["writer_curve"]["models"]
    assert set(curve) == {"mft", "ft", "tfidf_lr"}
    assert [p["messages"] for p in curve["tfidf_lr"]["points"]] == [p["messages"] for p in curve["mft"]["points"]]
    decisions = report["writer_decisions"]["models"]
    assert set(decisions) == {"mft", "ft", "tfidf_lr"}
    for name in ("mft", "ft"):
        assert decisions[name]["writers"]["test"] == report["writers"]
        tuned = decisions[name]["validation_writer_thresholds"]
        assert 0 <= tuned["contradicts_shown"] <= 1 and len(tuned["thresholds"]) == 4
        assert decisions[name]["served"]["thresholds"] == [0.5] * 4
    separation = report["writer_separation"]["splits"]
    assert set(separation) == {"validation", "test"} and separation["test"]["writers"] == report["writers"]
    assert all(set(split["models"]) == {"mft", "ft", "tfidf_lr"} for split in separation.values())
    assert cli.main(["reliability", "--checkpoint", "mft", "--output", str(output)]) == 2  # not NAME=DIR


def test_sources_inside_the_project_are_recorded_relative_and_match_on_another_machine(tmp_path, monkeypatch):
    from mbti_core import app_support, settings
    from mbti_core.settings import project_relative

    assert project_relative(settings.PROJECT_ROOT / "checkpoints" / "mft") == "checkpoints/mft"
    assert project_relative(tmp_path / "elsewhere") == str(tmp_path / "elsewhere")
    (tmp_path / "data" / "seed_study").mkdir(parents=True)
    monkeypatch.setenv("MBTI_DATA_DIR", str(tmp_path / "data"))
    assert project_relative(tmp_path / "data" / "seed_study" / "x.csv") == "$MBTI_DATA_DIR/seed_study/x.csv"
    monkeypatch.chdir(settings.PROJECT_ROOT / "tests")  # a hub id stays as given, wherever the command runs
    assert project_relative("klue/bert-base") == "klue/bert-base"
    assert project_relative("support") == "tests/support"  # a relative folder that exists here is one
    report = tmp_path / "reliability.json"
    entry = {"source": "checkpoints/mft", "axes": {"EI": {}}, "n": 1}
    report.write_text(__import__("json").dumps({"checkpoints": {"mft": entry}}))
    monkeypatch.delenv("MBTI_CHECKPOINT_DIR", raising=False)
    monkeypatch.delenv("MBTI_MFT_CHECKPOINT", raising=False)
    assert app_support.load_reliability("mft", report) is not None  # the shipped folder, wherever the project lives
