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


@dataclass(frozen=True)
class SavedPlan:
    name: str
    model: ModelSpec
    plan: LoraPlan


def export_plans(plans: list[SavedPlan]) -> str:
    items = [
        {
            "name": p.name,
            "model": {"source": p.model.source, "ref": p.model.ref, "task": p.model.task, "num_labels": p.model.num_labels},
            "plan": p.plan.to_json(),
        }
        for p in plans
    ]
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
    return [_one(i, item) for i, item in enumerate(items, start=1)]


def _one(index: int, item: object) -> SavedPlan:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"].strip():
        raise LensError("plans.bad_item", index=index, detail="name")
    model = item.get("model")
    if not isinstance(model, dict) or model.get("source") not in SOURCES or not isinstance(model.get("ref"), str):
        raise LensError("plans.bad_item", index=index, detail="model")
    task = model.get("task")
    if task is not None and task not in TASKS:
        raise LensError("plans.bad_item", index=index, detail="task")
    num_labels = model.get("num_labels", 2)
    if not isinstance(num_labels, int) or not 1 <= num_labels <= 10_000:
        raise LensError("plans.bad_item", index=index, detail="num_labels")
    try:
        plan = LoraPlan.from_json(item.get("plan"))
    except LensError as exc:
        raise LensError("plans.bad_item", index=index, detail=exc.message("en")) from exc
    spec = ModelSpec(model["source"], model["ref"][:300], task, num_labels)
    return SavedPlan(item["name"].strip()[:80], spec, plan)
