"""MBTIModel: heads, losses, save -> load round trips (fp32 exact, fp16 shipped), for BERT/ELECTRA/RoBERTa."""
from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from mbti_core.heads_config import HEADS_CONFIG_NAME
from mbti_core.modeling import (
    CLASSIFIER_WEIGHTS_NAME, TYPE_MLM_WEIGHTS_NAME, MBTIClassifier, MBTIModel, TypeConditionedMLM,
)
from tests.support.mft_helpers import build_encoder_dir, build_tokenizer, new_model


@pytest.fixture(scope="module")
def tokenizer():
    return build_tokenizer()


@pytest.fixture(scope="module", params=["bert", "electra", "roberta"])
def encoder_dir(request, tmp_path_factory, tokenizer):
    return build_encoder_dir(tmp_path_factory.mktemp(request.param), request.param, tokenizer)


def _batch(tokenizer):
    encoded = tokenizer(["계획 세우고 일정 정리했어요", "할 일은 미리미리 [MASK] 마음이 편하지"], padding=True,
                        return_tensors="pt", return_token_type_ids=False)
    labels = torch.full_like(encoded["input_ids"], -100)
    labels[encoded["input_ids"] == tokenizer.mask_token_id] = tokenizer.convert_tokens_to_ids("계획")
    return encoded, labels


def test_heads_shapes_and_sizes(encoder_dir, tokenizer):
    model = new_model(encoder_dir, with_type_mlm=True)
    sizes = [layer.out_features for layer in model.classifier.mlp if isinstance(layer, torch.nn.Linear)]
    assert sizes == [512, 256, 128, 4]
    assert model.classifier.mlp[1].in_features == model.encoder.config.hidden_size
    assert model.type_mlm.type_embedding.weight.shape == (16, 128)
    encoded, labels = _batch(tokenizer)
    out = model(**encoded, labels=torch.tensor([[0.0, 1, 1, 1], [1, 0, 0, 0]]))
    assert out.logits.shape == (2, 4) and out.loss.ndim == 0 and out.loss > 0
    mlm = model.as_type_mlm()(encoded["input_ids"], torch.tensor([0, 5]), encoded["attention_mask"], labels=labels)
    assert mlm.logits.shape == (1, len(tokenizer))  # logits only at the one masked position
    # The vocabulary projection is the input embedding matrix itself (tied), not a copy.
    assert not any(p.shape == model.word_embeddings.shape for p in model.type_mlm.parameters())


def test_head_dropout_follows_the_encoder_unless_given(tmp_path, tokenizer):
    """As transformers' classification heads: classifier_dropout, else hidden_dropout_prob; an explicit value wins."""
    def dropouts(model):
        return {module.p for module in model.classifier.modules() if isinstance(module, torch.nn.Dropout)}

    plain = build_encoder_dir(tmp_path / "plain", "bert", tokenizer)  # BertConfig: hidden_dropout_prob 0.1
    off = build_encoder_dir(tmp_path / "off", "bert", tokenizer, dropout=0.0)
    assert dropouts(MBTIModel.from_encoder(plain)) == {0.1}
    assert dropouts(MBTIModel.from_encoder(off)) == {0.0} and MBTIModel.from_encoder(off).heads_config.classifier_dropout == 0.0
    assert dropouts(MBTIModel.from_encoder(off, classifier_dropout=0.3)) == {0.3}


def test_type_embedding_changes_mlm_logits(encoder_dir, tokenizer):
    model = new_model(encoder_dir, with_type_mlm=True).eval()
    encoded, labels = _batch(tokenizer)
    with torch.no_grad():
        a = model.forward_type_mlm(encoded["input_ids"], torch.tensor([0, 0]), encoded["attention_mask"], labels=labels)
        b = model.forward_type_mlm(encoded["input_ids"], torch.tensor([0, 9]), encoded["attention_mask"], labels=labels)
    assert not torch.allclose(a.logits, b.logits)


def test_weighted_loss(encoder_dir, tokenizer):
    model = new_model(encoder_dir).eval()
    logits = torch.tensor([[2.0, -1, 0, 1], [0.5, 0.5, -2, 3]])
    labels = torch.tensor([[1.0, 0, 0, 1], [0, 1, 1, 0]])
    per_example = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels, reduction="none").mean(-1)
    assert torch.isclose(model.classifier_loss(logits, labels), per_example.mean())
    weighted = model.classifier_loss(logits, labels, torch.tensor([3.0, 1.0]))
    assert torch.isclose(weighted, (3 * per_example[0] + per_example[1]) / 4)
    # Weight 0 drops an example entirely.
    assert torch.isclose(model.classifier_loss(logits, labels, torch.tensor([0.0, 1.0])), per_example[1])


def test_round_trip_fp32_is_exact(encoder_dir, tokenizer, tmp_path):
    model = new_model(encoder_dir, with_type_mlm=True).eval()
    model.heads_config.thresholds = [0.4, 0.5, 0.6, 0.55]
    model.save_pretrained(tmp_path / "ck", tokenizer=tokenizer, dtype=None)
    loaded = MBTIModel.from_pretrained(tmp_path / "ck")
    encoded, labels = _batch(tokenizer)
    types = torch.tensor([3, 12])
    with torch.no_grad():
        assert torch.equal(model(**encoded).logits, loaded(**encoded).logits)
        assert torch.equal(model.forward_type_mlm(encoded["input_ids"], types, encoded["attention_mask"], labels=labels).logits,
                           loaded.forward_type_mlm(encoded["input_ids"], types, encoded["attention_mask"], labels=labels).logits)
    assert loaded.heads_config.thresholds == [0.4, 0.5, 0.6, 0.55]
    assert isinstance(MBTIClassifier.from_pretrained(tmp_path / "ck"), MBTIClassifier)
    assert isinstance(TypeConditionedMLM.from_pretrained(tmp_path / "ck"), TypeConditionedMLM)


def test_round_trip_fp16_shipping_format(encoder_dir, tokenizer, tmp_path):
    model = new_model(encoder_dir, with_type_mlm=True).eval()
    folder = model.save_pretrained(tmp_path / "ck", tokenizer=tokenizer)  # fp16 by default
    names = {p.name for p in folder.iterdir()}
    assert {HEADS_CONFIG_NAME, CLASSIFIER_WEIGHTS_NAME, TYPE_MLM_WEIGHTS_NAME, "config.json", "tokenizer.json"} <= names
    assert not any(name.endswith((".bin", ".pt", ".pkl")) for name in names)
    for weights in folder.glob("*.safetensors"):
        assert {t.dtype for t in load_file(str(weights)).values()} == {torch.float16}
        assert weights.stat().st_size <= 15 * 2**20
    loaded = MBTIModel.from_pretrained(folder)
    assert next(loaded.parameters()).dtype == torch.float32  # upcast for CPU inference
    # Loading gives exactly the fp16-rounded model.
    rounded = new_model(encoder_dir, with_type_mlm=True)
    rounded.load_state_dict({k: v.half().float() for k, v in model.state_dict().items()})
    rounded.eval()
    encoded, _ = _batch(tokenizer)
    with torch.no_grad():
        assert torch.equal(rounded(**encoded).logits, loaded(**encoded).logits)
        assert torch.allclose(model(**encoded).logits, loaded(**encoded).logits, atol=1e-2)


def test_ft_checkpoint_has_no_type_head_and_resave_removes_stale(encoder_dir, tokenizer, tmp_path):
    mft = new_model(encoder_dir, with_type_mlm=True)
    mft.save_pretrained(tmp_path / "ck", tokenizer=tokenizer)
    ft = new_model(encoder_dir)
    ft.save_pretrained(tmp_path / "ck", tokenizer=tokenizer)
    assert not (tmp_path / "ck" / TYPE_MLM_WEIGHTS_NAME).exists()
    assert json.loads((tmp_path / "ck" / HEADS_CONFIG_NAME).read_text())["has_type_mlm"] is False
    loaded = MBTIModel.from_pretrained(tmp_path / "ck")
    assert loaded.type_mlm is None
    with pytest.raises(ValueError, match="no type-conditioned MLM head"):
        loaded.type_mlm_logits(torch.zeros(1, loaded.encoder.config.hidden_size), torch.tensor([0]))


def test_missing_checkpoint_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "nope")):
        MBTIModel.from_pretrained(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="mbti_heads.json"):
        MBTIModel.from_pretrained(tmp_path / "empty")
