"""The Korean WordPiece tokenizer: Hangul survives, special tokens are single ids, AutoTokenizer loads it."""
from __future__ import annotations

import json
import unicodedata

import pytest
from transformers import AutoTokenizer

from mbti_core.tokenizer import SPECIAL_TOKENS, load_tokenizer, save_tokenizer, train_tokenizer


def unk_rate(tokenizer, texts) -> float:
    """Share of [UNK] among the tokens of ``texts``."""
    ids = [i for row in tokenizer(list(texts), add_special_tokens=False)["input_ids"] for i in row]
    return sum(i == tokenizer.unk_token_id for i in ids) / max(len(ids), 1)



def test_special_tokens_have_fixed_single_ids(tiny_tokenizer):
    ids = tiny_tokenizer.convert_tokens_to_ids(SPECIAL_TOKENS)
    assert ids == [0, 1, 2, 3, 4, 5]
    assert (tiny_tokenizer.pad_token_id, tiny_tokenizer.unk_token_id, tiny_tokenizer.cls_token_id,
            tiny_tokenizer.sep_token_id, tiny_tokenizer.mask_token_id) == (0, 1, 2, 3, 4)
    for token in SPECIAL_TOKENS:
        assert tiny_tokenizer.tokenize(f"앞 {token} 뒤")[1] == token


def test_type_placeholder_is_one_token_even_glued_to_korean(tiny_tokenizer):
    tokens = tiny_tokenizer.tokenize("저는[TYPE]인데 [TYPE]들은 그래요")
    assert tokens.count("[TYPE]") == 2
    assert "[" not in tokens and "TYPE" not in tokens and "type" not in tokens
    encoded = tiny_tokenizer("[TYPE] 안녕")["input_ids"]
    assert encoded[0] == 2 and encoded[1] == 5 and encoded[-1] == 3  # [CLS] [TYPE] ... [SEP]


def test_korean_round_trip_keeps_hangul_syllables(tiny_tokenizer, korean_sentences):
    for sentence in korean_sentences[:10]:
        ids = tiny_tokenizer(sentence)["input_ids"]
        assert ids[0] == tiny_tokenizer.cls_token_id and ids[-1] == tiny_tokenizer.sep_token_id
        decoded = tiny_tokenizer.decode(ids[1:-1])  # [TYPE] is special but must come back
        assert decoded.replace(" ", "") == sentence.replace(" ", "")
    tokens = tiny_tokenizer.tokenize("안녕하세요 반갑습니다")
    assert all(unicodedata.is_normalized("NFC", t) for t in tokens)
    # jamo would mean accents were stripped (NFD); none may appear
    assert not any("\u1100" <= ch <= "\u11ff" for t in tokens for ch in t)


def test_nfd_input_is_normalised_to_the_same_tokens(tiny_tokenizer):
    text = "오늘 날씨가 정말 좋네요"
    nfd = unicodedata.normalize("NFD", text)
    assert nfd != text
    assert tiny_tokenizer.tokenize(nfd) == tiny_tokenizer.tokenize(text)


def test_unknown_emoji_does_not_turn_the_word_into_unk(tiny_tokenizer):
    tokens = tiny_tokenizer.tokenize("안녕하세요🦖")
    assert tokens[-1] == "[UNK]" and "[UNK]" not in tokens[:-1]
    assert tiny_tokenizer.convert_tokens_to_string(tokens[:-1]).replace(" ", "") == "안녕하세요"
    assert tiny_tokenizer.tokenize("HELLO") == tiny_tokenizer.tokenize("hello")


def test_saved_folder_loads_offline_with_auto_tokenizer(tiny_tokenizer_dir, korean_sentences):
    config = json.loads((tiny_tokenizer_dir / "tokenizer_config.json").read_text())
    assert config["tokenizer_class"] == "PreTrainedTokenizerFast"
    auto = AutoTokenizer.from_pretrained(str(tiny_tokenizer_dir), local_files_only=True)
    ours = load_tokenizer(tiny_tokenizer_dir)
    for sentence in korean_sentences:
        assert auto(sentence)["input_ids"] == ours(sentence)["input_ids"]
    assert auto.mask_token == "[MASK]" and auto.pad_token == "[PAD]"
    assert "[TYPE]" in auto.all_special_tokens
    batch = auto(korean_sentences[:4], padding=True, return_tensors="pt")
    assert batch["input_ids"].shape[0] == 4 and (batch["input_ids"][:, 0] == 2).all()


def test_vocab_size_is_a_parameter_and_unk_rate_is_low_on_seen_text(tmp_path, korean_sentences):
    small = train_tokenizer(korean_sentences * 2, vocab_size=380, min_frequency=1)
    large = train_tokenizer(korean_sentences * 2, vocab_size=700, min_frequency=1)
    assert len(small) <= 380 < len(large) <= 700  # (the alphabet alone is ~350 characters)
    # a larger vocabulary needs fewer tokens for the same text
    n_small = sum(len(small.tokenize(s)) for s in korean_sentences)
    n_large = sum(len(large.tokenize(s)) for s in korean_sentences)
    assert n_large < n_small
    assert unk_rate(large, korean_sentences) < 0.02
    assert load_tokenizer(save_tokenizer(large, tmp_path / "tok"))("안녕")["input_ids"] == large("안녕")["input_ids"]


def test_bad_input_gets_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="no texts"):
        train_tokenizer(["", None], vocab_size=100)
    with pytest.raises(ValueError, match="vocab_size"):
        train_tokenizer(["안녕"], vocab_size=3)
    with pytest.raises(FileNotFoundError, match="no tokenizer"):
        load_tokenizer(tmp_path)
