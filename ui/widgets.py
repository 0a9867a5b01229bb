"""Widgets and renderers shared by several pages."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TypeVar

import streamlit as st

from core.errors import LensError
from core.i18n import human_count
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
    return human_count(n, lang())


def show_warnings(warnings: tuple[tuple[str, dict], ...]) -> None:
    for key, params in warnings:
        st.warning(tr(key, **params), icon="💡")



def verbatim(text: str) -> str:
    """``text`` as a markdown code span, so a name like ``.*\\.(q|v)_proj`` shows byte for byte."""
    text = str(text).replace("\n", " ")
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"
