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
    """Forget ``visitor``'s plans and choices, so a test that reuses a fixed id starts afresh (runs stay: a
    module's fixture may have recorded them for every test of that module)."""
    with WorkspaceStore() as store:
        workspace = store.load(visitor)
        for saved in workspace.plans:
            store.delete_plan(visitor, saved.name)
        store.set_preferences(visitor, language=None, model=None, settings=dict.fromkeys(workspace.preferences.settings))


def submit_recorded(visitor: str, manager, spec, plan, train, val, settings) -> str:
    """Queue a job the way the Train page does: a ``#N`` record in the visitor's workspace, the job in its folder."""
    from pathlib import Path

    with WorkspaceStore() as store:
        record = store.add_run(visitor, job_id="", model=spec, data_name=train.name, plan=plan,
                               settings=settings.to_json(), planned_steps=settings.max_steps)
        job_id = manager.submit(visitor, spec, plan, train, val, settings, workdir=Path(record.folder))
        store.update_run(visitor, record.number, job_id=job_id)
    return job_id
