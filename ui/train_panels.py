"""Renderers for the Train page: data picker, live progress, playground, downloads."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.charts import train as charts
from core.data.bundled import BUNDLED, bundled_for, load_bundled
from core.data.dataset import TextDataset
from core.data.splits import train_val_split
from core.training.run_state import RunSnapshot, smoothed
from ui.state import bind, lang, tr
from ui.widgets import guarded

UPLOAD, HUB = "__upload__", "__hub__"


def render_data_picker(task: str, page: str = "train") -> TextDataset | None:
    """The dataset picker; ``page`` prefixes its widget keys, so each page keeps its own choice."""
    names = [*bundled_for(task), UPLOAD, HUB]
    labels = {UPLOAD: tr("trainpage.data_upload"), HUB: tr("trainpage.data_hub")}
    bind(f"{page}.data.{task}", names[0], names)
    choice = st.selectbox(tr("trainpage.data"), names, key=f"{page}.data.{task}",
                          format_func=lambda n: labels.get(n) or BUNDLED[n].display_name(lang()))
    if choice == UPLOAD:
        return _uploaded(task, page)
    if choice == HUB:
        return _hub(task, page)
    return guarded(lambda: _bundled(choice, task))


@st.cache_data(max_entries=8, show_spinner=False)
def _bundled(name: str, task: str) -> TextDataset:
    return load_bundled(name, task)


def _uploaded(task: str, page: str) -> TextDataset | None:
    from core.data.upload import parse_upload

    upload = st.file_uploader(tr("trainpage.upload"), type=["csv", "json", "jsonl"], key=f"{page}.upload")
    if upload is None:
        return None
    frame = guarded(lambda: parse_upload(upload.name, upload.getvalue()))
    return _map_columns(frame, task, "upload", page) if frame is not None else None


def _hub(task: str, page: str) -> TextDataset | None:
    from ui.state import token

    bind(f"{page}.hub_data", "")
    bind(f"{page}.hub_split", "train")
    c1, c2 = st.columns([3, 1])
    repo = c1.text_input(tr("trainpage.data_hub"), key=f"{page}.hub_data", placeholder="owner/name")
    split = c2.text_input(tr("trainpage.data_hub_split"), key=f"{page}.hub_split")
    if not repo.strip():
        return None
    frame = guarded(lambda: _hub_rows(repo.strip(), split.strip(), token()))
    return _map_columns(frame, task, repo.strip(), page) if frame is not None else None


@st.cache_data(max_entries=8, ttl=600, show_spinner=True)
def _hub_rows(repo: str, split: str, token: str | None) -> pd.DataFrame:
    """Streamed once per id, split and token (part of the key: a gated set's rows never reach a visitor without
    access), not on every rerun."""
    from core.data.hub import load_hub_dataset

    return load_hub_dataset(repo, split, token=token)


def _map_columns(frame: pd.DataFrame, task: str, name: str, page: str) -> TextDataset | None:
    from core.data.upload import dataset_from_frame

    cols = list(frame.columns)
    c1, c2 = st.columns(2)
    text_col = c1.selectbox(tr("trainpage.text_col"), cols, key=f"{page}.text_col")
    target_col = c2.selectbox(tr("trainpage.target_col"), cols, index=min(1, len(cols) - 1), key=f"{page}.target_col")
    ds = guarded(lambda: dataset_from_frame(frame, task, text_col, target_col, name))
    if ds is not None and ds.dropped:
        st.caption(tr("data.rows_dropped", dropped=ds.dropped))
    return ds


def render_preview(ds: TextDataset, val_fraction: float, seed: int) -> tuple[TextDataset, TextDataset] | None:
    parts = guarded(lambda: train_val_split(ds, val_fraction, seed))
    if parts is None:
        return None
    train, val = parts
    with st.expander(tr("trainpage.preview", n=len(ds), train=len(train), val=len(val))):
        rows = [{"text": e.text[:200], "response": (e.response or "")[:200], "label": e.label or ""} for e in ds.examples[:20]]
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    return train, val


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "…"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


def render_snapshot(snap: RunSnapshot, queue_pos: int | None, key: str) -> None:
    if snap.status == "queued":
        st.info(tr("trainpage.queued", n=queue_pos or 1))
    text = tr("trainpage.running", step=snap.step, total=snap.total_steps or "?", eta=_eta(snap.eta_s))
    st.progress(snap.progress, text=text)
    m1, m2, m3, m4 = st.columns(4)
    last = snap.losses[-1] if snap.losses else {}
    m1.metric(tr("trainpage.loss"), f"{last['loss']:.4f}" if last else "-")
    m2.metric(tr("trainpage.lr_now"), f"{last['lr']:.2e}" if last else "-")
    m3.metric(tr("trainpage.tokens_s"), f"{snap.tokens_per_s:,.0f}" if snap.tokens_per_s else "-")
    m4.metric(tr("trainpage.gpu_mem"), f"{snap.gpu_mem_bytes / 2**30:.2f} GiB" if snap.gpu_mem_bytes else "-")
    steps, losses = [p["step"] for p in snap.losses], [p["loss"] for p in snap.losses]
    fig = charts.loss_figure(steps, losses, smoothed(losses), [p["step"] for p in snap.evals],
                             [p["eval_loss"] for p in snap.evals], snap.total_steps, lang())
    st.plotly_chart(fig, width="stretch", key=f"{key}.loss")
    if snap.status == "done":
        st.success(tr("trainpage.done", steps=snap.step, secs=snap.elapsed_s))
    elif snap.status == "stopped":
        st.warning(tr("trainpage.stopped", steps=snap.step))
    elif snap.status == "failed" and snap.error_key:
        st.error(tr(snap.error_key, **snap.error_params), icon="⚠️")
    if snap.metrics:
        st.markdown(f"##### {tr('trainpage.metrics')}")
        cols = st.columns(len(snap.metrics))
        for col, (name, value) in zip(cols, snap.metrics.items(), strict=True):
            col.metric(tr(f"trainpage.metric.{name}"), f"{value:.4f}")
