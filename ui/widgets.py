"""Widgets and renderers shared by several pages."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TypeVar

import streamlit as st

from core import format as fmt
from core.errors import LensError
from core.limits import as_lens_error
from ui.state import lang, tr

T = TypeVar("T")
log = logging.getLogger("lora_lens")


def guarded(fn: Callable[[], T], *, show: bool = True) -> T | None:
    """Run ``fn``; a LensError becomes a clear message, anything else a short one, never a traceback."""
    try:
        return fn()
    except LensError as exc:
        if show:
            st.error(exc.message(lang()), icon="⚠️")
        return None
    except Exception as exc:  # noqa: BLE001 - the app must keep running
        log.warning("unexpected error: %s", type(exc).__name__)
        if show:  # one sentence: an OS error without the server path when hosted, else the library's first line
            st.error(as_lens_error(exc).message(lang()), icon="⚠️")
        return None


def count(n: float) -> str:
    """A compact count in the visitor's language (6.8M / 680만); pair it with ``exact`` on hover."""
    return fmt.compact(n, lang())


def exact(n: float) -> str:
    return tr("fmt.exact_count", n=fmt.exact(n))


def number_columns(**kinds: str) -> dict:
    """``st.dataframe`` column_config for numeric columns by kind (``core.format.COLUMN_FORMATS``)."""
    return {name: st.column_config.NumberColumn(format=fmt.COLUMN_FORMATS[kind]) for name, kind in kinds.items()}


def _css_text(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def builtin_texts_css() -> str:
    """CSS that hides Streamlit's own English widget texts (uploader, Enter hints, range error) and shows ours.

    Streamlit 1.67 has no locale and no parameter for these texts: the originals stay in the DOM, hidden, and the
    replacement is CSS generated content in the visitor's language."""
    limit = tr("builtin.limit", mb=st.get_option("server.maxUploadSize"))
    rules = {
        '[data-testid="stFileUploaderDropzoneInstructions"] > div > span': limit,
        '[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p': tr("builtin.upload"),
        '[data-testid="InputInstructions"] > span:first-child': tr("builtin.enter_apply"),
        '[data-testid="stForm"] [data-testid="InputInstructions"] > span:first-child': tr("builtin.enter_submit"),
        '[data-testid="stTextArea"] [data-testid="InputInstructions"] > span:first-child': tr("builtin.ctrl_enter"),
        '[data-testid="stTooltipErrorContent"] > div': tr("builtin.out_of_range"),
        '[data-testid="stSkipToContent"]': tr("builtin.skip"),
    }
    # visibility (not font-size or opacity alone) also takes the original out of the page's rendered text
    # (innerText); font-size 0 gives it no width, so the replacement flows in its place at any length.
    css = []
    for selector, text in rules.items():
        css.append(f"{selector} {{visibility: hidden; font-size: 0 !important;}}")
        css.append(f"{selector}::after {{content: {_css_text(text)}; visibility: visible; font-size: 0.875rem;}}")
    return "\n".join(css)


def render_builtin_texts() -> None:
    """Inject ``builtin_texts_css`` once per run (called by app.py)."""
    st.html(f"<style>{builtin_texts_css()}</style>")


def show_warnings(warnings: tuple[tuple[str, dict], ...]) -> None:
    for key, params in warnings:
        st.warning(tr(key, **params), icon="💡")



def verbatim(text: str) -> str:
    """``text`` as a markdown code span, so a name like ``.*\\.(q|v)_proj`` shows byte for byte."""
    text = str(text).replace("\n", " ")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"
