"""Saved plans as JSON: export, and an import that validates everything before changing anything."""

from __future__ import annotations

import json
from dataclasses import dataclass

from core.errors import LensError
from core.models.spec import SOURCES, TASKS, ModelSpec
from core.planning.plan import LoraPlan

FORMAT = "lora-lens-plans"
VERSION = 1
MAX_BYTES = 1 << 20
MAX_PLANS = 50
MAX_NAME = 80
MAX_REF = 300


@dataclass(frozen=True)
class SavedPlan:
    name: str
    model: ModelSpec
    plan: LoraPlan


def spec_to_json(spec: ModelSpec) -> dict:
    return {"source": spec.source, "ref": spec.ref, "task": spec.task, "num_labels": spec.num_labels}


def spec_from_json(model: object) -> ModelSpec:
    """The inverse of ``spec_to_json``; a ``ValueError`` names the bad field."""
    if not isinstance(model, dict) or model.get("source") not in SOURCES or not isinstance(model.get("ref"), str):
        raise ValueError("model")
    task = model.get("task")
    if task is not None and task not in TASKS:
        raise ValueError("task")
    num_labels = model.get("num_labels", 2)
    if not isinstance(num_labels, int) or not 1 <= num_labels <= 10_000:
        raise ValueError("num_labels")
    return ModelSpec(model["source"], model["ref"][:MAX_REF], task, num_labels)


def saved_plan_to_json(p: SavedPlan) -> dict:
    return {"name": p.name, "model": spec_to_json(p.model), "plan": p.plan.to_json()}


def export_plans(plans: list[SavedPlan]) -> str:
    items = [saved_plan_to_json(p) for p in plans]
    return json.dumps({"format": FORMAT, "version": VERSION, "plans": items}, ensure_ascii=False, indent=2)


def import_plans(data: bytes) -> list[SavedPlan]:
    """Parse a plans file; any problem raises LensError and nothing is returned."""
    if len(data) > MAX_BYTES:
        raise LensError("plans.too_big", mib=MAX_BYTES >> 20)
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise LensError("plans.not_json", detail=str(exc)[:120]) from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise LensError("plans.foreign")
    if doc.get("version") != VERSION:
        raise LensError("plans.bad_version", version=str(doc.get("version"))[:20])
    items = doc.get("plans")
    if not isinstance(items, list) or not items:
        raise LensError("plans.empty")
    if len(items) > MAX_PLANS:
        raise LensError("plans.too_many", n=MAX_PLANS)
    return [parse_saved_plan(item, i) for i, item in enumerate(items, start=1)]


def parse_saved_plan(item: object, index: int = 1) -> SavedPlan:
    """One plan in ``saved_plan_to_json`` form; LensError names its index and the bad field."""
    if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"].strip():
        raise LensError("plans.bad_item", index=index, detail="name")
    try:
        spec = spec_from_json(item.get("model"))
    except ValueError as exc:
        raise LensError("plans.bad_item", index=index, detail=str(exc)) from exc
    try:
        plan = LoraPlan.from_json(item.get("plan"))
    except LensError as exc:
        raise LensError("plans.bad_item", index=index, detail=exc.message("en")) from exc
    return SavedPlan(item["name"].strip()[:MAX_NAME], spec, plan)
