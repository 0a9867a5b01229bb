"""Live state of one training run, shared between the training thread and the UI."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
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

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: object) -> RunSnapshot:
        """The inverse of ``to_json``, checking every type; ``ValueError`` on anything else."""
        if not isinstance(data, dict) or data.get("status") not in STATUSES:
            raise ValueError("snapshot")
        key = data.get("error_key")
        params = data.get("error_params") or {}
        if key is not None and not isinstance(key, str) or not isinstance(params, dict):
            raise ValueError("error")
        return cls(
            status=data["status"], step=_count(data.get("step", 0)), total_steps=_count(data.get("total_steps", 0)),
            eta_s=_number(data.get("eta_s"), optional=True), elapsed_s=_number(data.get("elapsed_s", 0.0)),
            losses=_points(data.get("losses", []), ("step", "loss", "lr")),
            evals=_points(data.get("evals", []), ("step", "eval_loss")),
            tokens=_count(data.get("tokens", 0)), tokens_per_s=_number(data.get("tokens_per_s"), optional=True),
            gpu_mem_bytes=None if data.get("gpu_mem_bytes") is None else _count(data["gpu_mem_bytes"]),
            metrics=_metrics(data.get("metrics", {})), error_key=key,
            error_params={str(k): v for k, v in params.items() if isinstance(v, str | int | float | bool)},
        )  # fmt: skip


class RunState:
    """Thread-safe holder of a ``RunSnapshot`` plus the stop request flag. ``on_finish`` runs once the
    final status is set and before ``wait`` returns (the job manager saves the outcome there)."""

    def __init__(self, on_finish: Callable[[], None] | None = None) -> None:
        self.on_finish = on_finish
        self._lock = threading.Lock()
        self._snap = RunSnapshot()
        self._stop = threading.Event()
        self._done = threading.Event()
        self._t0: float | None = None
        self.result: Any = None  # the TrainResult, set together with the final status

    @classmethod
    def restored(cls, snapshot: RunSnapshot, result: Any = None) -> RunState:
        """A finished run's state rebuilt from disk (after a restart)."""
        if not snapshot.finished:
            raise ValueError("a restored run must be finished")
        state = cls()
        state._snap, state.result = snapshot, result
        state._done.set()
        return state

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

    def mirror(self, snapshot: RunSnapshot) -> None:
        """Show a run that trains in another process as its snapshots arrive; a final status is never taken from
        a snapshot (``finish`` and ``fail`` set it, so ``on_finish`` runs)."""
        if snapshot.finished:
            return
        with self._lock:
            self._snap = snapshot

    def finish(self, status: str, metrics: dict[str, float] | None = None, result: Any = None) -> None:
        with self._lock:
            self.result = result
            self._snap.status = status
            self._snap.eta_s = 0.0
            if metrics:
                self._snap.metrics.update(metrics)
        self._finished()

    def fail(self, key: str, **params: Any) -> None:
        with self._lock:
            self._snap.status = "failed"
            self._snap.eta_s = None
            self._snap.error_key = key
            self._snap.error_params = dict(params)
        self._finished()

    def _finished(self) -> None:
        try:
            if self.on_finish is not None:
                self.on_finish()
        finally:
            self._done.set()


def _count(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError("count")
    return value


def _number(value: object, optional: bool = False) -> Any:
    if value is None and optional:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ValueError("number")
    return float(value)


def _metrics(data: object) -> dict[str, float]:
    if not isinstance(data, dict):
        raise ValueError("metrics")
    return {str(k): _number(v) for k, v in data.items()}


def _points(data: object, keys: tuple[str, ...]) -> list[dict[str, float]]:
    """A chart's points: each a dict of exactly ``keys``; NaN losses (a diverged run) stay NaN."""
    if not isinstance(data, list) or any(not isinstance(p, dict) or set(p) != set(keys) for p in data):
        raise ValueError("points")
    return [{k: (_count(p[k]) if k == "step" else _number(p[k])) for k in keys} for p in data]


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
