"""What a budget warns about: choices PEFT applies silently that are probably not what the user meant.

PEFT itself only warns in Python's ``warnings`` (if at all) when a rank/alpha pattern, an exclusion or a
target parameter matches nothing (PEFT issue #3582); here each one is named in a sentence beside the count.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from core.anatomy.inventory import Inventory
from core.anatomy.names import HEAD_NAMES
from core.planning.plan import LoraPlan

if TYPE_CHECKING:
    from core.planning.budget import ModuleBudget
    from core.planning.matching import Matched

Advice = tuple[str, dict]  # (translation key, params)


def budget_warnings(inventory: Inventory, plan: LoraPlan, modules: list[ModuleBudget], matched: Matched,
                    ranks: dict, alphas: dict) -> tuple[Advice, ...]:
    found: list[Advice] = []
    heads = sorted({m.name for m in modules if m.short_name in HEAD_NAMES or m.name == inventory.output_embedding})
    if heads:
        found.append(("budget.warn_head", {"names": ", ".join(heads[:5])}))
    if plan.bias == "all":
        found.append(("budget.warn_bias_all", {"n": inventory.bias_params}))
    found.extend(_missing_targets(inventory, plan))
    if plan.layers and plan.target_regex:
        found.append(("budget.warn_layers_regex", {}))
    found.extend(_partial_blocks(inventory, plan, modules, matched.excluded))
    embeddings = [m.name for m in modules if m.kind == "embedding"]
    if embeddings:
        found.append(("budget.warn_embedding", {"names": ", ".join(embeddings[:3])}))
    names = [m.name for m in modules]
    for field, table, own in (("rank_pattern", ranks, plan.rank_pattern), ("alpha_pattern", alphas, plan.alpha_pattern)):
        found.extend(_unused_pattern_keys(field, [k for k, _ in own], list(table), names))
    found.extend(_unused_exclusions(plan, matched))
    if matched.unmatched_parameters:
        found.append(("budget.warn_params_unmatched", {"names": ", ".join(matched.unmatched_parameters)}))
    return tuple(found)


def _missing_targets(inventory: Inventory, plan: LoraPlan) -> list[Advice]:
    """Named targets that match nothing; parameters named as targets (PEFT matches modules only there)."""
    if not plan.targets or plan.target_regex:
        return []
    found: list[Advice] = []
    params = {layer.short_name for layer in inventory.layers if layer.kind == "expert-param"}
    as_params = [t for t in plan.targets if t in params]
    if as_params:
        found.append(("budget.warn_param_in_modules", {"names": ", ".join(as_params)}))
    present = (set(inventory.short_names()) | {m.name for m in inventory.modules}) - params
    missing = sorted(t for t in plan.targets if t not in present and t not in params)
    if missing:
        found.append(("budget.warn_missing", {"names": ", ".join(missing)}))
    return found


def _unused_pattern_keys(field: str, own: list[str], table: list[str], names: list[str]) -> list[Advice]:
    """The plan's keys that set no adapted module's value: matching none, or always behind an earlier key
    (PEFT takes the first key that matches; ``table`` is PEFT's full order, its MoE entries included)."""
    if not own:
        return []
    from peft.utils.other import get_pattern_key

    chosen = {get_pattern_key(table, name) for name in names}
    unused = [key for key in own if key not in chosen]
    matching = {key for key in unused if any(re.match(rf"(.*\.)?({key})$", name) for name in names)}
    found: list[Advice] = []
    nothing = [key for key in unused if key not in matching]
    if nothing:
        found.append(("budget.warn_pattern_unmatched", {"field": field, "names": ", ".join(nothing)}))
    if matching:
        shadowed = [key for key in unused if key in matching]
        found.append(("budget.warn_pattern_shadowed", {"field": field, "names": ", ".join(shadowed)}))
    return found


def _unused_exclusions(plan: LoraPlan, matched: Matched) -> list[Advice]:
    """exclude_modules entries that removed none of the targets (PEFT's list rule: equal, or ends with ".name")."""
    if not plan.exclude_modules:
        return []
    from peft import LoraConfig
    from peft.tuners.tuners_utils import check_target_module_exists

    from core.compat import is_excluded_match

    unused = []
    for key in plan.exclude_modules:
        probe = LoraConfig(target_modules=["-"], exclude_modules=[key])  # asks PEFT whether this key excludes
        if not any(is_excluded_match(check_target_module_exists(probe, name)) for name in matched.excluded):
            unused.append(key)
    return [("budget.warn_exclude_unmatched", {"names": ", ".join(unused)})] if unused else []


def _partial_blocks(inventory: Inventory, plan: LoraPlan, modules: list[ModuleBudget],
                    excluded: tuple[str, ...]) -> list[Advice]:
    """A named target that exists in only some of the chosen blocks (dense first layers of an MoE, a hybrid stack):
    PEFT adapts it where it is and says nothing about the rest. Blocks the user excluded it from are no news."""
    if not plan.targets or plan.target_regex:
        return []
    present = {layer.block for layer in inventory.layers if layer.block is not None}
    wanted = present & set(plan.layers) if plan.layers else present
    found = []
    for short in dict.fromkeys(m.short_name for m in modules if m.block is not None and m.kind != "param"):
        blocks = {m.block for m in modules if m.short_name == short}
        gone = {inventory.layer(n).block for n in excluded if n.rsplit(".", 1)[-1] == short and inventory.layer(n)}
        missing = sorted(wanted - blocks - gone)
        if blocks and missing:
            shown = ", ".join(map(str, missing[:8])) + (" …" if len(missing) > 8 else "")
            found.append(("budget.warn_partial", {"name": short, "n": len(wanted & blocks), "of": len(wanted),
                                                  "missing": shown}))
    return found
