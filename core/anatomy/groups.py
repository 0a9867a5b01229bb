"""Module groups: the layers that share a short name, a tower and an attention kind — one row of Inspect.

A decoder-only model's groups are its short names (``q_proj`` ×30). Where a model has towers, the same short
name in two towers is two groups (CLIP's vision ``q_proj`` 768→768 ×12 and text ``q_proj`` 512→512 ×12), and
where it has cross-attention, self- and cross-attention are apart (T5's decoder ``q`` ×12 twice).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.anatomy.inventory import Inventory, LayerInfo
from core.anatomy.structure import CROSS, SELF


@dataclass(frozen=True)
class ModuleGroup:
    """Layers alike in short name, tower and attention kind, with their shapes, blocks and size."""

    key: str  # stable id: "q_proj", "vision:q_proj", "decoder:cross:q"
    short_name: str
    tower: str | None  # None: the model has no towers, or the layer sits outside them (CLIP's projections)
    attention: str | None  # "self" / "cross" where the model has cross-attention, else None
    names: tuple[str, ...]  # full module (or parameter) names, in model order
    shapes: tuple[tuple[int, int], ...]  # distinct (in, out), in model order
    blocks: tuple[int, ...]  # distinct block indices, sorted
    params: int
    hidden_size: int | None  # the tower's hidden size, else the model's
    kind: str  # LayerInfo.kind of its members ("linear", "conv", "expert-param", …)

    @property
    def count(self) -> int:
        return len(self.names)


def group_key(short_name: str, tower: str | None = None, attention: str | None = None) -> str:
    return ":".join(part for part in (tower, attention, short_name) if part)


def list_groups(inventory: Inventory) -> tuple[ModuleGroup, ...]:
    """Every group in model order (cached on the inventory, which never changes)."""
    cached = inventory.__dict__.get("_groups")
    if cached is None:
        cached = _build(inventory)
        object.__setattr__(inventory, "_groups", cached)
    return cached


def find_group(inventory: Inventory, key: str) -> ModuleGroup | None:
    return next((g for g in list_groups(inventory) if g.key == key), None)


def layer_group_key(inventory: Inventory, layer: LayerInfo) -> str:
    """The key of the group ``layer`` belongs to."""
    return group_key(layer.short_name, layer.tower, layer.attention if has_cross_attention(inventory) else None)


def has_cross_attention(inventory: Inventory) -> bool:
    cached = inventory.__dict__.get("_has_cross")
    if cached is None:
        cached = any(layer.attention == "cross" for layer in inventory.layers)
        object.__setattr__(inventory, "_has_cross", cached)
    return cached


def _build(inventory: Inventory) -> tuple[ModuleGroup, ...]:
    members: dict[str, list[LayerInfo]] = {}
    for layer in inventory.layers:
        members.setdefault(layer_group_key(inventory, layer), []).append(layer)
    groups = []
    cross = has_cross_attention(inventory)
    # outside the towers (CLIP's projections, a VLM's head) no one tower's hidden size applies
    model_hidden = None if inventory.towers else inventory.hidden_size
    for key, layers in members.items():
        first = layers[0]
        tower = inventory.tower(first.tower)
        groups.append(
            ModuleGroup(
                key=key,
                short_name=first.short_name,
                tower=first.tower,
                attention=first.attention if cross else None,
                names=tuple(layer.name for layer in layers),
                shapes=tuple(dict.fromkeys((layer.in_features, layer.out_features) for layer in layers)),
                blocks=tuple(sorted({layer.block for layer in layers if layer.block is not None})),
                params=sum(layer.params for layer in layers),
                hidden_size=tower.hidden_size if tower else model_hidden,
                kind=first.kind,
            )
        )
    return tuple(groups)


def format_blocks(blocks: tuple[int, ...] | list[int], sep: str = ", ") -> str:
    """Block indices (sorted) as runs: ``0–11``, ``0–3, 8–11``; empty outside the blocks."""
    runs: list[list[int]] = []
    for block in blocks:
        if runs and block == runs[-1][1] + 1:
            runs[-1][1] = block
        else:
            runs.append([block, block])
    return sep.join(str(a) if a == b else f"{a}–{b}" for a, b in runs)


# --- words for towers and attention kinds ------------------------------------------------------

TOWER_NAMES = ("vision", "text", "audio", "encoder", "decoder")  # towers with words of their own (others: their name)


def tower_label(name: str | None, lang: str = "en") -> str:
    from core.i18n import t

    if name is None:
        return t("tower.none", lang)
    return t(f"tower.{name}", lang) if name in TOWER_NAMES else name


def tower_text(name: str | None, lang: str = "en") -> str:
    """What a tower is, in ``lang``."""
    from core.i18n import t

    if name is None:
        return t("tower.about_none", lang)
    if name in TOWER_NAMES:
        return t(f"tower.about_{name}", lang)
    return t("tower.about_other", lang, name=name)


def attention_text(kind: str | None, tower: str | None, lang: str = "en") -> str:
    """What an attention kind does here: encoder and decoder self-attention differ (the decoder's is causal)."""
    from core.i18n import t

    if kind is None:
        return ""
    if kind == "self" and tower in ("encoder", "decoder"):
        return t(f"attn.about_self_{tower}", lang)
    return t(f"attn.about_{kind}", lang)


def shared_short_names(inventory: Inventory) -> dict[str, tuple[str, ...]]:
    """Short names found in more than one tower: a plain target list adapts every tower's copy (PEFT #2615)."""
    towers: dict[str, dict[str, None]] = {}
    for layer in inventory.layers:
        if layer.tower is not None:
            towers.setdefault(layer.short_name, {})[layer.tower] = None
    return {short: tuple(found) for short, found in towers.items() if len(found) > 1}


def key_label(key: str, lang: str = "en") -> str:
    """``group_label`` from a group key alone (``vision:q_proj`` -> ``Vision · q_proj``), for budgets' groups."""
    from core.i18n import t

    *parts, short = key.split(":")
    attention = parts.pop() if parts and parts[-1] in (SELF, CROSS) else None
    words = [tower_label(parts[0], lang)] if parts else []
    if attention:
        words.append(t(f"attn.{attention}", lang))
    return " · ".join([*words, short])


def group_label(group: ModuleGroup, lang: str = "en") -> str:
    """``Vision · q_proj``, ``Decoder · cross-attention · q``; a model without towers: the short name."""
    from core.i18n import t

    parts = [tower_label(group.tower, lang)] if group.tower else []
    if group.attention:
        parts.append(t(f"attn.{group.attention}", lang))
    return " · ".join([*parts, group.short_name])
