"""Saved plans as JSON: export, and an import that validates everything before changing anything."""

from __future__ import annotations

import json
from dataclasses import dataclass

from core.errors import LensError
from core.models.spec import SOURCES, TASKS, ModelSpec
from core.planning.plan import LoraPlan

FORMAT = "lora-lens-plans"
# 2: plans carry rank_pattern, alpha_pattern, exclude_modules, target_parameters, init_lora_weights, layers_pattern.
VERSION = 2
# Fields a version-1 plan never had: it meant PEFT's defaults for them, which is what loading it without them gives.
NEW_IN_2 = ("rank_pattern", "alpha_pattern", "exclude_modules", "target_parameters", "init_lora_weights",
            "layers_pattern")
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
    version = doc.get("version")
    if version not in (1, VERSION) or isinstance(version, bool):
        raise LensError("plans.bad_version", version=str(version)[:20])
    items = doc.get("plans")
    if not isinstance(items, list) or not items:
        raise LensError("plans.empty")
    if len(items) > MAX_PLANS:
        raise LensError("plans.too_many", n=MAX_PLANS)
    if version == 1:
        _check_v1(items)
    return [parse_saved_plan(item, i) for i, item in enumerate(items, start=1)]


def _check_v1(items: list) -> None:
    """A version-1 file loads unchanged (its plans take PEFT's defaults for the newer fields); one that already
    carries a newer field is not what it says it is."""
    for index, item in enumerate(items, start=1):
        plan = item.get("plan") if isinstance(item, dict) else None
        newer = [key for key in NEW_IN_2 if isinstance(plan, dict) and key in plan]
        if newer:
            raise LensError("plans.bad_item", index=index, detail=f"{newer[0]} (new in version {VERSION})")


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
