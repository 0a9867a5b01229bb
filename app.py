"""LoRA Lens: the router. Page config, navigation and the shared sidebar."""

from __future__ import annotations

import streamlit as st

from core.i18n import LANGS
from ui.identity import keep_identity
from ui.state import flush, lang, remember_language, shown_model, tr
from ui.widgets import guarded, render_builtin_texts

st.set_page_config(page_title="LoRA Lens", page_icon="🔍", layout="wide")


def render_language() -> None:
    # Re-assign so the choice survives the label changing language (a new widget identity).
    st.session_state["app.lang"] = lang()
    st.sidebar.radio(
        "Language · 언어",
        LANGS,
        key="app.lang",
        format_func=lambda code: {"en": "English", "ko": "한국어"}[code],
        horizontal=True,
        on_change=remember_language,
    )


def render_model_in_use(slot) -> None:
    """Drawn after the page ran, so it names the model the page just picked, not the one before."""
    from ui.resources import model_config  # torch and transformers: after the navigation is drawn

    spec = shown_model()
    mc = guarded(lambda: model_config(spec), show=False)
    with slot.container():
        st.caption(tr("ui.model_in_use"))
        st.markdown(f"**{mc.display_name if mc else spec.ref}** · `{mc.task if mc else spec.task or '-'}`")
        from core.device import device_summary

        info = device_summary()
        st.caption(tr("ui.gpu", name=info.name) if info.cuda else tr("ui.cpu_only"))


pages = [
    st.Page("pages/inspect.py", title=tr("ui.page_inspect"), icon=":material/search:", url_path="inspect", default=True),
    st.Page("pages/configure.py", title=tr("ui.page_configure"), icon=":material/tune:", url_path="configure"),
    st.Page("pages/compare.py", title=tr("ui.page_compare"), icon=":material/bar_chart:", url_path="compare"),
    st.Page("pages/train.py", title=tr("ui.page_train"), icon=":material/model_training:", url_path="train"),
    st.Page("pages/sweep.py", title=tr("ui.page_sweep"), icon=":material/stacked_line_chart:", url_path="sweep"),
    st.Page("pages/analyze.py", title=tr("ui.page_analyze"), icon=":material/science:", url_path="analyze"),
]
# Navigation first: until the first run reaches it, Streamlit shows its own list of pages/ files.
page = st.navigation(pages)
render_builtin_texts()
render_language()
model_slot = st.sidebar.empty()
with st.sidebar:
    keep_identity()
from ui.resources import import_libraries  # noqa: E402 - after the navigation is drawn

import_libraries()
try:
    page.run()
finally:  # also when the page reruns or stops: what the visitor changed is kept
    flush()
render_model_in_use(model_slot)
