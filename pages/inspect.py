"""Inspect: pick a model and see every module LoRA can adapt."""

from __future__ import annotations

import streamlit as st

from core.charts.tables import display_columns, groups_frame, layers_frame, params_by_block_figure, towers_frame
from core.limits import hosted
from core.models.catalog import list_catalog
from core.models.embedded import EMBEDDED
from core.models.spec import TASKS, ModelSpec
from ui import resources
from ui.state import bind, lang, model_spec, set_model_spec, tr
from ui.widgets import count, exact, guarded, number_columns


def sources() -> tuple[str, ...]:
    """A hosted Space offers no local folder: a visitor must not probe the server's disk."""
    return ("embedded", "catalog", "hub") if hosted() else ("embedded", "catalog", "hub", "local")


def render_picker() -> None:
    current = model_spec()
    offered = sources()
    # The source sits outside the form: picking one shows its own input at once (one submit loads what is shown).
    source = bind("inspect.source", current.source if current.source in offered else offered[0], offered)
    st.radio(tr("inspect.source"), offered, format_func=lambda s: tr(f"inspect.src_{s}"), horizontal=True,
             key="inspect.source")
    if source == "hub":
        st.text_input(tr("inspect.token"), type="password", key="app.hub_token")
    with st.form("inspect.form", border=True):
        c1, c2 = st.columns([3, 1])
        with c1:
            ref = _render_ref_input(source, current)
        with c2:
            bind("inspect.task", current.task if current.task in TASKS else "auto", ("auto", *TASKS))
            task = st.selectbox(tr("inspect.task"), ("auto", *TASKS), key="inspect.task",
                                format_func=lambda x: tr("inspect.task_auto") if x == "auto" else x)
        submitted = st.form_submit_button(tr("inspect.load"), type="primary")
    if submitted:
        if not ref or not str(ref).strip():
            st.error(tr("inspect.empty_input"))
            return
        set_model_spec(_offline_catalog_match(ModelSpec(source, str(ref).strip(), None if task == "auto" else task)))


def _offline_catalog_match(spec: ModelSpec) -> ModelSpec:
    """Offline, a Hub id the catalog holds (meta-llama/Llama-3.1-8B) is read from the catalog's copy of its
    config.json, as the CLI does (``guess_spec``)."""
    from core.models.hub import hub_offline
    from core.models.sources import guess_spec

    if spec.source != "hub" or not hub_offline():
        return spec
    guessed = guess_spec(spec.ref, spec.task)
    if guessed.source != "catalog":
        return spec
    st.session_state["inspect.catalog_match"] = spec.ref
    return guessed


def _render_ref_input(source: str, current: ModelSpec) -> str | None:
    mine = current.ref if current.source == source else None
    if source == "embedded":
        names = list(EMBEDDED)
        bind("inspect.embedded", mine if mine in names else names[0], names)
        return st.selectbox(tr("inspect.pick_catalog"), names, format_func=lambda n: EMBEDDED[n].display_name,
                            key="inspect.embedded")
    if source == "catalog":
        entries = list_catalog()
        slugs = [e.slug for e in entries]
        bind("inspect.catalog", mine if mine in slugs else slugs[0], slugs)
        names = {e.slug: f"{e.name} · {e.hub_id}" for e in entries}
        return st.selectbox(tr("inspect.pick_catalog"), slugs, format_func=names.get, key="inspect.catalog")
    key, label = ("inspect.hub", "inspect.hub_id") if source == "hub" else ("inspect.local", "inspect.local_path")
    bind(key, mine or "")
    return st.text_input(tr(label), key=key)


def render_inventory(spec: ModelSpec) -> None:
    from ui.state import token

    with st.spinner(tr("inspect.loading")):
        mc = guarded(lambda: resources.model_config(spec, token()))
        inv = guarded(lambda: resources.inventory(spec, token())) if mc else None
    if mc is None or inv is None:
        return
    st.subheader(f"{mc.display_name} · `{mc.task}`")
    _render_note(spec)
    render_metrics(inv)
    if inv.towers:
        st.markdown(f"#### {tr('inspect.towers')}")
        st.table(towers_frame(inv, lang()), hide_index=True)
    st.markdown(f"#### {tr('inspect.groups')}")
    render_shared_names(inv)
    st.table(groups_frame(inv, lang()), hide_index=True)  # a static table: the role text wraps, never cut
    st.markdown(f"#### {tr('inspect.where')}")
    st.plotly_chart(params_by_block_figure(inv, lang()), width="stretch", key="inspect.chart")
    frame = layers_frame(inv)
    with st.expander(tr("inspect.all_layers", n=f"{len(frame):,}")):
        shown = display_columns(frame, lang())
        kinds = {tr(f"col.{c}"): "count" for c in ("in_features", "out_features", "params")}
        st.dataframe(shown, hide_index=True, width="stretch", height=360, column_config=number_columns(**kinds))
    st.download_button(
        tr("inspect.download_csv"),
        frame.to_csv(index=False).encode("utf-8"),
        file_name=f"{spec.ref.replace('/', '_')}-layers.csv",
        mime="text/csv",
        key="inspect.csv",
    )


def render_metrics(inv) -> None:
    """Totals; with towers, blocks and hidden size per tower ("12 · 12", "512 · 768"), named on hover."""
    from core.anatomy.groups import tower_label

    m1, m2, m3, m4 = st.columns(4)
    m1.metric(tr("inspect.total_params"), count(inv.total_params), help=exact(inv.total_params))
    if inv.towers:
        names = [tower_label(tower.name, lang()) for tower in inv.towers]
        blocks = [tower.num_blocks for tower in inv.towers]
        hidden = [tower.hidden_size or 0 for tower in inv.towers]
        m2.metric(tr("inspect.blocks"), " · ".join(f"{b:,}" for b in blocks),
                  help=", ".join(f"{n} {b:,}" for n, b in zip(names, blocks, strict=True)))
        m3.metric(tr("inspect.hidden"), " · ".join(f"{h:,}" for h in hidden),
                  help=", ".join(f"{n} {h:,}" for n, h in zip(names, hidden, strict=True)))
    else:
        m2.metric(tr("inspect.blocks"), f"{inv.num_blocks:,}")
        m3.metric(tr("inspect.hidden"), f"{inv.hidden_size:,}" if inv.hidden_size else "-")
    m4.metric(tr("inspect.adaptable"), f"{len(inv.layers):,}")


def render_shared_names(inv) -> None:
    """PEFT #2615: a name in two towers is adapted in both by a plain target list."""
    from core.anatomy.groups import shared_short_names, tower_label

    shared = shared_short_names(inv)
    if shared:
        towers = dict.fromkeys(t for found in shared.values() for t in found)
        names = ", ".join(f"`{n}`" for n in list(shared)[:6]) + (" …" if len(shared) > 6 else "")
        st.info(tr("groups.shared_names", names=names, towers=", ".join(tower_label(t, lang()) for t in towers)),
                icon="🧭")


def _render_note(spec: ModelSpec) -> None:
    if spec.source != "catalog":
        return
    typed = st.session_state.get("inspect.catalog_match")
    if typed and find_entry_for(typed, spec):
        st.info(tr("inspect.catalog_match", ref=typed, name=spec.ref))
    from core.models.catalog import find_entry

    entry = find_entry(spec.ref)
    if entry:
        st.caption(entry.note_ko if lang() == "ko" else entry.note_en)


def find_entry_for(typed: str, spec: ModelSpec) -> bool:
    """Whether the Hub id the visitor typed is the catalog entry now shown."""
    from core.models.catalog import find_entry

    entry = find_entry(typed)
    return entry is not None and entry == find_entry(spec.ref)


st.title(tr("inspect.title"))
st.caption(tr("inspect.intro"))
render_picker()
render_inventory(model_spec())
