"""``FastTokenizer``: a checkpoint's ``tokenizer.json`` through the `tokenizers` library alone.

The ONNX serving path uses it instead of ``transformers.AutoTokenizer`` because importing transformers costs
~0.9 s on a small CPU and the app's cold start is what users wait for. It offers the small part of the
transformers call convention that ``mbti_core.encoding`` and the predictors use, and
``mbti_core.onnx_export`` refuses to export a checkpoint whose tokenizer it does not reproduce exactly
(same ids, offsets and special tokens as ``AutoTokenizer`` on sample texts).
"""
from __future__ import annotations

import json
from pathlib import Path

from tokenizers import Tokenizer

_SPECIAL_NAMES = ("unk_token", "pad_token", "cls_token", "sep_token", "mask_token", "bos_token", "eos_token")


def _content(value) -> str | None:
    return value.get("content") if isinstance(value, dict) else value


class FastTokenizer:
    def __init__(self, tokenizer: Tokenizer, special_tokens: dict[str, str], extra_special_tokens: list[str]):
        self._tokenizer = tokenizer
        self._tokenizer.no_truncation()  # callers cut themselves (they need to know what was cut)
        self._tokenizer.no_padding()
        for name in _SPECIAL_NAMES:
            token = special_tokens.get(name)
            setattr(self, name, token)
            setattr(self, f"{name}_id", None if token is None else tokenizer.token_to_id(token))
        tokens = [t for t in list(special_tokens.values()) + list(extra_special_tokens) if t is not None]
        self.all_special_ids = sorted({tokenizer.token_to_id(t) for t in tokens} - {None})

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> "FastTokenizer":
        directory = Path(directory)
        path = directory / "tokenizer.json"
        if not path.is_file():
            raise FileNotFoundError(f"no tokenizer.json in {directory}")
        config_path = directory / "tokenizer_config.json"
        config = json.loads(config_path.read_text(encoding="utf-8")) if config_path.is_file() else {}
        special = {name: _content(config.get(name)) for name in _SPECIAL_NAMES}
        map_path = directory / "special_tokens_map.json"  # older transformers kept them here
        if map_path.is_file():
            for name, value in json.loads(map_path.read_text(encoding="utf-8")).items():
                if name in _SPECIAL_NAMES and special.get(name) is None:
                    special[name] = _content(value)
        extra = config.get("extra_special_tokens") or config.get("additional_special_tokens") or []
        if isinstance(extra, dict):
            extra = list(extra.values())
        return cls(Tokenizer.from_file(str(path)), special, [_content(t) for t in extra])

    def __call__(self, text, add_special_tokens: bool = True, truncation: bool = False,
                 return_offsets_mapping: bool = False) -> dict:
        if truncation:
            raise ValueError("FastTokenizer does not truncate: cut the ids yourself")
        single = isinstance(text, str)
        encodings = self._tokenizer.encode_batch([text] if single else list(text), add_special_tokens=add_special_tokens)
        out = {"input_ids": [e.ids for e in encodings]}
        if return_offsets_mapping:
            out["offset_mapping"] = [[tuple(o) for o in e.offsets] for e in encodings]
        return {key: value[0] for key, value in out.items()} if single else out

    def convert_ids_to_tokens(self, ids) -> list[str]:
        return [self._tokenizer.id_to_token(int(i)) for i in ids]

    def __len__(self) -> int:
        return self._tokenizer.get_vocab_size(with_added_tokens=True)
