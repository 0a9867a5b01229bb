"""Target presets from the model's own module names, and the one default plan."""

from __future__ import annotations

from collections.abc import Iterable

from core.anatomy.inventory import Inventory
from core.anatomy.names import EXPERT_DOWN, EXPERT_GATE_UP
from core.planning.plan import ALL_LINEAR, DEFAULT_ALPHA, DEFAULT_R, LoraPlan

PRESETS: tuple[str, ...] = ("qv", "attention", "mlp", "all-linear", "custom", "regex")


def _categories(inv: Inventory) -> dict[str, str]:
    """short name -> role category, for modules inside blocks (heads and embeddings are left out)."""
    from core.anatomy.roles import describe_module

    found: dict[str, str] = {}
    for layer in inv.layers:
        if layer.short_name not in found and layer.block is not None and layer.kind != "expert-param":
            found[layer.short_name] = describe_module(layer.short_name, layer, inv).category
    return found


def preset_targets(inv: Inventory, preset: str) -> tuple[tuple[str, ...], str | None]:
    """(short names, regex) for a preset; empty when the model has no such modules."""
    if preset == "all-linear":
        return (), ALL_LINEAR
    cats = _categories(inv)
    if preset == "qv":
        picked = [n for n, c in cats.items() if c in ("attention-query", "attention-value")]
        if not picked:  # fused QKV (GPT-2 c_attn, Phi-3 qkv_proj, Falcon query_key_value)
            picked = [n for n, c in cats.items() if c == "attention-fused"]
        return tuple(picked), None
    if preset == "attention":
        return tuple(n for n, c in cats.items() if c.startswith("attention")), None
    if preset == "mlp":  # with an MoE's fused experts, which PEFT adapts as parameters (route_targets)
        return tuple(n for n, c in cats.items() if c.startswith("mlp")) + _expert_weights(inv), None
    return (), None


def _expert_weights(inv: Inventory) -> tuple[str, ...]:
    """Short names of fused expert weights (gate/up and down), not the router's."""
    wanted = (*EXPERT_GATE_UP, *EXPERT_DOWN)
    found = (layer.short_name for layer in inv.layers if layer.kind == "expert-param" and layer.experts > 1
             and layer.name.rsplit(".", 1)[-1] in wanted)
    return tuple(dict.fromkeys(found))


def route_targets(inv: Inventory, names: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Chosen short names split as PEFT adapts them: (target_modules, target_parameters). A name the inventory
    knows as a parameter (fused MoE experts, a router's weight) matches no module, so in target_modules PEFT
    would adapt nothing for it; as a target parameter PEFT wraps it (lora.ParamWrapper)."""
    params = {layer.short_name for layer in inv.layers if layer.kind == "expert-param"}
    chosen = list(dict.fromkeys(names))
    return tuple(n for n in chosen if n not in params), tuple(n for n in chosen if n in params)


def plan_with_targets(inv: Inventory, plan: LoraPlan, names: Iterable[str]) -> LoraPlan:
    """``plan`` targeting ``names`` (short names from the inventory), parameters routed to target_parameters;
    target parameters the plan already names are kept."""
    modules, params = route_targets(inv, names)
    params = tuple(dict.fromkeys((*plan.target_parameters, *params)))
    return plan.with_changes(targets=modules, target_regex=None, target_parameters=params)


def default_targets(inv: Inventory) -> tuple[tuple[str, ...], str | None]:
    """(short names, regex): PEFT's own default for the model type, else query/value by role, else all-linear."""
    from peft.utils.constants import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as PEFT_DEFAULTS

    found = PEFT_DEFAULTS.get(inv.model_type)
    if isinstance(found, str):
        return (), found
    if found and set(found) & set(inv.short_names()):
        return tuple(found), None
    targets, _ = preset_targets(inv, "qv")
    return (targets, None) if targets else ((), ALL_LINEAR)


def default_plan(inv: Inventory, task: str) -> LoraPlan:
    """The plan every page and command starts from: default targets, r, alpha and dropout."""
    targets, regex = default_targets(inv)
    return LoraPlan(targets=targets, target_regex=regex, task=task)


def preset_plan(inv: Inventory, preset: str, r: int, task: str) -> LoraPlan:
    """A preset at rank ``r``, keeping the default plan's alpha/r ratio (alpha = 2r). Where it reaches fused
    expert weights, dropout starts at 0: PEFT's lora.ParamWrapper refuses any other value."""
    targets, regex = preset_targets(inv, preset)
    plan = default_plan(inv, task).with_changes(r=r, lora_alpha=r * DEFAULT_ALPHA // DEFAULT_R)
    if regex:
        return plan.with_changes(targets=(), target_regex=regex)
    plan = plan_with_targets(inv, plan, targets)
    return plan.with_changes(lora_dropout=0.0) if plan.target_parameters else plan
