"""The seed studies on tiny models: sentiment checkpoint + predictor + CLI, NSMC scaling, embedding maps, probing.

Real code paths throughout: toy raw NSMC files go through the project's own reader and labelling rule, tiny
random encoders are fine-tuned with the shared loop, probes are scikit-learn logistic regressions.
"""
from __future__ import annotations

import gzip
import os
import json

import numpy as np
import pytest

from mbti_core import cli, settings
from mbti_core.heads_config import SENTIMENT_CONFIG_NAME, is_sentiment_checkpoint
from mbti_core.sentiment import SentimentPredictor
from mbti_core.studies import embeddings, features, nsmc_scaling, probing
from mbti_core.types import AXES
from tests.support import study_helpers

STUDY_COMMANDS = {
    "evaluate": cli.COMMANDS["evaluate"], "predict": cli.COMMANDS["predict"],
    "embeddings": ("mbti_core.studies.embeddings", "3-D embedding maps"),
    "probe": ("mbti_core.studies.probing", "layer probes"),
    "nsmc-scaling": ("mbti_core.studies.nsmc_scaling", "NSMC data-size scaling"),
}


@pytest.fixture(scope="module")
def setup(tmp_path_factory, tiny_encoder_dirs):
    return study_helpers.tiny_sentiment_setup(tmp_path_factory, tiny_encoder_dirs["electra"])


@pytest.fixture(scope="module", autouse=True)
def own_cache(setup):
    # Built tables of the toy data go to a temporary cache, never the project's .cache/.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MBTI_CACHE_DIR", str(setup["cache_dir"]))
        yield


@pytest.fixture(scope="module")
def data_dir(setup):
    return setup["data_dir"]


@pytest.fixture(scope="module")
def base_dir(tiny_encoder_dirs):
    return tiny_encoder_dirs["electra"]


@pytest.fixture(scope="module")
def sentiment_dir(setup):
    return setup["sentiment"], setup["result"]


# -- sentiment ------------------------------------------------------------------------------------------------
def test_sentiment_checkpoint_learns_ships_fp16_and_round_trips(sentiment_dir):
    folder, result = sentiment_dir
    assert is_sentiment_checkpoint(folder) and (folder / "config.json").is_file()
    info = json.loads((folder / SENTIMENT_CONFIG_NAME).read_text())
    assert info["labels"] == ["negative", "positive"] and info["max_length"] == 32
    assert info["test"]["accuracy"] == pytest.approx(result["accuracy"])
    # The toy words separate the labels: the tiny fine-tuned model must have learnt them.
    assert result["accuracy"] >= 0.9 and result["n"] == 60
    from safetensors import safe_open

    shards = list(folder.glob("model*.safetensors"))
    assert shards and all(s.stat().st_size <= 15 * 2**20 for s in shards)
    with safe_open(str(shards[0]), "pt") as handle:
        assert {str(handle.get_tensor(k).dtype) for k in handle.keys()} == {"torch.float16"}

    predictor = SentimentPredictor.from_pretrained(folder, device="cpu")
    positive = study_helpers.POSITIVE[0] + " " + study_helpers.POSITIVE[2]
    negative = study_helpers.NEGATIVE[0] + " " + study_helpers.NEGATIVE[1]
    probs = predictor.predict([positive, negative])
    assert len(probs) == 2 and all(len(p) == 2 and sum(p) == pytest.approx(1.0) for p in probs)
    assert probs[0][1] > 0.5 > probs[1][1]
    # Same normalisation as training: NFD Hangul, invisible characters and extra spaces change nothing.
    import unicodedata

    messy = "  " + unicodedata.normalize("NFD", positive).replace(" ", " \u200b  ") + "\n"
    assert predictor.predict(messy)[0] == pytest.approx(probs[0], abs=1e-6)
    details = predictor.predict_details([positive, "재밌어요 " * 400])
    assert details[0]["label"] == "positive" and not details[0]["truncated"] and details[1]["truncated"]


@pytest.mark.parametrize("bad, message", [("", "empty"), ("   \n", "empty"), (None, "must be a string"), ([], "no texts")])
def test_sentiment_predictor_bad_inputs(sentiment_dir, bad, message):
    predictor = SentimentPredictor.from_pretrained(sentiment_dir[0], device="cpu")
    with pytest.raises(ValueError, match=message):
        predictor.predict(bad if isinstance(bad, list) else [bad])


def test_sentiment_predictor_missing_or_wrong_checkpoint(tmp_path, base_dir):
    with pytest.raises(FileNotFoundError, match="sentiment checkpoint not found"):
        SentimentPredictor.from_pretrained(tmp_path / "nothing")
    with pytest.raises(ValueError, match="not a sentiment checkpoint"):
        SentimentPredictor.from_pretrained(base_dir)


def test_evaluate_and_predict_commands_on_a_sentiment_checkpoint(sentiment_dir, data_dir, tmp_path, capsys):
    folder, result = sentiment_dir
    raw = data_dir / "nsmc" / "reviews.jsonl.gz"
    assert cli.main(["evaluate", "--checkpoint", str(folder), "--nsmc", str(raw)], STUDY_COMMANDS) == 0
    scored = json.loads(capsys.readouterr().out)
    # Every labelled review of the file (ratings 7 dropped by the NSMC rule): 20 movies x 32.
    assert scored["n"] == 640 and scored["negative"] == scored["positive"] == 320
    assert 0.9 <= scored["accuracy"] <= 1 and 0.9 <= scored["f1"] <= 1 and scored["loss"] > 0

    texts = tmp_path / "texts.txt"
    texts.write_text(f"{study_helpers.POSITIVE[0]}\n{study_helpers.NEGATIVE[1]}\n", encoding="utf-8")
    assert cli.main(["predict", "--checkpoint", str(folder), "--input", str(texts)], STUDY_COMMANDS) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["label"] for line in lines] == ["positive", "negative"]
    assert lines[0]["probs"]["positive"] + lines[0]["probs"]["negative"] == pytest.approx(1.0)

    bad = tmp_path / "bad.jsonl.gz"
    with gzip.open(bad, "wt") as handle:
        handle.write("{not json\n")
    assert cli.main(["evaluate", "--checkpoint", str(folder), "--nsmc", str(bad)], STUDY_COMMANDS) == 2
    assert "not a JSON-lines reviews file" in capsys.readouterr().err
    assert cli.main(["evaluate", "--checkpoint", str(folder), "--nsmc", str(tmp_path / "no.jsonl")], STUDY_COMMANDS) == 2
    assert "not found" in capsys.readouterr().err
    assert cli.main(["evaluate", "--checkpoint", str(folder), "--cafe-comments", str(texts)], STUDY_COMMANDS) == 2
    assert "sentiment checkpoint" in capsys.readouterr().err
    assert cli.main(["predict", "--checkpoint", str(folder), "--text", "x", "--person"], STUDY_COMMANDS) == 2


# -- scaling --------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_scaling_two_tiny_sizes_writes_ours_beside_theirs_and_resumes(base_dir, data_dir, tmp_path, capsys):
    report_path = tmp_path / "nsmc_scaling.json"
    argv = ["nsmc-scaling", "--base-model", str(base_dir), "--data-dir", str(data_dir), "--sizes", "40", "240",
            "--epochs", "3", "--max-length", "32", "--learning-rate", "2e-3", "--mixed-precision", "no",
            "--run-dir", str(tmp_path / "runs"), "--report", str(report_path), "--no-progress"]
    assert cli.main(argv, STUDY_COMMANDS) == 0
    report = json.loads(report_path.read_text())
    assert report["theirs"]["rows"][0] == {"train_size": 10_000, "test_size": 5_000, "val_accuracy": 0.8258,
                                           "val_f1": 0.81}
    assert [r["val_accuracy"] for r in report["theirs"]["rows"]] == [0.8258, 0.8430, 0.8467, 0.8576, 0.8621]
    assert "multilingual" in report["theirs"]["model"]
    rows = report["ours"]["rows"]
    assert [(r["train_size"], r["test_size"]) for r in rows] == [(40, 20), (240, 120)]
    for row in rows:
        assert len(row["epochs"]) == 3
        for epoch in row["epochs"]:
            for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy", "val_f1"):
                assert isinstance(epoch[key], float), (key, epoch)
        assert row["val_accuracy"] == pytest.approx(row["epochs"][-1]["val_accuracy"])
        assert 0 <= row["val_f1"] <= 1 and row["train_loss"] > 0
    assert rows[-1]["val_accuracy"] >= 0.85  # separable toy words: 240 reviews are enough
    assert "movie-disjoint" in report["ours"]["split"] and report["ours"]["settings"]["batch_size"] == 16
    table = capsys.readouterr().out
    assert "0.8621" in table and "240" in table

    # Re-running skips finished sizes (same settings); a new size is added beside them.
    before = report_path.read_text()
    assert cli.main(argv, STUDY_COMMANDS) == 0
    assert "already in" in capsys.readouterr().out and report_path.read_text() == before


@pytest.mark.slow
def test_scaling_sizes_trained_by_parallel_processes_merge_into_one_report(base_dir, data_dir, tmp_path):
    """The GPU pipeline runs one process per size on one report: every size must survive (a file lock)."""
    import subprocess
    import sys

    report_path = tmp_path / "nsmc_scaling.json"
    common = ["--base-model", str(base_dir), "--data-dir", str(data_dir), "--epochs", "1", "--max-length", "32",
              "--mixed-precision", "no", "--run-dir", str(tmp_path / "runs"), "--report", str(report_path),
              "--no-progress"]
    env = dict(os.environ, MBTI_CACHE_DIR=str(tmp_path / "cache"))
    processes = [subprocess.Popen([sys.executable, "train.py", "nsmc-scaling", "--sizes", size, *common],
                                  cwd=settings.PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE) for size in ("40", "80")]
    for process in processes:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err.decode()[-2000:]
    rows = json.loads(report_path.read_text())["ours"]["rows"]
    assert [row["train_size"] for row in rows] == [40, 80]


def test_scaling_samples_are_balanced_movie_disjoint_and_nested(data_dir):
    from mbti_core.data import load_nsmc

    reviews = load_nsmc(data_dir)
    cfg = nsmc_scaling.ScalingConfig()
    train_a, eval_a = nsmc_scaling.study_samples(reviews, 80, cfg)
    train_b, _ = nsmc_scaling.study_samples(reviews, 160, cfg)
    assert len(eval_a) == 40 and eval_a["label"].mean() == 0.5 and train_a["label"].mean() == 0.5
    movies = reviews.set_index("text")["movie_id"]
    assert not set(movies[train_a["text"]]) & set(movies[eval_a["text"]])
    assert set(train_a["text"]) <= set(train_b["text"])
    with pytest.raises(ValueError, match="cannot sample"):
        nsmc_scaling.study_samples(reviews, 10_000, cfg)


# -- embeddings -----------------------------------------------------------------------------------------------
def test_embedding_maps_shape_and_rounding(tiny_encoder_dirs, data_dir):
    from mbti_core.data import load_nsmc

    examples = {"nsmc": features.sentiment_examples(load_nsmc(data_dir), "test", 30),
                "cafe": features.mbti_examples(study_helpers.toy_cafe(), "test", 24, per_writer=3)}
    encoders = {"base": str(tiny_encoder_dirs["electra"]), "bert": str(tiny_encoder_dirs["bert"])}
    cfg = embeddings.EmbeddingConfig(encoders=encoders, perplexity=5, device="cpu")
    report = embeddings.build_maps(encoders, examples, cfg)
    assert report["tasks"] == {"sentiment": "nsmc", "EI": "cafe", "SN": "cafe", "TF": "cafe", "JP": "cafe"}
    assert report["datasets"]["nsmc"]["labels"]["sentiment"].count("positive") == 15
    assert set(report["datasets"]["cafe"]["labels"]) == set(AXES)
    assert report["datasets"]["cafe"]["labels"]["EI"] == [t[0] for t in report["datasets"]["cafe"]["types"]]
    for name in encoders:
        for dataset, n in (("nsmc", 30), ("cafe", 24)):
            entry = report["maps"][name][dataset]
            for method in ("pca", "tsne"):
                coords = np.array(entry[method])
                assert coords.shape == (n, 3) and np.isfinite(coords).all()
                assert all(len(str(v).split(".")[-1]) <= 3 for v in coords.ravel()[:20])
            assert len(entry["pca_variance"]) == 3 and 0 < sum(entry["pca_variance"]) <= 1 + 1e-9
    # The two encoders see the same texts but map them differently.
    assert report["maps"]["base"]["nsmc"]["pca"] != report["maps"]["bert"]["nsmc"]["pca"]


def test_embeddings_command_writes_small_json_and_lists_missing(tiny_encoder_dirs, data_dir, tmp_path, capsys):
    output = tmp_path / "embeddings.json"
    argv = ["embeddings", "--encoders", f"base={tiny_encoder_dirs['electra']}", f"mft={tmp_path / 'no-mft'}",
            "--data-dir", str(data_dir), "--datasets", "nsmc", "--n-points", "40", "--perplexity", "5",
            "--device", "cpu", "--output", str(output)]
    assert cli.main(argv, STUDY_COMMANDS) == 0
    report = json.loads(output.read_text())
    assert list(report["maps"]) == ["base"] and "mft" in report["missing"]
    assert len(report["maps"]["base"]["nsmc"]["tsne"]) == 40 and output.stat().st_size < 20_000
    argv_none = ["embeddings", "--encoders", f"x={tmp_path / 'none'}", "--data-dir", str(data_dir),
                 "--output", str(tmp_path / "e2.json")]
    assert cli.main(argv_none, STUDY_COMMANDS) == 2
    assert "none of the encoders exist" in capsys.readouterr().err


# -- probing --------------------------------------------------------------------------------------------------
def test_probe_scores_high_on_a_separable_task_and_chance_on_noise():
    rng = np.random.default_rng(0)
    y = np.array([0, 1] * 100)
    x = rng.normal(size=(200, 8))
    separable = x + 3.0 * y[:, None]
    probs = probing.fit_probe(separable[:120], y[:120], separable[120:])
    assert probing.sentiment_scores(y[120:], probs)["macro_f1"] >= 0.95
    noise_probs = probing.fit_probe(x[:120], y[:120], x[120:])
    assert probing.sentiment_scores(y[120:], noise_probs)["macro_f1"] < 0.75
    with pytest.raises(ValueError, match="both labels"):
        probing.fit_probe(x[:10], np.zeros(10), x[10:])


def test_probing_report_shape_and_writer_disjointness(tiny_encoder_dirs, data_dir):
    from mbti_core.data import load_nsmc

    reviews = load_nsmc(data_dir)
    cafe = study_helpers.toy_cafe()
    data = {"sentiment": {"train": features.sentiment_examples(reviews, "train", 80),
                          "test": features.sentiment_examples(reviews, "test", 40)},
            "mbti": {"train": features.mbti_examples(cafe, "train", 200), "test": features.mbti_examples(cafe, "test", 100)}}
    encoders = {"base": str(tiny_encoder_dirs["electra"]), "roberta": str(tiny_encoder_dirs["roberta"])}
    cfg = probing.ProbingConfig(encoders=encoders, device="cpu")
    report = probing.build_report(encoders, data, cfg)
    assert report["tasks"] == ["sentiment", *AXES]
    for name in encoders:
        assert report["layers"][name] == 3 and report["layer_names"][name] == ["embeddings", "layer 1", "layer 2"]
        for task in report["tasks"]:
            scores = report["scores"][name][task]
            assert len(scores) == 3 and all(0 <= s <= 1 for s in scores)
    # E/I shows in the toy wording: some layer of the random encoder already separates it well.
    assert max(report["scores"]["base"]["EI"]) >= 0.8
    assert report["data"]["mbti"]["test_writers"] == 8
    leaky = {"mbti": {"train": data["mbti"]["train"], "test": data["mbti"]["train"].head(20)}}
    with pytest.raises(ValueError, match="writer-disjoint"):
        probing.build_report(encoders, leaky, cfg)


def test_probe_command_sentiment_only(tiny_encoder_dirs, data_dir, tmp_path, capsys):
    output = tmp_path / "probing.json"
    argv = ["probe", "--encoders", f"base={tiny_encoder_dirs['bert']}", "--data-dir", str(data_dir), "--tasks",
            "sentiment", "--n-train", "100", "--n-test", "40", "--device", "cpu", "--output", str(output)]
    assert cli.main(argv, STUDY_COMMANDS) == 0
    report = json.loads(output.read_text())
    assert report["tasks"] == ["sentiment"] and len(report["scores"]["base"]["sentiment"]) == 3
    assert report["data"]["sentiment"] == {"train": 100, "test": 40}
    assert "macro-F1 per layer" in capsys.readouterr().out
