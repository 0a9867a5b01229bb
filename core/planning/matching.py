"""Which modules and parameters a plan adapts, decided by PEFT's own rules.

Modules: ``check_target_module_exists`` (targets, exclude_modules, layers_to_transform/layers_pattern,
modules_to_save) after PEFT's all-linear expansion. Parameters (``target_parameters``, lora.ParamWrapper): the
rule of ``BaseTuner._inject_parameters`` (the full ``module.param`` name, or one ending with ``.name``), after
PEFT rewrites the targets of transformers-v4 MoE names into fused expert parameters.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import lru_cache

from core.anatomy.inventory import Inventory, LayerInfo, block_index
from core.anatomy.names import SEQ_CLS_HEADS
from core.compat import expand_all_linear, is_excluded_match
from core.errors import LensError
from core.planning.plan import ALL_LINEAR, LoraPlan, to_lora_config

PARAM_KINDS = ("expert-param", "param")  # adapted by lora.ParamWrapper


@dataclass(frozen=True)
class Matched:
    """What PEFT would wrap for one plan (rank and alpha aside)."""

    modules: tuple[str, ...]  # full names of the modules LoRA replaces, in model order
    params: tuple[LayerInfo, ...]  # target parameters, as lora.ParamWrapper sees them
    saved: tuple[str, ...]  # modules_to_save copies (outermost names)
    excluded: tuple[str, ...]  # modules the targets matched that exclude_modules removed
    target_parameters: tuple[str, ...]  # after PEFT's MoE conversion
    unmatched_parameters: tuple[str, ...]  # target_parameters names that match no parameter


def match_modules(inventory: Inventory, plan: LoraPlan) -> Matched:
    """Exactly what PEFT would adapt; rank and alpha do not change it (one cached answer per shape of plan)."""
    return _match_cached(inventory, plan.with_changes(r=1, lora_alpha=1, lora_dropout=0.0, use_rslora=False,
                                                      rank_pattern=(), alpha_pattern=(), init_lora_weights="default"))


@lru_cache(maxsize=256)
def effective_patterns(inventory: Inventory, plan: LoraPlan) -> tuple[dict, dict]:
    """(rank_pattern, alpha_pattern) as PEFT applies them: the plan's, plus the fused-expert entries its MoE
    conversion appends (r and alpha times the number of fused branches)."""
    config = to_lora_config(plan)
    if inventory.model is not None and any(layer.kind == "expert-param" for layer in inventory.layers):
        _convert_moe(inventory, config)
    return dict(config.rank_pattern or {}), dict(config.alpha_pattern or {})


@lru_cache(maxsize=256)
def _match_cached(inventory: Inventory, plan: LoraPlan) -> Matched:
    from peft.tuners.tuners_utils import check_target_module_exists

    config = to_lora_config(plan)
    saved_names = list(config.modules_to_save or [])
    if plan.task == "seq-cls":
        saved_names += [n for n in SEQ_CLS_HEADS if n not in saved_names]
        config.modules_to_save = saved_names
    if inventory.model is not None and any(layer.kind == "expert-param" for layer in inventory.layers):
        _convert_moe(inventory, config)  # PEFT converts before expanding all-linear
    if isinstance(config.target_modules, str) and config.target_modules.lower() == ALL_LINEAR:
        if inventory.model is None:
            raise LensError("budget.needs_model")
        config = expand_all_linear(copy.copy(config), inventory.model)
    saved = tuple(m.name for m in inventory.modules if m.name and any(m.name.endswith(k) for k in saved_names))
    refuse_unknown_saved(inventory, plan.modules_to_save)
    saved = _outermost(saved)
    matched: list[str] = []
    refused: list[str] = []
    excluded: list[str] = []
    # A list of targets only ever matches names ending with one of them (PEFT: equal, or ends with ".t"):
    # skip the rest before asking PEFT's matcher, which still decides every candidate.
    targets = config.target_modules
    suffixes = tuple(targets) if targets is not None and not isinstance(targets, str) else None
    unexcluded = copy.copy(config)
    unexcluded.exclude_modules = None
    for module in inventory.modules:
        if not module.name or (suffixes is not None and not module.name.endswith(suffixes)):
            continue
        if saved and _inside(module.name, saved):
            continue
        hit = check_target_module_exists(config, module.name)
        if is_excluded_match(hit):
            again = check_target_module_exists(unexcluded, module.name) if config.exclude_modules else None
            if again and not is_excluded_match(again) and module.adaptable:
                excluded.append(module.name)  # a target that exclude_modules removed
            continue
        if hit:
            (matched if module.adaptable else refused).append(module.name)
    if refused:
        kind = next(m.class_name for m in inventory.modules if m.name == refused[0])
        raise LensError("budget.unsupported_module", name=refused[0], kind=kind, count=len(refused))
    _refuse_saved_overlap(matched, saved, saved_names)
    target_parameters = tuple(sorted(config.target_parameters or ()))
    params, unmatched = _match_parameters(inventory, target_parameters, matched)
    if not matched and not params:
        raise LensError("budget.no_match", targets=_describe_targets(plan),
                        names=", ".join(inventory.short_names()[:12]))
    return Matched(tuple(matched), params, saved, tuple(excluded), target_parameters, unmatched)


def _refuse_saved_overlap(matched: list[str], saved: tuple[str, ...], saved_names: list[str]) -> None:
    """PEFT's matcher spares modules_to_save by whole name segments, but _set_trainable then wraps any module
    whose name merely ends with the string (DistilBERT's "pre_classifier" for "classifier"): wrapping a module
    LoRA already replaced is a TypeError in PEFT."""
    both = [name for name in matched if name in saved]
    if both:
        raise LensError(
            "plan.peft_refused",
            detail=f"'{both[0]}' would get LoRA and also be copied by modules_to_save ({', '.join(saved_names)}); "
            "exclude it from the targets or from modules_to_save.",
        )


def _convert_moe(inventory: Inventory, config: object) -> None:
    """PEFT rewrites targets of v4-style MoE names (w1/w2/w3, all-linear) into fused expert parameters, in place."""
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


def _match_parameters(inventory: Inventory, names: tuple[str, ...],
                      modules: list[str]) -> tuple[tuple[LayerInfo, ...], tuple[str, ...]]:
    """PEFT's ``_inject_parameters``: every parameter directly on a module whose ``module.param`` name equals a
    target or ends with ``.target``; the names that found none."""
    if not names:
        return (), ()
    if inventory.model is None:
        raise LensError("budget.params_need_model")
    found: list[LayerInfo] = []
    hit: set[str] = set()
    adapted = set(modules)
    for module_name, module in inventory.model.named_modules():
        for param_name, param in module.named_parameters(recurse=False):
            key = f"{module_name}.{param_name}"
            keys = [t for t in names if key == t or key.endswith(f".{t}")]
            if not keys:
                continue
            hit.update(keys)
            _refuse_parameter(module_name, module, param_name, param, adapted)
            found.append(inventory.layer(key) or _param_info(key, module_name, module, param))
    return tuple(found), tuple(t for t in names if t not in hit)


def _refuse_parameter(module_name: str, module: object, param_name: str, param: object, adapted: set[str]) -> None:
    """What PEFT refuses when it wraps a parameter, as a sentence."""
    if module_name == "":
        raise LensError("plan.peft_refused", detail=f"parameter '{param_name}' sits on the top-level module, "
                        "which PEFT cannot wrap.")
    if module_name in adapted:
        raise LensError("budget.param_and_module", name=f"{module_name}.{param_name}", module=module_name)
    if param.dim() not in (2, 3):
        raise LensError("budget.param_dims", name=f"{module_name}.{param_name}", dims=param.dim())


def _param_info(key: str, module_name: str, module: object, param: object) -> LayerInfo:
    """A parameter the inventory does not list (a plain layer's weight): ParamWrapper's shapes for it."""
    experts, dim_a, dim_b = param.shape if param.dim() == 3 else (1, *param.shape)
    return LayerInfo(
        name=key,
        short_name=f"{module_name.rsplit('.', 1)[-1]}.{key.rsplit('.', 1)[-1]}",
        block=block_index(module_name),
        kind="param",
        class_name=type(module).__name__,
        in_features=int(dim_b),
        out_features=int(dim_a),
        has_bias=False,
        params=int(param.numel()),
        experts=int(experts),
    )


def refuse_unknown_saved(inventory: Inventory, names: tuple[str, ...]) -> None:
    """PEFT skips a ``modules_to_save`` name that matches nothing (by the same ``endswith`` rule), so the head the
    user meant to train would silently stay frozen: say so instead."""
    unknown = [n for n in names if not any(m.name and m.name.endswith(n) for m in inventory.modules)]
    if unknown:
        outside = sorted({layer.short_name for layer in inventory.layers if layer.block is None})
        raise LensError("budget.unknown_saved", names=", ".join(unknown[:5]), options=", ".join(outside[:12]) or "-")


def _outermost(names: tuple[str, ...]) -> tuple[str, ...]:
    """A wrapped module's children are copied with it, not wrapped again."""
    return tuple(n for n in names if not _inside(n, tuple(o for o in names if o != n)))


def _inside(name: str, parents: tuple[str, ...]) -> bool:
    return any(name.startswith(p + ".") for p in parents)


def _describe_targets(plan: LoraPlan) -> str:
    found = plan.target_regex or ", ".join(plan.targets)
    if plan.target_parameters:
        found = ", ".join(filter(None, (found, *plan.target_parameters)))
    return found
