"""Analyze: t-SNE/PCA of embeddings before and after, and the anatomy of each ΔW."""

from __future__ import annotations

import streamlit as st

from core.adapters.load import load_adapter, read_adapter_zip
from core.analysis.snippet import own_data
from core.training.playground import finished_result
from ui.analyze_panels import dataset_for, render_delta, render_embeddings
from ui.runs import visitor_runs
from ui.state import bind, tr
from ui.widgets import guarded

SOURCES = ("job", "upload")


def from_job():
    runs = [run for run in visitor_runs() if run.job is not None and run.job.snapshot.finished
            and run.job.result is not None]
    if not runs:
        st.info(tr("analyzepage.no_job"))
        return None
    by_id = {run.record.job_id: run for run in runs}
    ids = list(by_id)
    if st.session_state.get("analyze.job") not in by_id:
        st.session_state["analyze.job"] = ids[-1]
    job_id = st.selectbox(tr("trainpage.pick_run"), ids, format_func=lambda i: by_id[i].label, key="analyze.job")
    job = by_id[job_id].job
    with st.spinner(tr("analyzepage.loading")):
        result = guarded(lambda: finished_result(job))  # reloads the adapter from its folder when needed
    if result is None:
        return None
    own = own_data(job.train, job.val)  # the same texts the adapter zip's analysis_sample.jsonl holds
    return result.model, result.tokenizer, result.task, own, f"job:{job.id}"


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
        loaded.bundle.cleanup()  # its weights are in memory now: the unpacked upload leaves the disk at once
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
    render_delta(model, task, key="analyze.delta")
    ds = dataset_for(task, own, key="analyze.emb")
    if ds is not None:
        render_embeddings(model, tokenizer, ds, model_id, task, key="analyze.emb")


main()
