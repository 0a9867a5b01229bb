"""Exact LoRA parameter budgets, computed from the inventory without touching weights.

Which modules a plan adapts is decided by PEFT's own matcher
(``check_target_module_exists`` and the all-linear expansion); only the
arithmetic of A/B/magnitude shapes is ours, and tests hold it to PEFT's counts.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import lru_cache

from core.anatomy.inventory import Inventory, LayerInfo
from core.anatomy.names import HEAD_NAMES, SEQ_CLS_HEADS
from core.compat import expand_all_linear, is_excluded_match
from core.errors import LensError
from core.planning.plan import ALL_LINEAR, LoraPlan, to_lora_config, validate_plan


@dataclass(frozen=True)
class ModuleBudget:
    name: str
    short_name: str
    block: int | None
    lora_params: int  # A + B (+ DoRA magnitude)
    bias_params: int  # the base bias made trainable by bias="lora_only"


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

    @property
    def share(self) -> float:
        return self.trainable_params / self.total_params if self.total_params else 0.0

    def adapter_bytes(self, bytes_per_param: int) -> int:
        """Size of adapter_model.safetensors: LoRA weights plus saved modules, at a dtype."""
        return (self.lora_params + self.saved_params + self.bias_params) * bytes_per_param

    def by_group(self) -> dict[str, int]:
        groups: dict[str, int] = {}
        for m in self.modules:
            groups[m.short_name] = groups.get(m.short_name, 0) + m.lora_params + m.bias_params
        return groups

    def by_block(self) -> dict[int | None, int]:
        blocks: dict[int | None, int] = {}
        for m in self.modules:
            blocks[m.block] = blocks.get(m.block, 0) + m.lora_params + m.bias_params
        return blocks


def lora_params_for(layer: LayerInfo, r: int, use_dora: bool) -> int:
    """Parameters PEFT adds to one layer: lora_A, lora_B and, with DoRA, the magnitude vector."""
    if layer.kind == "expert-param":  # lora.ParamWrapper: rank r per expert, no DoRA
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
    matched, saved, rank_factor = match_modules(inventory, plan)
    if rank_factor and (plan.lora_dropout > 0 or plan.use_dora):  # lora.ParamWrapper refuses both
        raise LensError("budget.moe_no_dropout")
    modules = []
    for name in matched:
        layer = inventory.layer(name)
        assert layer is not None  # match_modules only returns adaptable layers
        bias = layer.out_features if (plan.bias == "lora_only" and layer.has_bias) else 0
        r = plan.r * rank_factor.get(name, 1)
        modules.append(ModuleBudget(name, layer.short_name, layer.block, lora_params_for(layer, r, plan.use_dora), bias))
    saved_params = sum(_module_params(inventory, name) for name in saved)
    lora = sum(m.lora_params for m in modules)
    if plan.bias == "all":  # every *.bias in the model, except the frozen originals of saved modules
        bias_trainable = inventory.bias_params - sum(_module_biases(inventory, name) for name in saved)
    else:
        bias_trainable = sum(m.bias_params for m in modules)
    return Budget(
        trainable_params=lora + saved_params + bias_trainable,
        total_params=inventory.total_params + lora + saved_params,
        base_params=inventory.total_params,
        lora_params=lora,
        bias_params=bias_trainable,
        saved_params=saved_params,
        modules=tuple(modules),
        saved_modules=saved,
        warnings=_warnings(inventory, plan, modules, saved),
        scaling=plan.scaling,
    )


def _module_params(inventory: Inventory, name: str) -> int:
    return next((m.params for m in inventory.modules if m.name == name), 0)


def _module_biases(inventory: Inventory, name: str) -> int:
    return next((m.bias_params for m in inventory.modules if m.name == name), 0)


Match = tuple[tuple[str, ...], tuple[str, ...], dict[str, int]]


def refuse_unknown_saved(inventory: Inventory, names: tuple[str, ...]) -> None:
    """PEFT skips a ``modules_to_save`` name that matches nothing (by the same ``endswith`` rule), so the head the
    user meant to train would silently stay frozen: say so instead."""
    unknown = [n for n in names if not any(m.name and m.name.endswith(n) for m in inventory.modules)]
    if unknown:
        outside = sorted({layer.short_name for layer in inventory.layers if layer.block is None})
        raise LensError("budget.unknown_saved", names=", ".join(unknown[:5]), options=", ".join(outside[:12]) or "-")


def match_modules(inventory: Inventory, plan: LoraPlan) -> Match:
    """(adapted names, modules_to_save names, rank multipliers) exactly as PEFT would pick them."""
    return _match_cached(inventory, plan.with_changes(r=1, lora_alpha=1, lora_dropout=0.0, use_rslora=False))


@lru_cache(maxsize=256)
def _match_cached(inventory: Inventory, plan: LoraPlan) -> Match:
    from peft.tuners.tuners_utils import check_target_module_exists

    config = to_lora_config(plan)
    saved_names = list(config.modules_to_save or [])
    if plan.task == "seq-cls":
        saved_names += [n for n in SEQ_CLS_HEADS if n not in saved_names]
        config.modules_to_save = saved_names
    experts, factors = _moe_targets(inventory, config)  # PEFT converts before expanding all-linear
    if isinstance(config.target_modules, str) and config.target_modules.lower() == ALL_LINEAR:
        if inventory.model is None:
            raise LensError("budget.needs_model")
        config = expand_all_linear(copy.copy(config), inventory.model)
    saved = tuple(m.name for m in inventory.modules if m.name and any(m.name.endswith(k) for k in saved_names))
    refuse_unknown_saved(inventory, plan.modules_to_save)
    saved = _outermost(saved)
    matched: list[str] = []
    refused: list[str] = []
    # A list of targets only ever matches names ending with one of them (PEFT: equal, or ends with ".t"):
    # skip the rest before asking PEFT's matcher, which still decides every candidate.
    targets = config.target_modules
    suffixes = tuple(targets) if targets is not None and not isinstance(targets, str) else None
    for module in inventory.modules:
        if not module.name or (suffixes is not None and not module.name.endswith(suffixes)):
            continue
        if saved and _inside(module.name, saved):
            continue
        hit = check_target_module_exists(config, module.name)
        if not hit or is_excluded_match(hit):
            continue
        (matched if module.adaptable else refused).append(module.name)
    if refused:
        kind = next(m.class_name for m in inventory.modules if m.name == refused[0])
        raise LensError("budget.unsupported_module", name=refused[0], kind=kind, count=len(refused))
    # PEFT's matcher spares modules_to_save by whole name segments, but _set_trainable then wraps any
    # module whose name merely ends with the string (DistilBERT's "pre_classifier" for "classifier"):
    # wrapping a module LoRA already replaced is a TypeError in PEFT.
    both = [name for name in matched if name in saved]
    if both:
        raise LensError(
            "plan.peft_refused",
            detail=f"'{both[0]}' would get LoRA and also be copied by modules_to_save ({', '.join(saved_names)}); "
            "exclude it from the targets or from modules_to_save.",
        )
    matched += [name for name in experts if name not in matched]
    if not matched:
        raise LensError("budget.no_match", targets=_describe_targets(plan), names=", ".join(inventory.short_names()[:12]))
    return tuple(matched), saved, factors


def _moe_targets(inventory: Inventory, config: object) -> tuple[list[str], dict[str, int]]:
    """PEFT rewrites targets of v4-style MoE names (w1/w2/w3, all-linear) into fused expert parameters."""
    if inventory.model is None or not any(layer.kind == "expert-param" for layer in inventory.layers):
        return [], {}
    from peft.utils.other import get_pattern_key
    from peft.utils.transformers_weight_conversion import (
        convert_peft_config_for_transformers,
        get_model_conversion_mapping,
    )

    try:
        convert_peft_config_for_transformers(
            config, model=inventory.model, conversions=get_model_conversion_mapping(inventory.model)
        )
    except ValueError as exc:
        raise LensError("plan.peft_refused", detail=str(exc)[:300]) from exc
    targets = sorted(config.target_parameters or [])
    if not targets:
        return [], {}
    names, factors = [], {}
    patterns = dict(config.rank_pattern or {})
    for layer in inventory.layers:
        key = layer.name if layer.kind == "expert-param" else f"{layer.name}.weight"
        if key in targets or any(key.endswith(f".{t}") for t in targets):
            names.append(layer.name)
            factors[layer.name] = int(patterns.get(get_pattern_key(list(patterns), key), 1))  # PEFT's own lookup
    return names, factors


def _outermost(names: tuple[str, ...]) -> tuple[str, ...]:
    """A wrapped module's children are copied with it, not wrapped again."""
    return tuple(n for n in names if not _inside(n, tuple(o for o in names if o != n)))


def _inside(name: str, parents: tuple[str, ...]) -> bool:
    return any(name.startswith(p + ".") for p in parents)


def _describe_targets(plan: LoraPlan) -> str:
    return plan.target_regex or ", ".join(plan.targets)


def _warnings(inventory: Inventory, plan: LoraPlan, modules: list[ModuleBudget], saved: tuple[str, ...]) -> tuple:
    found: list[tuple[str, dict]] = []
    heads = sorted({m.name for m in modules if m.short_name in HEAD_NAMES or m.name == inventory.output_embedding})
    if heads:
        found.append(("budget.warn_head", {"names": ", ".join(heads[:5])}))
    if plan.bias == "all":
        found.append(("budget.warn_bias_all", {"n": inventory.bias_params}))
    if plan.targets and not plan.target_regex:
        present = set(inventory.short_names()) | {m.name for m in inventory.modules}
        missing = sorted(t for t in plan.targets if t not in present)
        if missing:
            found.append(("budget.warn_missing", {"names": ", ".join(missing)}))
    if plan.layers and plan.target_regex:
        found.append(("budget.warn_layers_regex", {}))
    found.extend(_partial_blocks(inventory, plan, modules))
    embeddings = [m.name for m in modules if inventory.layer(m.name).kind == "embedding"]
    if embeddings:
        found.append(("budget.warn_embedding", {"names": ", ".join(embeddings[:3])}))
    return tuple(found)


def _partial_blocks(inventory: Inventory, plan: LoraPlan, modules: list[ModuleBudget]) -> list[tuple[str, dict]]:
    """A named target that exists in only some of the chosen blocks (dense first layers of an MoE, a hybrid stack):
    PEFT adapts it where it is and says nothing about the rest."""
    if not plan.targets or plan.target_regex:
        return []
    present = {layer.block for layer in inventory.layers if layer.block is not None}
    wanted = present & set(plan.layers) if plan.layers else present
    found = []
    for short in dict.fromkeys(m.short_name for m in modules if m.block is not None):
        blocks = {m.block for m in modules if m.short_name == short}
        missing = sorted(wanted - blocks)
        if blocks and missing:
            shown = ", ".join(map(str, missing[:8])) + (" …" if len(missing) > 8 else "")
            found.append(("budget.warn_partial", {"name": short, "n": len(wanted & blocks), "of": len(wanted),
                                                  "missing": shown}))
    return found
