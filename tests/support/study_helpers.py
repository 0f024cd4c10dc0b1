"""Toy data and tiny trained models for the study tests (test_studies.py, test_study_pages.py).

- ``write_nsmc_dir(root)``: a raw data folder holding ``nsmc/reviews.jsonl.gz`` in the real format (review_id,
  movie_id, rating, review) whose movies fall in all three movie-disjoint splits; positive reviews (9-10) and
  negative ones (1-4) use different words, neutral ones (5-8) are dropped by the NSMC rule.
- ``toy_cafe(n_writers)``: cafe-style rows (writer, type, text) whose E/I letter shows in the wording, with a
  ``split`` column that keeps writers disjoint.
- ``train_tiny_sentiment(base, data_dir, out)``: ``train.py nsmc``'s real code path on the toy reviews, shipping
  a sentiment checkpoint (a few seconds on CPU).
"""
from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pandas as pd

from mbti_core.data.nsmc import split_of_movie

POSITIVE = ["이 영화 진짜 재밌어요", "강추합니다", "음악이 좋아서 끝까지 봤어요", "정말 좋은 글 감사합니다",
            "맞아요 완전 제 얘기네요 ㅎㅎ", "새로운 아이디어가 떠오르면 신나요"]
NEGATIVE = ["배우들 연기가 너무 별로였어요", "스토리가 지루하고 뻔했다", "그 말 듣고 좀 서운했어요 ㅠㅠ",
            "회사에서 일하는 게 힘들어요", "요즘 고민이 많아서 잠이 안 와요", "사람 많은 곳에 가면 기가 빨려요"]
FILLER = ["오늘", "내일", "주말에는", "친구들이랑", "카페에서", "혼자", "다들", "저도", "정말", "요즘"]


def movies_by_split(per_split: dict[str, int]) -> dict[str, list[str]]:
    """Movie ids whose hash puts them in each split, as many as asked."""
    found: dict[str, list[str]] = {split: [] for split in per_split}
    number = 10_000
    while any(len(found[s]) < n for s, n in per_split.items()):
        movie = str(number)
        split = split_of_movie(movie)
        if len(found[split]) < per_split[split]:
            found[split].append(movie)
        number += 1
    return found


def toy_review(label: int, rng: random.Random, index: int) -> str:
    pool = POSITIVE if label else NEGATIVE
    # The index keeps every text unique (the NSMC rule drops duplicate texts).
    return f"{rng.choice(FILLER)} {rng.choice(pool)} {rng.choice(pool)} {index}"


def write_nsmc_dir(root: Path, per_movie: int = 40, seed: int = 0) -> Path:
    """root/nsmc/reviews.jsonl.gz with 12 train, 4 validation and 4 test movies; returns root."""
    rng = random.Random(seed)
    movies = movies_by_split({"train": 12, "validation": 4, "test": 4})
    rows, index = [], 0
    for split_movies in movies.values():
        for movie in split_movies:
            for k in range(per_movie):
                rating = [10, 9, 1, 3, 7][k % 5]  # 7 is neutral: dropped by the NSMC rule
                label = 1 if rating >= 9 else 0
                rows.append({"review_id": str(index), "movie_id": movie, "rating": str(rating),
                             "review": toy_review(label, rng, index)})
                index += 1
    (root / "nsmc").mkdir(parents=True, exist_ok=True)
    with gzip.open(root / "nsmc" / "reviews.jsonl.gz", "wt", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return root


def toy_cafe(n_writers: int = 24, per_writer: int = 6, seed: int = 0) -> pd.DataFrame:
    """writer, type, text, split: E writers talk about people, I writers about being alone (writer-disjoint)."""
    rng = random.Random(seed)
    types = ["ENFP", "ESTJ", "INTJ", "ISFP"]
    rows = []
    for w in range(n_writers):
        mbti = types[w % len(types)]
        pool = (["친구들이랑 수다 떠는 게 제일 좋아", "약속을 잡으면 설레요 ㅋㅋㅋ", "사람들 감정에 공감을 잘 해요"]
                if mbti[0] == "E" else
                ["혼자 있는 시간이 꼭 필요해요", "주말에는 집에서 쉬고 싶어요", "카페에서 책 읽는 걸 좋아해요"])
        for k in range(per_writer):
            rows.append({"writer": f"w{w}", "type": mbti, "text": f"{rng.choice(pool)} {rng.choice(FILLER)}",
                         "split": "train" if w % 3 else "test"})
    return pd.DataFrame(rows)


def train_tiny_sentiment(base_model: Path, data_dir: Path, output_dir: Path, run_dir: Path, epochs: int = 3) -> dict:
    """Fine-tune the tiny encoder on the toy reviews through ``training.nsmc.run_nsmc`` and ship it."""
    from mbti_core.training.nsmc import NsmcConfig, run_nsmc

    cfg = NsmcConfig(base_model=str(base_model), data_dir=str(data_dir), n_train=200, n_test=60, max_length=32,
                     epochs=epochs, batch_size=16, learning_rate=2e-3, run_dir=str(run_dir), progress=False,
                     eval_batch_size=64, tfidf_baseline=False, output_dir=str(output_dir), mixed_precision="no")
    return run_nsmc(cfg)


_BUILT: dict[str, dict] = {}


def tiny_sentiment_setup(tmp_path_factory, base_model: Path) -> dict:
    """Toy NSMC data dir, its cache and a tiny trained sentiment checkpoint, built once per pytest process
    (test_studies.py and test_study_pages.py share them). Keys: data_dir, cache_dir, sentiment, result."""
    import os

    key = str(tmp_path_factory.getbasetemp())
    if key not in _BUILT:
        root = tmp_path_factory.mktemp("study_setup")
        cache_dir = root / "cache"
        previous = os.environ.get("MBTI_CACHE_DIR")
        os.environ["MBTI_CACHE_DIR"] = str(cache_dir)  # toy tables never go to the project's .cache/
        try:
            data_dir = write_nsmc_dir(root / "data")
            result = train_tiny_sentiment(base_model, data_dir, root / "sentiment", root / "runs")
        finally:
            if previous is None:
                os.environ.pop("MBTI_CACHE_DIR", None)
            else:
                os.environ["MBTI_CACHE_DIR"] = previous
        _BUILT[key] = {"data_dir": data_dir, "cache_dir": cache_dir, "sentiment": root / "sentiment", "result": result}
    return _BUILT[key]
