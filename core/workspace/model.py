"""The workspace's records: saved plans, runs and preferences, as frozen JSON-serialisable dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.models.spec import ModelSpec
from core.planning.plan import LoraPlan
from core.planning.plans_io import SavedPlan, saved_plan_to_json, spec_from_json, spec_to_json
from core.training.run_state import FINISHED
from core.training.sweep import PlanResult, Sweep

__all__ = ["SavedPlan", "RunRecord", "Preferences", "SweepRecord", "Workspace", "saved_plan_to_json"]


@dataclass(frozen=True)
class RunRecord:
    """One training run as the visitor knows it: ``#number`` is theirs, never reused."""

    number: int
    job_id: str
    model: ModelSpec
    data_name: str
    plan: LoraPlan
    settings: dict[str, Any] = field(default_factory=dict, hash=False)  # TrainSettings as JSON
    planned_steps: int = 0
    status: str = "queued"  # one of core.training.run_state.STATUSES
    folder: str = ""  # absolute path of the run's files
    created: float = 0.0  # seconds since the epoch
    updated: float = 0.0

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "job_id": self.job_id,
            "model": spec_to_json(self.model),
            "data_name": self.data_name,
            "plan": self.plan.to_json(),
            "settings": dict(self.settings),
            "planned_steps": self.planned_steps,
            "status": self.status,
            "folder": self.folder,
            "created": self.created,
            "updated": self.updated,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunRecord:
        """The inverse of ``to_json``; ValueError/TypeError/KeyError/LensError on a bad record."""
        return cls(
            number=int(data["number"]),
            job_id=str(data["job_id"]),
            model=spec_from_json(data["model"]),
            data_name=str(data["data_name"]),
            plan=LoraPlan.from_json(data["plan"]),
            settings=dict(data.get("settings") or {}),
            planned_steps=int(data.get("planned_steps", 0)),
            status=str(data.get("status", "queued")),
            folder=str(data.get("folder", "")),
            created=float(data.get("created", 0.0)),
            updated=float(data.get("updated", 0.0)),
        )


@dataclass(frozen=True)
class SweepRecord:
    """One sweep as the visitor knows it: its definition (to re-run it) and each finished plan's measurements."""

    number: int
    sweep: Sweep
    status: str = "running"  # running, done, stopped or interrupted (the server restarted under it)
    results: tuple[PlanResult, ...] = ()
    folder: str = ""  # absolute path of its plans' folders
    created: float = 0.0
    updated: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number, "sweep": self.sweep.to_json(), "status": self.status,
            "results": [r.to_json() for r in self.results], "folder": self.folder,
            "created": self.created, "updated": self.updated,
        }  # fmt: skip

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SweepRecord:
        return cls(
            number=int(data["number"]), sweep=Sweep.from_json(data["sweep"]), status=str(data.get("status", "done")),
            results=tuple(PlanResult.from_json(r) for r in data.get("results", ())), folder=str(data.get("folder", "")),
            created=float(data.get("created", 0.0)), updated=float(data.get("updated", 0.0)),
        )  # fmt: skip


@dataclass(frozen=True)
class Preferences:
    """What the visitor chose last: language, model, and each page's widgets by stable id."""

    language: str | None = None  # None: never chosen, the browser's locale decides
    model: ModelSpec | None = None
    settings: dict[str, Any] = field(default_factory=dict, hash=False)  # widget id -> JSON value

    def to_json(self) -> dict[str, Any]:
        model = spec_to_json(self.model) if self.model else None
        return {"language": self.language, "model": model, "settings": dict(self.settings)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Preferences:
        model = data.get("model")
        return cls(
            language=str(data["language"]) if data.get("language") else None,
            model=spec_from_json(model) if model else None,
            settings=dict(data.get("settings") or {}),
        )


@dataclass(frozen=True)
class Workspace:
    """Everything one visitor made, in the order they made it."""

    plans: tuple[SavedPlan, ...] = ()
    runs: tuple[RunRecord, ...] = ()
    preferences: Preferences = field(default_factory=Preferences)

    def plan(self, name: str) -> SavedPlan | None:
        return next((p for p in self.plans if p.name == name), None)

    def run(self, number: int) -> RunRecord | None:
        return next((r for r in self.runs if r.number == number), None)

    @property
    def plan_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.plans)
