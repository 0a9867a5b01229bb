"""Saving a plan into the visitor's workspace: a name that follows the plan, and a question before any overwrite."""

from __future__ import annotations

import streamlit as st

from core.models.spec import ModelSpec
from core.planning.plan import LoraPlan
from core.planning.plans_io import MAX_NAME
from core.workspace.model import SavedPlan
from core.workspace.naming import default_plan_name
from ui.state import bind, lang, save_plan, tr
from ui.widgets import guarded, verbatim

NAME = "configure.save_name"
AUTO = "configure.auto_name"  # the name last proposed: while the field still shows it, it follows the plan
PENDING = "configure.pending"  # a plan whose name is taken, waiting for the visitor's answer
NAMED_PRESETS = ("qv", "attention", "mlp")


def proposed_name(plan: LoraPlan, preset: str | None, num_blocks: int) -> str:
    return default_plan_name(plan, preset if preset in NAMED_PRESETS else None, num_blocks, lang())


def render_save_plan(plan: LoraPlan, spec: ModelSpec, preset: str | None, num_blocks: int) -> None:
    s = st.session_state
    auto = proposed_name(plan, preset, num_blocks)
    last = bind(AUTO, auto)
    bind(NAME, auto)
    if s[NAME] == last or not str(s[NAME]).strip():  # not a name the visitor typed: follow the plan
        s[NAME] = auto
    s[AUTO] = auto
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    c1.text_input(tr("configure.save_name"), key=NAME, max_chars=MAX_NAME)
    if c2.button(tr("configure.save"), key="configure.save_btn"):
        s.pop(PENDING, None)
        _save(SavedPlan(str(s[NAME]).strip() or auto, spec, plan), "ask")
    _render_pending()


def _save(saved: SavedPlan, on_conflict: str) -> None:
    outcome = guarded(lambda: save_plan(saved, on_conflict))
    if outcome is None:
        return
    if outcome.status == "exists":
        st.session_state[PENDING] = saved
        return
    st.session_state.pop(PENDING, None)
    key = "configure.saved_renamed" if outcome.status == "kept_both" else "configure.saved"
    st.success(tr(key, name=verbatim(outcome.plan.name), asked=verbatim(saved.name)))


def _render_pending() -> None:
    pending: SavedPlan | None = st.session_state.get(PENDING)
    if pending is None:
        return
    st.warning(tr("configure.name_exists", name=verbatim(pending.name)))
    b1, b2, b3, _ = st.columns([1, 1, 1, 3])
    if b1.button(tr("configure.overwrite"), key="configure.overwrite"):
        _save(pending, "overwrite")
        st.rerun()
    if b2.button(tr("configure.keep_both"), key="configure.keep_both"):
        _save(pending, "keep_both")
    if b3.button(tr("configure.cancel"), key="configure.cancel"):
        st.session_state.pop(PENDING, None)
        st.rerun()
