"""Stored JSON back into records; a row that no longer parses is skipped and logged, never fatal."""

from __future__ import annotations

import json
import logging

from core.errors import LensError
from core.planning.plans_io import parse_saved_plan
from core.workspace.model import Preferences, RunRecord, SavedPlan

log = logging.getLogger(__name__)
_BAD = (LensError, ValueError, TypeError, KeyError, RecursionError)


def parse_plan(body: str) -> SavedPlan | None:
    try:
        return parse_saved_plan(json.loads(body))
    except _BAD as exc:
        log.warning("skipping a saved plan that no longer parses: %s", exc)
        return None


def parse_run(body: str) -> RunRecord | None:
    try:
        return RunRecord.from_json(json.loads(body))
    except _BAD as exc:
        log.warning("skipping a run record that no longer parses: %s", exc)
        return None


def parse_prefs(body: str) -> Preferences | None:
    try:
        return Preferences.from_json(json.loads(body))
    except _BAD as exc:
        log.warning("preferences no longer parse, using defaults: %s", exc)
        return None
