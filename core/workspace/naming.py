"""Default plan names that follow the plan, and "keep both" names that never clash."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

from core.anatomy.groups import format_blocks
from core.i18n import t
from core.planning.plan import LoraPlan
from core.planning.plans_io import MAX_NAME

# Presets whose name says more than their member list once the list is long.
NAMED_PRESETS: tuple[str, ...] = ("qv", "attention", "mlp")
MAX_LISTED = 3  # target names listed before the preset name (or "+N more") takes over
_SUFFIX = re.compile(r"^(?P<base>.*) \((?P<n>[0-9]+)\)$", re.S)


def default_plan_name(plan: LoraPlan, preset: str | None = None, num_blocks: int | None = None, lang: str = "en") -> str:
    """E.g. ``q_proj+v_proj r=8 α=16``, ``all-linear r=16 α=32 blocks 0–11``.

    α is always shown, even at the common 2r: a name that hides it would make two plans that
    differ only in α look the same. A regex (and ``all-linear``) is shown verbatim, never escaped.
    rsLoRA/DoRA are named because they change what α means and what is trained. Blocks are shown
    when ``plan.layers`` is a subset (all of ``num_blocks`` counts as no subset).
    """
    parts = [_targets(plan, preset, lang), f"r={plan.r}{_pattern(plan.rank_pattern)}",
             f"α={_number(plan.lora_alpha)}{_pattern(plan.alpha_pattern)}"]
    if plan.init_lora_weights != "default":
        parts.append(plan.init_lora_weights)
    if plan.exclude_modules:
        parts.append("−" + "−".join(plan.exclude_modules[:2]) + ("…" if len(plan.exclude_modules) > 2 else ""))
    if plan.use_rslora:
        parts.append("rsLoRA")
    if plan.use_dora:
        parts.append("DoRA")
    layers = sorted(set(plan.layers))
    if layers and (num_blocks is None or layers != list(range(num_blocks))):
        parts.append(t("workspace.name_blocks", lang, blocks=format_blocks(layers, sep=",")))
    tail = " " + " ".join(parts[1:])
    head = parts[0]
    if len(head) + len(tail) > MAX_NAME:  # only a very long regex gets here
        head = head[: max(1, MAX_NAME - len(tail) - 1)] + "…"
    return (head + tail)[:MAX_NAME]


def unique_name(name: str, existing: Collection[str] | Iterable[str]) -> str:
    """``name`` when free; else ``name (2)``, ``name (3)``, ... (a ``(k)`` already there counts up)."""
    taken = set(existing)
    if name not in taken:
        return name
    match = _SUFFIX.match(name)
    base, n = (match["base"], int(match["n"]) + 1) if match else (name, 2)
    while True:
        suffix = f" ({n})"
        candidate = base[: MAX_NAME - len(suffix)] + suffix
        if candidate not in taken:
            return candidate
        n += 1


def _pattern(pairs: tuple) -> str:
    """A plan's own ranks or alphas per pattern, e.g. `` (q_proj:16 v_proj:32)``: two plans that differ only
    there get different names."""
    if not pairs:
        return ""
    shown = " ".join(f"{key}:{_number(value)}" for key, value in pairs[:3])
    return f" ({shown}{' …' if len(pairs) > 3 else ''})"


def _targets(plan: LoraPlan, preset: str | None, lang: str) -> str:
    modules = _modules(plan, preset, lang)
    if plan.target_parameters:
        params = "+".join(sorted(plan.target_parameters)[:2]) + ("…" if len(plan.target_parameters) > 2 else "")
        return f"{modules}+{params}" if modules else params
    return modules


def _modules(plan: LoraPlan, preset: str | None, lang: str) -> str:
    if plan.target_regex:
        return plan.target_regex
    names = sorted(plan.targets)
    if len(names) <= MAX_LISTED:
        return "+".join(names)
    if preset in NAMED_PRESETS:
        return preset
    return "+".join(names[:MAX_LISTED]) + " " + t("workspace.name_more", lang, n=len(names) - MAX_LISTED)


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"
