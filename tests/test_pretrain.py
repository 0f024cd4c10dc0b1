"""Pretraining end to end on tiny configs, and loading any encoder (BERT, ELECTRA, RoBERTa) downstream."""
from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd
import pytest
import torch
from safetensors import safe_open
from transformers import AutoModel, AutoModelForMaskedLM, AutoTokenizer

from mbti_core import encoder
from mbti_core.training import pretrain
from mbti_core.training.nsmc import NsmcConfig, finetune_and_score


def tiny_cfg(tmp_path, **overrides) -> pretrain.PretrainConfig:
    values = pretrain.tiny_overrides()
    values.update(
        run_dir=str(tmp_path / "run"), output_dir=str(tmp_path / "base"), report=str(tmp_path / "pretrain.json"),
        vocab_size=400, embedding_size=16, hidden_size=32, num_heads=2, intermediate_size=64, block_size=32,
        max_position_embeddings=64, max_texts=None, batch_size=8, learning_rate=3e-3, warmup_steps=2,
        max_steps=12, log_every=2, save_every=5, epoch_eval_texts=10, eval_batch_size=16, nsmc=False,
        progress=False, mixed_precision="no",
    )
    values.update(overrides)
    return pretrain.PretrainConfig(**values)


def test_pack_texts_makes_full_cls_sep_blocks(tiny_tokenizer, korean_sentences):
    blocks = pretrain.pack_texts(tiny_tokenizer, korean_sentences, block_size=16)
    assert blocks.dtype == np.int32 and blocks.shape[1] == 16
    assert (blocks[:, 0] == tiny_tokenizer.cls_token_id).all() and (blocks[:, -1] == tiny_tokenizer.sep_token_id).all()
    assert not (blocks == tiny_tokenizer.pad_token_id).any()  # packing wastes nothing on padding
    stream = [t for s in korean_sentences for t in tiny_tokenizer(s, add_special_tokens=False)["input_ids"] + [3]]
    assert blocks[:, 1:-1].reshape(-1).tolist() == stream[: blocks.shape[0] * 14]
    with pytest.raises(ValueError, match="fewer than one block"):
        pretrain.pack_texts(tiny_tokenizer, ["안녕"], block_size=64)


def test_mlm_collator_masks_about_15_percent_and_never_special_tokens(tiny_tokenizer, korean_sentences):
    blocks = pretrain.pack_texts(tiny_tokenizer, korean_sentences * 20, block_size=32)
    torch.manual_seed(0)
    batch = pretrain.MLMCollator(tiny_tokenizer, 0.15)(pretrain.BlockDataset(blocks)[i] for i in range(len(blocks)))
    original = torch.from_numpy(blocks.astype(np.int64))
    selected = batch["labels"] != -100
    special = torch.isin(original, torch.tensor([0, 1, 2, 3, 4, 5]))
    assert not (selected & special).any()
    share = selected.sum().item() / (~special).sum().item()
    assert 0.12 < share < 0.18
    assert (batch["labels"][selected] == original[selected]).all()
    replaced_by_mask = (batch["input_ids"] == tiny_tokenizer.mask_token_id) & selected
    assert 0.7 < replaced_by_mask.sum().item() / selected.sum().item() < 0.9  # the 80/10/10 rule
    assert (batch["input_ids"][~selected] == original[~selected]).all()


def test_default_model_fits_the_size_budget():
    cfg = pretrain.PretrainConfig()
    size = pretrain.model_size_mib(pretrain.electra_config(cfg, cfg.vocab_size))
    # base + mft + ft + sentiment (with tokenizers and heads) must fit the 48 MiB of checkpoints/
    assert 9.0 < size < 11.0


def test_tiny_pretraining_end_to_end_writes_a_loadable_fp16_masked_lm(tmp_path, korean_sentences):
    texts = korean_sentences * 8
    held_out = {"cafe_validation": korean_sentences[:12], "cafe_test": korean_sentences[12:24]}
    cfg = tiny_cfg(tmp_path)
    report = pretrain.run(cfg, "train.py pretrain --tiny", texts=texts, eval_texts=held_out)

    base = tmp_path / "base"
    names = {p.name for p in base.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
            "pretrain_command.txt"} <= names
    assert (base / "pretrain_command.txt").read_text().strip() == "train.py pretrain --tiny"
    with safe_open(str(base / "model.safetensors"), "pt") as weights:
        dtypes = {weights.get_tensor(k).dtype for k in weights.keys()}
        keys = set(weights.keys())
    assert dtypes == {torch.float16}
    assert any(k.startswith("generator_predictions") for k in keys)  # the fill-mask head is shipped
    assert max(encoder.folder_sizes(base)["files"].values()) <= 15

    # Offline Auto loading; the MLM head comes from the file (two loads under different seeds agree).
    tokenizer = AutoTokenizer.from_pretrained(str(base), local_files_only=True)
    outputs = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        mlm = AutoModelForMaskedLM.from_pretrained(str(base), local_files_only=True, dtype=torch.float32).eval()
        enc = tokenizer("내일 모임 [MASK] 딱 지켜야 해", return_tensors="pt")
        outputs.append(mlm(**enc).logits)
    assert type(mlm).__name__ == "ElectraForMaskedLM"
    torch.testing.assert_close(outputs[0], outputs[1])
    bare = AutoModel.from_pretrained(str(base), local_files_only=True)
    assert bare(**enc).last_hidden_state.shape[-1] == 32

    saved = json.loads((tmp_path / "pretrain.json").read_text())
    assert saved["steps"] == 12 and report["steps"] == 12
    assert saved["tokens_seen"] == 12 * 8 * 32
    assert saved["tokens_per_second"] > 0 and saved["device"].startswith("cpu")
    for split in ("cafe_validation", "cafe_test"):
        result = saved["masked_token_accuracy"][split]
        assert 0.0 <= result["accuracy"] <= 1.0 and result["masked_tokens"] > 0
    step_losses = [row["loss"] for row in saved["step_logs"]]
    assert step_losses[-1] < step_losses[0]
    assert saved["history"][-1]["val_masked_accuracy"] >= 0.0

    # Resume: a longer plan continues from step 12, reusing the tokenizer and packed blocks.
    longer = pretrain.run(tiny_cfg(tmp_path, max_steps=16), texts=texts, eval_texts=held_out)
    assert longer["steps"] == 16
    assert len(list((tmp_path / "run").glob("blocks-*.npy"))) == 1


def test_continue_pretraining_any_encoder(tmp_path, tiny_encoder_dir, korean_sentences):
    model_type = json.loads((tiny_encoder_dir / "config.json").read_text())["model_type"]
    cfg = tiny_cfg(tmp_path, base_model=str(tiny_encoder_dir), max_steps=3, block_size=24)
    pretrain.run(cfg, texts=korean_sentences * 4, eval_texts={"held_out": korean_sentences[:6]})
    loaded = AutoModelForMaskedLM.from_pretrained(str(tmp_path / "base"), local_files_only=True)
    assert loaded.config.model_type == model_type


def test_downstream_loading_and_fp16_round_trip_for_each_encoder(tmp_path, tiny_encoder_dir):
    tokenizer, model = encoder.load_encoder(tiny_encoder_dir)
    assert next(model.parameters()).dtype == torch.float32
    assert encoder.hidden_size(model) == 32
    enc = tokenizer(["안녕하세요 반갑습니다", "[TYPE] 특징"], padding=True, return_tensors="pt")
    hidden = model(**enc).last_hidden_state
    assert hidden.shape[:2] == enc["input_ids"].shape and hidden.shape[-1] == 32

    tokenizer, mlm = encoder.load_masked_lm(tiny_encoder_dir)
    mlm.eval()
    reference = mlm(**enc).logits
    out = encoder.save_fp16(mlm, tmp_path / "fp16", tokenizer)
    assert next(mlm.parameters()).dtype == torch.float32  # the caller's model is untouched
    _, reloaded = encoder.load_masked_lm(out)
    torch.testing.assert_close(reloaded.eval()(**enc).logits, reference, atol=2e-2, rtol=2e-2)


def test_save_fp16_shards_files_under_the_limit(tmp_path, tiny_tokenizer):
    from transformers import ElectraForMaskedLM

    model = ElectraForMaskedLM(encoder.tiny_config("electra", len(tiny_tokenizer), hidden_size=256,
                                                   intermediate_size=1024, num_attention_heads=4))
    out = encoder.save_fp16(model, tmp_path / "sharded", tiny_tokenizer, max_shard_size="1MB")
    shards = sorted(p.name for p in out.glob("*.safetensors"))
    assert len(shards) > 1 and (out / "model.safetensors.index.json").is_file()
    assert all(p.stat().st_size <= 1.1 * 10**6 for p in out.glob("*.safetensors"))
    reloaded = AutoModelForMaskedLM.from_pretrained(str(out), local_files_only=True, dtype=torch.float32)
    for (name, a), b in zip(model.state_dict().items(), reloaded.state_dict().values()):
        torch.testing.assert_close(a.half().float(), b, msg=name)


def toy_sentiment(sentences):
    rows = [(s + " 좋아요", 1) for s in sentences] + [(s + " 별로", 0) for s in sentences]
    return pd.DataFrame(rows, columns=["text", "label"])


@pytest.mark.slow
def test_nsmc_style_finetune_learns_a_toy_sentiment_task_on_each_encoder(tmp_path, tiny_encoder_dir,
                                                                       korean_sentences):
    train_rows, test_rows = toy_sentiment(korean_sentences[:30]), toy_sentiment(korean_sentences[30:])
    cfg = NsmcConfig(base_model=str(tiny_encoder_dir), run_dir=str(tmp_path / "nsmc"), epochs=10, batch_size=8,
                     learning_rate=3e-3, max_length=32, mixed_precision="no", progress=False, tfidf_baseline=False)
    result = finetune_and_score(cfg, train_rows, test_rows)
    assert result["n"] == len(test_rows) == 20
    assert result["history"][-1]["train_loss"] < result["history"][0]["train_loss"]
    assert result["accuracy"] >= 0.8


def test_missing_encoders_give_clear_errors(tmp_path, monkeypatch):
    with pytest.raises(encoder.EncoderNotFoundError, match="no such folder"):
        encoder.load_encoder(tmp_path / "missing" / "model")
    (tmp_path / "empty").mkdir()
    with pytest.raises(encoder.EncoderNotFoundError, match="not a model folder"):
        encoder.load_masked_lm(tmp_path / "empty")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(encoder.EncoderNotFoundError, match="not in the local Hugging Face cache"):
        encoder.load_encoder("nobody-has/this-model-xyz")


def test_cli_arguments_build_the_config(tmp_path):
    parser = argparse.ArgumentParser()
    pretrain.add_arguments(parser)
    args = parser.parse_args(["--tiny", "--max-steps", "7", "--learning-rate", "0.002", "--output-dir",
                              str(tmp_path / "out"), "--skip-nsmc"])
    cfg = pretrain.config_from_args(args)
    assert cfg.max_steps == 7 and cfg.learning_rate == 0.002 and cfg.nsmc is False
    assert cfg.output_dir == str(tmp_path / "out") and cfg.hidden_size == pretrain.tiny_overrides()["hidden_size"]
    default = pretrain.config_from_args(parser.parse_args([]))
    assert default == pretrain.PretrainConfig()


def test_masked_positions_lm_gives_the_full_forward_loss():
    from transformers import BertConfig, BertForMaskedLM, ElectraConfig, ElectraForMaskedLM

    torch.manual_seed(0)
    small = dict(vocab_size=50, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64)
    for model in (ElectraForMaskedLM(ElectraConfig(embedding_size=32, **small)), BertForMaskedLM(BertConfig(**small))):
        model.eval()
        input_ids = torch.randint(5, 50, (3, 12))
        labels = torch.full_like(input_ids, -100)
        labels[:, 2], labels[0, 7] = input_ids[:, 2], input_ids[0, 7]
        masked = input_ids.clone()
        masked[labels != -100] = 4
        full = model(input_ids=masked, labels=labels)
        sparse = pretrain.MaskedPositionsLM(model)(input_ids=masked, labels=labels)
        assert sparse.logits.shape == (4, 50)
        assert torch.allclose(sparse.loss, full.loss, atol=1e-5)
        expected = (full.logits[labels != -100].argmax(-1) == labels[labels != -100]).float().mean()
        assert torch.isclose(sparse["accuracy"], expected)


@pytest.mark.slow
def test_accelerate_launch_pretraining_with_two_cpu_processes(tmp_path, korean_sentences):
    """`accelerate launch --multi_gpu --num_processes 2 train.py pretrain` on a CPU machine: one gloo group, each
    process its own batch of --batch-size blocks, one process writing the encoder and the report."""
    import gzip
    import os
    import subprocess
    import sys
    from pathlib import Path

    data = tmp_path / "data"
    for folder in ("mbti_cafe", "nsmc", "corpus"):
        (data / folder).mkdir(parents=True)
    comments = [{"board": "b", "source_file": "x.csv", "comments": f"{text} {i}",
                 "comments_writer": f"작성자{i % 40} {'istj' if i % 2 else 'enfp'}"}
                for i, text in enumerate(korean_sentences * 6)]
    pd.DataFrame(comments).to_csv(data / "mbti_cafe" / "comments.csv.gz", index=False, compression="gzip")
    pd.DataFrame([{"board": "b", "source_file": "p.csv", "title": "제목", "contents": str(["계획 세우는 게 좋아요"]),
                   "author": "작성자0 enfp", "comments": ""}]).to_csv(data / "mbti_cafe" / "posts.csv.gz", index=False,
                                                                     compression="gzip")
    reviews = [{"review_id": str(i), "movie_id": str(i % 30), "rating": str(1 + i % 10), "review": f"{text} 영화 {i}"}
               for i, text in enumerate(korean_sentences * 4)]
    pd.DataFrame(reviews).to_json(data / "nsmc" / "reviews.jsonl.gz", orient="records", lines=True, force_ascii=False,
                                  compression="gzip")
    with gzip.open(data / "corpus" / "toy.txt.gz", "wt", encoding="utf-8") as handle:
        handle.write("\n".join(f"{text} 문장 {i}" for i, text in enumerate(korean_sentences * 8)) + "\n")

    out = tmp_path / "base"
    command = [str(Path(sys.executable).parent / "accelerate"), "launch", "--multi_gpu", "--num_processes", "2",
               "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
               str(Path(__file__).resolve().parent.parent / "train.py"), "pretrain", "--tiny", "--skip-nsmc",
               "--no-progress", "--data-dir", str(data), "--output-dir", str(out), "--run-dir", str(tmp_path / "run"),
               "--report", str(tmp_path / "pretrain.json"), "--vocab-size", "400", "--embedding-size", "32",
               "--hidden-size", "32", "--num-layers", "2", "--num-heads", "2", "--intermediate-size", "64",
               "--block-size", "32", "--batch-size", "8", "--max-steps", "6", "--eval-texts", "10",
               "--mixed-precision", "no", "--log-every", "2", "--save-every", "3"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MBTI_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run(command, env=env, cwd=Path(__file__).resolve().parent.parent, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "pretrain.json").read_text())
    assert report["steps"] == 6 and "2 processes" in report["device"]
    assert report["tokens_seen"] == 6 * 8 * 2 * 32  # each process takes 8 blocks of 32 tokens per step
    assert (out / "model.safetensors").is_file() and (out / "pretrain_command.txt").is_file()
