"""Inspect: pick a model and see every module LoRA can adapt."""

from __future__ import annotations

import streamlit as st

from core.charts.tables import groups_frame, layers_frame, params_by_block_figure
from core.models.catalog import list_catalog
from core.models.embedded import EMBEDDED
from core.models.spec import TASKS, ModelSpec
from ui import resources
from ui.state import keep_widget_values, lang, model_spec, set_model_spec, tr
from ui.widgets import count, guarded

SOURCES = ("embedded", "catalog", "hub", "local")


def render_picker() -> None:
    current = model_spec()
    with st.form("inspect.form", border=True):
        source = st.radio(
            tr("inspect.source"),
            SOURCES,
            index=SOURCES.index(current.source),
            format_func=lambda s: tr(f"inspect.src_{s}"),
            horizontal=True,
            key="inspect.source",
        )
        c1, c2 = st.columns([3, 1])
        with c1:
            ref = _render_ref_input(source, current)
        with c2:
            task = st.selectbox(
                tr("inspect.task"),
                ("auto", *TASKS),
                index=("auto", *TASKS).index(current.task) if current.task in TASKS else 0,
                format_func=lambda x: tr("inspect.task_auto") if x == "auto" else x,
                key="inspect.task",
            )
        submitted = st.form_submit_button(tr("inspect.load"), type="primary")
    if submitted:
        if not ref or not str(ref).strip():
            st.error(tr("inspect.empty_input"))
            return
        set_model_spec(ModelSpec(source, str(ref).strip(), None if task == "auto" else task))


def _render_ref_input(source: str, current: ModelSpec) -> str | None:
    if source == "embedded":
        names = list(EMBEDDED)
        index = names.index(current.ref) if current.source == "embedded" and current.ref in names else 0
        return st.selectbox(
            tr("inspect.pick_catalog"), names, index=index, format_func=lambda n: EMBEDDED[n].display_name,
            key="inspect.embedded",
        )
    if source == "catalog":
        entries = list_catalog()
        slugs = [e.slug for e in entries]
        index = slugs.index(current.ref) if current.source == "catalog" and current.ref in slugs else 0
        names = {e.slug: f"{e.name} · {e.hub_id}" for e in entries}
        return st.selectbox(tr("inspect.pick_catalog"), slugs, index=index, format_func=names.get, key="inspect.catalog")
    if source == "hub":
        st.text_input(tr("inspect.token"), type="password", key="app.hub_token")
        return st.text_input(tr("inspect.hub_id"), value=current.ref if current.source == "hub" else "", key="inspect.hub")
    return st.text_input(tr("inspect.local_path"), value=current.ref if current.source == "local" else "", key="inspect.local")


def render_inventory(spec: ModelSpec) -> None:
    from ui.state import token

    with st.spinner(tr("inspect.loading")):
        mc = guarded(lambda: resources.model_config(spec, token()))
        inv = guarded(lambda: resources.inventory(spec, token())) if mc else None
    if mc is None or inv is None:
        return
    st.subheader(f"{mc.display_name} · `{mc.task}`")
    _render_note(spec)
    m1, m2, m3, m4 = st.columns(4)
    m1.metric(tr("inspect.total_params"), count(inv.total_params), help=f"{inv.total_params:,}")
    m2.metric(tr("inspect.blocks"), inv.num_blocks)
    m3.metric(tr("inspect.hidden"), inv.hidden_size or "-")
    m4.metric(tr("inspect.adaptable"), f"{len(inv.layers):,}")
    st.markdown(f"#### {tr('inspect.groups')}")
    st.dataframe(groups_frame(inv, lang()), hide_index=True, width="stretch")
    st.markdown(f"#### {tr('inspect.where')}")
    st.plotly_chart(params_by_block_figure(inv, lang()), width="stretch", key="inspect.chart")
    frame = layers_frame(inv)
    with st.expander(tr("inspect.all_layers", n=f"{len(frame):,}")):
        st.dataframe(frame, hide_index=True, width="stretch", height=360)
    st.download_button(
        tr("inspect.download_csv"),
        frame.to_csv(index=False).encode("utf-8"),
        file_name=f"{spec.ref.replace('/', '_')}-layers.csv",
        mime="text/csv",
        key="inspect.csv",
    )


def _render_note(spec: ModelSpec) -> None:
    if spec.source != "catalog":
        return
    from core.models.catalog import find_entry

    entry = find_entry(spec.ref)
    if entry:
        st.caption(entry.note_ko if lang() == "ko" else entry.note_en)


keep_widget_values()
st.title(tr("inspect.title"))
st.caption(tr("inspect.intro"))
render_picker()
render_inventory(model_spec())
