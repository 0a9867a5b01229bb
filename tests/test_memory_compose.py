"""A plan's saved bytes composed from the model's tape equal a trace of that very plan, byte for byte."""

from __future__ import annotations

import pytest
import torch

import core.planning.activations as activations
import core.planning.compose as compose
from core.anatomy.inventory import list_adaptable_layers
from core.planning.attention import describe_assumptions
from core.planning.budget import compute_budget
from core.planning.memory import MemorySettings, estimate_training_memory
from core.planning.plan import LoraPlan
from tests.test_memory_measured import CASES, B, S

pytestmark = pytest.mark.filterwarnings("ignore")
ARCHS = ("llama", "gpt2", "gpt_neox", "bloom", "gemma2", "mixtral", "bert", "t5", "vit")
MLP_IN = {"llama": "gate_proj", "gemma2": "gate_proj", "gpt2": "c_fc", "gpt_neox": "dense_h_to_4h",
          "bloom": "dense_h_to_4h", "mixtral": "v_proj", "bert": "intermediate.dense", "t5": "wi",
          "vit": "fc1"}  # a layer whose output meets a frozen one's (gate·up): replayed calls
PLANS = {  # name: plan from the case's attention targets and its MLP input layer
    "targets": lambda t, mlp: LoraPlan(targets=t, lora_dropout=0.0),
    "r16, dropout": lambda t, mlp: LoraPlan(targets=t, r=16, lora_dropout=0.1),
    "all-linear, DoRA": lambda t, mlp: LoraPlan(target_regex="all-linear", use_dora=True, lora_dropout=0.0),
    "all-linear, rank_pattern": lambda t, mlp: LoraPlan(target_regex="all-linear", lora_dropout=0.0,
                                                        rank_pattern=((r".*\.0\..*", 3),), alpha_pattern=(("q.*", 8),)),
    "block 1, exclude": lambda t, mlp: LoraPlan(targets=t, layers=(1,), lora_dropout=0.0, exclude_modules=("x",)),
    "bias lora_only": lambda t, mlp: LoraPlan(targets=t, bias="lora_only", lora_dropout=0.0),
    "MLP input, block 0": lambda t, mlp: LoraPlan(targets=(mlp,), layers=(0,), lora_dropout=0.0),
    "MLP input and the last": lambda t, mlp: LoraPlan(targets=(mlp, t[-1]), lora_dropout=0.1),
}
SETTINGS = {
    "fp32 cpu": MemorySettings("fp32", B, S, device="cpu"),
    "fp32 cpu, checkpointing": MemorySettings("fp32", B, S, gradient_checkpointing=True, device="cpu"),
    "bf16 cuda": MemorySettings("bf16", B, S, device="cuda"),
}
_MODELS: dict = {}


def _model(name: str):
    if name not in _MODELS:
        config, cls, task, targets = CASES[name]
        torch.manual_seed(0)
        model = cls(config)
        _MODELS[name] = (model, list_adaptable_layers(model), task, targets)
    return _MODELS[name]


def _targets(name: str, targets) -> tuple[str, ...]:
    return ("q_proj", "v_proj") if targets == "all-linear" else tuple(targets)


GRID = [(name, plan, setting) for name in ARCHS for plan in PLANS for setting in SETTINGS
        if setting != "bf16 cuda" or name in ("llama", "gpt2", "t5")]  # 16-bit and CUDA kernels: three suffice


@pytest.mark.parametrize(("name", "plan_name", "setting"), GRID)
def test_composed_equals_a_trace_of_the_plan(name: str, plan_name: str, setting: str) -> None:
    model, inv, task, targets = _model(name)
    settings = SETTINGS[setting]
    plan = PLANS[plan_name](_targets(name, targets), MLP_IN[name]).with_changes(task=task)
    if name == "mixtral" and plan.target_regex:
        pytest.skip("all-linear reaches the fused experts, where PEFT takes neither dropout nor DoRA")
    budget = compute_budget(inv, plan)
    kind = describe_assumptions(model, settings, 0.0).attention
    config, inflow = activations._lora_config(plan), activations._inflow(inv, budget, plan)
    traced = activations.saved_activations(model, inv, budget, config, task, settings, kind, inflow)
    composed = compose.composed_activations(model, inv, budget, config, task, settings, kind, inflow)
    assert composed is not None, "the tape fell back to a trace"
    assert composed == traced


def test_a_plan_change_traces_nothing_and_still_equals_autograd(monkeypatch) -> None:
    """Once the tape exists, targets, r, α, rsLoRA and layers change without a forward or a PEFT wrap; each
    estimate still equals the bytes autograd saves in a real step of that plan."""
    from core.planning.plan import to_lora_config
    from tests.test_memory_measured import _batch, peak_saved_bytes

    model, inv, task, _ = _model("llama")
    settings = MemorySettings("fp32", B, S, device="cpu")
    first = LoraPlan(targets=("q_proj", "v_proj"), task=task)
    estimate_training_memory(inv, compute_budget(inv, first), settings, plan=first)
    work = []
    for module, name in ((activations, "saved_activations"), (compose, "record_tape"), (compose, "adapt_copy")):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, real=real, name=name, **k: work.append(name) or real(*a, **k))
    plans = [first.with_changes(targets=("k_proj", "down_proj")), first.with_changes(r=32, lora_alpha=7.0),
             first.with_changes(targets=("q_proj", "o_proj", "up_proj"), r=4, use_rslora=True),
             first.with_changes(layers=(1,))]
    for plan in plans:
        est = estimate_training_memory(inv, compute_budget(inv, plan), settings, plan=plan)
        torch.manual_seed(0)
        fresh = type(model)(model.config)
        peft_model = __import__("peft").get_peft_model(fresh, to_lora_config(plan))
        peft_model.train()
        assert est["activations"] == peak_saved_bytes(peft_model, _batch(peft_model, task)), plan
    assert work == []


@pytest.mark.parametrize("slug", ["gemma-3-4b", "falcon-7b", "qwen3-8b"])
def test_catalog_configs_compose_as_traced(slug: str) -> None:
    """Real configurations on the meta device, every linear layer adapted: Gemma 3's vision tower (which text
    inputs never reach), Falcon's parallel attention, Qwen3's q/k norms."""
    from core.models.meta import build_meta_model
    from core.models.sources import ModelSpec, load_config

    mc = load_config(ModelSpec("catalog", slug))
    model = build_meta_model(mc)
    inv = list_adaptable_layers(model)
    plan = LoraPlan(target_regex="all-linear", task=mc.task)
    settings = MemorySettings(batch_size=2, seq_len=128, gradient_checkpointing=True)
    budget = compute_budget(inv, plan)
    kind = describe_assumptions(model, settings, 0.0).attention
    config, inflow = activations._lora_config(plan), activations._inflow(inv, budget, plan)
    traced = activations.saved_activations(model, inv, budget, config, mc.task, settings, kind, inflow)
    assert compose.composed_activations(model, inv, budget, config, mc.task, settings, kind, inflow) == traced
