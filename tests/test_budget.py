"""Our budget equals PEFT's own count: get_peft_model(...).get_nb_trainable_parameters().

Every case builds the model on the meta device twice: once (cached) for our
inventory, once fresh for PEFT, which wraps it in place.
"""

from __future__ import annotations

import functools

import pytest
from peft import get_peft_model

from core.anatomy.inventory import Inventory, list_adaptable_layers
from core.errors import LensError
from core.models.catalog import list_catalog
from core.models.meta import build_meta_model
from core.models.sources import ModelConfig, ModelSpec, load_config
from core.planning.budget import compute_budget
from core.planning.plan import ALL_LINEAR, LoraPlan, to_lora_config

pytestmark = pytest.mark.filterwarnings("ignore")

PEFT_TOO_SLOW = {"llama-3.1-405b"}  # checked against a closed-form count instead


@functools.cache
def _config(slug: str, task: str | None) -> ModelConfig:
    return load_config(ModelSpec("catalog", slug, task))


@functools.cache
def _inventory(slug: str, task: str | None) -> Inventory:
    return list_adaptable_layers(build_meta_model(_config(slug, task)))


def _plan(slug: str, task: str | None, **kwargs: object) -> LoraPlan:
    return LoraPlan(task=_config(slug, task).task, **kwargs)


def _ours(slug: str, task: str | None, plan: LoraPlan) -> tuple[int, int]:
    budget = compute_budget(_inventory(slug, task), plan)
    return budget.trainable_params, budget.total_params


def _peft(slug: str, task: str | None, plan: LoraPlan) -> tuple[int, int]:
    model = get_peft_model(build_meta_model(_config(slug, task)), to_lora_config(plan))
    return tuple(model.get_nb_trainable_parameters())


def _short(targets: str) -> tuple[str, ...]:
    return tuple(targets.split(","))


# (slug, task, plan fields): compute_budget must equal PEFT exactly
CASES = [
    # GPT-2: Conv1D (weights stored transposed), fused c_attn, tied wte/lm_head
    ("gpt2", None, dict(targets=("c_attn",))),
    ("gpt2", None, dict(targets=("c_attn",), bias="all")),
    ("gpt2", None, dict(targets=("c_attn", "c_proj"), bias="lora_only", use_dora=True)),
    ("gpt2", None, dict(targets=("c_attn",), layers=(0, 1), modules_to_save=("lm_head",))),
    ("gpt2", None, dict(targets=("c_attn", "wte"), use_dora=True, r=4)),
    ("gpt2", None, dict(target_regex=r".*\.h\.\d+\.attn\.c_proj")),
    ("gpt2", None, dict(target_regex=ALL_LINEAR, r=16, use_rslora=True)),
    # Falcon: FalconLinear is a Linear subclass; fused query_key_value
    ("falcon-7b", None, dict(targets=("query_key_value",))),
    ("falcon-7b", None, dict(targets=("dense", "dense_4h_to_h"), r=4, layers=tuple(range(8, 16)))),
    ("falcon-7b", None, dict(target_regex=ALL_LINEAR, bias="all")),
    # Phi-3: fused qkv_proj and gate_up_proj
    ("phi-3-mini", None, dict(targets=("qkv_proj", "gate_up_proj"))),
    ("phi-3-mini", None, dict(targets=("qkv_proj", "o_proj"), use_rslora=True, use_dora=True, r=32)),
    ("phi-3-mini", None, dict(targets=("qkv_proj",), modules_to_save=("lm_head",), layers=(0, 1))),
    # T5: seq2seq, shared embeddings, relative attention bias
    ("t5-base", "seq2seq", dict(targets=("q", "v"))),
    ("t5-base", "seq2seq", dict(targets=("q", "k", "v", "o", "wi", "wo"), bias="all")),
    ("t5-base", "seq2seq", dict(targets=("q", "v"), bias="lora_only", use_dora=True, layers=(0, 11))),
    ("t5-base", "seq2seq", dict(target_regex=ALL_LINEAR)),
    # CLIP: two towers, a conv patch embedding, projections
    ("clip-vit-b-32", None, dict(targets=("q_proj", "v_proj", "visual_projection"))),
    ("clip-vit-b-32", None, dict(targets=("q_proj", "v_proj"), bias="lora_only", use_dora=True)),
    ("clip-vit-b-32", None, dict(targets=("patch_embedding", "out_proj"), r=4)),
    # BERT: seq-cls adds classifier to modules_to_save; biases everywhere
    ("bert-base", "seq-cls", dict(targets=("query", "value"))),
    ("bert-base", "seq-cls", dict(targets=("query", "value"), bias="all")),
    ("bert-base", "seq-cls", dict(targets=("query", "value", "dense"), bias="lora_only", use_dora=True)),
    ("bert-base", "seq-cls", dict(target_regex=r".*attention\.output\.dense", layers=())),
    ("bert-base", None, dict(targets=("query",), bias="all", modules_to_save=("position_embeddings",))),
    # RoBERTa seq-cls: the classifier is a module with its own dense/out_proj
    ("roberta-base", "seq-cls", dict(target_regex=ALL_LINEAR)),
    ("roberta-base", "seq-cls", dict(targets=("query", "value", "dense"), bias="lora_only")),
    ("roberta-base", "seq-cls", dict(targets=("query", "value"), bias="all", r=64)),
    # DistilBERT
    ("distilbert", "seq-cls", dict(targets=("q_lin", "v_lin"), layers=(0, 5))),
    ("distilbert", "seq-cls", dict(targets=("q_lin", "classifier"))),  # PEFT spares the saved classifier
    ("distilbert", None, dict(target_regex=ALL_LINEAR, bias="all")),
    ("distilbert", None, dict(targets=("q_lin", "k_lin", "v_lin", "out_lin", "lin1", "lin2"), use_dora=True)),
    # Whisper: Conv1d audio stem
    ("whisper-small", None, dict(targets=("q_proj", "v_proj", "conv1"))),
    ("whisper-small", None, dict(targets=("conv1", "conv2"), use_dora=True, r=16)),
    ("whisper-small", None, dict(target_regex=ALL_LINEAR, bias="lora_only")),
    # ViT: Conv2d patch projection, pooler
    ("vit-base", None, dict(targets=("q_proj", "projection"), use_dora=True)),
    ("vit-base", None, dict(targets=("q_proj", "v_proj"), bias="all", modules_to_save=("pooler",))),
    # SmolLM2: tied embeddings; LoRA on embed_tokens and lm_head; saving the embedding
    ("smollm2-135m", None, dict(targets=("embed_tokens", "lm_head"))),
    ("smollm2-135m", None, dict(targets=("q_proj",), modules_to_save=("embed_tokens",))),
    ("smollm2-135m", None, dict(targets=("embed_tokens",), use_dora=True, r=2)),
    ("smollm2-135m", None, dict(target_regex=ALL_LINEAR, r=16, use_rslora=True)),
    # Llama 3.2 1B
    ("llama-3.2-1b", None, dict(target_regex=ALL_LINEAR)),
    ("llama-3.2-1b", None, dict(target_regex=r".*\.(q_proj|v_proj)", r=64)),
    ("llama-3.2-1b", None, dict(targets=("q_proj", "k_proj", "v_proj", "o_proj"), layers=tuple(range(4, 12)))),
    ("llama-3.2-1b", None, dict(targets=("gate_proj", "up_proj", "down_proj"), bias="all", use_dora=True)),
    ("llama-3.2-1b", None, dict(targets=("q_proj", "v_proj"), modules_to_save=("lm_head",))),
    # Qwen2.5 0.5B for classification: score saved, q/k/v have biases
    ("qwen2.5-0.5b", "seq-cls", dict(target_regex=r".*\.(q_proj|v_proj)")),
    ("qwen2.5-0.5b", "seq-cls", dict(target_regex=ALL_LINEAR, bias="lora_only")),
    ("qwen2.5-0.5b", "seq-cls", dict(targets=("q_proj", "k_proj", "v_proj"), bias="all")),
    # Gemma 3 4B: vision tower + language model
    ("gemma-3-4b", None, dict(target_regex=ALL_LINEAR)),
    ("gemma-3-4b", None, dict(targets=("q_proj", "v_proj"), use_dora=True)),
    ("gemma-3-4b", None, dict(target_regex=r".*language_model.*\.(q_proj|v_proj)")),
    # Mixtral: fused MoE experts adapted as parameters (dropout must be 0)
    ("mixtral-8x7b", None, dict(target_regex=ALL_LINEAR, lora_dropout=0.0)),
    ("mixtral-8x7b", None, dict(targets=("w1", "w2", "w3", "q_proj"), lora_dropout=0.0)),
    ("mixtral-8x7b", None, dict(targets=("q_proj", "v_proj"))),
    ("mixtral-8x7b", None, dict(targets=("w1", "w3"), lora_dropout=0.0, r=4)),
    # Llama 3.1 8B
    ("llama-3.1-8b", None, dict(target_regex=ALL_LINEAR)),
    ("llama-3.1-8b", None, dict(targets=("q_proj", "v_proj"), bias="all", layers=tuple(range(16)))),
]


def _id(case: tuple) -> str:
    slug, task, kwargs = case
    return f"{slug}-{task or 'auto'}-" + ",".join(f"{k}={v}" for k, v in kwargs.items())


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_budget_equals_peft(case: tuple) -> None:
    slug, task, kwargs = case
    plan = _plan(slug, task, **kwargs)
    assert _ours(slug, task, plan) == _peft(slug, task, plan)


def test_cases_cover_the_required_architectures() -> None:
    covered = {slug for slug, _, _ in CASES}
    assert len(covered) >= 12
    kinds = {layer.kind for slug, task, _ in CASES for layer in _inventory(slug, task).layers}
    assert {"linear", "conv1d-transposed", "embedding", "conv", "expert-param"} <= kinds


# (slug, task, plan fields): PEFT refuses, so must we, with a LensError
REFUSALS = [
    ("llama-3.2-1b", None, dict(targets=("nonexistent_proj",))),
    ("llama-3.2-1b", None, dict(target_regex=r".*\.does_not_exist")),
    ("gpt2", None, dict(targets=("mlp",))),  # GPT2MLP is a container, not a layer
    ("bert-base", "seq-cls", dict(targets=("attention",))),
    ("mixtral-8x7b", None, dict(target_regex=ALL_LINEAR, lora_dropout=0.1)),
    ("mixtral-8x7b", None, dict(targets=("w1", "w2", "w3"), lora_dropout=0.05)),
    ("mixtral-8x7b", None, dict(targets=("w1", "q_proj"), lora_dropout=0.0)),  # w1 without w3: fused
    ("mixtral-8x7b", None, dict(targets=("w1", "w2", "w3"), lora_dropout=0.0, use_dora=True)),
    ("llama-3.2-1b", None, dict(target_regex=ALL_LINEAR, layers=(0, 1))),
    # all-linear adapts pre_classifier, which modules_to_save "classifier" also wraps (plain suffix match)
    ("distilbert", "seq-cls", dict(target_regex=ALL_LINEAR)),
    ("distilbert", "seq-cls", dict(targets=("q_lin", "pre_classifier"))),  # layers need a list of targets
]


@pytest.mark.parametrize("case", REFUSALS, ids=[_id(c) for c in REFUSALS])
def test_refused_when_peft_refuses(case: tuple) -> None:
    slug, task, kwargs = case
    plan = _plan(slug, task, **kwargs)
    with pytest.raises(Exception):  # noqa: B017 - PEFT raises ValueError/TypeError/our LensError via to_lora_config
        _peft(slug, task, plan)
    with pytest.raises(LensError):
        compute_budget(_inventory(slug, task), plan)


# every catalog model with a q/v-ish default plan: two short names the inventory really has
PREFERRED = (
    ("q_proj", "v_proj"),
    ("query", "value"),
    ("q", "v"),
    ("q_lin", "v_lin"),
    ("c_attn", "c_proj"),
    ("qkv_proj", "o_proj"),
    ("query_key_value", "dense"),
)
SLUGS = [entry.slug for entry in list_catalog()]


def _default_targets(inv: Inventory) -> tuple[str, ...]:
    present = set(inv.short_names())
    for pair in PREFERRED:
        if set(pair) <= present:
            return pair
    in_blocks = [n for n in inv.short_names() if any(x.short_name == n and x.block is not None for x in inv.layers)]
    return tuple(in_blocks[:2])


@pytest.mark.parametrize("slug", SLUGS)
def test_catalog_sweep_default_plan(slug: str) -> None:
    inv = _inventory(slug, None)
    targets = _default_targets(inv)
    assert len(targets) == 2, inv.short_names()
    plan = _plan(slug, None, targets=targets)
    ours = _ours(slug, None, plan)
    assert ours[0] > 0 and ours[1] == inv.total_params + ours[0]
    if slug in PEFT_TOO_SLOW:
        assert ours[0] == _closed_form_qv(_config(slug, None).config, plan.r)
    else:
        assert ours == _peft(slug, None, plan)


def _closed_form_qv(config: object, r: int) -> int:
    """r·(in+out) for q_proj and v_proj of a Llama-style decoder, from the config alone."""
    hidden = config.hidden_size
    head_dim = getattr(config, "head_dim", None) or hidden // config.num_attention_heads
    q_out = config.num_attention_heads * head_dim
    kv_out = config.num_key_value_heads * head_dim
    return config.num_hidden_layers * r * ((hidden + q_out) + (hidden + kv_out))


def test_budget_parts_add_up() -> None:
    inv = _inventory("bert-base", "seq-cls")
    plan = _plan("bert-base", "seq-cls", targets=("query", "value"), bias="lora_only", use_dora=True)
    budget = compute_budget(inv, plan)
    assert budget.trainable_params == budget.lora_params + budget.bias_params + budget.saved_params
    assert budget.base_params == inv.total_params
    assert sum(budget.by_group().values()) == budget.lora_params + budget.bias_params
    assert set(budget.by_group()) == {"query", "value"}
    assert budget.saved_modules == ("classifier",)
    assert len(budget.modules) == 24
    assert 0 < budget.share < 0.01


def test_change_of_r_scales_lora_params_linearly() -> None:
    inv = _inventory("llama-3.2-1b", None)
    small = compute_budget(inv, _plan("llama-3.2-1b", None, targets=("q_proj", "v_proj"), r=8))
    big = compute_budget(inv, _plan("llama-3.2-1b", None, targets=("q_proj", "v_proj"), r=32))
    assert big.lora_params == 4 * small.lora_params
    assert big.scaling == pytest.approx(16 / 32)


def test_warnings_for_heads_and_embeddings() -> None:
    inv = _inventory("smollm2-135m", None)
    budget = compute_budget(inv, _plan("smollm2-135m", None, targets=("embed_tokens", "lm_head", "nope")))
    keys = {key for key, _ in budget.warnings}
    assert {"budget.warn_head", "budget.warn_embedding", "budget.warn_missing"} <= keys


def test_compare_plans_against_peft_and_keeps_going_past_errors() -> None:
    from core.planning.compare import R_SWEEP, compare_plans
    from core.planning.memory import MemorySettings

    gpt2, qwen = ModelSpec("catalog", "gpt2"), ModelSpec("catalog", "qwen2.5-0.5b")
    plans = {
        "gpt2 qv": (gpt2, _plan("gpt2", None, targets=("c_attn",), r=4)),
        "wrong": (gpt2, _plan("gpt2", None, targets=("no_such_module",))),
        "qwen mlp": (qwen, _plan("qwen2.5-0.5b", None, targets=("gate_proj", "up_proj", "down_proj"), r=16)),
    }
    comparison = compare_plans(plans, lambda s: (_config(s.ref, None), _inventory(s.ref, None)),
                               MemorySettings(seq_len=2048))  # longer than GPT-2 takes (1024): no memory for it
    assert [res.name for res in comparison.results] == ["gpt2 qv", "qwen mlp"]
    assert [(name, exc.key) for name, exc in comparison.errors] == [("wrong", "budget.no_match")]
    for res in comparison.results:
        spec, plan = plans[res.name]
        assert res.budget.trainable_params == _peft(spec.ref, None, plan)[0]
        assert comparison.chosen()[res.name] == (plan.r, res.budget.trainable_params)
        assert [r for r, _ in res.curve] == list(R_SWEEP)
        assert dict(res.curve)[plan.r] == res.budget.trainable_params
    assert comparison.results[0].memory is None and comparison.results[0].memory_total is None
    assert set(comparison.estimates()) == {"qwen mlp"}


def test_a_modules_to_save_name_that_matches_nothing_is_refused_not_ignored():
    """PEFT itself trains nothing for a modules_to_save name that matches no module (its count equals the plan
    without it): the budget says so instead of reporting a head that would stay frozen."""
    from peft import get_peft_model

    from core.planning.plan import to_lora_config

    mc = _config("bert-base", None)
    plan = LoraPlan(targets=("query",), modules_to_save=("pooler",), task=mc.task)
    with_ghost = get_peft_model(build_meta_model(mc), to_lora_config(plan)).get_nb_trainable_parameters()[0]
    without = get_peft_model(build_meta_model(mc), to_lora_config(plan.with_changes(modules_to_save=())))
    assert with_ghost == without.get_nb_trainable_parameters()[0]  # PEFT's silent non-match
    with pytest.raises(LensError) as err:
        compute_budget(_inventory("bert-base", None), plan)
    assert err.value.key == "budget.unknown_saved" and "pooler" in err.value.message("en")
