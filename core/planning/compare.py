"""Side-by-side comparison of saved plans: each one's budget, memory and r sweep."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from core.anatomy.inventory import Inventory
from core.errors import LensError
from core.models.sources import ModelConfig
from core.models.spec import ModelSpec
from core.planning.budget import Budget, compute_budget
from core.planning.memory import MemoryEstimate, MemorySettings, estimate_training_memory
from core.planning.plan import LoraPlan
from core.planning.serving import ServingCheck, check_vllm, declared_architecture

R_SWEEP: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256)
Loader = Callable[[ModelSpec], tuple[ModelConfig, Inventory]]


@dataclass(frozen=True)
class PlanResult:
    """One saved plan evaluated: its budget, its memory (None when it cannot be estimated) and r sweep."""

    name: str
    model_name: str
    plan: LoraPlan
    budget: Budget
    memory: MemoryEstimate | None = None
    curve: tuple[tuple[int, int], ...] = ()
    serving: ServingCheck | None = None  # will vLLM serve the adapter

    @property
    def memory_total(self) -> int | None:
        return self.memory.total if self.memory is not None else None


@dataclass(frozen=True)
class Comparison:
    """Every plan that could be evaluated, and (name, error) for those that could not."""

    results: tuple[PlanResult, ...]
    errors: tuple[tuple[str, LensError], ...]

    def curves(self) -> dict[str, list[tuple[int, int]]]:
        return {res.name: list(res.curve) for res in self.results}

    def chosen(self) -> dict[str, tuple[int, int]]:
        return {res.name: (res.plan.r, res.budget.trainable_params) for res in self.results}

    def estimates(self) -> dict[str, MemoryEstimate]:
        return {res.name: res.memory for res in self.results if res.memory is not None}


def budget_curve(inv: Inventory, plan: LoraPlan) -> list[tuple[int, int]]:
    """Trainable parameters at each r of the sweep (matching is cached, so this is cheap)."""
    return [(r, compute_budget(inv, plan.with_changes(r=r)).trainable_params) for r in R_SWEEP]


def compare_plans(plans: Mapping[str, tuple[ModelSpec, LoraPlan]], load: Loader, settings: MemorySettings) -> Comparison:
    """Evaluate each named (model, plan); ``load`` gives a model's config and inventory (the UI passes its cache)."""
    results, errors = [], []
    for name, (spec, plan) in plans.items():
        try:
            mc, inv = load(spec)
            budget = compute_budget(inv, plan)
        except LensError as exc:
            errors.append((name, exc))
            continue
        try:
            memory = estimate_training_memory(inv, budget, settings, config=mc.config, plan=plan)
        except LensError:
            memory = None  # e.g. a sequence longer than the model takes: the budget still compares
        serving = check_vllm(plan, budget, inv, declared=declared_architecture(mc.config))
        results.append(PlanResult(name, mc.display_name, plan, budget, memory, tuple(budget_curve(inv, plan)), serving))
    return Comparison(tuple(results), tuple(errors))
