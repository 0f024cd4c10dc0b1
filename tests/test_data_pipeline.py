"""Unit tests of the data layer on small realistic frames (no data directory needed)."""
import pandas as pd
import pytest

from mbti_core.data.cafe import (
    MalformedDataError, parse_post_contents, prepare_comments, prepare_posts, split_of_writer, writer_key,
)
from mbti_core.data.corpus import build_pretraining_text
from mbti_core.data.descriptions import split_sentences
from mbti_core.data.nsmc import label_from_rating, nsmc_sample, prepare_nsmc, split_of_movie
from mbti_core.data.text import is_url_only, normalise_text


def test_normalise_text():
    assert normalise_text("  안녕\n\n하세요\u200b  ㅋㅋ ") == "안녕 하세요 ㅋㅋ"
    assert normalise_text(None) == "" and normalise_text(float("nan")) == ""
    # Decomposed Hangul (NFD) becomes the composed form
    assert normalise_text("\u1112\u1161\u11ab") == "한"


def test_url_only():
    assert is_url_only("https://cafe.naver.com/abc")
    assert is_url_only("www.youtube.com/watch?v=1 !!")
    assert not is_url_only("이거 보세요 https://youtu.be/x")
    assert not is_url_only("그냥 글")


def test_parse_post_contents_never_evaluates_code():
    assert parse_post_contents("['첫 줄', '', '둘째 줄']") == "첫 줄\n\n둘째 줄"
    assert parse_post_contents("__import__('os').system('echo hacked')") == "__import__('os').system('echo hacked')"
    assert parse_post_contents(float("nan")) == ""


def test_prepare_comments_labels_cleans_dedupes_and_masks():
    raw = pd.DataFrame({
        "board": ["INFJ ♡ ENFJ"] * 6,
        "comments": ["저 INFJ인데 공감해요", "저 INFJ인데 공감해요", "", "https://naver.me/x", "엔프제는 착해요", "좋은 하루"],
        "comments_writer": ["록사 ENTJ", "록사  ENTJ", "긍정Enfj", "긍정Enfj", "Arte", "INFJ♡ENFJ"],
    })
    table = prepare_comments(raw)
    assert list(table.columns) == ["writer", "type", "text", "source", "split", "had_mention"]
    assert "board" not in table.columns  # the board name would leak the type
    # the two copies of the first comment (the crawl overlaps) become one; empty and URL-only dropped
    assert len(table) == 3
    first = table.iloc[0]
    assert first.writer == "록사 entj" and first.type == "ENTJ" and first.text == "저 [TYPE]인데 공감해요"
    assert bool(first.had_mention)
    assert table.set_index("writer").loc["arte", "type"] is None
    assert table.set_index("writer").loc["infj♡enfj", "type"] is None


def test_prepare_posts_joins_title_and_body():
    raw = pd.DataFrame({"title": ["질문"], "contents": ["['인프피 분들', '어떠세요?']"], "author": ["잇프제다"]})
    table = prepare_posts(raw)
    assert table.iloc[0].text == "질문 [TYPE] 분들 어떠세요?"
    assert table.iloc[0].type == "ISFJ" and table.iloc[0].source == "post"


def test_malformed_file_message():
    with pytest.raises(MalformedDataError, match="missing column.*comments_writer"):
        prepare_comments(pd.DataFrame({"comments": ["x"]}))


def test_writer_split_is_stable_and_case_insensitive():
    assert writer_key("록사  ENTJ ") == writer_key("록사 entj")
    keys = [f"writer{i}" for i in range(5000)]
    splits = pd.Series([split_of_writer(k) for k in keys]).value_counts(normalize=True)
    assert splits["train"] == pytest.approx(0.7, abs=0.03)
    assert splits["validation"] == pytest.approx(0.1, abs=0.02)
    assert splits["test"] == pytest.approx(0.2, abs=0.03)
    assert [split_of_writer(k) for k in keys[:50]] == [split_of_writer(k) for k in keys[:50]]


def test_nsmc_rule_dedup_and_movie_split():
    assert [label_from_rating(r) for r in ["1", "4", "5", "8", "9", "10", "x"]] == [0, 0, None, None, 1, 1, None]
    reviews = pd.DataFrame({
        "review_id": list("abcdefg"), "movie_id": ["m1", "m1", "m2", "m2", "m3", "m3", "m3"],
        "rating": ["10", "1", "10", "7", "10", "2", "10"],
        "text": ["최고", "별로", "최고", "그냥", "재밌다", "재밌다", "감동"],
    })
    reviews["split"] = reviews["movie_id"].map(split_of_movie)
    table = prepare_nsmc(reviews)
    # "최고" kept once; "그냥" (rating 7) dropped; "재밌다" has both labels -> dropped
    assert sorted(table.text) == ["감동", "별로", "최고"]
    assert table.groupby("movie_id")["split"].nunique().max() == 1


def test_nsmc_sample_is_balanced_and_explains_shortage():
    frame = pd.DataFrame({"text": [f"t{i}" for i in range(40)], "label": [0, 1] * 20, "split": "train"})
    sample = nsmc_sample(frame, "train", 10, seed=1)
    assert len(sample) == 10 and sample.label.sum() == 5
    with pytest.raises(ValueError, match="cannot sample 50 each"):
        nsmc_sample(frame, "train", 100)


def test_pretraining_text_never_holds_held_out_text():
    corpus = pd.DataFrame({"text": ["뉴스 제목", "공통 문장"], "source": "corpus/x"})
    reviews = pd.DataFrame({"text": ["좋은 영화", "나쁜 영화", "공통 문장"], "split": ["train", "test", "validation"]})
    cafe = pd.DataFrame({"text": ["훈련 글", "시험 글", "뉴스 제목"], "split": ["train", "test", "test"]})
    texts = set(build_pretraining_text(corpus, reviews, cafe)["text"])
    assert texts == {"좋은 영화", "훈련 글"}


def test_split_sentences():
    assert split_sentences("첫 문장입니다. 둘째 문장이에요! 셋째?") == ["첫 문장입니다.", "둘째 문장이에요!", "셋째?"]
