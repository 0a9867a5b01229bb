"""Sweep: train several plans on the same data and chart measured quality against exact cost."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from core.training.sweep_run import SweepRun, forget_live, interrupted, live_sweep
from core.workspace.sweep_data import can_rerun
from ui.state import store, tr, visitor
from ui.sweep_panels import finish, live, render_results
from ui.sweep_setup import render_setup, start
from ui.widgets import guarded


def _running(number: int) -> SweepRun | None:
    run = live_sweep(visitor(), number)
    return run if run is not None and not run.finished else None


def _settle() -> None:
    """A sweep that ended while no page watched it gets its final status; one the server lost mid-way (a restart)
    is interrupted, with the results it had."""
    for record in store().sweeps(visitor()):
        run = live_sweep(visitor(), record.number)
        if record.status == "running" and run is not None and run.finished:
            finish(record.number, run)
        elif interrupted(visitor(), record.number, record.status, record.created):
            guarded(lambda n=record.number: store().update_sweep(visitor(), n, status="interrupted"))


def _status(status: str) -> str:
    return tr("sweeppage.status_interrupted") if status == "interrupted" else tr(f"train.status.{status}")


def render_history() -> None:
    _settle()
    records = {r.number: r for r in store().sweeps(visitor())}
    if not records:
        return
    st.divider()
    st.markdown(f"#### {tr('sweeppage.history')}")
    numbers = list(records)
    if st.session_state.get("sweep.pick") not in records:
        st.session_state["sweep.pick"] = numbers[-1]
    label = {n: tr("sweeppage.label", n=n, model=r.sweep.model.ref, data=r.sweep.data_name, plans=len(r.sweep.plans),
                   status=_status(r.status)) for n, r in records.items()}  # fmt: skip
    number = st.selectbox(tr("sweeppage.pick"), numbers, key="sweep.pick", format_func=label.get)
    record = records[number]
    if _running(number) is not None:
        live(number)
    if record.status == "interrupted":
        st.warning(tr("sweeppage.interrupted", done=sum(r.ok for r in record.results), n=len(record.sweep.runs())))
    render_results(record)
    c1, c2 = st.columns(2)
    busy = any(_running(n) is not None for n in records)
    kept = can_rerun(Path(record.folder), record.sweep.data_name)
    if c1.button(tr("sweeppage.rerun"), key="sweep.rerun", disabled=busy or not kept):
        data = guarded(lambda: store().sweep_data(visitor(), number))
        if data is not None and guarded(lambda: start(record.sweep, *data)):
            st.session_state.pop("sweep.pick", None)
            st.rerun()
    if not kept:
        c1.caption(tr("sweep.data_gone"))
    if c2.button(tr("sweeppage.delete"), key="sweep.delete", disabled=_running(number) is not None):
        forget_live(visitor(), number)
        guarded(lambda: store().delete_sweep(visitor(), number))
        st.session_state.pop("sweep.pick", None)
        st.rerun()


def main() -> None:
    st.title(tr("sweeppage.title"))
    st.caption(tr("sweeppage.intro"))
    busy = any(_running(r.number) is not None for r in store().sweeps(visitor()))
    if render_setup(busy) is not None:
        st.session_state.pop("sweep.pick", None)
        st.rerun()
    render_history()


main()
