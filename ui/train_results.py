"""After a run: playground (base vs adapted) and every way to take the adapter away."""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from core.adapters.export import MAX_MERGE_PARAMS, adapter_zip, merged_model_zip, push_to_hub, training_bundle_zip
from core.charts.train import label_probability_figure
from core.training.playground import classify_side_by_side, generate_side_by_side
from ui.state import lang, tr
from ui.widgets import guarded

HANGUL = re.compile(r"[\uac00-\ud7a3]")


def render_results(job) -> None:
    result = job.result
    if result is None or result.adapter_dir is None:
        return
    render_playground(job, result.task)
    render_downloads(job)


def render_playground(job, task: str) -> None:
    st.markdown(f"#### {tr('trainpage.try')}")
    default = "안녕하세요! 오늘 기분이 어때요?" if _mostly_korean(job.train) else "What is your favourite food?"
    with st.form(f"train.try.{job.id}"):
        text = st.text_area(tr("trainpage.prompt"), value=default if task == "causal-lm" else "A moving, funny film.",
                            max_chars=2000, key=f"train.prompt.{job.id}")
        go = st.form_submit_button(tr("trainpage.run_try"))
    if not go:
        return
    if task == "causal-lm":
        out = guarded(lambda: generate_side_by_side(job, text))
        if out:
            c1, c2 = st.columns(2)
            for col, name, text in ((c1, tr("trainpage.base"), out[0]), (c2, tr("trainpage.adapted"), out[1])):
                col.markdown(f"**{name}**")
                col.code(text or " ", language=None, wrap_lines=True)  # verbatim: model output is not markdown
    else:
        scores = guarded(lambda: classify_side_by_side(job, text))
        if scores:
            render_label_scores(scores)


def render_label_scores(scores) -> None:
    """Each model's predicted label with its probability, and every class's probability side by side."""
    base, adapted = tr("trainpage.base"), tr("trainpage.adapted")
    c1, c2 = st.columns(2)
    for col, name, attr in ((c1, base, "base"), (c2, adapted, "adapted")):
        top = max(scores, key=lambda s: getattr(s, attr))
        col.metric(tr("trainpage.predicted", model=name), f"{top.label} · {getattr(top, attr):.2%}")
    fig = label_probability_figure([s.label for s in scores], [s.base for s in scores], [s.adapted for s in scores],
                                   lang())
    st.plotly_chart(fig, width="stretch")
    frame = pd.DataFrame([{tr("trainpage.label"): s.label, base: s.base, adapted: s.adapted} for s in scores])
    st.dataframe(frame, hide_index=True, width="stretch",
                 column_config={name: st.column_config.NumberColumn(format="%.4f") for name in (base, adapted)})


def _mostly_korean(ds) -> bool:
    """Greet in the language the adapter was trained on (the first rows decide)."""
    rows = [ex.text for ex in ds.examples[:50]]
    return sum(bool(HANGUL.search(text)) for text in rows) * 2 > len(rows)


def _cached(job, kind: str, make) -> bytes | None:
    key = f"train.dl.{kind}.{job.id}"
    if key not in st.session_state:
        data = guarded(make)
        if data is None:
            return None
        st.session_state[key] = data
    return st.session_state[key]


def render_downloads(job) -> None:
    st.markdown(f"#### {tr('trainpage.take')}")
    c1, c2, c3 = st.columns(3)
    data = _cached(job, "adapter", lambda: adapter_zip(job))
    if data:
        c1.download_button(tr("trainpage.dl_adapter"), data, f"lora-adapter-{job.id[:8]}.zip", "application/zip",
                           key=f"train.dl_adapter.{job.id}", type="primary")
    bundle = _cached(job, "script", lambda: training_bundle_zip(job))
    if bundle:
        c2.download_button(tr("trainpage.dl_script"), bundle, f"lora-train-{job.id[:8]}.zip", "application/zip",
                           key=f"train.dl_script.{job.id}")
    render_merged_download(c3, job)
    with st.expander(tr("trainpage.push")):
        with st.form(f"train.push.{job.id}", clear_on_submit=True):
            repo = st.text_input(tr("trainpage.repo"))
            tok = st.text_input(tr("trainpage.token"), type="password")
            private = st.checkbox(tr("trainpage.private"), value=True)
            if st.form_submit_button(tr("trainpage.push")):
                url = guarded(lambda: push_to_hub(job, repo.strip(), tok or _env_token(), private=private))
                if url:
                    st.success(tr("trainpage.pushed", url=url))


def render_merged_download(col, job) -> None:
    """One click: the merge runs when the button is clicked (Streamlit's deferred download), so nothing is
    merged for a visitor who never asks and there is no second 'download' button to find."""
    params = job.result.base_params
    if params > MAX_MERGE_PARAMS:
        col.caption(tr("train.merge_too_big", params=params, limit=MAX_MERGE_PARAMS))
        return
    col.download_button(tr("trainpage.dl_merged"), lambda: merged_model_zip(job), f"merged-{job.id[:8]}.zip",
                        "application/zip", key=f"train.dl_merged.{job.id}", on_click="ignore")


def _env_token() -> str:
    import os

    return os.environ.get("HF_TOKEN", "")
