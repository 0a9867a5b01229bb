"""Towers, attention kinds and module groups against the module tree; group targets against PEFT's own count.

Expected values are read off the built model (its modules' weights, its config) or written out per case;
budgets are held to ``get_peft_model(...).get_nb_trainable_parameters()`` and ``targeted_module_names``.
"""

from __future__ import annotations

import functools
import re

import pytest
import torch
from peft import get_peft_model
from torch import nn

from core.anatomy.groups import format_blocks, list_groups, shared_short_names
from core.anatomy.inventory import Inventory, list_adaptable_layers
from core.anatomy.roles import describe_group, role_text
from core.errors import LensError
from core.i18n import t
from core.models.meta import build_meta_model
from core.models.sources import ModelSpec, load_config
from core.planning.budget import compute_budget
from core.planning.plan import LoraPlan, to_lora_config
from core.planning.targeting import target_groups

pytestmark = pytest.mark.filterwarnings("ignore")


def _tiny_llava() -> nn.Module:
    """A LLaVA with a CLIP vision tower and a Llama language model, small enough to build in a second."""
    from transformers import LlavaConfig, LlavaForConditionalGeneration

    config = LlavaConfig(
        text_config={
            "model_type": "llama",
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 3,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "vocab_size": 500,
        },
        vision_config={
            "model_type": "clip_vision_model",
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "image_size": 32,
            "patch_size": 8,
        },
    )
    return LlavaForConditionalGeneration._from_config(config)


def _tiny_bart() -> nn.Module:
    from transformers import BartConfig, BartForConditionalGeneration

    config = BartConfig(
        d_model=32,
        encoder_layers=2,
        decoder_layers=3,
        encoder_ffn_dim=64,
        decoder_ffn_dim=48,
        encoder_attention_heads=4,
        decoder_attention_heads=4,
        vocab_size=120,
        max_position_embeddings=64,
    )
    return BartForConditionalGeneration._from_config(config)


BUILT = {"tiny-llava": _tiny_llava, "tiny-bart": _tiny_bart}
TASKS = {"t5-base": "seq2seq", "bert-base": "seq-cls"}


def _fresh(name: str) -> nn.Module:
    """A new meta-device model (PEFT wraps the one it is given in place)."""
    if name in BUILT:
        with torch.device("meta"):
            return BUILT[name]()
    return build_meta_model(load_config(ModelSpec("catalog", name, TASKS.get(name))))


@functools.cache
def _inv(name: str) -> Inventory:
    return list_adaptable_layers(_fresh(name))


def _task(name: str) -> str:
    if name in BUILT:
        return "seq2seq" if name == "tiny-bart" else "causal-lm"
    return load_config(ModelSpec("catalog", name, TASKS.get(name))).task


# --- groups against the module tree ------------------------------------------------------------------

# (model, group key, the module names it must hold (regex), hidden size read from the config)
GROUPS = [
    ("clip-vit-b-32", "vision:q_proj", r"vision_model\..*\.q_proj", lambda c: c.vision_config.hidden_size),
    ("clip-vit-b-32", "text:q_proj", r"text_model\..*\.q_proj", lambda c: c.text_config.hidden_size),
    ("clip-vit-b-32", "vision:fc1", r"vision_model\..*\.fc1", lambda c: c.vision_config.hidden_size),
    ("t5-base", "encoder:self:q", r"encoder\..*\.SelfAttention\.q", lambda c: c.d_model),
    ("t5-base", "decoder:self:q", r"decoder\..*\.SelfAttention\.q", lambda c: c.d_model),
    ("t5-base", "decoder:cross:o", r"decoder\..*\.EncDecAttention\.o", lambda c: c.d_model),
    ("t5-base", "decoder:wi", r"decoder\..*\.DenseReluDense\.wi", lambda c: c.d_model),
    ("whisper-small", "encoder:self:k_proj", r"model\.encoder\..*\.self_attn\.k_proj", lambda c: c.d_model),
    ("whisper-small", "decoder:self:k_proj", r"model\.decoder\..*\.self_attn\.k_proj", lambda c: c.d_model),
    ("whisper-small", "decoder:cross:k_proj", r"model\.decoder\..*\.encoder_attn\.k_proj", lambda c: c.d_model),
    ("tiny-bart", "decoder:cross:v_proj", r"model\.decoder\..*\.encoder_attn\.v_proj", lambda c: c.d_model),
    ("tiny-bart", "encoder:fc2", r"model\.encoder\..*\.fc2", lambda c: c.d_model),
    ("gemma-3-4b", "vision:q_proj", r"model\.vision_tower\..*\.q_proj", lambda c: c.vision_config.hidden_size),
    ("gemma-3-4b", "text:q_proj", r"model\.language_model\..*\.q_proj", lambda c: c.text_config.hidden_size),
    ("tiny-llava", "vision:out_proj", r"model\.vision_tower\..*\.out_proj", lambda c: c.vision_config.hidden_size),
    ("tiny-llava", "text:down_proj", r"model\.language_model\..*\.down_proj", lambda c: c.text_config.hidden_size),
]


@pytest.mark.parametrize(("name", "key", "holds", "hidden"), GROUPS, ids=[f"{c[0]}-{c[1]}" for c in GROUPS])
def test_a_group_holds_one_tower_and_kind_with_its_own_shapes_and_blocks(name, key, holds, hidden):
    inv = _inv(name)
    model = inv.model
    group = next(g for g in list_groups(inv) if g.key == key)
    expected = [n for n, m in model.named_modules() if re.fullmatch(holds, n) and isinstance(m, nn.Linear)]
    assert group.names == tuple(expected)
    weights = [model.get_submodule(n).weight.shape for n in expected]
    assert group.shapes == tuple(dict.fromkeys((w[1], w[0]) for w in weights))
    assert group.params == sum(
        model.get_submodule(n).weight.numel()
        + (model.get_submodule(n).bias.numel() if model.get_submodule(n).bias is not None else 0)
        for n in expected
    )
    assert group.blocks == tuple(range(len(expected)))  # one per block, every block of its stack
    assert format_blocks(group.blocks) == f"0–{len(expected) - 1}"
    assert group.hidden_size == hidden(model.config)


@pytest.mark.parametrize("name", ["clip-vit-b-32", "t5-base", "whisper-small", "gemma-3-4b", "tiny-llava", "tiny-bart"])
def test_groups_split_what_one_short_name_merged(name):
    """Every adaptable layer sits in exactly one group; a short name in two towers is two groups."""
    inv = _inv(name)
    groups = list_groups(inv)
    assert sorted(n for g in groups for n in g.names) == sorted(layer.name for layer in inv.layers)
    assert len(groups) > len(inv.short_names())
    assert shared_short_names(inv)


# (model, {tower: (where it lives, how many blocks its config says)})
TOWERS = [
    (
        "clip-vit-b-32",
        {
            "text": ("text_model", lambda c: c.text_config.num_hidden_layers),
            "vision": ("vision_model", lambda c: c.vision_config.num_hidden_layers),
        },
    ),
    (
        "gemma-3-4b",
        {
            "vision": ("model.vision_tower", lambda c: c.vision_config.num_hidden_layers),
            "text": ("model.language_model", lambda c: c.text_config.num_hidden_layers),
        },
    ),
    (
        "tiny-llava",
        {
            "vision": ("model.vision_tower", lambda c: c.vision_config.num_hidden_layers),
            "text": ("model.language_model", lambda c: c.text_config.num_hidden_layers),
        },
    ),
    (
        "t5-base",
        {"encoder": ("encoder", lambda c: c.num_layers), "decoder": ("decoder", lambda c: c.num_decoder_layers)},
    ),
    (
        "whisper-small",
        {
            "encoder": ("model.encoder", lambda c: c.encoder_layers),
            "decoder": ("model.decoder", lambda c: c.decoder_layers),
        },
    ),
    (
        "tiny-bart",
        {
            "encoder": ("model.encoder", lambda c: c.encoder_layers),
            "decoder": ("model.decoder", lambda c: c.decoder_layers),
        },
    ),
]


@pytest.mark.parametrize(("name", "towers"), TOWERS, ids=[c[0] for c in TOWERS])
def test_towers_are_the_modules_with_their_own_config(name, towers):
    inv = _inv(name)
    config = inv.model.config
    assert {t.name: (t.prefix, t.num_blocks) for t in inv.towers} == {
        tower: (prefix, blocks(config)) for tower, (prefix, blocks) in towers.items()
    }
    for layer in inv.layers:
        inside = [tower for tower, (prefix, _) in towers.items() if layer.name.startswith(prefix + ".")]
        assert layer.tower == (inside[0] if inside else None), layer.name


# Decoder-only and encoder-only models: the groups are exactly the short names, with no tower or kind.
PLAIN = ["smollm2-135m", "gpt2", "llama-3.2-1b", "mixtral-8x7b", "phi-3-mini", "bert-base", "distilbert", "vit-base"]


@pytest.mark.parametrize("name", PLAIN)
def test_models_without_towers_keep_their_short_name_groups(name):
    inv = _inv(name)
    groups = list_groups(inv)
    assert [g.key for g in groups] == inv.short_names()
    assert all(g.tower is None and g.attention is None for g in groups)
    assert not inv.towers
    assert all(g.hidden_size == inv.hidden_size for g in groups)


@pytest.mark.parametrize("name", ["clip-vit-b-32", "t5-base", "whisper-small", "gemma-3-4b", "tiny-bart"])
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_every_group_has_a_role_and_its_tower_and_kind_are_explained(name, lang):
    from core.anatomy.groups import attention_text, tower_label, tower_text

    inv = _inv(name)
    for group in list_groups(inv):
        text = role_text(describe_group(inv, group), lang)
        assert text and not text.startswith("role."), group.key
        for words in (tower_label(group.tower, lang), tower_text(group.tower, lang)):
            assert words and not words.startswith("tower."), group.key
        if group.attention:
            assert attention_text(group.attention, group.tower, lang) not in ("", f"attn.about_{group.attention}")
    assert tower_text("decoder", "ko") != tower_text("decoder", "en")
    assert attention_text("cross", "decoder", "ko") == t("attn.about_cross", "ko")


# --- targeting one tower or kind, against PEFT ----------------------------------------------------------

TARGETS = [
    ("clip-vit-b-32", ("vision:q_proj", "vision:v_proj"), ()),
    ("clip-vit-b-32", ("text:q_proj", "text:v_proj", "text:fc1"), (0, 1, 5)),
    ("clip-vit-b-32", ("vision:out_proj", "visual_projection"), ()),
    ("t5-base", ("decoder:cross:q", "decoder:cross:v"), ()),
    ("t5-base", ("encoder:self:q", "encoder:self:v", "encoder:wi"), ()),
    ("t5-base", ("encoder:self:q", "decoder:self:q", "decoder:cross:q"), ()),  # every q: the plain name
    ("whisper-small", ("encoder:self:q_proj", "encoder:self:v_proj"), ()),
    ("whisper-small", ("decoder:cross:q_proj", "decoder:cross:k_proj", "decoder:cross:v_proj"), (0, 11)),
    ("tiny-bart", ("decoder:self:q_proj", "decoder:fc1"), ()),
    ("gemma-3-4b", ("text:q_proj", "text:v_proj"), ()),  # the language model only (PEFT #2615)
    ("gemma-3-4b", ("vision:q_proj", "vision:fc2"), (3, 4)),
    ("tiny-llava", ("text:q_proj", "text:k_proj", "text:v_proj", "text:o_proj"), ()),
    ("smollm2-135m", ("q_proj", "v_proj"), ()),  # control: plain names, as before
    ("llama-3.2-1b", ("o_proj", "down_proj"), (0, 15)),
]


@pytest.mark.parametrize(("name", "keys", "layers"), TARGETS, ids=[f"{c[0]}-{'+'.join(c[1])}" for c in TARGETS])
def test_group_targets_adapt_exactly_those_groups_as_peft_counts(name, keys, layers):
    inv = _inv(name)
    chosen = target_groups(inv, keys, layers=layers)
    plan = chosen.apply(LoraPlan(task=_task(name), r=4, lora_alpha=8))
    groups = {g.key: g for g in list_groups(inv)}
    wanted = {n for k in keys for n in groups[k].names if not layers or any(f".{b}." in n for b in layers)}
    peft_model = get_peft_model(_fresh(name), to_lora_config(plan))
    assert set(peft_model.targeted_module_names) == wanted == set(chosen.names)
    budget = compute_budget(inv, plan)
    assert budget.trainable_params == peft_model.get_nb_trainable_parameters()[0]
    assert {m.name for m in budget.modules} == wanted
    if inv.towers and len({groups[k].tower for k in keys}) == 1:  # one tower: a plain name list would not do
        assert plan.target_regex and not plan.targets


def test_fused_expert_groups_become_target_parameters_as_peft_counts():
    """Mixtral's fused experts are parameters: their groups go to target_parameters, the rest to target_modules."""
    inv = _inv("mixtral-8x7b")
    keys = ("q_proj", "experts.gate_up_proj", "experts.down_proj")
    chosen = target_groups(inv, keys)
    assert chosen.target_parameters == ("experts.down_proj", "experts.gate_up_proj") and chosen.targets == ("q_proj",)
    plan = chosen.apply(LoraPlan(task=_task("mixtral-8x7b"), lora_dropout=0.0))
    peft_model = get_peft_model(_fresh("mixtral-8x7b"), to_lora_config(plan))
    assert compute_budget(inv, plan).trainable_params == peft_model.get_nb_trainable_parameters()[0]
    groups = {g.key: g for g in list_groups(inv)}
    assert set(peft_model.base_model.targeted_parameter_names) == set(
        groups["experts.gate_up_proj"].names + groups["experts.down_proj"].names)


def test_a_plain_name_list_on_a_vlm_also_adapts_the_vision_tower():
    """PEFT #2615, shown by the groups: q_proj names both towers, so the language model alone needs a regex."""
    inv = _inv("gemma-3-4b")
    assert set(shared_short_names(inv)["q_proj"]) == {"vision", "text"}
    plain = compute_budget(inv, LoraPlan(targets=("q_proj",)))
    assert {inv.layer(m.name).tower for m in plain.modules} == {"vision", "text"}
    text_only = compute_budget(inv, target_groups(inv, ["text:q_proj"]).apply(LoraPlan()))
    assert {inv.layer(m.name).tower for m in text_only.modules} == {"text"}


# (model, groups, per-group r, per-group alpha, blocks)
PATTERNS = [
    (
        "clip-vit-b-32",
        ("vision:q_proj", "vision:v_proj", "text:q_proj"),
        {"vision:q_proj": 16, "text:q_proj": 2},
        {"vision:v_proj": 3.0},
        (),
    ),
    (
        "t5-base",
        ("decoder:self:q", "decoder:cross:q", "encoder:self:q"),
        {"decoder:cross:q": 12},
        {"encoder:self:q": 32.0},
        (),
    ),
    (
        "whisper-small",
        ("encoder:self:v_proj", "decoder:self:v_proj", "decoder:cross:v_proj"),
        {"decoder:self:v_proj": 6, "decoder:cross:v_proj": 2},
        {},
        (1, 2),
    ),
    ("gemma-3-4b", ("vision:q_proj", "text:q_proj"), {"vision:q_proj": 2}, {"text:q_proj": 4.0}, ()),
    ("smollm2-135m", ("q_proj", "v_proj", "down_proj"), {"down_proj": 2}, {"q_proj": 64.0}, (0, 3)),
]


@pytest.mark.parametrize(("name", "keys", "ranks", "alphas", "layers"), PATTERNS, ids=[c[0] for c in PATTERNS])
def test_rank_and_alpha_patterns_hit_exactly_their_group_in_peft(name, keys, ranks, alphas, layers):
    inv = _inv(name)
    plan = target_groups(inv, keys, ranks, alphas, layers).apply(LoraPlan(task=_task(name), r=8, lora_alpha=16))
    peft_model = get_peft_model(_fresh(name), to_lora_config(plan))
    member = {n: g.key for g in list_groups(inv) for n in g.names}
    seen = set()
    for full, module in peft_model.named_modules():
        if not hasattr(module, "lora_A") or "default" not in module.lora_A:
            continue
        name_in_model = full.removeprefix("base_model.model.")
        key = member[name_in_model]
        r, alpha = ranks.get(key, 8), alphas.get(key, 16)
        assert module.lora_A["default"].out_features == r, name_in_model
        assert module.scaling["default"] == pytest.approx(alpha / r), name_in_model
        seen.add(key)
    assert seen == set(keys)


@pytest.mark.parametrize(
    ("keys", "kwargs", "message"),
    [
        ((), {}, "groups.none"),
        (("vision:nope",), {}, "groups.unknown"),
        (("vision:q_proj",), {"ranks": {"text:q_proj": 4}}, "groups.override_unchosen"),
        (("visual_projection",), {"layers": (3,)}, None),  # outside the blocks: kept whole
    ],
)
def test_bad_selections_say_why(keys, kwargs, message):
    inv = _inv("clip-vit-b-32")
    if message is None:
        assert target_groups(inv, keys, **kwargs).names == ("visual_projection",)
        return
    with pytest.raises(LensError) as err:
        target_groups(inv, keys, **kwargs)
    assert err.value.key == message
    assert not err.value.message("ko").startswith("groups.")
