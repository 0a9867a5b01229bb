"""Live state of one training run, shared between the training thread and the UI."""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass, field
from typing import Any

STATUSES: tuple[str, ...] = ("queued", "running", "done", "stopped", "failed")
FINISHED: frozenset[str] = frozenset({"done", "stopped", "failed"})


@dataclass
class RunSnapshot:
    """A consistent copy of a run's state; safe to read without a lock."""

    status: str = "queued"
    step: int = 0
    total_steps: int = 0
    eta_s: float | None = None
    elapsed_s: float = 0.0
    losses: list[dict[str, float]] = field(default_factory=list)  # {step, loss, lr}
    evals: list[dict[str, float]] = field(default_factory=list)  # {step, eval_loss}
    tokens: int = 0
    tokens_per_s: float | None = None
    gpu_mem_bytes: int | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    error_key: str | None = None
    error_params: dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def progress(self) -> float:
        return min(1.0, self.step / self.total_steps) if self.total_steps else 0.0


class RunState:
    """Thread-safe holder of a ``RunSnapshot`` plus the stop request flag."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snap = RunSnapshot()
        self._stop = threading.Event()
        self._done = threading.Event()
        self._t0: float | None = None
        self.result: Any = None  # the TrainResult, set together with the final status

    # --- reading ---------------------------------------------------------------------

    def snapshot(self) -> RunSnapshot:
        with self._lock:
            return copy.deepcopy(self._snap)

    @property
    def status(self) -> str:
        with self._lock:
            return self._snap.status

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the run has finished; ``False`` on timeout."""
        return self._done.wait(timeout)

    # --- writing (the training thread) ----------------------------------------------

    def request_stop(self) -> None:
        self._stop.set()

    def start(self, total_steps: int) -> None:
        with self._lock:
            self._t0 = time.monotonic()
            self._snap.status = "running"
            self._snap.total_steps = total_steps

    def step(self, step: int, tokens: int, gpu_mem_bytes: int | None = None) -> None:
        with self._lock:
            snap = self._snap
            snap.step = step
            snap.tokens = tokens
            snap.elapsed_s = time.monotonic() - (self._t0 or time.monotonic())
            if snap.elapsed_s > 0 and step > 0:
                snap.tokens_per_s = tokens / snap.elapsed_s
                snap.eta_s = snap.elapsed_s / step * max(0, snap.total_steps - step)
            if gpu_mem_bytes is not None:
                snap.gpu_mem_bytes = gpu_mem_bytes

    def log_loss(self, step: int, loss: float, lr: float) -> None:
        with self._lock:
            self._snap.losses.append({"step": step, "loss": loss, "lr": lr})

    def log_eval(self, step: int, eval_loss: float) -> None:
        with self._lock:
            self._snap.evals.append({"step": step, "eval_loss": eval_loss})

    def finish(self, status: str, metrics: dict[str, float] | None = None, result: Any = None) -> None:
        with self._lock:
            self.result = result
            self._snap.status = status
            self._snap.eta_s = 0.0
            if metrics:
                self._snap.metrics.update(metrics)
        self._done.set()

    def fail(self, key: str, **params: Any) -> None:
        with self._lock:
            self._snap.status = "failed"
            self._snap.eta_s = None
            self._snap.error_key = key
            self._snap.error_params = dict(params)
        self._done.set()


# The final metrics a run reports (each has a ``trainpage.metric.*`` label).
FINAL_METRICS: tuple[str, ...] = ("eval_loss", "perplexity", "accuracy", "f1_macro")


def smoothed(values: list[float], weight: float = 0.6) -> list[float]:
    """TensorBoard's smoothing: an exponential moving average with start-up correction (pandas' ``ewm``
    with ``adjust=True``), so the first points are not pulled towards zero: a short run's per-step
    loss is noisy, its trend is what people read."""
    if not 0 <= weight < 1:
        raise ValueError("weight must be in [0, 1)")
    import pandas as pd

    return pd.Series(values, dtype="float64").ewm(alpha=1 - weight, adjust=True).mean().tolist()
