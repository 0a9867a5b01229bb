"""A sweep's step-0 evaluation, measured once and shared by every run whose starting model computes the same."""

from __future__ import annotations

from typing import Any

from transformers.trainer_callback import TrainerCallback  # the submodule: not through the lazy top-level module

from core.planning.plan import LoraPlan


def start_key(plan: LoraPlan, task: str, seed: int) -> tuple[str, int | None] | None:
    """Which runs start as the same function: PEFT's LoRA init leaves ``lora_B`` at zero, so before its first step
    an adapted model computes exactly its base (plus zeros), whatever its targets, rank or seed; a seq-cls base's
    head is drawn from the run's seed. DoRA (a norm recomputed in floating point) and other init methods (PiSSA, OLoRA, ... move the base) do not
    start bit-exactly at the base: ``None``, never shared."""
    if plan.use_dora or plan.extra or plan.init_lora_weights != "default":
        return None
    return (task, seed if task == "seq-cls" else None)


class StartEval(TrainerCallback):
    """Keeps the metrics of a run's step-0 evaluation in ``known[key]``; a run whose key is already known skips
    its own (``eval_on_start`` off) and reports the kept metrics at step 0 through ``report`` instead."""

    def __init__(self, known: dict, key: tuple[str, int | None] | None, report: TrainerCallback) -> None:
        self.known, self.key, self.report = known, key, report
        self.replaces = False  # set by the engine where this run would have evaluated at step 0

    @property
    def shared(self) -> bool:
        return self.key is not None and self.key in self.known

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.replaces:  # after the progress callback started the run's state
            self.report.on_evaluate(args, state, control, metrics=dict(self.known[self.key]))

    def on_evaluate(self, args: Any, state: Any, control: Any, metrics: dict | None = None, **kwargs: Any) -> None:
        if self.key is not None and state.global_step == 0 and metrics and self.key not in self.known:
            self.known[self.key] = {k: float(v) for k, v in metrics.items()}
