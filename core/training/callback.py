"""The ``TrainerCallback`` that feeds a ``RunState``: progress, losses, evals, stop and divergence."""

from __future__ import annotations

import math
from typing import Any

import torch
from transformers.trainer_callback import TrainerCallback  # the submodule: not through the lazy top-level module

from core.training.run_state import RunState


class ProgressCallback(TrainerCallback):
    """Reports each step; stops training when asked to or when the loss is NaN/inf."""

    def __init__(self, state: RunState) -> None:
        self.state = state
        self.diverged = False
        self.diverged_step: int | None = None
        self.last_eval: dict[str, float] = {}
        self.last_eval_step: int | None = None

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        self.state.start(state.max_steps)

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        mem = torch.cuda.max_memory_allocated() if torch.cuda.is_available() else None
        # Trainer counts the real (non-pad) training tokens: include_num_input_tokens_seen="non_padding".
        self.state.step(state.global_step, int(state.num_input_tokens_seen), mem)
        if self.state.stop_requested:
            control.should_training_stop = True

    def on_log(self, args: Any, state: Any, control: Any, logs: dict | None = None, **kwargs: Any) -> None:
        logs = logs or {}
        if "loss" in logs:
            loss = float(logs["loss"])
            self.state.log_loss(state.global_step, loss, float(logs.get("learning_rate", 0.0)))
            if not math.isfinite(loss):
                self.diverged = True
                self.diverged_step = state.global_step
                control.should_training_stop = True

    def on_evaluate(self, args: Any, state: Any, control: Any, metrics: dict | None = None, **kwargs: Any) -> None:
        metrics = metrics or {}
        if "eval_loss" in metrics:
            self.state.log_eval(state.global_step, float(metrics["eval_loss"]))
        self.last_eval = {k.removeprefix("eval_") if k != "eval_loss" else k: float(v) for k, v in metrics.items()}
        self.last_eval_step = state.global_step
