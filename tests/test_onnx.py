"""ONNX serving: export with weights linked into the safetensors files, OnnxPredictor == Predictor, staleness
checks and the torch fallback, FastTokenizer == AutoTokenizer, the CLI, and the shipped checkpoints' export."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from mbti_core.inference import FillMaskUnavailable, Predictor
from mbti_core.modeling import MBTIModel
from mbti_core.onnx_export import CHECK_MASKED, CHECK_TEXTS, EXPORT_INFO_NAME, TOLERANCE, compare_backends, export_onnx
from mbti_core.onnx_predictor import OnnxExportUnusable, OnnxPredictor, load_predictor
from mbti_core.types import AXES, TYPES
from tests.support.random_checkpoints import build_random_checkpoints

PROJECT = Path(__file__).resolve().parent.parent
TEXTS = ["계획 세우고 일정 정리했어요", "즉흥 여행 너무 재밌어요 ㅋㅋ", "저 INFP인데 계획 좋아해요", "a",
         "체크리스트 만들어서 계획대로 해요 " * 40]
FILL = "할 일은 미리미리 [MASK] 마음이 편하지"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """Random tiny MFT (fp32 and fp16 safetensors) and FT checkpoints, each with its ONNX export."""
    root = tmp_path_factory.mktemp("onnx")
    dirs = build_random_checkpoints(root / "random")
    mft16 = MBTIModel.from_pretrained(dirs["mft"]).save_pretrained(
        root / "mft16", tokenizer=Predictor.from_pretrained(dirs["mft"]).tokenizer)  # fp16, as shipped
    out = {"mft": dirs["mft"], "ft": dirs["ft"], "mft16": mft16, "root": root}
    out["records"] = {name: export_onnx(out[name]) for name in ("mft", "ft", "mft16")}
    return out


def cli_in_fresh_process(argv: list[str]) -> list[str]:
    """``python -m mbti_core ARGV`` in a new interpreter; its output lines, the last one "EXIT_CODE TORCH_LOADED"."""
    code = f"import sys; from mbti_core.cli import main; rc = main({argv!r}); print(rc, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()


def copy_checkpoint(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


def test_graphs_link_the_safetensors_weights_instead_of_copying_them(exported):
    for name in ("mft", "mft16"):
        record, folder = exported["records"][name], exported[name]
        assert set(record["graphs"]) == {"classifier", "fill_mask"}
        weights = sum(p.stat().st_size for p in folder.glob("*.safetensors"))
        names = [n for n, _ in MBTIModel.from_pretrained(folder).named_parameters()]
        expected = {"classifier": len([n for n in names if not n.startswith("type_mlm.")]),
                    "fill_mask": len([n for n in names if not n.startswith("classifier.")])}
        for graph_name, graph in record["graphs"].items():
            assert graph["linked_parameters"] == expected[graph_name]  # every parameter, none copied
            assert graph["inline_bytes"] < 50_000
            assert (folder / graph["file"]).stat().st_size < 0.2 * weights
        assert max(record["max_abs_diff"].values()) <= TOLERANCE
    assert set(exported["records"]["ft"]["graphs"]) == {"classifier"}
    info = json.loads((exported["mft16"] / EXPORT_INFO_NAME).read_text())
    assert set(info["safetensors_headers"]) == {p.name for p in exported["mft16"].glob("*.safetensors")}


@pytest.mark.parametrize("name", ["mft", "mft16", "ft"])
def test_onnx_predictor_gives_the_torch_predictors_results(exported, name):
    torch_predictor, onnx_predictor = Predictor.from_pretrained(exported[name]), OnnxPredictor.from_pretrained(exported[name])
    assert onnx_predictor.thresholds == torch_predictor.thresholds
    assert onnx_predictor.max_length == torch_predictor.max_length
    expected, got = torch_predictor.predict(TEXTS), onnx_predictor.predict(TEXTS)
    assert [r["truncated"] for r in got] == [r["truncated"] for r in expected] == [False] * 4 + [True]
    for mine, theirs in zip(got, expected):
        assert mine["type"] == theirs["type"] and mine["text"] == theirs["text"]
        assert list(mine["axes"].values()) == pytest.approx(list(theirs["axes"].values()), abs=1e-5)
        assert list(mine["types"].values()) == pytest.approx(list(theirs["types"].values()), abs=1e-5)
    person, person_torch = onnx_predictor.predict_person(TEXTS[:3] + [" "]), torch_predictor.predict_person(TEXTS[:3] + [" "])
    assert person["skipped_messages"] == person_torch["skipped_messages"] == 1
    assert list(person["axes"].values()) == pytest.approx(list(person_torch["axes"].values()), abs=1e-5)
    if name == "ft":
        assert not onnx_predictor.has_fill_mask
        with pytest.raises(FillMaskUnavailable, match="MFT"):
            onnx_predictor.fill_mask(FILL)
        return
    fills, fills_torch = onnx_predictor.fill_mask(FILL, TYPES[:4], top_k=8), torch_predictor.fill_mask(FILL, TYPES[:4], top_k=8)
    for mbti in TYPES[:4]:
        assert [f["prob"] for f in fills[mbti]] == pytest.approx([f["prob"] for f in fills_torch[mbti]], abs=1e-5)
        assert sorted(f["token"] for f in fills[mbti]) == sorted(f["token"] for f in fills_torch[mbti])
    raised, raised_torch = onnx_predictor.raised_words(FILL, top_k=5), torch_predictor.raised_words(FILL, top_k=5)
    for mbti in raised:
        assert [r["lift"] for r in raised[mbti]] == pytest.approx([r["lift"] for r in raised_torch[mbti]], rel=1e-4)
    assert compare_backends(torch_predictor, onnx_predictor)["fill_mask_probabilities"] < 1e-5


def test_bad_input_gets_the_same_messages(exported):
    predictor = OnnxPredictor.from_pretrained(exported["mft"])
    for bad, message in (("", "empty"), ("   ", "empty"), (None, "must be a string"), ([None], "must be a string"), (["ok", 3], "text 2 must be a string")):
        with pytest.raises(ValueError, match=message):
            predictor.predict(bad)
    with pytest.raises(ValueError, match="exactly one"):
        predictor.fill_mask("마스크가 없는 문장")
    with pytest.raises(ValueError, match="exactly one"):
        predictor.fill_mask("[MASK] 두 개 [MASK]")
    with pytest.raises(ValueError, match="top_k"):
        predictor.fill_mask(FILL, top_k=0)
    with pytest.raises(ValueError, match="XXXX"):
        predictor.fill_mask(FILL, ["XXXX"])


def test_explain_runs_on_the_torch_twin_with_the_same_weights(exported):
    onnx_predictor = OnnxPredictor.from_pretrained(exported["mft16"])
    assert not onnx_predictor.torch_loaded
    explanation = onnx_predictor.explain(TEXTS[0], steps=8)
    assert onnx_predictor.torch_loaded
    expected = Predictor.from_pretrained(exported["mft16"]).explain(TEXTS[0], steps=8)
    for axis in expected["attributions"]:
        assert explanation["attributions"][axis] == pytest.approx(expected["attributions"][axis], abs=1e-6)
    assert explanation["axes"] == pytest.approx(onnx_predictor.predict(TEXTS[0])[0]["axes"], abs=1e-5)


def test_serving_imports_neither_torch_nor_transformers(exported):
    code = ("import sys; from mbti_core.onnx_predictor import load_predictor; "
            f"p = load_predictor({str(exported['mft16'])!r}); p.predict(['안녕하세요']); p.fill_mask('오늘은 [MASK] 좋아'); "
            "print(type(p).__name__, 'torch' in sys.modules, 'transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["OnnxPredictor", "False", "False"]


@pytest.mark.parametrize("command", [["predict", "--text", "오늘 뭐 하지 ㅋㅋ"], ["fill-mask", "--text", "오늘은 [MASK] 좋아"]])
def test_cli_serves_an_exported_checkpoint_without_torch(exported, command):
    lines = cli_in_fresh_process([command[0], "--checkpoint", str(exported["mft16"]), *command[1:]])
    assert lines[-1] == "0 False" and json.loads(lines[0])


def test_retrained_weights_with_the_same_layout_are_read_by_the_old_graphs(exported, tmp_path):
    folder = copy_checkpoint(exported["mft16"], tmp_path / "mft16")
    before = OnnxPredictor.from_pretrained(folder).predict(TEXTS[:2])
    # "Retraining": new weights of the same shapes saved in place (the layout, hence the header, is the same).
    rng = np.random.default_rng(1)
    for file in ("classifier_head.safetensors", "type_mlm_head.safetensors"):
        state = {name: rng.normal(0, 0.05, size=v.shape).astype(np.float16) for name, v in load_file(str(folder / file)).items()}
        save_file(state, str(folder / file), metadata={"format": "pt"})
    after_torch = Predictor.from_pretrained(folder).predict(TEXTS[:2])
    after_onnx = OnnxPredictor.from_pretrained(folder).predict(TEXTS[:2])
    assert list(after_torch[0]["axes"].values()) != pytest.approx(list(before[0]["axes"].values()), abs=1e-4)
    for mine, theirs in zip(after_onnx, after_torch):
        assert list(mine["axes"].values()) == pytest.approx(list(theirs["axes"].values()), abs=1e-5)
    assert compare_backends(Predictor.from_pretrained(folder), OnnxPredictor.from_pretrained(folder))[
        "fill_mask_probabilities"] < 1e-5


def test_a_changed_layout_is_refused_and_auto_falls_back_to_torch(exported, tmp_path):
    folder = copy_checkpoint(exported["mft16"], tmp_path / "changed")
    weights = load_file(str(folder / "classifier_head.safetensors"))
    save_file(weights, str(folder / "classifier_head.safetensors"), metadata={"format": "pt", "retrained": "yes"})
    with pytest.raises(OnnxExportUnusable, match="classifier_head.safetensors changed layout"):
        OnnxPredictor.from_pretrained(folder)
    with pytest.raises(OnnxExportUnusable):
        load_predictor(folder, backend="onnx")
    with pytest.warns(UserWarning, match="using torch instead"):
        predictor = load_predictor(folder)
    assert isinstance(predictor, Predictor)


def test_folders_without_a_usable_export(exported, tmp_path):
    folder = copy_checkpoint(exported["mft16"], tmp_path / "plain")
    (folder / "fill_mask.onnx").unlink()
    with pytest.raises(OnnxExportUnusable, match="fill_mask.onnx is missing"):
        OnnxPredictor.from_pretrained(folder)
    (folder / EXPORT_INFO_NAME).write_text("{not json")
    with pytest.raises(OnnxExportUnusable, match="malformed"):
        OnnxPredictor.from_pretrained(folder)
    (folder / EXPORT_INFO_NAME).unlink()
    with pytest.raises(OnnxExportUnusable, match="no ONNX export"):
        OnnxPredictor.from_pretrained(folder)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no export at all is normal: torch, silently
        assert isinstance(load_predictor(folder), Predictor)
    assert isinstance(load_predictor(exported["mft16"]), OnnxPredictor)
    assert isinstance(load_predictor(exported["mft16"], backend="torch"), Predictor)
    with pytest.raises(ValueError, match="backend"):
        load_predictor(folder, backend="tensorrt")
    with pytest.raises(FileNotFoundError, match="not found"):
        load_predictor(tmp_path / "nowhere")


def test_fast_tokenizer_reproduces_autotokenizer(exported):
    from transformers import AutoTokenizer

    from mbti_core.fast_tokenizer import FastTokenizer

    reference, fast = AutoTokenizer.from_pretrained(str(exported["mft16"])), FastTokenizer.from_pretrained(exported["mft16"])
    for text in CHECK_TEXTS + TEXTS + [t.replace("[MASK]", "[MASK]") for t in CHECK_MASKED]:
        expected = reference(text, add_special_tokens=True, truncation=False, return_offsets_mapping=True)
        got = fast(text, return_offsets_mapping=True)
        assert got["input_ids"] == list(expected["input_ids"])
        assert got["offset_mapping"] == [tuple(o) for o in expected["offset_mapping"]]
    assert fast(TEXTS[:2])["input_ids"] == reference(TEXTS[:2])["input_ids"]
    assert fast.all_special_ids == sorted(set(reference.all_special_ids))
    assert fast.convert_ids_to_tokens([2, 4]) == reference.convert_ids_to_tokens([2, 4])
    assert (fast.mask_token, fast.pad_token_id) == (reference.mask_token, reference.pad_token_id)


@pytest.mark.slow
def test_export_onnx_cli(exported, tmp_path):
    folder = copy_checkpoint(exported["ft"], tmp_path / "ft")
    for stale in list(folder.glob("*.onnx")) + [folder / EXPORT_INFO_NAME]:
        stale.unlink()
    run = subprocess.run([sys.executable, "-m", "mbti_core", "export-onnx", "--checkpoint", str(folder)], cwd=PROJECT,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    record = json.loads(run.stdout.strip().splitlines()[-1])
    assert record["checkpoint"] == str(folder) and record["max_abs_diff"]["axis_logits"] <= TOLERANCE
    assert isinstance(load_predictor(folder), OnnxPredictor)
    missing = subprocess.run([sys.executable, "-m", "mbti_core", "export-onnx", "--checkpoint", str(tmp_path / "none")],
                             cwd=PROJECT, capture_output=True, text=True, timeout=300)
    assert missing.returncode == 2 and "checkpoint directory not found" in missing.stderr


@pytest.mark.parametrize("mode", ["mft", "ft"])
def test_shipped_checkpoints_carry_a_working_export(mode):
    folder = PROJECT / "checkpoints" / mode
    if not (folder / "mbti_heads.json").is_file():
        pytest.skip("no shipped checkpoint")
    predictor = OnnxPredictor.from_pretrained(folder)  # raises if the export is missing or stale
    diffs = compare_backends(Predictor.from_pretrained(folder), predictor)
    assert max(diffs.values()) <= TOLERANCE, diffs
    assert predictor.has_fill_mask == (mode == "mft")


# -- the sentiment checkpoint --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sentiment_folder(tmp_path_factory, tiny_encoder_dirs):
    """The tiny trained sentiment checkpoint of the study tests (train.py nsmc exports it when it ships it)."""
    from tests.support import study_helpers

    return study_helpers.tiny_sentiment_setup(tmp_path_factory, tiny_encoder_dirs["electra"])["sentiment"]


def test_sentiment_checkpoint_is_served_by_onnx_with_the_torch_results(sentiment_folder, tmp_path):
    from mbti_core.onnx_predictor import OnnxSentimentPredictor, load_sentiment_predictor
    from mbti_core.sentiment import SentimentPredictor

    info = json.loads((sentiment_folder / EXPORT_INFO_NAME).read_text())
    assert info["graphs"]["sentiment"]["linked_parameters"] == len(list(
        SentimentPredictor.from_pretrained(sentiment_folder).model.parameters()))
    assert info["max_abs_diff"]["probabilities"] <= TOLERANCE
    reviews = ["이 영화 엄청 재미있네요", "이 영화 엄청 재미없네요", "최고 " * 80, "  그냥   그래요 "]
    served = load_sentiment_predictor(sentiment_folder)
    assert isinstance(served, OnnxSentimentPredictor)
    expected = SentimentPredictor.from_pretrained(sentiment_folder).predict_details(reviews)
    got = served.predict_details(reviews)
    assert [r["label"] for r in got] == [r["label"] for r in expected]
    assert [r["truncated"] for r in got] == [r["truncated"] for r in expected] == [False, False, True, False]
    for mine, theirs in zip(got, expected):
        assert list(mine["probs"].values()) == pytest.approx(list(theirs["probs"].values()), abs=1e-5)
    with pytest.raises(ValueError, match="empty"):
        served.predict(["   "])
    # An MBTI folder is not a sentiment checkpoint; a stale export falls back to torch with a warning.
    with pytest.raises(ValueError, match="not a sentiment checkpoint"):
        load_sentiment_predictor(PROJECT / "checkpoints" / "mft")
    folder = copy_checkpoint(sentiment_folder, tmp_path / "stale")
    weights = load_file(str(folder / "model.safetensors"))
    save_file(weights, str(folder / "model.safetensors"), metadata={"format": "pt", "changed": "yes"})
    with pytest.warns(UserWarning, match="using torch instead"):
        assert isinstance(load_sentiment_predictor(folder), SentimentPredictor)


def test_sentiment_cli_without_torch(sentiment_folder):
    lines = cli_in_fresh_process(["predict", "--checkpoint", str(sentiment_folder), "--text", "이 영화 엄청 재미있네요"])
    assert lines[-1] == "0 False" and set(json.loads(lines[0])["probs"]) == {"negative", "positive"}


def test_shipped_sentiment_checkpoint_carries_a_working_export():
    from mbti_core.onnx_predictor import OnnxSentimentPredictor
    from mbti_core.sentiment import SentimentPredictor

    folder = PROJECT / "checkpoints" / "sentiment"
    if not (folder / "sentiment.json").is_file():
        pytest.skip("no shipped sentiment checkpoint")
    reviews = CHECK_TEXTS + ["이 영화 엄청 재미있네요", "이 영화 엄청 재미없네요"]
    diff = np.abs(SentimentPredictor.from_pretrained(folder).probabilities(reviews)[0]
                  - OnnxSentimentPredictor.from_pretrained(folder).probabilities(reviews)[0]).max()
    assert diff <= TOLERANCE


def test_both_backends_show_the_calibrated_probabilities_and_decide_at_50(exported, tmp_path):
    """mbti_heads.json's calibration gives one message's probabilities and writer_calibration a pooled one
    (predict_person, the mean logit); the type is each letter above 50%. Both backends read them."""
    folder = copy_checkpoint(exported["ft"], tmp_path / "ft")
    heads = json.loads((folder / "mbti_heads.json").read_text())
    raw = OnnxPredictor.from_pretrained(folder).axis_logits([TEXTS[0], TEXTS[1]])[0].astype(np.float64)
    heads["calibration"] = [[0.5, 3.0]] * 4         # every message then leans to the first letters
    heads["writer_calibration"] = [[2.0, 0.0, 0.0, -3.0]] * 4  # and every pooled writer to the second
    (folder / "mbti_heads.json").write_text(json.dumps(heads))
    for predictor in (OnnxPredictor.from_pretrained(folder), Predictor.from_pretrained(folder)):
        single = predictor.predict([TEXTS[0]])[0]
        expected = 1 / (1 + np.exp(-(0.5 * raw[0] + 3.0)))
        assert [single["axes"][a] for a in AXES] == pytest.approx(expected, abs=1e-4)
        assert single["type"] == "".join(a[0] if p >= 0.5 else a[1] for a, p in zip(AXES, expected)) == "ESTJ"
        person = predictor.predict_person([TEXTS[0], TEXTS[1]])
        pooled = 1 / (1 + np.exp(-(2.0 * raw.mean(axis=0) - 3.0)))  # a*m + b (no growth with n here)
        assert [person["axes"][a] for a in AXES] == pytest.approx(pooled, abs=1e-4) and person["type"] == "INFP"
        assert max(person["types"], key=person["types"].get) == person["type"]
        assert [m["type"] for m in person["messages"]] == ["ESTJ", "ESTJ"]  # each message: the message calibration
