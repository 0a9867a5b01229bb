"""The one state accessor: the visitor's workspace (plans, runs, preferences) and every widget's value by stable id.

Pages never keep what the visitor made in ``st.session_state`` alone: plans, runs, the language, the model and
each bound widget's value live in the visitor's workspace (SQLite, ``core.workspace``), so a reload, a server
restart or a second tab finds them. Widget keys are stable ids (``page.w.name``), never labels.
"""

from __future__ import annotations

import os
import time
from typing import Any

import streamlit as st

from core.errors import LensError
from core.i18n import LANGS, pick_language, t
from core.models.spec import ModelSpec
from core.planning.plan import LoraPlan
from core.workspace import housekeeping
from core.workspace.model import Preferences, SavedPlan, Workspace
from core.workspace.store import SaveOutcome, WorkspaceStore
from ui.identity import visitor_id

DEFAULT_SPEC = ModelSpec("embedded", "smollm2")
_PREFS = "app.prefs"  # this session's copy of the stored preferences
_BOUND = "app.bound"  # widget ids bound in this session
_MISSING = object()


@st.cache_resource(max_entries=1, show_spinner=False)
def store() -> WorkspaceStore:
    """One store per process; opening it sweeps what earlier processes left behind (expired runs, orphans)."""
    opened = WorkspaceStore()
    try:
        housekeeping.expire(opened, time.time())
        housekeeping.sweep_orphans(opened, opened.root, time.time())
    except LensError:  # housekeeping never keeps the app from starting
        pass
    return opened


def visitor() -> str:
    return visitor_id()


def workspace() -> Workspace:
    return store().load(visitor())


# --- preferences: language, model, bound widgets ------------------------------------------


def _prefs() -> Preferences:
    if _PREFS not in st.session_state:
        st.session_state[_PREFS] = workspace().preferences
    return st.session_state[_PREFS]


def _set_prefs(**changes: Any) -> None:
    st.session_state[_PREFS] = store().set_preferences(visitor(), **changes)


def lang() -> str:
    if "app.lang" not in st.session_state:
        stored = _prefs().language
        st.session_state["app.lang"] = stored if stored in LANGS else pick_language(_locale())
    return st.session_state["app.lang"]


def _locale() -> str | None:
    try:
        return st.context.locale
    except Exception:  # bare mode (tests) has no browser
        return None


def remember_language() -> None:
    """on_change of the language radio: the visitor's choice, kept for every later visit."""
    _set_prefs(language=st.session_state["app.lang"])


def tr(key: str, **params: object) -> str:
    """Translate into the visitor's language."""
    return t(key, lang(), **params)


def model_spec() -> ModelSpec:
    if "app.model_spec" not in st.session_state:
        st.session_state["app.model_spec"] = _prefs().model or DEFAULT_SPEC
    return st.session_state["app.model_spec"]


def show_model(spec: ModelSpec) -> None:
    """The model this page run works on, for the sidebar's "model in use" (the Train page picks its own)."""
    st.session_state["app.page_model"] = spec


def shown_model() -> ModelSpec:
    """What the sidebar names: the model the page just used, else the visitor's chosen model."""
    return st.session_state.pop("app.page_model", None) or model_spec()


def set_model_spec(spec: ModelSpec) -> None:
    st.session_state["app.model_spec"] = spec
    _set_prefs(model=spec)


def bind(key: str, default: Any, options: Any = None) -> Any:
    """Give widget ``key`` its value before it is drawn: this session's, else the visitor's stored one, else
    ``default``. A stored value that is no longer among ``options`` falls back to ``default``."""
    s = st.session_state
    s.setdefault(_BOUND, set()).add(key)
    stored = _prefs().settings.get(key, _MISSING)
    if key in s:
        value = s[key]
    else:
        value = default if stored is _MISSING else _decode(stored, default)
    if options is not None and value not in list(options):
        value = default
    # Assigned on every run, not only the first: a widget whose label changes (a language switch) is a new
    # widget to Streamlit, and only a value set through session_state carries over to it.
    s[key] = value
    # What the visitor changed reached session_state before this run started: keep it now, whatever the rest
    # of the run does (``flush`` at the end of a run catches changes made after this point).
    encoded = _encode(value)
    if (stored is _MISSING and encoded != _encode(default)) or (stored is not _MISSING and encoded != stored):
        _set_prefs(settings={key: encoded})
    return value


def peek(key: str, default: Any) -> Any:
    """A widget's value without touching the widget: this session's, else the stored one, else ``default``."""
    if key in st.session_state:
        return st.session_state[key]
    stored = _prefs().settings.get(key, _MISSING)
    return default if stored is _MISSING else _decode(stored, default)


def forget(*keys: str) -> None:
    """Drop widgets' values here and in the workspace (the next ``bind`` starts from its default)."""
    for key in keys:
        st.session_state.pop(key, None)
    _set_prefs(settings=dict.fromkeys(keys))


def flush() -> None:
    """Write every bound widget whose value changed in this run to the workspace (one transaction)."""
    s = st.session_state
    stored = _prefs().settings
    changes = {}
    for key in s.get(_BOUND, ()):
        if key in s:
            value = _encode(s[key])
            if stored.get(key, _MISSING) != value:
                changes[key] = value
    if changes:
        _set_prefs(settings=changes)


def _encode(value: Any) -> Any:
    if isinstance(value, tuple | set | frozenset):
        return [_encode(v) for v in value]
    if isinstance(value, list):
        return [_encode(v) for v in value]
    return value


def _decode(value: Any, default: Any) -> Any:
    if isinstance(default, tuple) and isinstance(value, list):
        return tuple(value)
    if isinstance(default, bool) or default is None:
        return value
    if isinstance(default, int) and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# --- what the visitor made ---------------------------------------------------------------


def token() -> str | None:
    """The visitor's Hub token (memory only, this session), else the Space's HF_TOKEN secret."""
    return st.session_state.get("app.hub_token") or os.environ.get("HF_TOKEN") or None


def current_plan() -> LoraPlan | None:
    return st.session_state.get("configure.plan")


def saved_plans() -> tuple[SavedPlan, ...]:
    return workspace().plans


def save_plan(saved: SavedPlan, on_conflict: str = "ask") -> SaveOutcome:
    return store().save_plan(visitor(), saved, on_conflict)  # type: ignore[arg-type]


def delete_plan(name: str) -> bool:
    return store().delete_plan(visitor(), name)


def rename_plan(old: str, new: str) -> SavedPlan:
    return store().rename_plan(visitor(), old, new)
