"""The Sweep page's setup: model, plans (saved or a ladder), per-plan learning rate, data, settings, start."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from core.data.dataset import TextDataset
from core.models.embedded import EMBEDDED
from core.models.spec import ModelSpec
from core.planning.plan import DEFAULT_R
from core.planning.presets import PRESETS
from core.training.jobs import job_manager
from core.training.settings import TrainSettings
from core.training.sweep import MAX_PLANS, MAX_SEEDS, Sweep, SweepPlan, ladder, sweep_settings, validate_sweep
from core.training.sweep_run import SweepRun, keep_live, split
from core.workspace.model import SweepRecord
from ui import resources
from ui.state import bind, saved_plans, store, token, tr, visitor
from ui.train_panels import render_data_picker
from ui.widgets import guarded

SOURCES = ("saved", "targets", "ranks")
RANKS = (2, 4, 8, 16, 32, 64)
LADDER_PRESETS = tuple(p for p in PRESETS if p not in ("custom", "regex"))
TASKS = ("causal-lm", "seq-cls")


def pick_model() -> tuple[ModelSpec, str]:
    names = list(EMBEDDED)
    bind("sweep.model", names[0], names)
    c1, c2 = st.columns([3, 2])
    choice = c1.selectbox(tr("trainpage.model"), names, key="sweep.model", format_func=lambda n: EMBEDDED[n].display_name)
    bind(f"sweep.task.{choice}", "seq-cls" if choice == "minilm" else "causal-lm", TASKS)
    task = c2.selectbox(tr("trainpage.task"), TASKS, key=f"sweep.task.{choice}",
                        format_func=lambda x: tr(f"trainpage.task_{x}"))  # fmt: skip
    return ModelSpec("embedded", choice, task), task


def _saved(spec: ModelSpec, task: str) -> tuple[SweepPlan, ...]:
    mine = {p.name: p for p in saved_plans() if p.model.ref == spec.ref}
    if len(mine) < 2:
        st.info(tr("sweeppage.no_saved"))
        return ()
    names = list(mine)
    st.session_state["sweep.saved"] = [n for n in st.session_state.get("sweep.saved", names[:4]) if n in mine]
    picked = st.multiselect(tr("sweeppage.pick_saved"), names, key="sweep.saved", max_selections=MAX_PLANS)
    return tuple(SweepPlan(n, mine[n].plan.with_changes(task=task)) for n in picked)


def pick_plans(spec: ModelSpec, task: str, num_labels: int) -> tuple[SweepPlan, ...]:
    bind("sweep.source", "targets", SOURCES)
    source = st.radio(tr("sweeppage.source"), SOURCES, key="sweep.source", horizontal=True,
                      format_func=lambda s: tr(f"sweeppage.source_{s}"))  # fmt: skip
    if source == "saved":
        return _saved(spec, task)
    c1, c2 = st.columns(2)
    bind("sweep.r", DEFAULT_R, RANKS)
    r = c1.selectbox(tr("sweeppage.r"), RANKS, key="sweep.r", disabled=source == "ranks")
    bind("sweep.preset", "all-linear", LADDER_PRESETS)
    preset = c2.selectbox(tr("sweeppage.preset"), LADDER_PRESETS, key="sweep.preset", disabled=source == "targets",
                          format_func=lambda p: tr(f"configure.preset_{p}"))  # fmt: skip
    inv = guarded(lambda: resources.inventory(ModelSpec(spec.source, spec.ref, task, num_labels), token()))
    if inv is None:
        return ()
    return guarded(lambda: ladder(inv, source, task, int(r), preset)) or ()


def edit_learning_rates(plans: tuple[SweepPlan, ...]) -> tuple[SweepPlan, ...]:
    """The plans as a table; only the learning rate column is editable (0 keeps the sweep's)."""
    if not plans:
        return plans
    frame = pd.DataFrame({
        tr("sweeppage.col_name"): [p.name for p in plans],
        tr("sweeppage.col_targets"): [p.plan.target_regex or ", ".join(p.plan.targets) for p in plans],
        "r": [p.plan.r for p in plans],
        tr("sweeppage.col_lr"): [0.0 for _ in plans],
    })  # fmt: skip
    st.caption(tr("sweeppage.plans_table"))
    edited = st.data_editor(frame, key="sweep.lr_table." + "|".join(p.name for p in plans), hide_index=True,
                            disabled=list(frame.columns[:3]), width="stretch")  # fmt: skip
    lrs = edited[tr("sweeppage.col_lr")].tolist()
    return tuple(SweepPlan(p.name, p.plan, float(lr) or None) for p, lr in zip(plans, lrs, strict=True))


def settings_form(task: str) -> tuple[TrainSettings, tuple[int, ...]]:
    d = sweep_settings(task)
    for key, value in {f"sweep.steps.{task}": d.max_steps, f"sweep.batch.{task}": d.batch_size, "sweep.lr": 0.0,
                       "sweep.seeds": 1}.items():  # fmt: skip
        bind(key, value)
    c = st.columns(4)
    steps = c[0].number_input(tr("trainpage.steps"), 1, 100_000, key=f"sweep.steps.{task}")
    batch = c[1].number_input(tr("trainpage.batch"), 1, 1024, key=f"sweep.batch.{task}")
    lr = c[2].number_input(tr("trainpage.lr"), 0.0, 1.0, format="%.2e", key="sweep.lr", help=tr("trainpage.lr_help"))
    seeds = c[3].number_input(tr("sweeppage.seeds"), 1, MAX_SEEDS, key="sweep.seeds", help=tr("sweeppage.seeds_help"))
    settings = sweep_settings(task, max_steps=int(steps), batch_size=int(batch), learning_rate=float(lr) or None)
    return settings, tuple(range(1, int(seeds) + 1))


def start(sweep: Sweep, data: TextDataset, val: TextDataset | None = None) -> SweepRecord:
    """Record the sweep with the rows it trains on (split once: a re-run gets the very same) in the workspace, then
    queue its plans; results land in the record as plans end."""
    validate_sweep(sweep)
    ws, owner = store(), visitor()
    train, val = split(sweep, data, val)
    record = ws.add_sweep(owner, sweep, train, val)

    def on_result(result, _trained) -> None:
        ws.update_sweep(owner, record.number, result=result)

    run = SweepRun(sweep, train, val, Path(record.folder), on_result=on_result)
    try:
        run.submit(job_manager(), owner)
    except BaseException:
        ws.delete_sweep(owner, record.number)
        raise
    keep_live(owner, record.number, run)
    return record


def render_setup(busy: bool) -> SweepRecord | None:
    spec, task = pick_model()
    data = render_data_picker(task, page="sweep")
    if data is None:
        return None
    num_labels = max(len(data.labels()), 2) if task == "seq-cls" else 2
    spec = ModelSpec(spec.source, spec.ref, task, num_labels)
    plans = edit_learning_rates(pick_plans(spec, task, num_labels))
    settings, seeds = settings_form(task)
    if st.button(tr("sweeppage.start"), type="primary", key="sweep.start", disabled=busy or len(plans) < 2):
        return guarded(lambda: start(Sweep(spec, data.name, plans, settings, seeds), data))
    return None
