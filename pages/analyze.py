"""Analyze: t-SNE/PCA of embeddings before and after, and the anatomy of each ΔW."""

from __future__ import annotations

import streamlit as st

from core.adapters.load import load_adapter, read_adapter_zip
from core.training.jobs import job_manager
from ui.analyze_panels import dataset_for, render_delta, render_embeddings
from ui.state import bind, tr, visitor
from ui.widgets import guarded

SOURCES = ("job", "upload")


def from_job():
    jobs = [j for j in job_manager().jobs_of(visitor()) if j.snapshot.finished and j.result is not None
            and j.result.model is not None]
    if not jobs:
        st.info(tr("analyzepage.no_job"))
        return None
    labels = {j.id: f"{j.spec.ref} · {j.train.name} · {j.snapshot.step} steps" for j in jobs}
    job_id = st.selectbox(tr("trainpage.pick_run"), list(labels), index=len(labels) - 1, format_func=labels.get,
                          key="analyze.job")
    job = next(j for j in jobs if j.id == job_id)
    own = job.val if job.val is not None and len(job.val) >= 10 else job.train
    return job.result.model, job.result.tokenizer, job.result.task, own, f"job:{job.id}"


def from_upload():
    upload = st.file_uploader(tr("analyzepage.upload"), type=["zip"], key="analyze.upload")
    if upload is None:
        return None
    cache = st.session_state.setdefault("analyze.loaded", {})
    if upload.file_id not in cache:
        with st.spinner(tr("analyzepage.loading")):
            loaded = guarded(lambda: load_adapter(read_adapter_zip(upload.getvalue())))
        if loaded is None:
            return None
        cache.clear()  # one uploaded adapter in memory per visitor
        cache[upload.file_id] = loaded
    loaded = cache[upload.file_id]
    st.success(tr("analyzepage.loaded", base=loaded.base_name, task=loaded.bundle.task))
    return loaded.model, loaded.tokenizer, loaded.bundle.task, None, f"upload:{upload.file_id}"


def main() -> None:
    st.title(tr("analyzepage.title"))
    st.caption(tr("analyzepage.intro"))
    bind("analyze.source", SOURCES[0], SOURCES)
    source = st.radio(tr("analyzepage.source"), SOURCES, horizontal=True, key="analyze.source",
                      format_func=lambda s: tr(f"analyzepage.src_{s}"))
    picked = from_job() if source == "job" else from_upload()
    if picked is None:
        return
    model, tokenizer, task, own, model_id = picked
    render_delta(model, key="analyze.delta")
    ds = dataset_for(task, own, key="analyze.emb")
    if ds is not None:
        render_embeddings(model, tokenizer, ds, model_id, key="analyze.emb")


main()
