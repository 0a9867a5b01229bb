"""The memory planner, shared by Configure and Compare."""

from __future__ import annotations


def render_memory_panel(inv, budget, mc, key: str) -> None:  # filled in once core.memory lands
    return None


def estimate_for_compare(inv, budget, mc):
    return None


def render_compare_memory(results, key: str) -> None:
    return None
