"""A sweep: several LoRA plans on one model, one dataset and one training setting; its ladders, results and frontier."""

from __future__ import annotations

import math
import statistics
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from core.anatomy.inventory import Inventory
from core.errors import LensError
from core.models.spec import ModelSpec
from core.planning.plan import LoraPlan, validate_plan
from core.planning.plans_io import spec_from_json, spec_to_json
from core.planning.presets import default_plan, preset_plan
from core.training.settings import TrainSettings, validate_settings

LADDERS: tuple[str, ...] = ("targets", "ranks")
TARGET_LADDER: tuple[str, ...] = ("qv", "attention", "mlp", "all-linear")
RANK_LADDER: tuple[int, ...] = (4, 8, 16, 64)
MIN_PLANS, MAX_PLANS, MAX_SEEDS = 2, 8, 3
# Quality per task: the metric the frontier is drawn on, and whether more is better.
QUALITY = {"causal-lm": ("eval_loss", False), "seq-cls": ("accuracy", True)}
# A sweep trains every plan in turn, so its CPU defaults are sized for the whole ladder (4 SmolLM2 plans in about
# 3 minutes of CPU, bench/sweep.py): SFT takes half the single run's 24 steps (12 already orders the targets ladder
# by capacity on chatterbot-ko); MiniLM keeps its 60 (fewer stay near chance on Rotten Tomatoes).
SWEEP_STEPS = {"causal-lm": 12, "seq-cls": 60}


def sweep_settings(task: str, **changes: object) -> TrainSettings:
    """A sweep's training setting: the task's demo setting at ``SWEEP_STEPS``, evaluated only before the first step
    (measured once for the whole sweep) and after the last (the frontier's point): a mid-run evaluation of 16 SFT
    rows costs about two training steps and draws nothing on the frontier. ``changes`` win (``eval_every`` too)."""
    steps = changes.get("max_steps") or SWEEP_STEPS.get(task, 24)
    return TrainSettings.for_task(task, **{"max_steps": steps, "eval_every": steps, **changes})


@dataclass(frozen=True)
class SweepPlan:
    """One plan of a sweep under its display name; ``learning_rate`` of ``None`` keeps the sweep's."""

    name: str
    plan: LoraPlan
    learning_rate: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "plan": self.plan.to_json(), "learning_rate": self.learning_rate}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SweepPlan:
        lr = data.get("learning_rate")
        return cls(str(data["name"]), LoraPlan.from_json(data["plan"]), None if lr is None else float(lr))


@dataclass(frozen=True)
class Sweep:
    """What to train: every plan with every seed, one after another, on the same model, data and setting."""

    model: ModelSpec
    data_name: str
    plans: tuple[SweepPlan, ...]
    settings: TrainSettings
    seeds: tuple[int, ...] = (1,)

    @property
    def task(self) -> str:
        return self.plans[0].plan.task if self.plans else (self.model.task or "causal-lm")

    def runs(self) -> list[tuple[SweepPlan, int]]:
        """Every (plan, seed), plan by plan: the first results to arrive cover whole plans."""
        return [(item, seed) for item in self.plans for seed in self.seeds]

    def settings_for(self, item: SweepPlan, seed: int) -> TrainSettings:
        lr = item.learning_rate if item.learning_rate is not None else self.settings.learning_rate
        return self.settings.with_changes(seed=seed, learning_rate=lr)

    def to_json(self) -> dict[str, Any]:
        return {
            "model": spec_to_json(self.model),
            "data_name": self.data_name,
            "plans": [p.to_json() for p in self.plans],
            "settings": self.settings.to_json(),
            "seeds": list(self.seeds),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Sweep:
        sweep = cls(
            model=spec_from_json(data["model"]),
            data_name=str(data["data_name"]),
            plans=tuple(SweepPlan.from_json(p) for p in data["plans"]),
            settings=TrainSettings.from_json(data["settings"]),
            seeds=tuple(int(s) for s in data.get("seeds", (1,))),
        )
        validate_sweep(sweep)
        return sweep


def validate_sweep(sweep: Sweep) -> None:
    """2-8 plans with distinct names and one task, 1-3 distinct seeds, valid settings and learning rates."""
    if not MIN_PLANS <= len(sweep.plans) <= MAX_PLANS:
        raise LensError("sweep.plan_count", n=len(sweep.plans), low=MIN_PLANS, high=MAX_PLANS)
    names = [p.name for p in sweep.plans]
    if len(set(names)) != len(names):
        raise LensError("sweep.duplicate_name", name=next(n for n in names if names.count(n) > 1))
    if len({p.plan.task for p in sweep.plans}) != 1:
        raise LensError("sweep.mixed_tasks")
    if not 1 <= len(sweep.seeds) <= MAX_SEEDS or len(set(sweep.seeds)) != len(sweep.seeds):
        raise LensError("sweep.seed_count", n=len(sweep.seeds), high=MAX_SEEDS)
    for item in sweep.plans:
        validate_plan(item.plan)
        for seed in sweep.seeds:
            validate_settings(sweep.settings_for(item, seed))


def ladder(inv: Inventory, kind: str, task: str, r: int = 8, preset: str = "all-linear") -> tuple[SweepPlan, ...]:
    """The standard ladders from the model's own presets: q+v / attention / MLP / all-linear at rank ``r``,
    or r in 4, 8, 16, 64 for one preset. Presets the model lacks (no MLP in it) are left out.
    The rank ladder keeps the default plan's lora_alpha for every rank (scaling alpha/r): with alpha = 2r the
    update grows with r at one learning rate (MiniLM at 5e-3: r=16 and 64 fell to chance accuracy), while with
    alpha fixed the best learning rate is roughly the same for every rank (Schulman et al. 2025)."""
    if kind == "targets":
        plans = [(name, preset_plan(inv, name, r, task)) for name in TARGET_LADDER]
        items = [SweepPlan(f"{name} r={r}", plan) for name, plan in plans
                 if plan.targets or plan.target_regex or plan.target_parameters]
    elif kind == "ranks":
        alpha = default_plan(inv, task).lora_alpha
        items = [SweepPlan(f"{preset} r={rank}", preset_plan(inv, preset, rank, task).with_changes(lora_alpha=alpha))
                 for rank in RANK_LADDER]  # fmt: skip
        items = [i for i in items if i.plan.targets or i.plan.target_regex or i.plan.target_parameters]
    else:
        raise LensError("sweep.bad_ladder", kind=kind, options=", ".join(LADDERS))
    if len(items) < MIN_PLANS:
        raise LensError("sweep.plan_count", n=len(items), low=MIN_PLANS, high=MAX_PLANS)
    return tuple(items)


@dataclass
class PlanResult:
    """One (plan, seed) as measured. ``trainable_params`` is PEFT's count, ``budget_params`` ours (equal)."""

    name: str
    seed: int
    status: str  # done, stopped or failed
    trainable_params: int = 0
    budget_params: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    tokens_per_second: float | None = None
    peak_memory_bytes: int | None = None
    memory_kind: str = ""  # "cuda_max_allocated" or "rss_growth"
    adapter_dir: str | None = None
    losses: list[dict[str, float]] = field(default_factory=list)
    evals: list[dict[str, float]] = field(default_factory=list)
    error_key: str | None = None
    error_params: dict[str, Any] = field(default_factory=dict)
    side_by_side: int = 1  # plans training at once as this one did: its seconds and tokens/s are under that sharing

    @property
    def ok(self) -> bool:
        return self.status in ("done", "stopped") and self.adapter_dir is not None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PlanResult:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class PlanSummary:
    """A plan over its seeds: the mean and spread of its quality, and its mean costs."""

    name: str
    trainable_params: int
    quality: float
    spread: float  # the sample standard deviation over seeds; 0 with one seed
    seeds: int
    seconds: float
    tokens_per_second: float | None
    peak_memory_bytes: int | None
    on_frontier: bool = False


def _mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def summarize(results: list[PlanResult], task: str) -> list[PlanSummary]:
    """Per plan (in the order first seen), finished seeds only; the Pareto frontier marked."""
    metric, _ = QUALITY.get(task, QUALITY["causal-lm"])
    rows: list[PlanSummary] = []
    for name in dict.fromkeys(r.name for r in results):
        mine = [r for r in results if r.name == name and r.ok and math.isfinite(r.metrics.get(metric, math.nan))]
        if not mine:
            continue
        q = [r.metrics[metric] for r in mine]
        tps = [r.tokens_per_second for r in mine if r.tokens_per_second]
        mem = [r.peak_memory_bytes for r in mine if r.peak_memory_bytes is not None]
        rows.append(PlanSummary(
            name, mine[0].trainable_params, statistics.fmean(q), statistics.stdev(q) if len(q) > 1 else 0.0,
            len(q), statistics.fmean(r.seconds for r in mine), _mean(tps), int(max(mem)) if mem else None,
        ))  # fmt: skip
    front = set(pareto([(s.name, s.trainable_params, s.quality) for s in rows], maximize=QUALITY[task][1]))
    return [replace(s, on_frontier=s.name in front) for s in rows]


def pareto(points: list[tuple[str, float, float]], maximize: bool) -> list[str]:
    """Names of the points no other point beats: no more parameters and at least as good, one of them strictly."""

    def better(a: tuple[str, float, float], b: tuple[str, float, float]) -> bool:
        qa, qb = (a[2], b[2]) if maximize else (-a[2], -b[2])
        return a[1] <= b[1] and qa >= qb and (a[1] < b[1] or qa > qb)

    return [p[0] for p in points if not any(better(o, p) for o in points if o is not p)]
