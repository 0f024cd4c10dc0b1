"""The Sentiment, Embeddings and Probing pages through ``streamlit.testing.v1.AppTest``.

Reports are written by the studies' own code on tiny encoders and toy data (the scaling rows by hand, as the
training is tested in test_studies.py); the sentiment page scores with a tiny *trained* sentiment checkpoint and
its bars are compared with the output of the predictor the page serves.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from mbti_core.onnx_predictor import load_sentiment_predictor
from mbti_core.studies import embeddings, features, nsmc_scaling, probing
from tests.support import study_helpers
from tests.support.apptest_helpers import chart, texts

APP = str(Path(__file__).resolve().parent.parent / "navigation.py")
TIMEOUT = 180


@pytest.fixture(scope="module")
def study_dirs(tmp_path_factory, tiny_encoder_dirs):
    """reports/ with the three study JSONs, and a tiny trained sentiment checkpoint."""
    root = tmp_path_factory.mktemp("study_pages")
    reports = root / "reports"
    reports.mkdir()
    setup = study_helpers.tiny_sentiment_setup(tmp_path_factory, tiny_encoder_dirs["electra"])
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MBTI_CACHE_DIR", str(setup["cache_dir"]))
        from mbti_core.data import load_nsmc

        reviews = load_nsmc(setup["data_dir"])
    cafe = study_helpers.toy_cafe()
    encoders = {"base": str(tiny_encoder_dirs["electra"]), "mft": str(tiny_encoder_dirs["bert"]),
                "ft": str(tiny_encoder_dirs["roberta"])}
    examples = {"nsmc": features.sentiment_examples(reviews, "test", 30),
                "cafe": features.mbti_examples(cafe, "test", 24, per_writer=3)}
    maps = embeddings.build_maps(encoders, examples,
                                 embeddings.EmbeddingConfig(encoders=encoders, perplexity=5, device="cpu"))
    (reports / "embeddings.json").write_text(json.dumps(maps, ensure_ascii=False))
    data = {"sentiment": {"train": features.sentiment_examples(reviews, "train", 60),
                          "test": features.sentiment_examples(reviews, "test", 40)},
            "mbti": {"train": features.mbti_examples(cafe, "train", 120), "test": features.mbti_examples(cafe, "test", 60)}}
    probes = probing.build_report(encoders, data, probing.ProbingConfig(encoders=encoders, device="cpu"))
    (reports / "probing.json").write_text(json.dumps(probes, ensure_ascii=False))
    scaling = {"theirs": nsmc_scaling.THEIRS, "ours": {"rows": [
        {"train_size": 10_000, "test_size": 5_000, "train_loss": 0.31, "train_accuracy": 0.87, "val_loss": 0.35,
         "val_accuracy": 0.8512, "val_f1": 0.8488},
        {"train_size": 20_000, "test_size": 10_000, "train_loss": 0.28, "train_accuracy": 0.89, "val_loss": 0.33,
         "val_accuracy": 0.8634, "val_f1": 0.8621}]}}
    (reports / "nsmc_scaling.json").write_text(json.dumps(scaling))
    return {"reports": reports, "sentiment": setup["sentiment"], "checkpoints": root / "checkpoints",
            "maps": maps, "probes": probes}


@pytest.fixture(autouse=True)
def app_env(study_dirs, monkeypatch):
    monkeypatch.setenv("MBTI_CHECKPOINT_DIR", str(study_dirs["checkpoints"]))  # no MFT/FT: not needed here
    monkeypatch.setenv("MBTI_REPORTS_DIR", str(study_dirs["reports"]))
    monkeypatch.setenv("MBTI_SENTIMENT_CHECKPOINT", str(study_dirs["sentiment"]))


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_sentiment_page_bars_match_the_predictor_and_scaling_sits_beside_theirs(study_dirs):
    at = open_page("app_pages/sentiment.py")
    table = next(e.value for e in at.dataframe if "theirs val acc" in e.value.columns)
    assert list(table["train size"]) == [10_000, 20_000, 30_000, 40_000, 50_000]
    assert list(table["theirs val acc"]) == [0.8258, 0.8430, 0.8467, 0.8576, 0.8621]
    assert list(table["ours val acc"])[:2] == [0.8512, 0.8634] and table["ours F1"].isna().sum() == 3
    names = [trace["name"] for trace in chart(at, "scaling_plot")["data"]]
    assert any(n.startswith("ours") for n in names) and any(n.startswith("theirs") for n in names)

    review = study_helpers.POSITIVE[0] + " " + study_helpers.POSITIVE[1]
    at.text_area(key="review").set_value(review).run()
    assert not at.exception
    # The page serves the ONNX export (train.py nsmc writes one); its agreement with torch (~1e-7) is
    # test_onnx.py's business, so the bars are compared with the predictor the page actually uses.
    expected = load_sentiment_predictor(study_dirs["sentiment"]).predict(review)[0]
    bars = chart(at, "sentiment_bars")["data"][0]
    assert bars["x"] == pytest.approx([100 * expected[0], 100 * expected[1]], abs=1e-6)
    assert bars["text"] == [f"{100 * expected[0]:.1f}%", f"{100 * expected[1]:.1f}%"]
    at.button(key="sentiment_example_1").click().run()
    assert at.text_area(key="review").value == "이 영화 엄청 재미없네요" and not at.exception

    at.text_area(key="review").set_value("😀😀").run()
    assert any("no words" in w for w in texts(at.warning))


def test_embeddings_page_selectors_change_the_map(study_dirs):
    at = open_page("app_pages/embeddings.py")
    spec = chart(at, "embedding_map")
    assert {trace["name"] for trace in spec["data"]} == {"negative", "positive"}  # sentiment first
    assert sum(len(trace["x"]) for trace in spec["data"]) == 30
    at.selectbox(key="emb_task").set_value("EI").run()
    at.selectbox(key="emb_encoder").set_value("mft").run()
    at.segmented_control(key="emb_method").set_value("tsne").run()
    spec = chart(at, "embedding_map")
    assert {trace["name"] for trace in spec["data"]} == {"E", "I"}
    xs = sorted(x for trace in spec["data"] for x in trace["x"])
    assert xs == sorted(p[0] for p in study_dirs["maps"]["maps"]["mft"]["cafe"]["tsne"])


def test_probing_page_heatmap_holds_the_report_and_a_reading(study_dirs):
    at = open_page("app_pages/probing.py")
    spec = chart(at, "probing_heatmap")
    probes = study_dirs["probes"]
    heatmaps = [trace for trace in spec["data"] if trace["type"] == "heatmap"]
    assert len(heatmaps) == 3
    assert heatmaps[1]["z"][2][1] == pytest.approx(probes["scores"]["mft"]["EI"][2])
    reading = " ".join(texts(at.markdown))
    assert "E/I is best read from MFT's" in reading and "FT's" in reading and "Sentiment peaks" in reading
    assert len(next(e.value for e in at.dataframe if "E/I" in e.value.columns)) == 9  # 3 encoders x 3 layers


def test_study_pages_without_reports_or_model_show_messages(tmp_path, monkeypatch):
    monkeypatch.setenv("MBTI_REPORTS_DIR", str(tmp_path / "no-reports"))
    monkeypatch.setenv("MBTI_SENTIMENT_CHECKPOINT", str(tmp_path / "no-sentiment"))
    at = open_page("app_pages/sentiment.py")
    assert any("nsmc_scaling.json" in i and "python train.py nsmc-scaling" in i for i in texts(at.info))
    at.text_area(key="review").set_value("이 영화 엄청 재미있네요").run()
    assert not at.exception and any("could not be loaded" in e and "train.py nsmc" in e for e in texts(at.error))
    for page, command in (("app_pages/embeddings.py", "python -m mbti_core embeddings"),
                          ("app_pages/probing.py", "python -m mbti_core probe")):
        at.switch_page(page).run()
        assert not at.exception and any(command in i for i in texts(at.info)), texts(at.info)


def test_malformed_report_is_a_message_not_a_traceback(tmp_path, monkeypatch):
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "probing.json").write_text("{broken")
    monkeypatch.setenv("MBTI_REPORTS_DIR", str(reports))
    at = open_page("app_pages/probing.py")
    assert any("not valid JSON" in i for i in texts(at.info))


def test_probing_reading_calls_a_difference_inside_the_noise_band_no_finding():
    from mbti_core.study_support import probing_noise, probing_reading

    report = {"tasks": ["EI"], "config": {"n_test": 2000}, "layer_names": {"mft": ["emb", "L1"], "ft": ["emb", "L1"]},
              "layers": {"mft": 2, "ft": 2}, "scores": {"mft": {"EI": [0.50, 0.515]}, "ft": {"EI": [0.49, 0.50]}}}
    assert probing_noise(report) == pytest.approx(1.96 * (0.25 / 2000) ** 0.5)
    reading = probing_reading(report)
    assert "inside the noise band (±0.022 at least)" in reading and "no difference" in reading
    report["scores"]["ft"]["EI"] = [0.44, 0.45]
    assert "beyond the ±0.022 band" in probing_reading(report)
