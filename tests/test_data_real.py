"""Integration: the real data pipeline on ../shared/data (or $MBTI_DATA_DIR).

Skipped only when no data directory is configured at all; CI sets MBTI_DATA_DIR, and a set but
wrong directory fails loudly.
"""
import os
import re

import pytest

from mbti_core import settings
from mbti_core.types import TYPES

try:
    settings.data_dir()
except settings.DataNotFoundError:
    if os.environ.get("MBTI_DATA_DIR"):
        raise
    pytest.skip("no data directory: set MBTI_DATA_DIR", allow_module_level=True)

from mbti_core.data import labelled, load_cafe, load_descriptions, load_nsmc, load_pretraining_text  # noqa: E402

ENGLISH_TYPE = re.compile("(?i)(?:" + "|".join(TYPES) + ")")


@pytest.fixture(scope="module")
def cafe():
    return load_cafe()


def test_splits_are_writer_disjoint(cafe):
    splits_per_writer = cafe.groupby("writer")["split"].nunique()
    assert splits_per_writer.max() == 1
    writers = {s: set(cafe.loc[cafe.split == s, "writer"]) for s in ("train", "validation", "test")}
    assert not writers["train"] & writers["test"]
    assert not writers["train"] & writers["validation"]
    assert not writers["validation"] & writers["test"]


def test_all_types_in_train_and_enough_labelled_writers(cafe):
    train = labelled(cafe, "train")
    assert set(train["type"]) == set(TYPES)
    assert labelled(cafe)["writer"].nunique() > 4000
    assert len(labelled(cafe, "test")) > 10_000


def test_masked_texts_hold_no_english_type(cafe):
    leaks = cafe["text"].str.contains(ENGLISH_TYPE)
    assert leaks.sum() == 0, cafe.loc[leaks, "text"].head().tolist()
    # about a quarter to a third of texts named a type before masking
    assert 0.2 < cafe["had_mention"].mean() < 0.45


def test_no_board_and_no_duplicates(cafe):
    assert "board" not in cafe.columns
    assert not cafe.duplicated(["writer", "text"]).any()
    assert (cafe["text"].str.len() > 0).all()


def test_descriptions_cover_sixteen_types():
    descriptions = load_descriptions()
    assert set(descriptions["type"]) == set(TYPES)
    assert descriptions.groupby("type").size().min() >= 10
    assert not descriptions["text"].str.contains(ENGLISH_TYPE).any()


def test_nsmc_movie_disjoint_and_labelled_by_rule():
    nsmc = load_nsmc()
    assert nsmc.groupby("movie_id")["split"].nunique().max() == 1
    assert set(nsmc["label"]) == {0, 1}
    assert not nsmc["text"].duplicated().any()
    assert len(nsmc) > 400_000


@pytest.mark.slow
def test_pretraining_text_holds_no_held_out_text(cafe):
    pretraining = set(load_pretraining_text()["text"])
    held_out_cafe = set(cafe.loc[cafe.split != "train", "text"])
    nsmc = load_nsmc()
    held_out_nsmc = set(nsmc.loc[nsmc.split != "train", "text"])
    assert not pretraining & held_out_cafe
    assert not pretraining & held_out_nsmc
    assert len(pretraining) > 500_000
    train_texts = set(cafe.loc[cafe.split == "train", "text"])
    assert len(pretraining & train_texts) > 0.9 * len(train_texts - held_out_cafe)
