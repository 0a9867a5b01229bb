"""The Sweep page's views: the live sweep, its results (charts, table, CSV, adapters) and how to read them."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import streamlit as st

from core.adapters.export import adapter_zip
from core.charts import sweep as charts
from core.errors import LensError
from core.training.loader import weights_source
from core.training.sweep import PlanResult, PlanSummary, summarize
from core.training.sweep_run import SweepRun, live_sweep
from core.workspace.model import SweepRecord
from ui.state import lang, store, tr, visitor
from ui.widgets import guarded


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "…"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


def sweep_eta(run: SweepRun, current_eta: float | None, current_elapsed: float, running: int = 1) -> float | None:
    """What is left of the whole sweep: the running plan's ETA plus, for the plans still queued, the mean time of
    the finished ones (else the running plan's projected total) a round, ``run.lanes`` plans a round."""
    left = len(run.job_ids) - len(run.results) - max(1, running)
    done = [r.seconds for r in run.results]
    if current_eta is None and not done:
        return None
    per_plan = sum(done) / len(done) if done else current_elapsed + (current_eta or 0.0)
    rounds = -(-max(0, left) // max(1, run.lanes))
    return (current_eta or 0.0) + rounds * per_plan


def _running_results(run: SweepRun) -> tuple[list[PlanResult], float | None, float, int] | None:
    """The plans training now (one a lane) with their curves so far, the first one's ETA, elapsed time and index."""
    every = run.running_all()
    if not every:
        return None
    snaps = [run.manager.get(run.owner, job_id).snapshot for _, _, job_id in every]
    live = [PlanResult(i.name, s, "running", losses=snap.losses) for (i, s, _), snap in zip(every, snaps, strict=True)]
    return live, snaps[0].eta_s, snaps[0].elapsed_s, run.job_ids.index(every[0][2])


@st.fragment(run_every=1.0)
def live(number: int) -> None:
    """Which plan trains now, its loss over the finished ones', the ETA of the whole sweep; Stop keeps what finished."""
    run = live_sweep(visitor(), number)
    if run is None:
        return
    current = _running_results(run)
    if current is None and not run.finished:
        st.info(tr("sweeppage.waiting"))
    if current is not None:
        live_results, eta, elapsed, index = current
        several = len(run.sweep.seeds) > 1
        names = " + ".join(f"{r.name} ({r.seed})" if several else r.name for r in live_results)
        text = tr("sweeppage.running", name=names, seed=live_results[0].seed, i=index + 1, n=len(run.job_ids),
                  eta=_eta(sweep_eta(run, eta, elapsed, len(live_results))))  # fmt: skip
        st.progress(len(run.results) / len(run.job_ids), text=text)
        if run.lanes > 1:
            st.caption(tr("sweeppage.side_by_side", n=run.lanes))
        fig = charts.curves_figure(list(run.results), live_results, lang())
        st.plotly_chart(fig, width="stretch", key="sweep.live.curves")
    if not run.finished:
        if st.button(tr("sweeppage.stop"), key="sweep.stop"):
            run.stop()
    else:
        finish(number, run)
        st.rerun(scope="app")


def finish(number: int, run: SweepRun) -> None:
    """A finished sweep's status in the workspace: done when every run trained to the end, else stopped."""
    stopped = len(run.results) < len(run.job_ids) or any(r.status == "stopped" for r in run.results)
    guarded(lambda: store().update_sweep(visitor(), number, status="stopped" if stopped else "done"))


def summary_frame(rows: list[PlanSummary]) -> pd.DataFrame:
    return pd.DataFrame({
        tr("sweeppage.col_name"): [r.name for r in rows],
        tr("sweeppage.col_params"): [r.trainable_params for r in rows],
        tr("sweeppage.col_quality"): [round(r.quality, 4) for r in rows],
        tr("sweeppage.col_spread"): [round(r.spread, 4) for r in rows],
        tr("sweeppage.col_seconds"): [round(r.seconds, 1) for r in rows],
        tr("sweeppage.col_tps"): [round(r.tokens_per_second or 0.0, 1) for r in rows],
        tr("sweeppage.col_mem"): [round((r.peak_memory_bytes or 0) / 2**20, 1) for r in rows],
        tr("sweeppage.col_frontier"): [r.on_frontier for r in rows],
    })  # fmt: skip


def render_results(record: SweepRecord) -> None:
    task = record.sweep.task
    rows = summarize(list(record.results), task)
    for r in record.results:
        if r.status == "failed" and r.error_key:
            reason = LensError(r.error_key, **r.error_params).message(lang())
            st.error(tr("sweeppage.failed_plan", name=r.name, seed=r.seed, reason=reason), icon="⚠️")
    if not rows:
        return
    c1, c2 = st.columns([3, 2])
    c1.plotly_chart(charts.quality_figure(rows, task, lang()), width="stretch", key=f"sweep.quality.{record.number}")
    c2.plotly_chart(charts.curves_figure(list(record.results), None, lang()), width="stretch",
                    key=f"sweep.curves.{record.number}")  # fmt: skip
    st.plotly_chart(charts.cost_figure(rows, lang()), width="stretch", key=f"sweep.cost.{record.number}")
    kinds = {r.memory_kind for r in record.results if r.memory_kind}
    notes = [tr("sweeppage.memory_note", kind=tr(f"sweeppage.mem.{k}")) for k in sorted(kinds)]
    side = max((r.side_by_side for r in record.results), default=1)
    st.caption(" ".join(notes + ([tr("sweeppage.side_by_side", n=side)] if side > 1 else [])))
    frame = summary_frame(rows)
    st.dataframe(frame, hide_index=True, width="stretch", key=f"sweep.table.{record.number}")
    st.download_button(tr("sweeppage.csv"), frame.to_csv(index=False).encode("utf-8"),
                       f"lora-sweep-{record.number}.csv", "text/csv", key=f"sweep.csv.{record.number}")  # fmt: skip
    render_adapters(record)
    render_reading(rows)


def render_adapters(record: SweepRecord) -> None:
    st.markdown(f"##### {tr('sweeppage.adapters')}")
    source = guarded(lambda: weights_source(record.sweep.model), show=False)
    cols = st.columns(3)
    for i, r in enumerate(x for x in record.results if x.ok):
        folder = Path(r.adapter_dir or "")
        if not (folder / "adapter_config.json").is_file():
            continue
        job = SimpleNamespace(result=SimpleNamespace(adapter_dir=folder, source=source or SimpleNamespace(
            public_ref=record.sweep.model.ref)))  # fmt: skip
        data = guarded(lambda job=job: adapter_zip(job))
        if data:
            cols[i % 3].download_button(tr("sweeppage.download", name=r.name, seed=r.seed), data,
                                        f"lora-sweep{record.number}-{folder.parent.name}.zip", "application/zip",
                                        key=f"sweep.dl.{record.number}.{i}")  # fmt: skip


def render_reading(rows: list[PlanSummary]) -> None:
    c1, c2 = st.columns(2)
    with c1.expander(tr("sweeppage.how_title"), expanded=True):
        st.markdown(tr("sweeppage.how"))
    with c2.expander(tr("sweeppage.lit_title"), expanded=True):
        st.markdown(tr("sweeppage.lit"))
        st.markdown(tr("sweeppage.yours", front=", ".join(r.name for r in rows if r.on_frontier) or "-"))
