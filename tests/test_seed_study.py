"""The study's data loader (row cleaning with counted reasons), the type-effect metrics, the frozen-encoder
type head, and the ``type-effect`` command, on tiny models and toy rows; one test reads the real study files."""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from mbti_core import type_effect
from mbti_core.data import seed_study
from mbti_core.training.type_head import fit_type_head
from mbti_core.types import TYPES
from tests.support.mft_helpers import build_encoder_dir, build_tokenizer, masked_rows, new_model, study_masked_frame

ROOT = Path(__file__).resolve().parent.parent


# -- cleaning -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("original, masked, token, expected_masked, note", [
    ("일을 체계적으로 처리했어", "일을 [MASK]적으로 처리했어", "체계", "일을 [MASK]적으로 처리했어", "word_part"),
    # The masked text carries another particle: the word and its own particle form the span.
    ("사용자들에게 편리함을 전달해", "사용자들에게 [MASK]를 전달해", "편리함을", "사용자들에게 [MASK] 전달해", "fixed_realigned_span"),
    ("그 순간을 놓치지 않아", "그 [MASK]을 놓치지 않아", "순간", "그 [MASK]을 놓치지 않아", "word_part"),
])
def test_alignment_finds_the_masked_span(original, masked, token, expected_masked, note):
    row, notes = seed_study.clean_row("intp", original, masked)
    assert row["token"] == token and row["masked"] == expected_masked and row["type"] == "INTP"
    assert row["masked"].replace("[MASK]", row["token"]) == row["text"] == original
    assert note in notes
    swapped, swapped_notes = seed_study.clean_row("INTP", masked, original)
    assert swapped == row and "fixed_swapped_columns" in swapped_notes


@pytest.mark.parametrize("mbti, original, masked, reason", [
    ("XXXX", "a [MASK] b", "a c b", "dropped_bad_type"),
    ("ISTJ", "", "a [MASK]", "dropped_empty_text"),
    ("ISTJ", "a [MASK] b", "a [MASK] b", "dropped_mask_in_both"),
    ("ISTJ", "계획 세우자", "계획 세우자", "dropped_no_mask"),
    ("ISTJ", "정말 재밌을 것 같아", "정말 [MASK] 재밌을 것 같아", "dropped_nothing_masked"),
    ("ISTJ", "분위기 좋을 것 같아 정말로 진심", "분위기 [MASK].", "dropped_unaligned"),
    ("ISTJ", "나는 INTJ 유형이야", "나는 [MASK] 유형이야", "dropped_span_is_type_mention"),
    ("ISTJ", None, "a [MASK]", "dropped_empty_text"),
])
def test_unusable_rows_are_dropped_with_a_reason(mbti, original, masked, reason):
    row, notes = seed_study.clean_row(mbti, original, masked)
    assert row is None and notes == [reason]


def test_cleaning_counts_every_row_and_splits_by_sentence():
    frame = study_masked_frame(repeats=6)
    data = seed_study.clean_study_masked(frame, validation_percent=30)
    counts = data.counts
    assert counts["rows_read"] == len(frame)
    dropped = sum(v for k, v in counts.items() if k.startswith("dropped_"))
    assert counts["kept"] + dropped == len(frame)
    assert counts["dropped_duplicate"] >= 1 and counts["dropped_no_mask"] == 1 and counts["dropped_mask_in_both"] == 1
    assert counts["fixed_swapped_columns"] == sum(1 for i in range(len(masked_rows(6))) if i % 3 == 0)
    assert counts["train"] + counts["validation"] == counts["kept"] and counts["validation"] > 0
    # A sentence never straddles the split, whatever its type.
    assert not {r["text"] for r in data.train} & {r["text"] for r in data.validation}
    assert len({(r["type"], r["text"]) for r in data.rows}) == counts["kept"]


def test_malformed_files_give_one_clear_error(tmp_path):
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="missing column"):
        seed_study.load_study_masked(wrong)
    binary = tmp_path / "binary.csv.gz"
    binary.write_bytes(b"\x00\xff not gzip at all")
    with pytest.raises(ValueError, match="not a readable CSV"):
        seed_study.load_study_masked(binary)
    with pytest.raises(FileNotFoundError):
        seed_study.load_study_masked(tmp_path / "missing.csv")


def test_two_sentence_chunks_and_masked_type_names():
    chunks = seed_study.two_sentence_chunks("하나예요. 둘이에요! 셋이에요? 넷.")
    assert chunks == ["하나예요. 둘이에요!", "셋이에요? 넷."]


@pytest.mark.real_data
def test_the_study_files_clean_as_documented():
    try:
        data = seed_study.load_study_masked()
        documents = seed_study.load_study_documents()
    except FileNotFoundError as error:
        pytest.skip(f"no study data here: {error}")
    counts = data.counts
    assert counts["rows_read"] == 14259 and counts["fixed_swapped_columns"] == 3580
    assert counts["dropped_mask_in_both"] == 15 and counts["dropped_no_mask"] == 25
    assert 12000 < counts["kept"] < 14259 and 0.08 < counts["validation"] / counts["kept"] < 0.12
    assert set(documents["type"]) == set(TYPES) and len(documents) > 1000
    # "ENFJ", "enfjs", "INTJ의": no type name survives masking.
    assert not documents["text"].str.contains(r"(?i)\b[ei][sn][tf][jp]", regex=True).any()


# -- metrics ------------------------------------------------------------------------------------------------
def test_rank_statistics_share_ties():
    scores = np.array([[3.0] + [0.0] * 15, [1.0] * 16])
    stats = type_effect._rank_stats(scores, np.array([0, 0]))
    assert stats["true_type_top1"] == pytest.approx((1 + 1 / 16) / 2)
    assert stats["true_type_mean_rank"] == pytest.approx((1 + 8.5) / 2)
    assert stats["true_type_top4"] == pytest.approx((1 + 4 / 16) / 2)


def test_word_frequency_baseline_ranks_a_type_vocabulary():
    train = [{"type": "ISTJ", "token": "계획"}] * 5 + [{"type": "ENFP", "token": "즉흥"}] * 5
    result = type_effect.word_frequency_baseline(train, [{"type": "ISTJ", "token": "계획"}, {"type": "ENFP", "token": "즉흥"}])
    assert result["true_type_top1"] == 1.0 and result["true_type_mean_rank"] == 1.0
    unseen = type_effect.word_frequency_baseline(train, [{"type": "INTP", "token": "몰라"}])
    assert unseen["true_type_top1"] < 0.1  # ISTJ and ENFP have larger totals, the rest tie


# -- the frozen-encoder head and the measurement -----------------------------------------------------------
@pytest.fixture(scope="module")
def tokenizer():
    return build_tokenizer()


@pytest.fixture(scope="module")
def encoder_dir(tmp_path_factory, tokenizer):
    return build_encoder_dir(tmp_path_factory.mktemp("enc"), "electra", tokenizer)


def test_fitting_the_head_on_a_frozen_encoder_makes_the_type_matter(encoder_dir, tokenizer):
    """Toy data where only the type tells the word (same contexts, ISTJ -> 계획, ENFP -> 즉흥)."""
    model = new_model(encoder_dir, with_type_mlm=True)
    model.heads_config.type_vocab_bias = True
    model.type_mlm = None
    model.add_type_mlm_head()
    rows = masked_rows(4)
    encoder_before = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    before = type_effect.measure(model, tokenizer, rows, rows, max_length=64)
    assert abs(before["logprob_gap"]) < 0.05  # an untrained head barely depends on the type
    features = type_effect.masked_features(model, tokenizer, rows, 64)
    history = fit_type_head(model, features, epochs=30, learning_rate=1e-2, batch_size=16, excluded_ids=type_effect.special_ids(tokenizer),
                            validation=features)
    after = type_effect.measure(model, tokenizer, rows, rows, max_length=64, features=features)
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert after["logprob_gap"] > 1.0 and after["true_type_top1"] > 0.9 and after["top1_true"] > 0.9
    # Under the other trained type the other word wins; the 14 types without rows stay near a coin toss.
    assert after["top1_other"] < 0.6 and after["top1_true"] - after["top1_other"] > 0.4
    assert after["rows"] == len(rows) and after["tokens"] == len(features)
    # Only the head moved.
    assert all(torch.equal(v, model.encoder.state_dict()[k]) for k, v in encoder_before.items())
    # The gap is the mean of a per-row difference: check one row by hand.
    scores = type_effect.type_scores(model, features, type_effect.special_ids(tokenizer))
    first = features.row == 0
    row_logprob = scores["logprob"][first].sum(0)
    true = TYPES.index(rows[0]["type"])
    gap0 = float(row_logprob[true] - (row_logprob.sum() - row_logprob[true]) / 15)
    assert gap0 > 0 and math.isfinite(gap0)


@pytest.mark.slow
def test_type_effect_command_on_a_saved_checkpoint(encoder_dir, tokenizer, tmp_path):
    model = new_model(encoder_dir, with_type_mlm=True)
    checkpoint = model.save_pretrained(tmp_path / "mft", tokenizer=tokenizer)
    data_dir = tmp_path / "data"
    from tests.support.mft_helpers import write_seed_study

    write_seed_study(data_dir)
    other = tmp_path / "other.csv"
    study_masked_frame(2).to_csv(other, index=False)
    output = tmp_path / "effect.json"
    env = {**os.environ, "MBTI_DATA_DIR": str(data_dir)}
    done = subprocess.run([sys.executable, "-m", "mbti_core", "type-effect", "--checkpoint", str(checkpoint),
                           "--masked", str(other), "--output", str(output)], capture_output=True, text=True, cwd=ROOT, env=env)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result == json.loads(output.read_text())
    assert result["part"] == "all" and result["rows"] == seed_study.load_study_masked(other).counts["kept"]
    for key in ("tokens", "top1_true", "top5_true", "top1_other", "top5_other", "logprob_gap", "logprob_gap_se",
                "true_type_top1", "true_type_top4", "true_type_mean_rank", "baseline_word_frequency"):
        assert key in result
    # The study's own file: only its validation part is scored.
    own = subprocess.run([sys.executable, "-m", "mbti_core", "type-effect", "--checkpoint", str(checkpoint)],
                         capture_output=True, text=True, cwd=ROOT, env=env)
    assert own.returncode == 0, own.stderr
    assert json.loads(own.stdout)["part"] == "validation"
    # A masked-sentence JSONL (what `generate` -> `mask --masker openai` writes) is scored whole too.
    jsonl = tmp_path / "masked.jsonl"
    jsonl.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in masked_rows(2)) + "{torn", encoding="utf-8")
    from_jsonl = subprocess.run([sys.executable, "-m", "mbti_core", "type-effect", "--checkpoint", str(checkpoint),
                                 "--masked", str(jsonl)], capture_output=True, text=True, cwd=ROOT, env=env)
    assert from_jsonl.returncode == 0, from_jsonl.stderr
    scored = json.loads(from_jsonl.stdout)
    assert scored["rows"] == len(masked_rows(2)) and scored["cleaning"]["dropped_bad_row"] == 1
    # Bad input: one line, exit 2, no traceback.
    bad = subprocess.run([sys.executable, "-m", "mbti_core", "type-effect", "--checkpoint", str(checkpoint),
                          "--masked", str(tmp_path / "nope.csv")], capture_output=True, text=True, cwd=ROOT, env=env)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "not found" in bad.stderr


def test_refitting_a_checkpoints_type_head_keeps_its_encoder_and_classifier(encoder_dir, tokenizer, tmp_path):
    from safetensors.torch import load_file

    from mbti_core.modeling import CLASSIFIER_WEIGHTS_NAME, MBTIModel
    from mbti_core.training.type_head import refit_checkpoint
    from tests.support.mft_helpers import write_seed_study

    source = new_model(encoder_dir, with_type_mlm=True).save_pretrained(tmp_path / "mft", tokenizer=tokenizer)
    data_dir = tmp_path / "data"
    write_seed_study(data_dir, repeats=6)
    record = refit_checkpoint(source, tmp_path / "refit", epochs=30, learning_rate=1e-2, data_dir=data_dir,
                              export_onnx=False)
    assert record["type_effect_after"]["logprob_gap"] > record["type_effect_before"]["logprob_gap"] + 0.3
    refit = MBTIModel.from_pretrained(tmp_path / "refit")
    assert refit.heads_config.type_vocab_bias and refit.type_mlm.type_bias is not None
    for name in ("model.safetensors", CLASSIFIER_WEIGHTS_NAME):  # only the type head changed
        old, new = load_file(str(source / name)), load_file(str(tmp_path / "refit" / name))
        assert old.keys() == new.keys() and all(torch.equal(old[k], new[k]) for k in old)
