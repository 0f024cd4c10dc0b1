"""Tiny models and toy data for the MFT tests (test_modeling, test_phases, test_inference).

Real components throughout: the project's WordPiece tokenizer trainer, its tiny encoder configs (2 layers,
hidden 32), the shared training loop. A toy corpus where two types use different words in the same contexts
lets phase 2 learn something checkable in seconds.
"""
from __future__ import annotations

import itertools
from pathlib import Path

import pandas as pd
import torch
from transformers import AutoModel

from mbti_core.encoder import tiny_config
from mbti_core.modeling import HeadsConfig, MBTIModel
from mbti_core.tokenizer import save_tokenizer, train_tokenizer
from mbti_core.training.loop import LoopConfig
from mbti_core.types import TYPES

# Two types, the same contexts, different masked words: ISTJ plans, ENFP improvises.
CONTEXTS = [
    "할 일은 미리미리 [MASK] 마음이 편하지", "주말에는 보통 [MASK] 하는 편이야", "여행 갈 때는 항상 [MASK] 좋아",
    "내일 모임은 [MASK] 대로 가자", "시험 공부는 [MASK] 해야 잘 돼", "오늘 저녁은 [MASK] 먹을래",
    "우리 팀은 [MASK] 움직여", "이번 휴가도 [MASK] 보내자",
]
TYPE_WORDS = {"ISTJ": "계획", "ENFP": "즉흥"}
CLASS_TEXTS = {
    "ISTJ": ["계획 세우고 일정 정리했어요", "시간 약속은 꼭 지켜야죠", "체크리스트 만들어서 계획대로 해요"],
    "ENFP": ["즉흥 여행 너무 재밌어요 ㅋㅋ", "새로운 사람 만나는 거 좋아요!", "갑자기 떠나는 게 최고야 ㅎㅎ"],
}
LONG_WORDS = ["체크리스트", "스케줄표", "우당탕탕탕"]


def toy_texts() -> list[str]:
    texts = [c.replace("[MASK]", w) for c in CONTEXTS for w in TYPE_WORDS.values()]
    texts += [t for ts in CLASS_TEXTS.values() for t in ts] + LONG_WORDS
    return texts * 3 + ["[TYPE] 유형이에요", "저 [TYPE]인데 계획 좋아해요"]


def build_tokenizer():
    return train_tokenizer(toy_texts(), vocab_size=400, min_frequency=1, limit_alphabet=400, max_length=128)


def build_encoder_dir(root: Path, model_type: str = "bert", tokenizer=None, dropout: float | None = None) -> Path:
    """A random tiny encoder + tokenizer saved as a Hugging Face folder (what --base-model points at).
    ``dropout=0.0`` turns every dropout off (the MBTI head follows the encoder's), for a deterministic model."""
    tokenizer = tokenizer or build_tokenizer()
    torch.manual_seed(0)
    overrides = {} if dropout is None else dict(hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout)
    model = AutoModel.from_config(tiny_config(model_type, len(tokenizer), **overrides))
    folder = root / f"tiny-{model_type}"
    model.save_pretrained(folder)
    save_tokenizer(tokenizer, folder)
    return folder


def masked_rows(repeats: int = 4) -> list[dict]:
    rows = []
    for _, (context, (mbti, word)) in itertools.product(range(repeats), itertools.product(CONTEXTS, TYPE_WORDS.items())):
        rows.append({"text": context.replace("[MASK]", word), "masked": context, "token": word, "type": mbti})
    return rows


def class_frame(repeats: int = 6) -> pd.DataFrame:
    rows = []
    for i in range(repeats):
        for mbti, texts in CLASS_TEXTS.items():
            for j, text in enumerate(texts):
                rows.append({"writer": f"{mbti}-{j % 2}", "type": mbti, "text": text})
    return pd.DataFrame(rows)


def new_model(encoder_dir: Path, with_type_mlm: bool = False, max_length: int = 64) -> MBTIModel:
    torch.manual_seed(0)
    return MBTIModel(AutoModel.from_pretrained(str(encoder_dir), dtype=torch.float32),
                     HeadsConfig(max_length=max_length, base_model=str(encoder_dir)), with_type_mlm=with_type_mlm)


def loop_config(output_dir: Path, epochs: int = 5, lr: float = 3e-3, batch_size: int = 16) -> LoopConfig:
    return LoopConfig(output_dir=str(output_dir), epochs=epochs, learning_rate=lr, batch_size=batch_size,
                      progress=False, log_every=1000, save_every=0, resume=False, seed=0)


def study_masked_frame(repeats: int = 4) -> pd.DataFrame:
    """``masked_rows`` in the study's CSV layout, with the study's traps: every third row's columns swapped,
    a repeated row, a row with no [MASK] and one with [MASK] in both columns."""
    rows = []
    for i, row in enumerate(masked_rows(repeats)):
        original, masked = row["text"], row["masked"]
        rows.append({"MBTI": row["type"], "original_sentence": masked if i % 3 == 0 else original,
                     "masked_sentence": original if i % 3 == 0 else masked})
    rows += [rows[1], {"MBTI": "ISTJ", "original_sentence": "계획 세우자", "masked_sentence": "계획 세우자"},
             {"MBTI": "ENFP", "original_sentence": "[MASK] 가자", "masked_sentence": "[MASK] 가자"}]
    return pd.DataFrame(rows)


def write_seed_study(data_dir: Path, repeats: int = 4) -> Path:
    """A ``seed_study/`` folder in the study's formats under ``data_dir``."""
    folder = data_dir / "seed_study"
    folder.mkdir(parents=True, exist_ok=True)
    documents = [{"MBTI": mbti, "Article": f"{mbti}s는 {text}. {text}. {mbti}의 특징이에요."}
                 for mbti in TYPES for text in CLASS_TEXTS["ISTJ" if mbti[3] == "J" else "ENFP"]]
    pd.DataFrame(documents).to_csv(folder / "official_documents.csv.gz", index=False, compression="gzip")
    study_masked_frame(repeats).to_csv(folder / "masked_sentences.csv.gz", index=False, compression="gzip")
    return folder
