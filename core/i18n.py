"""The one translation table (en/ko) for every user-visible string.

Strings live in ``core/strings/*.py`` (one module per concept, each exporting
``STRINGS = {key: (english, korean)}``); this module merges them and formats.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

import core.strings as _strings_pkg

LANGS: tuple[str, ...] = ("en", "ko")
DEFAULT_LANG = "en"


@cache
def table() -> dict[str, tuple[str, str]]:
    """All keys from every strings module; a duplicate key is a programming error."""
    merged: dict[str, tuple[str, str]] = {}
    for info in pkgutil.iter_modules(_strings_pkg.__path__):
        module = importlib.import_module(f"core.strings.{info.name}")
        for key, pair in getattr(module, "STRINGS", {}).items():
            if key in merged:
                raise RuntimeError(f"duplicate translation key {key!r} in core.strings.{info.name}")
            merged[key] = pair
    return merged


def t(key: str, lang: str = DEFAULT_LANG, **params: object) -> str:
    """Translate ``key`` into ``lang`` and fill ``{placeholders}`` from ``params``."""
    pair = table().get(key)
    if pair is None:
        return key
    text = pair[1] if lang == "ko" else pair[0]
    if params:
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            return text
    return text


def pick_language(locale: str | None) -> str:
    """Korean when the browser asks for it, English otherwise."""
    return "ko" if locale and locale.lower().startswith("ko") else "en"


def human_count(n: float, lang: str = DEFAULT_LANG) -> str:
    """Short parameter counts: 6.8M / 6.8B in English, 680만 / 68억 in Korean."""
    sign = "-" if n < 0 else ""
    n = abs(float(n))
    if lang == "ko":
        for unit, size in (("조", 1e12), ("억", 1e8), ("만", 1e4)):
            if n >= size:
                return f"{sign}{n / size:,.1f}{unit}".replace(".0" + unit, unit)
        return f"{sign}{n:,.0f}"
    for unit, size in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{sign}{n / size:,.2f}{unit}"
    return f"{sign}{n:,.0f}"


def human_bytes(n: float) -> str:
    """Binary units, the way GPU memory is quoted (MiB, GiB)."""
    n = float(n)
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(n) >= size:
            return f"{n / size:,.2f} {unit}"
    return f"{n:,.0f} B"
