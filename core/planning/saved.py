"""Bytes saved for backward per block and around the blocks, and where each adapted layer sits in them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from core.planning.matching import PARAM_KINDS
from core.planning.tracing import Stack, cached, split_name


@dataclass(frozen=True)
class SavedActivations:
    """Bytes saved for backward, in forward order: outside the blocks (embeddings before the first stack,
    then what follows each stack: final norms, head, loss) and, per block, (saved, hidden-state input)."""

    segments: tuple[int, ...]  # before stack 0, after stack 0, after stack 1, …
    stacks: tuple[tuple[tuple[int, int, int], ...], ...]  # per block (saved, hidden input, recomputed)
    shared: int = 0  # tensors every checkpointed block keeps, once (masks, position biases, encoder output)

    @property
    def outside(self) -> int:
        return sum(self.segments)

    def total(self, checkpointing: bool) -> int:
        """Peak of saved bytes. Plain: all of it at the end of forward. Checkpointing keeps each block's
        inputs; backward then frees what follows a block before recomputing it, so the peak is the larger of
        the end of forward and (what precedes a block + what that block's recomputation saves besides)."""
        blocks = [b for stack in self.stacks for b in stack]
        if not checkpointing or not blocks:
            return self.outside + sum(saved for saved, _, _ in blocks)
        peak = self.outside
        for k, stack in enumerate(self.stacks):
            before = sum(self.segments[: k + 1])
            peak = max([peak, *(before + again for _, _, again in stack)])
        return sum(held for _, held, _ in blocks) + self.shared + peak


def positions(inventory, stacks: Sequence[Stack]) -> dict[str, tuple[int, int, str]]:
    """Every adaptable layer inside a stack -> (stack, block, name in the block); once per model."""
    return cached(inventory.model, ("positions",), lambda: {
        layer.name: where for layer in inventory.layers if (where := split_name(layer.name, stacks))})


def rank_of(module, inventory) -> int:
    """A module's LoRA rank: the budget's (PEFT's r for it, rank_pattern included); else from its parameter
    count (r·(in + out), DoRA's magnitude adding fewer than that)."""
    if getattr(module, "r", 0):
        return module.r
    layer = inventory.layer(module.name)
    return max(module.lora_params // max(layer.in_features + layer.out_features, 1), 1)


def layout_of(budget, inventory, stacks: Sequence[Stack]) -> tuple[list[dict[int, tuple]], dict[str, int]]:
    """Per stack, block index -> its trainable layout; and the LoRA rank of every adapted module."""
    layouts: list[dict[int, tuple]] = [{} for _ in stacks]
    ranks: dict[str, int] = {}
    where = positions(inventory, stacks)
    for m in budget.modules:
        if m.lora_params and m.kind not in PARAM_KINDS and inventory.layer(m.name) is not None:
            ranks[m.name] = rank_of(m, inventory)
        at = where.get(m.name) or split_name(m.name, stacks)
        if at and (m.lora_params or m.bias_params):
            k, idx, rest = at
            layouts[k][idx] = (*layouts[k].get(idx, ()), (rest, m.lora_params, m.bias_params))
    return layouts, ranks


def re_exact(name: str) -> str:
    return "^" + re.escape(name) + "$"
