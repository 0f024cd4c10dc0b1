"""A Korean WordPiece tokenizer trained with `tokenizers`, saved as a transformers fast tokenizer.

Choices, briefly:
- NFC normalisation, no accent stripping: stripping accents means NFD + dropping combining marks, which would
  decompose Hangul syllables into jamo. English is lower-cased (a small vocabulary should not spend entries on
  case variants; Korean has no case).
- BERT pre-tokenisation (whitespace + punctuation) and every other non-word character (emoji, symbols) on its
  own: WordPiece maps a whole word to [UNK] when any of its characters is unknown, so a rare emoji glued to a
  word must not take the word down with it.
- Special tokens [PAD] [UNK] [CLS] [SEP] [MASK] (ids 0-4) and [TYPE] (id 5): the placeholder that replaces MBTI
  mentions in cafe text (`mbti_core.data.mentions.MENTION_PLACEHOLDER`). It is a special token, so it is one id,
  never split and never chosen for masking.
- Vocabulary size 8,000 by default: with 256-d embeddings it costs 8k x 256 x 2 bytes = 3.9 MiB of the ~10 MiB
  fp16 base model (factorised 128-d embeddings did not train here: `mbti_core.training.pretrain`). Four copies ship
  (base, mft, ft, sentiment) within 48 MiB, so each must stay near 10 MiB (see
  `mbti_core.training.pretrain.model_size_mib`).

Train only on pretraining text (`mbti_core.data.load_pretraining_text()`), never on validation or test text.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Iterable, Iterator

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[TYPE]"]
TYPE_TOKEN = "[TYPE]"
DEFAULT_VOCAB_SIZE = 8_000
DEFAULT_MAX_LENGTH = 512
# The most frequent characters kept as the alphabet; rarer ones become [UNK] (alone, thanks to the splitting).
DEFAULT_ALPHABET = 3_000


def _backend_tokenizer(vocab_size: int):
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers
    from tokenizers.models import WordPiece

    tokenizer = Tokenizer(WordPiece(unk_token="[UNK]", max_input_chars_per_word=100))
    tokenizer.normalizer = normalizers.Sequence([
        normalizers.NFC(),
        normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=True),
    ])
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.BertPreTokenizer(),
        pre_tokenizers.Split(Regex(r"[^\w\s]"), behavior="isolated"),
    ])
    tokenizer.decoder = decoders.WordPiece(prefix="##")
    return tokenizer


def _batches(texts: Iterable[str], size: int = 1000) -> Iterator[list[str]]:
    batch = []
    for text in texts:
        if isinstance(text, str) and text:
            batch.append(text)
            if len(batch) == size:
                yield batch
                batch = []
    if batch:
        yield batch


def train_tokenizer(
    texts: Iterable[str],
    vocab_size: int = DEFAULT_VOCAB_SIZE,
    *,
    min_frequency: int = 2,
    limit_alphabet: int = DEFAULT_ALPHABET,
    max_length: int = DEFAULT_MAX_LENGTH,
    show_progress: bool = False,
):
    """Train WordPiece on `texts` and return a `transformers.PreTrainedTokenizerFast`."""
    from tokenizers import processors, trainers

    if vocab_size < len(SPECIAL_TOKENS) + 1:
        raise ValueError(f"vocab_size must exceed the {len(SPECIAL_TOKENS)} special tokens")
    backend = _backend_tokenizer(vocab_size)
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=SPECIAL_TOKENS,
        limit_alphabet=limit_alphabet,
        continuing_subword_prefix="##",
        show_progress=show_progress,
    )
    count = {"n": 0}

    def counted():
        for batch in _batches(texts):
            count["n"] += len(batch)
            yield batch

    backend.train_from_iterator(counted(), trainer=trainer)
    if count["n"] == 0:
        raise ValueError("no texts to train the tokenizer on")
    cls_id, sep_id = backend.token_to_id("[CLS]"), backend.token_to_id("[SEP]")
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    return wrap_tokenizer(backend, max_length=max_length)


def wrap_tokenizer(backend, max_length: int = DEFAULT_MAX_LENGTH):
    """A `tokenizers.Tokenizer` -> transformers fast tokenizer with the BERT special-token roles set."""
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        extra_special_tokens=[TYPE_TOKEN],
        model_max_length=max_length,
        padding_side="right",
    )


def save_tokenizer(tokenizer, output_dir: str | os.PathLike) -> Path:
    """save_pretrained: tokenizer.json + tokenizer_config.json (+ special tokens), loadable by AutoTokenizer."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    tokenizer.save_pretrained(str(output_dir))
    # transformers 5 writes its internal class name; the generic fast class loads in 4.x and 5.x alike.
    config_path = output_dir / "tokenizer_config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    config_path.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return output_dir


def load_tokenizer(path: str | os.PathLike):
    """AutoTokenizer.from_pretrained(path), offline; a clear error when the folder has no tokenizer."""
    from transformers import AutoTokenizer

    path = Path(path)
    if not (path / "tokenizer.json").is_file() and not (path / "vocab.txt").is_file():
        raise FileNotFoundError(f"no tokenizer in {path} (expected tokenizer.json or vocab.txt)")
    return AutoTokenizer.from_pretrained(str(path), local_files_only=True)


def describe(tokenizer, texts: Iterable[str]) -> list[dict]:
    """How a few sentences are tokenised (for the pretraining note): tokens and the [UNK] count."""
    rows = []
    for text in texts:
        tokens = tokenizer.tokenize(text)
        rows.append({"text": text, "tokens": tokens, "n_tokens": len(tokens),
                     "n_unk": sum(t == tokenizer.unk_token for t in tokens)})
    return rows
