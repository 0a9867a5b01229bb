"""Exact LoRA parameter budgets, computed from the inventory without touching weights.

Which modules and parameters a plan adapts is decided by PEFT's own rules (``core.planning.matching``); each
one's rank and alpha by PEFT's own pattern lookup (``get_pattern_key``); only the arithmetic of A/B/magnitude
shapes is ours, and tests hold it to PEFT's counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from core.anatomy.groups import layer_group_key
from core.anatomy.inventory import Inventory, LayerInfo
from core.errors import LensError
from core.planning.advice import budget_warnings
from core.planning.matching import PARAM_KINDS, effective_patterns, match_modules
from core.planning.plan import LoraPlan, validate_plan

# Inits that take their A and B from the base weight (PEFT's pissa_init/olora_init): the rank is capped by
# the weight's smaller side, since the SVD/QR has no more components.
SVD_INITS = ("pissa", "olora")
PLAIN_INITS = ("default", "gaussian")  # the only inits PEFT runs on conv layers and wrapped parameters


@dataclass(frozen=True)
class ModuleBudget:
    """One adapted module (or parameter) with the rank and scaling PEFT gives it."""

    name: str
    short_name: str
    block: int | None
    lora_params: int  # trainable: A + B (+ DoRA magnitude); MiCA trains A only
    bias_params: int  # the base bias made trainable by bias="lora_only"
    r: int = 0  # PEFT's r for this module: the first matching rank_pattern key, else the plan's r
    scaling: float = 0.0  # alpha / r (rsLoRA: alpha / sqrt(r)) with this module's own alpha and r
    kind: str = "linear"  # the inventory's kind; "expert-param"/"param" are wrapped by lora.ParamWrapper
    frozen_params: int = 0  # LoRA weights PEFT creates but freezes (MiCA's B)
    group: str = ""  # the inventory's group key (``vision:q_proj``; a model without towers: the short name)


@dataclass(frozen=True)
class GroupBudget:
    """One group's modules together (a short name, per tower and attention kind where the model has them): how
    many, what they train, and the ranks and scalings among them."""

    key: str  # ModuleGroup.key: "q_proj", "vision:q_proj", "decoder:cross:q"
    short_name: str
    modules: int
    params: int
    ranks: tuple[int, ...]
    scalings: tuple[float, ...]


@dataclass(frozen=True)
class Budget:
    """Everything the Configure page shows; counts equal PEFT's get_nb_trainable_parameters()."""

    trainable_params: int
    total_params: int
    base_params: int
    lora_params: int
    bias_params: int
    saved_params: int  # modules_to_save copies
    modules: tuple[ModuleBudget, ...]
    saved_modules: tuple[str, ...]
    warnings: tuple[tuple[str, dict], ...]  # (translation key, params)
    scaling: float
    frozen_params: int = 0  # LoRA weights in the adapter that do not train (MiCA's B)

    @property
    def share(self) -> float:
        return self.trainable_params / self.total_params if self.total_params else 0.0

    def adapter_bytes(self, bytes_per_param: int) -> int:
        """Size of adapter_model.safetensors: LoRA weights (frozen ones too) plus saved modules, at a dtype."""
        return (self.lora_params + self.frozen_params + self.saved_params + self.bias_params) * bytes_per_param

    def by_group(self) -> dict[str, int]:
        return {g.key: g.params for g in self.groups()}

    def groups(self) -> tuple[GroupBudget, ...]:
        """Per short name, in model order: module count, trainable parameters, distinct ranks and scalings."""
        found: dict[str, list[ModuleBudget]] = {}
        for m in self.modules:
            found.setdefault(m.group or m.short_name, []).append(m)
        return tuple(
            GroupBudget(key, ms[0].short_name, len(ms), sum(m.lora_params + m.bias_params for m in ms),
                        tuple(sorted({m.r for m in ms})), tuple(sorted({m.scaling for m in ms})))
            for key, ms in found.items()
        )

    def by_block(self) -> dict[int | None, int]:
        blocks: dict[int | None, int] = {}
        for m in self.modules:
            blocks[m.block] = blocks.get(m.block, 0) + m.lora_params + m.bias_params
        return blocks


def lora_params_for(layer: LayerInfo, r: int, use_dora: bool) -> int:
    """Parameters PEFT adds to one layer: lora_A, lora_B and, with DoRA, the magnitude vector."""
    if layer.kind in PARAM_KINDS:  # lora.ParamWrapper: rank r per expert, no DoRA
        return r * layer.experts * (layer.in_features + layer.out_features)
    if layer.kind == "conv":
        a = r * layer.in_features * layer.kernel_size
        b = layer.out_features * (r // layer.groups)
    else:
        a = r * layer.in_features
        b = r * layer.out_features
    magnitude = layer.out_features if use_dora else 0
    return a + b + magnitude


def compute_budget(inventory: Inventory, plan: LoraPlan) -> Budget:
    """The exact budget of ``plan`` on the model the inventory describes."""
    validate_plan(plan, inventory.num_blocks or None)
    matched = match_modules(inventory, plan)
    if matched.params and (plan.lora_dropout > 0 or plan.use_dora):  # lora.ParamWrapper refuses both
        raise LensError("budget.moe_no_dropout")
    if plan.init_lora_weights == "mica" and plan.use_dora:
        raise LensError("budget.init_dora", init=plan.init_lora_weights)
    ranks, alphas = effective_patterns(inventory, plan)
    layers = [inventory.layer(name) for name in matched.modules] + list(matched.params)
    modules = [_module_budget(layer, plan, ranks, alphas, layer_group_key(inventory, layer))
               for layer in layers if layer is not None]  # fmt: skip
    saved_params = sum(_module_params(inventory, name) for name in matched.saved)
    lora = sum(m.lora_params for m in modules)
    frozen = sum(m.frozen_params for m in modules)
    if plan.bias == "all":  # every *.bias in the model, except the frozen originals of saved modules
        bias_trainable = inventory.bias_params - sum(_module_biases(inventory, name) for name in matched.saved)
    else:
        bias_trainable = sum(m.bias_params for m in modules)
    return Budget(
        trainable_params=lora + saved_params + bias_trainable,
        total_params=inventory.total_params + lora + frozen + saved_params,
        base_params=inventory.total_params,
        lora_params=lora,
        bias_params=bias_trainable,
        saved_params=saved_params,
        modules=tuple(modules),
        saved_modules=matched.saved,
        warnings=budget_warnings(inventory, plan, modules, matched, ranks, alphas),
        scaling=plan.scaling,
        frozen_params=frozen,
    )


def _module_budget(layer: LayerInfo, plan: LoraPlan, ranks: dict, alphas: dict, group: str) -> ModuleBudget:
    r = int(_pattern_value(ranks, layer.name, plan.r))
    alpha = _pattern_value(alphas, layer.name, plan.lora_alpha)
    _check_init(plan.init_lora_weights, layer, r)
    rank = min(r, layer.in_features, layer.out_features) if plan.init_lora_weights in SVD_INITS else r
    lora = lora_params_for(layer, rank, plan.use_dora)
    frozen = rank * layer.out_features if plan.init_lora_weights == "mica" else 0  # B: (out, r), frozen
    bias = layer.out_features if (plan.bias == "lora_only" and layer.has_bias) else 0
    scaling = alpha / (math.sqrt(r) if plan.use_rslora else r)
    return ModuleBudget(layer.name, layer.short_name, layer.block, lora - frozen, bias, r, scaling, layer.kind, frozen,
                        group)


def _pattern_value(table: dict, name: str, default):
    """PEFT's own lookup: the first key whose ``(.*\\.)?(key)$`` matches ``name`` (``get_pattern_key``)."""
    if not table:
        return default
    from peft.utils.other import get_pattern_key

    return table.get(get_pattern_key(list(table), name), default)


def _check_init(init: str, layer: LayerInfo, r: int) -> None:
    """What PEFT refuses (or silently skips) for an init method on one layer, as a sentence."""
    if init in PLAIN_INITS:
        return
    if layer.kind == "conv" or layer.kind in PARAM_KINDS:  # PEFT: "Unknown initialization" / no such variant
        raise LensError("budget.init_unsupported", init=init, name=layer.name, kind=layer.kind)
    if layer.kind == "conv1d-transposed" and init == "olora":  # olora_init ignores fan_in_fan_out
        raise LensError("budget.init_transposed", init=init, name=layer.name)
    if layer.kind == "embedding" and init in SVD_INITS:  # initialized as plain LoRA; its conversion drops them
        raise LensError("budget.init_embedding", init=init, name=layer.name)
    if init == "orthogonal" and layer.kind != "embedding" and r % 2:
        raise LensError("budget.init_even_r", name=layer.name, r=r)
    if init == "mica" and r > min(layer.in_features, layer.out_features):
        raise LensError("budget.init_mica_r", name=layer.name, r=r,
                        max=min(layer.in_features, layer.out_features))


def _module_params(inventory: Inventory, name: str) -> int:
    return next((m.params for m in inventory.modules if m.name == name), 0)


def _module_biases(inventory: Inventory, name: str) -> int:
    return next((m.bias_params for m in inventory.modules if m.name == name), 0)
