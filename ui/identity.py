"""Who the visitor is: a random id kept in a first-party cookie by Streamlit's own component API, never in the URL."""

from __future__ import annotations

import streamlit as st

from core.errors import LensError
from core.workspace.identity import new_visitor_id, parse_visitor_id

COOKIE = "lora_lens_visitor"
MAX_AGE_S = 400 * 24 * 3600  # the longest lifetime browsers keep a cookie (Chrome caps at 400 days)
_KEY = "app.visitor"

# Inside a Space the app is framed by huggingface.co, so on https the cookie is partitioned (CHIPS) — the kind a
# browser keeps for a framed site; on http (localhost) a plain SameSite=Lax cookie.
_SET_COOKIE_JS = """
export default function (component) {
  const { data } = component;
  if (!data || !data.value) return;
  const https = window.location.protocol === "https:";
  const attrs = https ? "; Secure; SameSite=None; Partitioned" : "; SameSite=Lax";
  document.cookie = `${data.name}=${data.value}; Path=/; Max-Age=${data.maxAge}${attrs}`;
}
"""


@st.cache_resource(max_entries=1, show_spinner=False)
def _cookie_writer():  # registered once per process
    return st.components.v2.component("lora_lens_identity", js=_SET_COOKIE_JS)


def _cookie() -> str | None:
    try:
        return st.context.cookies.get(COOKIE)
    except Exception:  # bare mode (AppTest) has no browser request
        return None


def visitor_id() -> str:
    """This visitor's id: from the cookie their browser sent, else a fresh one (written back by ``keep_identity``)."""
    if _KEY not in st.session_state:
        try:
            visitor = parse_visitor_id(_cookie())
        except LensError:
            visitor = new_visitor_id()
        st.session_state[_KEY] = visitor
    return st.session_state[_KEY]


def keep_identity() -> None:
    """Write the id into the browser's cookie (renders nothing visible); a visitor id in the URL is dropped,
    so no link carries one."""
    if "sid" in st.query_params:
        del st.query_params["sid"]
    if _cookie() == visitor_id():
        return
    try:
        _cookie_writer()(data={"name": COOKIE, "value": visitor_id(), "maxAge": MAX_AGE_S}, key="app.identity")
    except Exception:  # noqa: BLE001 - bare mode cannot mount components; the session still works
        pass
