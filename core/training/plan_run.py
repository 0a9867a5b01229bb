"""One (plan, seed) of a sweep trained on a shared base and measured: its seconds, tokens/s and peak memory. The
same code runs in the sweep's own process (one lane) and in a lane's child process (``core.training.lanes``)."""

from __future__ import annotations

import ctypes
import resource
import sys
import threading
import time
from pathlib import Path

import torch

from core.data.dataset import TextDataset
from core.training.engine import TrainResult, free_memory, run_training
from core.training.run_state import RunState
from core.training.shared_base import SharedBase
from core.training.sweep import PlanResult, Sweep, SweepPlan


class PeakMemory:
    """Peak memory of one plan: ``torch.cuda.max_memory_allocated`` on a GPU; on a CPU the growth of the process's
    resident set over its level at the start: Linux's own high-water mark (``VmHWM``, reset through
    ``/proc/self/clear_refs``), else sampled every 20 ms."""

    def __init__(self) -> None:
        self.kind = "cuda_max_allocated" if torch.cuda.is_available() else "rss_growth"
        self._stop = threading.Event()
        self._peak = self._start = 0
        self._thread: threading.Thread | None = None
        self._hwm = False

    def __enter__(self) -> PeakMemory:
        if self.kind == "cuda_max_allocated":
            torch.cuda.reset_peak_memory_stats()
            return self
        _give_back_free_memory()
        self._start = self._peak = _rss()
        self._hwm = _reset_high_water_mark()
        if not self._hwm:
            self._thread = threading.Thread(target=self._sample, daemon=True)
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self._peak = max(self._peak, _rss())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._peak = max(self._peak, _rss(), _high_water_mark() if self._hwm else 0)

    @property
    def peak_bytes(self) -> int:
        if self.kind == "cuda_max_allocated":
            return int(torch.cuda.max_memory_allocated())
        return max(0, self._peak - self._start)


def _rss() -> int:
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * resource.getpagesize()
    except OSError:
        scale = 1 if sys.platform == "darwin" else 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def _give_back_free_memory() -> None:
    """glibc keeps memory a finished plan freed and lends it to the next one, which would then look smaller than
    it is: ``malloc_trim`` returns it to the system first, so every plan's growth counts what it allocates."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc: growth may undercount plans after the first
        pass


def _reset_high_water_mark() -> bool:
    """Linux: "5" resets the process's peak resident set (``VmHWM``) to its current size."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as f:
            f.write("5")
        return _high_water_mark() > 0
    except OSError:
        return False


def _high_water_mark() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            line = next((x for x in f if x.startswith("VmHWM:")), "")
        return int(line.split()[1]) * 1024 if line else 0
    except (OSError, ValueError, IndexError):
        return 0


def train_plan(
    sweep: Sweep, item: SweepPlan, seed: int, shared: SharedBase, train: TextDataset, val: TextDataset,
    workdir: Path, state: RunState, budget: int,
) -> tuple[PlanResult, TrainResult | None]:
    """Train one (plan, seed) on the shared base with the engine, measuring it; never raises."""
    shared.bare()  # the plan before lets go of the base (and its memory) before this one is measured
    free_memory()
    started = time.monotonic()
    with PeakMemory() as memory:
        trained = run_training(sweep.model, item.plan, train, val, sweep.settings_for(item, seed), workdir, state,
                               shared)  # fmt: skip
    snap = state.snapshot()
    result = PlanResult(
        name=item.name, seed=seed, status=snap.status, budget_params=budget, metrics=dict(snap.metrics),
        seconds=round(time.monotonic() - started, 3), tokens_per_second=snap.tokens_per_s,
        peak_memory_bytes=memory.peak_bytes, memory_kind=memory.kind, losses=snap.losses, evals=snap.evals,
        error_key=snap.error_key, error_params=dict(snap.error_params),
    )  # fmt: skip
    if trained is not None:
        result.trainable_params = trained.trainable_params  # counted while it trained
        result.adapter_dir = str(trained.adapter_dir) if trained.adapter_dir else None
    return result, trained
