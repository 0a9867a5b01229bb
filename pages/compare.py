"""Compare: saved plans side by side — table, four charts, JSON import/export."""

from __future__ import annotations

import streamlit as st

from core.charts.compare import blocks_figure, compare_frame, groups_figure, r_curve_figure
from core.errors import LensError
from core.format import count_phrase
from core.planning.budget import compute_budget
from core.planning.compare import Comparison, compare_plans
from core.planning.plan import DEFAULT_R, MAX_R
from core.planning.plans_io import SavedPlan, export_plans, import_plans
from core.planning.presets import PRESETS, preset_plan
from core.workspace.naming import default_plan_name
from ui import resources
from ui.memory_panel import models_sequence, render_compare_memory, settings_from_state
from ui.state import delete_plan, lang, model_spec, rename_plan, save_plan, saved_plans, token, tr
from ui.widgets import guarded, number_columns, verbatim


def render_add() -> None:
    with st.expander(tr("compare.add"), expanded=not saved_plans()):
        with st.form("compare.add_form"):
            c1, c2, c3 = st.columns([2, 2, 1])
            presets = [p for p in PRESETS if p not in ("custom", "regex")]
            preset = c1.selectbox(tr("configure.preset"), presets, format_func=lambda p: tr(f"configure.preset_{p}"))
            name = c2.text_input(tr("compare.name"), max_chars=60)
            r = c3.number_input("r", 1, MAX_R, DEFAULT_R, help=tr("builtin.range", lo=1, hi=f"{MAX_R:,}"))
            if st.form_submit_button(tr("compare.add_btn")):
                guarded(lambda: _add(preset, int(r), name))


def _add(preset: str, r: int, name: str) -> None:
    spec = model_spec()
    mc = resources.model_config(spec, token())
    inv = resources.inventory(spec, token())
    plan = preset_plan(inv, preset, r, mc.task)
    compute_budget(inv, plan)  # refuse now rather than in the table
    typed = name.strip()
    named = preset if preset in ("qv", "attention", "mlp") else None
    saved = SavedPlan(typed or default_plan_name(plan, named, inv.num_blocks, lang()), spec, plan)
    # A typed name is never overwritten behind the visitor's back; a proposed one gets a free "(2)".
    outcome = save_plan(saved, "ask" if typed else "keep_both")
    if outcome.status == "exists":
        st.error(tr("compare.name_taken", name=verbatim(typed)))


def render_manage() -> None:
    names = [p.name for p in saved_plans()]
    with st.expander(tr("compare.manage")):
        c1, c2 = st.columns(2)
        pick = c1.selectbox(tr("compare.pick"), names, key="compare.pick")
        new = c2.text_input(tr("compare.new_name"), key="compare.new_name", max_chars=60).strip()
        b1, b2, b3, _ = st.columns([1, 1, 1, 3])
        if b1.button(tr("compare.rename"), key="compare.rename") and pick and new:
            if new in names:
                st.error(tr("compare.name_taken", name=verbatim(new)))
            elif guarded(lambda: rename_plan(pick, new)):
                st.rerun()
        if b2.button(tr("compare.duplicate"), key="compare.dup") and pick:
            original = next(p for p in saved_plans() if p.name == pick)
            copy_name = new or f"{pick} ({tr('compare.copy_suffix')})"
            if guarded(lambda: save_plan(SavedPlan(copy_name, original.model, original.plan), "keep_both")):
                st.rerun()
        if b3.button(tr("compare.delete"), key="compare.delete") and pick:
            delete_plan(pick)
            st.rerun()


def render_io() -> None:
    c1, c2 = st.columns(2)
    items = list(saved_plans())
    c1.download_button(tr("compare.export"), export_plans(items).encode("utf-8"), "lora-lens-plans.json",
                       "application/json", disabled=not items, key="compare.export")
    upload = c2.file_uploader(tr("compare.import"), type=["json"], key="compare.upload")
    if upload is not None and st.session_state.get("compare.last_upload") != upload.file_id:
        st.session_state["compare.last_upload"] = upload.file_id
        imported = guarded(lambda: import_plans(upload.getvalue()))
        if imported:
            for item in imported:  # an imported name that is taken keeps both, never replaces the visitor's plan
                guarded(lambda item=item: save_plan(item, "keep_both"))
            st.success(count_phrase("fmt.plans_imported", len(imported), lang()))


def load(spec):
    return resources.model_config(spec, token()), resources.inventory(spec, token())


def sequence():
    """The saved plans' models' common default sequence length (a model that fails to load is skipped here and
    reported by ``evaluate``)."""
    loaded = []
    for spec in dict.fromkeys(p.model for p in saved_plans()):
        try:
            loaded.append(load(spec))
        except LensError:
            continue
    return models_sequence(loaded)


def evaluate(seq) -> Comparison:
    plans = {p.name: (p.model, p.plan) for p in saved_plans()}
    comparison = compare_plans(plans, load, settings_from_state(seq.seq_len))
    for name, exc in comparison.errors:
        st.warning(tr("compare.plan_error", name=name, message=exc.message(lang())))
    return comparison


def main() -> None:
    st.title(tr("compare.title"))
    st.caption(tr("compare.intro"))
    render_add()
    render_io()
    if not saved_plans():
        st.info(tr("compare.empty"))
        return
    render_manage()
    seq = sequence()
    comparison = evaluate(seq)
    results = list(comparison.results)
    if not results:
        return
    st.markdown(f"#### {tr('compare.table')}")
    frame = compare_frame(results, lang())
    st.dataframe(frame, hide_index=True, width="stretch",
                 column_config={tr("compare.col_targets"): st.column_config.TextColumn(width="medium"),
                                **number_columns(**{tr("compare.col_trainable"): "count",
                                                   tr("compare.col_share"): "percent_units"})})
    st.download_button(tr("compare.download_csv"), frame.to_csv(index=False).encode("utf-8"), "lora-lens-compare.csv",
                       "text/csv", key="compare.csv")
    left, right = st.columns(2)
    left.markdown(f"##### {tr('compare.chart_groups')}")
    left.plotly_chart(groups_figure(results, lang()), width="stretch", key="compare.groups")
    right.markdown(f"##### {tr('compare.chart_r')}")
    right.plotly_chart(r_curve_figure(comparison.curves(), comparison.chosen(), lang()), width="stretch", key="compare.r")
    st.markdown(f"##### {tr('compare.chart_blocks')}")
    st.plotly_chart(blocks_figure(results, lang()), width="stretch", key="compare.blocks")
    render_compare_memory(comparison.estimates(), key="compare", seq=seq)


main()
