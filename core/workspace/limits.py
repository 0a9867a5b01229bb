"""Bounds on everything a visitor controls: names, counts, JSON sizes; each breach is a LensError."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import replace
from typing import Any

from core.errors import LensError
from core.i18n import LANGS
from core.models.spec import ModelSpec
from core.planning.plans_io import MAX_NAME
from core.training.run_state import STATUSES
from core.workspace.model import Preferences

MAX_PLANS = 200  # saved plans per visitor
MAX_RUNS = 200  # run records per visitor (finished ones included; the quota frees their files first)
MAX_DATA_NAME = 200
MAX_JOB_ID = 64
MAX_SETTINGS_BYTES = 64 << 10  # a run's TrainSettings as JSON
MAX_PREFS_BYTES = 64 << 10  # language + model + every page's widgets
MAX_PREF_KEYS = 500
MAX_PREF_KEY = 100
_PREF_KEY = re.compile(rf"[A-Za-z0-9_.\-]{{1,{MAX_PREF_KEY}}}")


def check_name(name: object) -> str:
    """The name with its ends stripped; inside it is kept byte for byte (a regex stays a regex)."""
    if not isinstance(name, str) or not name.strip():
        raise LensError("workspace.name_empty")
    if len(name) > 4 * MAX_NAME:  # refuse a huge string before touching every character of it
        raise LensError("workspace.name_too_long", max=MAX_NAME, n=len(name))
    name = name.strip()
    if len(name) > MAX_NAME:
        raise LensError("workspace.name_too_long", max=MAX_NAME, n=len(name))
    if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in name):
        raise LensError("workspace.name_control")
    return name


def dump_limited(value: Any, max_bytes: int, too_big_key: str) -> str:
    """Compact JSON of ``value`` (strict: no NaN, no objects), refused over ``max_bytes``."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError) as exc:
        raise LensError("workspace.not_json", detail=str(exc)[:200]) from exc
    size = len(text.encode("utf-8"))
    if size > max_bytes:
        raise LensError(too_big_key, kib=round(size / 1024, 1), max_kib=max_bytes >> 10)
    return text


def check_run_fields(job_id: str, data_name: str, settings: dict, planned_steps: int, status: str) -> None:
    if status not in STATUSES:
        raise LensError("workspace.bad_status", status=str(status)[:40])
    if not isinstance(data_name, str) or len(data_name) > MAX_DATA_NAME:
        raise LensError("workspace.data_name_too_long", max=MAX_DATA_NAME)
    if not isinstance(job_id, str) or len(job_id) > MAX_JOB_ID:
        raise ValueError("job_id must be a str of at most 64 characters")  # ours (uuid4 hex), not a visitor's
    if not isinstance(planned_steps, int) or planned_steps < 0:
        raise ValueError("planned_steps must be a non-negative int")
    if not isinstance(settings, dict):
        raise ValueError("settings must be a dict")
    dump_limited(settings, MAX_SETTINGS_BYTES, "workspace.settings_too_big")


def changed_preferences(prefs: Preferences, changes: dict[str, Any]) -> Preferences:
    """``prefs`` with ``language``/``model`` replaced and ``settings`` merged (``None`` forgets a key)."""
    unknown = set(changes) - {"language", "model", "settings"}
    if unknown:
        raise TypeError(f"set_preferences() got unexpected fields {sorted(unknown)}")
    language = changes.get("language", prefs.language)
    if language is not None and language not in LANGS:
        raise LensError("workspace.bad_language", code=str(language)[:20])
    model = changes.get("model", prefs.model)
    if model is not None and not isinstance(model, ModelSpec):
        raise TypeError("model must be a ModelSpec or None")
    settings = dict(prefs.settings)
    for key, value in (changes.get("settings") or {}).items():
        if not isinstance(key, str) or not _PREF_KEY.fullmatch(key):
            raise LensError("workspace.bad_setting_key", max=MAX_PREF_KEY)
        if value is None:
            settings.pop(key, None)
        else:
            settings[key] = value
    if len(settings) > MAX_PREF_KEYS:
        raise LensError("workspace.too_many_settings", max=MAX_PREF_KEYS)
    return replace(prefs, language=language, model=model, settings=settings)
