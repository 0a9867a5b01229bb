"""Per-module rank and alpha, exclusions, target parameters, layers_pattern and init methods: our budget equals
PEFT's own ``get_nb_trainable_parameters()``, and each module's r and scaling equal the LoRA layer PEFT builds.

Catalog configs are built on the meta device; init methods that read the base weight (PiSSA, OLoRA, MiCA) are
checked on tiny models with real random weights, where PEFT runs them for real.
"""

from __future__ import annotations

import functools

import pytest
import torch
from peft import get_peft_model
from peft.tuners.lora import LoraLayer

from core.anatomy.inventory import Inventory, list_adaptable_layers
from core.errors import LensError
from core.models.meta import build_meta_model
from core.models.sources import ModelConfig, ModelSpec, load_config
from core.planning.budget import compute_budget
from core.planning.plan import ALL_LINEAR, LoraPlan, to_lora_config
from core.planning.presets import plan_with_targets, preset_plan, preset_targets

pytestmark = pytest.mark.filterwarnings("ignore")

EXPERTS = ("experts.gate_up_proj", "experts.down_proj")
ATTN = ("q_proj", "k_proj", "v_proj", "o_proj")


@functools.cache
def _config(slug: str, task: str | None) -> ModelConfig:
    return load_config(ModelSpec("catalog", slug, task))


@functools.cache
def _inventory(slug: str, task: str | None) -> Inventory:
    return list_adaptable_layers(build_meta_model(_config(slug, task)))


def _plan(slug: str, task: str | None, **kwargs: object) -> LoraPlan:
    return LoraPlan(task=_config(slug, task).task, **kwargs)


def _peft_layers(model: torch.nn.Module) -> dict[str, tuple[int, float]]:
    """Every LoRA layer PEFT built: its module (or ``module.parameter``) name -> (r, scaling)."""
    found = {}
    for name, module in model.named_modules():
        if isinstance(module, LoraLayer) and "default" in module.r:
            name = name.removeprefix("base_model.model.").replace(".base_layer", "")
            param = getattr(module, "parameter_name", None)
            found[f"{name}.{param}" if param else name] = (module.r["default"], module.scaling["default"])
    return found


def _assert_equal_to_peft(inv: Inventory, model: torch.nn.Module, plan: LoraPlan, **peft_kwargs) -> None:
    budget = compute_budget(inv, plan)
    peft_model = get_peft_model(model, to_lora_config(plan), **peft_kwargs)
    assert (budget.trainable_params, budget.total_params) == tuple(peft_model.get_nb_trainable_parameters())
    ours = {m.name: (m.r, pytest.approx(m.scaling)) for m in budget.modules}
    assert ours == _peft_layers(peft_model)


# (slug, task, plan fields)
CASES = [
    # Llama: per-module rank and alpha by short name and by full-name regex; exclusions; DoRA's magnitude
    ("llama-3.2-1b", None, dict(targets=ATTN, rank_pattern=(("q_proj", 16), ("v_proj", 4)))),
    ("llama-3.2-1b", None, dict(targets=("q_proj", "v_proj"), rank_pattern=((r"model\.layers\.0\.self_attn\.q_proj", 32),),
                                alpha_pattern=(("v_proj", 64),))),
    ("llama-3.2-1b", None, dict(target_regex=ALL_LINEAR, exclude_modules=("down_proj", "layers.1.self_attn.q_proj"),
                                rank_pattern=(("gate_proj", 2),))),
    ("llama-3.2-1b", None, dict(targets=("q_proj", "v_proj"), use_dora=True, rank_pattern=(("v_proj", 2),),
                                use_rslora=True, alpha_pattern=(("q_proj", 8),))),
    ("llama-3.2-1b", None, dict(targets=("v_proj",), target_parameters=("q_proj.weight",), lora_dropout=0.0)),
    ("llama-3.2-1b", None, dict(targets=("q_proj",), layers=(0, 3), layers_pattern="layers")),
    # patterns, exclusions and parameters that match nothing: PEFT applies the rest silently
    ("llama-3.2-1b", None, dict(targets=("q_proj",), rank_pattern=(("nope", 4), ("q_proj", 2), ("self_attn.q_proj", 8)),
                                alpha_pattern=(("k_proj", 3),), exclude_modules=("mlp",))),
    ("llama-3.2-1b", None, dict(targets=("q_proj",), target_parameters=("nope.weight",), lora_dropout=0.0)),
    # Mixtral: fused experts as target_parameters, with and without the attention; patterns on experts; the
    # transformers-v4 names PEFT converts (w1+w3 fuse into gate_up_proj: r and alpha doubled unless a key of the
    # user's matches first); the router's weight
    ("mixtral-8x7b", None, dict(targets=ATTN, target_parameters=EXPERTS, lora_dropout=0.0)),
    ("mixtral-8x7b", None, dict(target_parameters=EXPERTS, lora_dropout=0.0, rank_pattern=(("gate_up_proj", 4),),
                                alpha_pattern=(("down_proj", 4),))),
    ("mixtral-8x7b", None, dict(targets=("q_proj", "w1", "w2", "w3"), lora_dropout=0.0, rank_pattern=(("q_proj", 4),))),
    ("mixtral-8x7b", None, dict(targets=("q_proj", "w1", "w3"), lora_dropout=0.0,
                                rank_pattern=(("experts.gate_up_proj", 4),))),
    ("mixtral-8x7b", None, dict(targets=("q_proj",), target_parameters=("gate.weight",), lora_dropout=0.0,
                                layers=(0, 1), exclude_modules=("layers.0.self_attn.q_proj",))),
    # CLIP: two towers; a conv patch embedding whose rank comes from a pattern; the projections
    ("clip-vit-b-32", None, dict(targets=("q_proj", "v_proj", "visual_projection", "patch_embedding"), r=4,
                                 rank_pattern=(("visual_projection", 16), ("patch_embedding", 8)))),
    ("clip-vit-b-32", None, dict(targets=("q_proj", "v_proj"), rank_pattern=(("vision_model.*q_proj", 2),),
                                 exclude_modules=("text_model.encoder.layers.0.self_attn.q_proj",), use_dora=True)),
    ("clip-vit-b-32", None, dict(targets=("q_proj",), layers=(0,), layers_pattern="vision_model.encoder.layers")),
    # T5: self- and cross-attention by their own names; one block list by layers_pattern
    ("t5-base", "seq2seq", dict(targets=("q", "v"), rank_pattern=(("SelfAttention.q", 4), ("EncDecAttention.q", 16)),
                                exclude_modules=("decoder.block.0.layer.1.EncDecAttention.v",))),
    ("t5-base", "seq2seq", dict(targets=("q", "k", "v", "o"), layers=(0, 1), layers_pattern="decoder.block",
                                alpha_pattern=(("o", 2),))),
    # Whisper: conv stem with its own rank; DoRA
    ("whisper-small", None, dict(targets=("conv1", "q_proj", "fc1"), rank_pattern=(("conv1", 4),),
                                 alpha_pattern=(("fc1", 128),), use_dora=True)),
    ("whisper-small", None, dict(targets=("q_proj", "v_proj"), layers=(1,), layers_pattern="decoder.layers",
                                 exclude_modules=("encoder_attn.v_proj",))),
    # GPT-2: Conv1D, fused c_attn and a token embedding with their own ranks
    ("gpt2", None, dict(targets=("c_attn", "c_proj", "wte"), rank_pattern=(("wte", 2), ("h.0.attn.c_proj", 16)),
                        alpha_pattern=(("c_attn", 4),), use_dora=True)),
    # BERT for classification: the saved classifier; biases
    ("bert-base", "seq-cls", dict(targets=("query", "value", "dense"), bias="lora_only",
                                  rank_pattern=(("attention.output.dense", 4), ("value", 12)),
                                  exclude_modules=("intermediate.dense",))),
    # Gemma 3: a vision-language model; the vision tower's q_proj gets its own rank
    ("gemma-3-4b", None, dict(targets=("q_proj", "v_proj"), rank_pattern=(("vision_tower.*q_proj", 2),),
                              alpha_pattern=(("language_model.*v_proj", 8),))),
    # SmolLM2: tied embedding with LoRA and a pattern
    ("smollm2-135m", None, dict(targets=("embed_tokens", "q_proj"), rank_pattern=(("embed_tokens", 4),))),
]


def _id(case: tuple) -> str:
    slug, task, kwargs = case
    return f"{slug}-{task or 'auto'}-" + ",".join(f"{k}={v}" for k, v in kwargs.items())


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_pattern_budget_equals_peft(case: tuple) -> None:
    slug, task, kwargs = case
    plan = _plan(slug, task, **kwargs)
    _assert_equal_to_peft(_inventory(slug, task), build_meta_model(_config(slug, task)), plan)


def test_cases_cover_eight_architectures_and_every_new_field() -> None:
    assert len({slug for slug, _, _ in CASES}) >= 8
    used = {k for _, _, kwargs in CASES for k in kwargs}
    assert {"rank_pattern", "alpha_pattern", "exclude_modules", "target_parameters", "layers_pattern"} <= used


def test_mixtral_experts_chosen_by_name_are_adapted_as_parameters() -> None:
    """The issue's figure: attention plus the fused experts, chosen as short names and routed by the core."""
    inv = _inventory("mixtral-8x7b", None)
    chosen = (*ATTN, *EXPERTS)
    wrong = _plan("mixtral-8x7b", None, targets=chosen, lora_dropout=0.0)  # what Custom used to write
    assert "budget.warn_param_in_modules" in {k for k, _ in compute_budget(inv, wrong).warnings}
    plan = plan_with_targets(inv, wrong, chosen)
    assert plan.targets == ATTN and plan.target_parameters == EXPERTS
    assert compute_budget(inv, plan).trainable_params == 111_673_344
    _assert_equal_to_peft(inv, build_meta_model(_config("mixtral-8x7b", None)), plan)


@pytest.mark.parametrize("slug", ["mixtral-8x7b", "llama-3.2-1b", "t5-base", "clip-vit-b-32", "gpt2"])
def test_mlp_preset_equals_peft_and_reaches_fused_experts(slug: str) -> None:
    targets, _ = preset_targets(_inventory(slug, None), "mlp")
    plan = preset_plan(_inventory(slug, None), "mlp", 8, _config(slug, None).task)
    assert set(plan.targets) | set(plan.target_parameters) == set(targets) and targets
    assert bool(plan.target_parameters) == (slug == "mixtral-8x7b")
    _assert_equal_to_peft(_inventory(slug, None), build_meta_model(_config(slug, None)), plan)


def test_a_preset_that_finds_nothing_returns_nothing() -> None:
    """BERT's MLP layers are both called "dense" (their role depends on the parent): "mlp" finds nothing by role,
    and a plan from it is refused, never a silent attention-only plan."""
    inv = _inventory("bert-base", "seq-cls")
    assert preset_targets(inv, "mlp") == ((), None)
    with pytest.raises(LensError) as err:
        compute_budget(inv, preset_plan(inv, "mlp", 8, "seq-cls"))
    assert err.value.key == "plan.no_targets"


# (slug, task, plan fields, warning key, names it must say)
WARNED = [
    ("llama-3.2-1b", None, dict(targets=("q_proj",), rank_pattern=(("nope", 4),)), "budget.warn_pattern_unmatched", "nope"),
    ("llama-3.2-1b", None, dict(targets=("q_proj",), rank_pattern=(("down_proj", 4),)), "budget.warn_pattern_unmatched",
     "down_proj"),  # matches a module, but not an adapted one
    ("llama-3.2-1b", None, dict(targets=("q_proj",), alpha_pattern=(("q_proj", 4), ("self_attn.q_proj", 8))),
     "budget.warn_pattern_shadowed", "self_attn.q_proj"),
    ("llama-3.2-1b", None, dict(targets=("q_proj",), exclude_modules=("v_proj",)), "budget.warn_exclude_unmatched",
     "v_proj"),
    ("mixtral-8x7b", None, dict(targets=("q_proj",), target_parameters=("experts.nope", "experts.down_proj"),
                                lora_dropout=0.0), "budget.warn_params_unmatched", "experts.nope"),
    ("mixtral-8x7b", None, dict(targets=("q_proj", "experts.down_proj")), "budget.warn_param_in_modules",
     "experts.down_proj"),
    ("t5-base", "seq2seq", dict(targets=("q",), rank_pattern=(("Nope.q", 2),)), "budget.warn_pattern_unmatched", "Nope.q"),
]


@pytest.mark.parametrize("case", WARNED, ids=[f"{c[0]}-{c[3]}" for c in WARNED])
def test_what_matches_nothing_is_warned_by_name_and_counted_as_peft_does(case: tuple) -> None:
    slug, task, kwargs, key, names = case
    plan = _plan(slug, task, **kwargs)
    budget = compute_budget(_inventory(slug, task), plan)
    said = [p for k, p in budget.warnings if k == key]
    assert said and said[0]["names"] == names
    _assert_equal_to_peft(_inventory(slug, task), build_meta_model(_config(slug, task)), plan)


def test_nothing_is_warned_when_every_key_takes_effect() -> None:
    plan = _plan("llama-3.2-1b", None, targets=("q_proj", "v_proj"), rank_pattern=(("q_proj", 4),),
                 alpha_pattern=(("v_proj", 4),), exclude_modules=("layers.0.self_attn.q_proj",))
    assert compute_budget(_inventory("llama-3.2-1b", None), plan).warnings == ()


# (slug, task, plan fields): PEFT refuses, so must we, with a sentence
REFUSALS = [
    ("mixtral-8x7b", None, dict(target_parameters=EXPERTS, lora_dropout=0.05)),
    ("mixtral-8x7b", None, dict(target_parameters=EXPERTS, lora_dropout=0.0, use_dora=True)),
    ("llama-3.2-1b", None, dict(targets=("q_proj",), target_parameters=("q_proj.weight",), lora_dropout=0.0)),
    ("llama-3.2-1b", None, dict(target_parameters=("input_layernorm.weight",), lora_dropout=0.0)),
    ("llama-3.2-1b", None, dict(target_parameters=("nope.weight",), lora_dropout=0.0)),
    ("llama-3.2-1b", None, dict(targets=("q_proj",), exclude_modules=("q_proj",))),
    ("llama-3.2-1b", None, dict(targets=("q_proj",), layers=(0,), layers_pattern="nope")),
    ("llama-3.2-1b", None, dict(targets=("q_proj",), layers_pattern="layers")),
    ("llama-3.2-1b", None, dict(target_regex=r".*q_proj", layers=(0,), layers_pattern="layers")),
]


@pytest.mark.parametrize("case", REFUSALS, ids=[_id(c) for c in REFUSALS])
def test_refused_when_peft_refuses(case: tuple) -> None:
    slug, task, kwargs = case
    plan = _plan(slug, task, **kwargs)
    with pytest.raises(Exception):  # noqa: B017 - PEFT raises ValueError/NoMatchingPeftModuleError, or we do first
        get_peft_model(build_meta_model(_config(slug, task)), to_lora_config(plan))
    with pytest.raises(LensError):
        compute_budget(_inventory(slug, task), plan)


def test_budget_groups_carry_each_groups_ranks_and_scalings() -> None:
    plan = _plan("llama-3.2-1b", None, targets=("q_proj", "v_proj"), rank_pattern=((r"model\.layers\.0\.self_attn\.q_proj", 32),),
                 alpha_pattern=(("v_proj", 64),))
    budget = compute_budget(_inventory("llama-3.2-1b", None), plan)
    groups = {g.short_name: g for g in budget.groups()}
    assert groups["q_proj"].ranks == (8, 32) and groups["q_proj"].scalings == (0.5, 2.0)
    assert groups["v_proj"].ranks == (8,) and groups["v_proj"].scalings == (8.0,)
    assert sum(g.params for g in groups.values()) == budget.trainable_params
    assert budget.by_group() == {name: g.params for name, g in groups.items()}


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_group_table_shows_rank_and_scaling_per_group(lang: str) -> None:
    from core.charts.tables import budget_groups_frame
    from core.i18n import t

    plan = _plan("t5-base", "seq2seq", targets=("q", "v"), rank_pattern=(("SelfAttention.q", 4), ("EncDecAttention.q", 16)))
    frame = budget_groups_frame(compute_budget(_inventory("t5-base", "seq2seq"), plan), lang)
    rows = {row[t("ui.col_group", lang)]: row for row in frame.to_dict("records")}
    enc, dec = t("tower.encoder", lang), t("tower.decoder", lang)
    self_attn, cross = t("attn.self", lang), t("attn.cross", lang)
    scaling = t("ui.col_scaling", lang)
    # T5's q is three groups (encoder self, decoder self, decoder cross), each with the rank its pattern gives it
    assert (rows[f"{enc} · {self_attn} · q"]["r"], rows[f"{enc} · {self_attn} · q"][scaling]) == ("4", "4")
    assert (rows[f"{dec} · {self_attn} · q"]["r"], rows[f"{dec} · {cross} · q"]["r"]) == ("4", "16")
    assert rows[f"{dec} · {cross} · q"][scaling] == "1"
    assert (rows[f"{dec} · {cross} · v"]["r"], rows[f"{dec} · {cross} · v"][scaling]) == ("8", "2")


def test_memory_estimate_of_a_pattern_plan_and_of_fused_experts() -> None:
    """The estimate traces pattern plans (not the rough formula); LoRA on fused experts cannot run on the meta
    device (PEFT's ParamWrapper), which the estimate says instead of silently leaving out."""
    from core.planning.memory import MemorySettings, estimate_training_memory

    settings = MemorySettings(seq_len=128)
    for slug, plan, noted in [
        ("llama-3.2-1b", _plan("llama-3.2-1b", None, targets=("q_proj", "v_proj"), rank_pattern=(("q_proj", 64),),
                               exclude_modules=("layers.0.self_attn.q_proj",), init_lora_weights="pissa"), False),
        ("mixtral-8x7b", _plan("mixtral-8x7b", None, targets=ATTN, target_parameters=EXPERTS, lora_dropout=0.0), True),
    ]:
        inv = _inventory(slug, None)
        budget = compute_budget(inv, plan)
        est = estimate_training_memory(inv, budget, settings, config=_config(slug, None).config, plan=plan)
        assert est.assumptions.method == "traced"
        assert ("memory.note_params_untraced" in {k for k, _ in est.notes}) is noted
        assert est["adapter"] == budget.lora_params * 4 and est["optimizer"] == budget.lora_params * 8
