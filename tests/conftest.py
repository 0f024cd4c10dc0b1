"""Shared fixtures: a tiny Korean WordPiece tokenizer and tiny random encoders saved as HF folders.

Reuse them in any test (helper modules included):

- ``korean_sentences`` (session): ~40 short Korean chat-style sentences, some with the ``[TYPE]`` placeholder.
- ``tiny_tokenizer_dir`` (session): a folder with a WordPiece tokenizer trained on them by
  ``mbti_core.tokenizer.train_tokenizer`` (special tokens [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4 [TYPE]=5),
  loadable with ``AutoTokenizer.from_pretrained(dir)``.
- ``tiny_tokenizer`` (session): that tokenizer, loaded.
- ``tiny_encoder_dir`` (session, parametrised over ``"bert"``, ``"electra"``, ``"roberta"``): a folder holding a
  random 2-layer, hidden-32 ``AutoModelForMaskedLM`` (config.json + model.safetensors, fp32) and the tiny
  tokenizer, i.e. what ``--base-model`` accepts. A test using it runs three times; ``request.param`` /
  the folder's config.json ``model_type`` says which one. Treat the folder as read-only (it is shared).
- ``tiny_encoder_dirs`` (session): {"bert": dir, "electra": dir, "roberta": dir} for tests that want all three.
"""
from pathlib import Path

import pytest

KOREAN_SENTENCES = [
    "안녕하세요 반갑습니다",
    "오늘 날씨가 정말 좋네요",
    "내일 모임 시간 딱 지켜야 해",
    "늦으면 곤란하니까 미리 준비하자",
    "할 일은 미리미리 해야 마음이 편하지",
    "저는 [TYPE] 인데 이 글 너무 공감돼요",
    "[TYPE] 특징이 이런 거였구나",
    "계획 없이 여행 가는 것도 재밌어요",
    "친구들이랑 수다 떠는 게 제일 좋아",
    "혼자 있는 시간이 꼭 필요해요",
    "이 영화 진짜 재밌어요 강추합니다",
    "배우들 연기가 너무 별로였어요",
    "음악이 좋아서 끝까지 봤어요",
    "스토리가 지루하고 뻔했다",
    "감정 표현이 서툴러서 고민이에요",
    "논리적으로 생각하는 편이에요",
    "사람들 감정에 공감을 잘 해요",
    "정리 정돈을 잘 하는 편입니다",
    "즉흥적으로 결정하는 걸 좋아해요",
    "새로운 아이디어가 떠오르면 신나요",
    "현실적인 조언이 더 도움이 돼요",
    "상상하는 걸 좋아해서 멍때려요",
    "주말에는 집에서 쉬고 싶어요",
    "사람 많은 곳에 가면 기가 빨려요",
    "약속을 잡으면 설레요 ㅋㅋㅋ",
    "그 말 듣고 좀 서운했어요 ㅠㅠ",
    "감사합니다 좋은 하루 보내세요",
    "질문이 있는데 답변 부탁드려요",
    "저도 그렇게 생각해요!",
    "맞아요 완전 제 얘기네요 ㅎㅎ",
    "회사에서 일하는 게 힘들어요",
    "공부 계획을 세워서 지키는 중이에요",
    "카페에서 책 읽는 걸 좋아해요",
    "운동을 꾸준히 하고 싶어요",
    "요즘 고민이 많아서 잠이 안 와요",
    "다들 어떻게 생각하세요?",
    "MBTI 검사 다시 해봤어요",
    "Hello 한국어 English 섞어서 써요",
    "숫자 123 과 기호 :) 도 있어요 😀",
    "정말 좋은 글 감사합니다",
]

TINY_MODEL_TYPES = ("bert", "electra", "roberta")


@pytest.fixture(scope="session")
def korean_sentences() -> list[str]:
    return list(KOREAN_SENTENCES)


@pytest.fixture(scope="session")
def tiny_tokenizer_dir(tmp_path_factory) -> Path:
    from mbti_core.tokenizer import save_tokenizer, train_tokenizer

    tokenizer = train_tokenizer(KOREAN_SENTENCES * 3, vocab_size=400, min_frequency=1)
    return save_tokenizer(tokenizer, tmp_path_factory.mktemp("tiny_tokenizer"))


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_tokenizer_dir):
    from mbti_core.tokenizer import load_tokenizer

    return load_tokenizer(tiny_tokenizer_dir)


def _build_tiny_encoder(model_type: str, tokenizer, folder: Path) -> Path:
    import torch
    from transformers import AutoModelForMaskedLM

    from mbti_core.encoder import tiny_config

    torch.manual_seed(0)
    model = AutoModelForMaskedLM.from_config(tiny_config(model_type, len(tokenizer)))
    model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="session")
def tiny_encoder_dirs(tmp_path_factory, tiny_tokenizer) -> dict[str, Path]:
    return {
        model_type: _build_tiny_encoder(model_type, tiny_tokenizer, tmp_path_factory.mktemp(f"tiny_{model_type}"))
        for model_type in TINY_MODEL_TYPES
    }


@pytest.fixture(scope="session", params=TINY_MODEL_TYPES)
def tiny_encoder_dir(request, tiny_encoder_dirs) -> Path:
    return tiny_encoder_dirs[request.param]
