"""Test helpers: a visitor's workspace seeded or read through the same store the app opens (LORA_LENS_DATA)."""

from __future__ import annotations

from core.workspace.model import SavedPlan
from core.workspace.store import WorkspaceStore


def seed_plans(visitor: str, plans: dict) -> None:
    """Start ``visitor`` afresh with exactly ``plans`` saved (name -> {"model": ModelSpec, "plan": LoraPlan})."""
    reset_visitor(visitor)
    with WorkspaceStore() as store:
        for name, item in plans.items():
            store.save_plan(visitor, SavedPlan(name, item["model"], item["plan"]), "overwrite")


def plans_of(visitor: str) -> dict:
    """``visitor``'s saved plans as the app stored them, in the form ``seed_plans`` takes."""
    with WorkspaceStore() as store:
        return {p.name: {"model": p.model, "plan": p.plan} for p in store.load(visitor).plans}


def reset_visitor(visitor: str) -> None:
    """Forget everything ``visitor`` made or chose, so a test that reuses a fixed id starts afresh."""
    with WorkspaceStore() as store:
        workspace = store.load(visitor)
        for saved in workspace.plans:
            store.delete_plan(visitor, saved.name)
        for run in workspace.runs:
            store.delete_run(visitor, run.number, force=True)
        store.set_preferences(visitor, language=None, model=None, settings=dict.fromkeys(workspace.preferences.settings))
