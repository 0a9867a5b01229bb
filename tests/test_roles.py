"""Module roles: known names, names that depend on their place, guesses from shape, texts in both languages."""

from __future__ import annotations

import functools

import pytest
import torch

from core.anatomy.inventory import Inventory, LayerInfo, block_index, list_adaptable_layers
from core.anatomy.roles import CATEGORIES, Role, describe_module, role_text
from core.i18n import table
from core.models.catalog import list_catalog
from core.models.meta import build_meta_model
from core.models.sources import ModelSpec, load_config

pytestmark = pytest.mark.filterwarnings("ignore")


def _layer(name: str, fan_in: int = 64, fan_out: int = 64, kind: str = "linear") -> LayerInfo:
    short = name.rsplit(".", 1)[-1]
    return LayerInfo(
        name=name,
        short_name=short,
        block=block_index(name),
        kind=kind,
        class_name="Linear",
        in_features=fan_in,
        out_features=fan_out,
        has_bias=False,
        params=fan_in * fan_out,
    )


@functools.cache
def _inventory(slug: str, task: str | None = None) -> Inventory:
    return list_adaptable_layers(build_meta_model(load_config(ModelSpec("catalog", slug, task))))


# short names alone
BY_SHORT_NAME = [
    ("q_proj", "attention-query"),
    ("k_proj", "attention-key"),
    ("v_proj", "attention-value"),
    ("o_proj", "attention-output"),
    ("query", "attention-query"),
    ("key", "attention-key"),
    ("value", "attention-value"),
    ("q", "attention-query"),
    ("k", "attention-key"),
    ("v", "attention-value"),
    ("o", "attention-output"),
    ("q_lin", "attention-query"),
    ("k_lin", "attention-key"),
    ("v_lin", "attention-value"),
    ("out_lin", "attention-output"),
    ("out_proj", "attention-output"),
    ("c_attn", "attention-fused"),
    ("qkv_proj", "attention-fused"),
    ("query_key_value", "attention-fused"),
    ("gate_up_proj", "mlp-fused"),
    ("up_proj", "mlp-up"),
    ("gate_proj", "mlp-gate"),
    ("down_proj", "mlp-down"),
    ("c_fc", "mlp-up"),
    ("fc1", "mlp-up"),
    ("fc2", "mlp-down"),
    ("wi", "mlp-up"),
    ("wi_0", "mlp-gate"),
    ("wi_1", "mlp-up"),
    ("dense_h_to_4h", "mlp-up"),
    ("dense_4h_to_h", "mlp-down"),
    ("embed_tokens", "embedding"),
    ("wte", "embedding"),
    ("wpe", "embedding"),
    ("word_embeddings", "embedding"),
    ("position_embeddings", "embedding"),
    ("token_type_embeddings", "embedding"),
    ("shared", "embedding"),
    ("lm_head", "head"),
    ("classifier", "head"),
    ("score", "head"),
    ("qa_outputs", "head"),
    ("pooler", "head"),
    ("visual_projection", "projection"),
    ("text_projection", "projection"),
    ("multi_modal_projector", "projection"),
    ("linear_1", "projection"),
    ("linear_2", "projection"),
    ("patch_embedding", "conv"),
    ("projection", "conv"),
    ("conv1", "conv"),
    ("conv2", "conv"),
    ("router", "router"),
    ("gate", "router"),
    ("gate.weight", "router"),
    ("experts.gate_up_proj", "experts"),
    ("experts.down_proj", "experts"),
    ("dense", "other"),  # several roles: see the full-name table
    ("c_proj", "other"),
]


@pytest.mark.parametrize(("short", "category"), BY_SHORT_NAME)
def test_known_short_names(short: str, category: str) -> None:
    role = describe_module(short)
    assert role == Role(category, role.text_key, inferred=False)
    assert category in CATEGORIES


# full names decide names that mean different things in different places
BY_FULL_NAME = [
    ("transformer.h.0.attn.c_proj", 768, 768, "attention-output"),
    ("transformer.h.0.mlp.c_proj", 3072, 768, "mlp-down"),
    ("bert.encoder.layer.0.attention.output.dense", 768, 768, "attention-output"),
    ("bert.encoder.layer.0.intermediate.dense", 768, 3072, "mlp-up"),
    ("bert.encoder.layer.0.output.dense", 3072, 768, "mlp-down"),
    ("bert.pooler.dense", 768, 768, "head"),
    ("cls.predictions.transform.dense", 768, 768, "head"),
    ("cls.predictions.decoder", 768, 30522, "head"),
    ("classifier.out_proj", 768, 2, "head"),  # RoBERTa's classification head, not attention
    ("classifier.dense", 768, 768, "head"),
    ("transformer.h.0.self_attention.dense", 4544, 4544, "attention-output"),
    ("encoder.block.0.layer.1.DenseReluDense.wo", 3072, 768, "mlp-down"),
    ("encoder.block.0.layer.1.DenseReluDense.wi_0", 768, 2048, "mlp-gate"),
    ("model.layers.0.self_attn.out_proj", 768, 768, "attention-output"),
    ("model.multi_modal_projector.linear_1", 1024, 4096, "projection"),
    ("embeddings.patch_embeddings.projection", 3, 768, "conv"),
    ("model.layers.0.mlp.experts.gate_up_proj", 4096, 28672, "experts"),
    ("model.layers.0.mlp.gate.weight", 4096, 8, "router"),
    ("model.layers.0.mlp.gate", 4096, 8, "router"),
]


@pytest.mark.parametrize(("name", "fan_in", "fan_out", "category"), BY_FULL_NAME)
def test_full_name_decides(name: str, fan_in: int, fan_out: int, category: str) -> None:
    kind = "conv" if name.endswith("projection") else "linear"
    role = describe_module(name.rsplit(".", 1)[-1], _layer(name, fan_in, fan_out, kind))
    assert role.category == category
    assert not role.inferred


def test_experts_have_their_own_texts() -> None:
    gate_up = describe_module("experts.gate_up_proj")
    down = describe_module("experts.down_proj")
    assert gate_up.text_key != down.text_key
    assert "target_parameters" in role_text(gate_up, "en")


# unknown names: a guess from position and shape, marked inferred
INFERRED = [
    ("model.layers.0.mlp.wide_thing", 512, 2048, "linear", "mlp-up"),
    ("model.layers.0.feed_forward.narrow_thing", 2048, 512, "linear", "mlp-down"),
    ("model.layers.0.mlp.square_thing", 512, 512, "linear", "mlp"),
    ("model.layers.0.self_attn.mystery", 512, 512, "linear", "projection"),
    ("model.layers.0.attention.packed", 512, 1536, "linear", "attention-fused"),
    ("model.output_layer", 512, 32000, "linear", "head"),  # out == vocab size
    ("model.mystery_table", 100, 512, "embedding", "embedding"),
    ("stem.mystery_conv", 3, 64, "conv", "conv"),
    ("model.layers.0.odd", 512, 512, "linear", "projection"),
    ("tiny_out", 512, 3, "linear", "head"),
]


class _FakeInventory:
    """Just enough of an Inventory for the vocabulary size."""

    def __init__(self, layers: tuple[LayerInfo, ...]) -> None:
        self.layers = layers
        self.output_embedding = None
        self.model = type("M", (), {"config": type("C", (), {"vocab_size": 32000})()})()

    def __hash__(self) -> int:
        return id(self)


@pytest.mark.parametrize(("name", "fan_in", "fan_out", "kind", "category"), INFERRED)
def test_unknown_names_are_inferred(name: str, fan_in: int, fan_out: int, kind: str, category: str) -> None:
    layer = _layer(name, fan_in, fan_out, kind)
    role = describe_module(layer.short_name, layer, _FakeInventory((layer,)))
    assert role.inferred
    assert role.category == category
    assert role_text(role, "en") != role.text_key


def test_unknown_name_without_anything_else() -> None:
    role = describe_module("zzz_unknown")
    assert role.inferred and role.category == "other"


def test_mixed_names_with_an_inventory() -> None:
    bert = _inventory("bert-base", "seq-cls")
    first_dense = next(layer for layer in bert.layers if layer.short_name == "dense")
    assert describe_module("dense", first_dense).category == "attention-output"  # one layer
    group = describe_module("dense", first_dense, bert)  # what targeting "dense" adapts
    assert group.category == "other" and group.text_key == "role.mixed_dense"
    gpt2 = _inventory("gpt2")
    assert describe_module("c_proj", None, gpt2).text_key == "role.mixed_c_proj"
    falcon = _inventory("falcon-7b")  # Falcon's "dense" is only the attention output
    assert describe_module("dense", None, falcon).category == "attention-output"


CATALOG = [
    entry.slug for entry in list_catalog() if entry.slug not in {"llama-3.1-405b", "llama-3.1-70b", "qwen2.5-72b"}
]


@pytest.mark.parametrize("slug", CATALOG)
def test_catalog_models_need_no_guessing(slug: str) -> None:
    inv = _inventory(slug)
    for short in inv.short_names():
        layer = next(layer for layer in inv.layers if layer.short_name == short)
        role = describe_module(short, layer, inv)
        assert not role.inferred, (slug, short, role)
        assert role.category in CATEGORIES


@pytest.mark.parametrize(
    ("slug", "expected"),
    [
        ("llama-3.2-1b", {"q_proj": "attention-query", "down_proj": "mlp-down", "lm_head": "head"}),
        ("gpt2", {"c_attn": "attention-fused", "c_fc": "mlp-up", "wte": "embedding"}),
        ("phi-3-mini", {"qkv_proj": "attention-fused", "gate_up_proj": "mlp-fused"}),
        ("mixtral-8x7b", {"gate.weight": "router", "experts.gate_up_proj": "experts"}),
        ("whisper-small", {"conv1": "conv", "proj_out": "head", "fc1": "mlp-up"}),
        ("vit-base", {"projection": "conv", "dense": "head"}),
        ("clip-vit-b-32", {"visual_projection": "projection", "patch_embedding": "conv"}),
        ("t5-base", {"wo": "mlp-down", "relative_attention_bias": "embedding", "shared": "embedding"}),
    ],
)
def test_catalog_roles(slug: str, expected: dict[str, str]) -> None:
    inv = _inventory(slug)
    got = {short: describe_module(short, None, inv).category for short in expected}
    assert got == expected


def test_seq_cls_heads() -> None:
    roberta = _inventory("roberta-base", "seq-cls")
    assert describe_module("out_proj", None, roberta).category == "head"
    qwen = _inventory("qwen2.5-0.5b", "seq-cls")
    assert describe_module("score", None, qwen).category == "head"


def test_every_role_key_is_translated() -> None:
    strings = table()
    keys = {key for key in strings if key.startswith("role.")}
    assert len(keys) >= 30
    for key in keys:
        en, ko = strings[key]
        assert en.strip() and ko.strip() and en != ko
        assert any("\uac00" <= ch <= "\ud7a3" for ch in ko), key
    produced = {describe_module(short).text_key for short, _ in BY_SHORT_NAME}
    assert produced <= keys


def test_texts_say_what_matters() -> None:
    assert "looking for" in role_text(describe_module("q_proj"), "en")
    assert "found" in role_text(describe_module("k_proj"), "en")
    assert "content" in role_text(describe_module("v_proj"), "en")
    assert "heads" in role_text(describe_module("o_proj"), "en")
    fused = role_text(describe_module("c_attn"), "en")
    assert "fused" in fused.lower() and "A/B" in fused
    assert "unusual" in role_text(describe_module("lm_head"), "en")
    assert "unusual" in role_text(describe_module("embed_tokens"), "en")
    assert role_text(describe_module("q_proj"), "ko") != role_text(describe_module("q_proj"), "en")


def _tiny_real(family: str):
    import transformers as tf

    torch.manual_seed(0)
    if family == "llama":
        config = tf.LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                num_attention_heads=4, num_key_value_heads=2)
        return tf.LlamaForCausalLM(config)
    if family == "bert":
        return tf.BertModel(tf.BertConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                          num_attention_heads=4, max_position_embeddings=32))
    return tf.DistilBertModel(tf.DistilBertConfig(vocab_size=64, dim=32, hidden_dim=64, n_layers=1, n_heads=4,
                                                  max_position_embeddings=32))


def _attention_probs(model, ids) -> torch.Tensor:
    with torch.no_grad():
        return model(input_ids=ids, output_attentions=True).attentions[0]


@pytest.mark.parametrize("family", ["llama", "bert", "distilbert"])
def test_roles_match_what_the_modules_do(family: str) -> None:
    """Zeroing what the roles call a query or key makes attention uniform; a value or MLP layer leaves it alone."""
    model = _tiny_real(family)
    model.eval().config._attn_implementation = "eager"  # attention probabilities are returned
    inv = list_adaptable_layers(model)
    ids = torch.randint(0, 64, (1, 6))
    before = _attention_probs(model, ids)
    checked = set()
    for layer in inv.layers:
        role = describe_module(layer.short_name, layer, inv)
        if role.category not in ("attention-query", "attention-key", "attention-value", "mlp-up", "mlp-down"):
            continue
        module = model.get_submodule(layer.name)
        saved = {n: p.detach().clone() for n, p in module.named_parameters()}
        with torch.no_grad():
            for p in module.parameters():
                p.zero_()
        probs = _attention_probs(model, ids)
        with torch.no_grad():
            for n, p in module.named_parameters():
                p.copy_(saved[n])
        if role.category in ("attention-query", "attention-key"):
            rows = probs[0, 0]
            visible = rows > 0
            spread = [(row[mask].max() - row[mask].min()).item() for row, mask in zip(rows, visible, strict=True)]
            assert max(spread) < 1e-6, (family, layer.name, role)
        else:
            assert torch.allclose(probs, before), (family, layer.name, role)
        checked.add(role.category)
    assert {"attention-query", "attention-key", "attention-value"} <= checked
