"""Target presets derived from the model's own module names (never a hard-coded Llama list)."""

from __future__ import annotations

from core.anatomy.inventory import Inventory
from core.planning.plan import ALL_LINEAR

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
    if preset == "mlp":
        return tuple(n for n, c in cats.items() if c.startswith("mlp")), None
    return (), None
