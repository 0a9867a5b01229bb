"""Session-state accessors. Keys are namespaced and created with setdefault."""

from __future__ import annotations

import os
import uuid

import streamlit as st

from core.i18n import pick_language, t
from core.models.spec import ModelSpec
from core.planning.plan import LoraPlan

DEFAULT_SPEC = ModelSpec("embedded", "smollm2")


def lang() -> str:
    if "app.lang" not in st.session_state:
        try:
            locale = st.context.locale
        except Exception:  # bare mode (tests) has no browser
            locale = None
        st.session_state["app.lang"] = pick_language(locale)
    return st.session_state["app.lang"]


def tr(key: str, **params: object) -> str:
    """Translate into the visitor's language."""
    return t(key, lang(), **params)


def session_id() -> str:
    """An unguessable id for this visitor's files and jobs.

    It rides in the URL (``?sid=``) so a reload finds a running training again; only
    someone holding that URL can reach the visitor's runs.
    """
    if "app.session_id" not in st.session_state:
        sid = str(st.query_params.get("sid", ""))
        if not (len(sid) == 32 and all(c in "0123456789abcdef" for c in sid)):
            sid = uuid.uuid4().hex
        st.session_state["app.session_id"] = sid
    sid = st.session_state["app.session_id"]
    if st.query_params.get("sid") != sid:
        st.query_params["sid"] = sid
    return sid


KEPT_WIDGETS = ("configure.w.", "memory.w.")


def keep_widget_values() -> None:
    """Streamlit forgets a widget's value after a run that does not draw it: re-assign the
    Configure and memory-planner values on every page so they survive a visit elsewhere
    (the Train page's widgets use ``persist_state="session"`` instead)."""
    for key in list(st.session_state):
        if isinstance(key, str) and key.startswith(KEPT_WIDGETS):
            st.session_state[key] = st.session_state[key]


def model_spec() -> ModelSpec:
    return st.session_state.setdefault("app.model_spec", DEFAULT_SPEC)


def set_model_spec(spec: ModelSpec) -> None:
    st.session_state["app.model_spec"] = spec


def token() -> str | None:
    """The visitor's Hub token (memory only, this session), else the Space's HF_TOKEN secret."""
    return st.session_state.get("app.hub_token") or os.environ.get("HF_TOKEN") or None


def current_plan() -> LoraPlan | None:
    return st.session_state.get("configure.plan")


def saved_plans() -> dict[str, dict]:
    """name -> {"model": ModelSpec, "plan": LoraPlan}; the Compare page's list."""
    return st.session_state.setdefault("compare.plans", {})
