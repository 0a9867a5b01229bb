"""Running a sweep: one base load and one tokenization shared by every plan, each plan measured, through the job queue
(the app) or in this thread (the CLI and the benchmark). A failing plan is recorded and the sweep goes on."""

from __future__ import annotations

import ctypes
import functools
import re
import resource
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from core.data.dataset import TextDataset
from core.data.splits import train_val_split
from core.errors import LensError
from core.models.spec import ModelSpec
from core.training.engine import TrainResult, free_memory, run_training
from core.training.run_state import RunState
from core.training.shared_base import SharedBase, load_base
from core.training.sweep import PlanResult, Sweep, SweepPlan, validate_sweep

OnResult = Callable[[PlanResult, "TrainResult | None"], None]


def share_base(spec: ModelSpec, task: str, train: TextDataset, val: TextDataset, settings: Any) -> SharedBase:
    """Tokenize once and load the base once (``load_base``, what ``prepare`` does per run), for every plan of a
    sweep; each run wraps the base in turn and draws its own head from its seed (``engine.fresh_head``)."""
    shared = load_base(spec, task, train, val, settings)
    with torch.no_grad():  # weights load mapped from the file: read them in now, not in the first plan's memory
        for p in shared.model.parameters():
            p.sum()
    return shared


def split(sweep: Sweep, train: TextDataset, val: TextDataset | None) -> tuple[TextDataset, TextDataset]:
    """The one train/validation split every plan sees (``prepare`` would split per run)."""
    if val is None or len(val) == 0:
        return train_val_split(train, sweep.settings.val_fraction, sweep.settings.seed)
    return train, val


def budget_params(spec: ModelSpec, plans: tuple[SweepPlan, ...], num_labels: int) -> dict[str, int]:
    """``core.planning.budget``'s trainable count of each plan, from one meta-device model (no weights) and its one
    inventory: every plan of a sweep has the same model, task and labels."""
    from core.anatomy.inventory import list_adaptable_layers
    from core.models.meta import build_meta_model
    from core.models.sources import load_config
    from core.planning.budget import compute_budget

    mc = load_config(ModelSpec(spec.source, spec.ref, plans[0].plan.task, max(num_labels, 2)))
    layers = list_adaptable_layers(build_meta_model(mc))
    return {item.name: compute_budget(layers, item.plan).trainable_params for item in plans}


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


def plan_folder(root: Path, index: int, item: SweepPlan, seed: int) -> Path:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", item.name).strip("-")[:40] or "plan"
    return root / f"{index:02d}-{slug}-seed{seed}"


def run_sweep(
    sweep: Sweep, train: TextDataset, val: TextDataset | None, root: Path,
    on_result: OnResult | None = None, stop: threading.Event | None = None,
) -> list[PlanResult]:
    """Every (plan, seed) in this thread; ``stop`` set between or during plans keeps what finished."""
    validate_sweep(sweep)
    train, val = split(sweep, train, val)
    shared = share_base(sweep.model, sweep.task, train, val, sweep.settings)
    budgets = budget_params(sweep.model, sweep.plans, len(shared.labels))
    results: list[PlanResult] = []
    for index, (item, seed) in enumerate(sweep.runs()):
        if stop is not None and stop.is_set():
            break
        state = RunState()
        watcher = _forward_stop(stop, state)
        result, trained = train_plan(sweep, item, seed, shared, train, val, plan_folder(root, index, item, seed),
                                     state, budgets[item.name])  # fmt: skip
        watcher.set()
        results.append(result)
        if on_result is not None:
            on_result(result, trained)
        del trained  # collected as the next plan starts (train_plan): one gc pass a plan, ~0.26 s on SmolLM2
    return results


def _forward_stop(stop: threading.Event | None, state: RunState) -> threading.Event:
    """Pass a sweep's stop to the plan running now (it stops after its step and keeps its adapter)."""
    done = threading.Event()
    if stop is not None:
        def watch() -> None:
            while not done.wait(0.1):
                if stop.is_set():
                    state.request_stop()
                    return

        threading.Thread(target=watch, daemon=True).start()
    return done


class SweepRun:
    """A sweep in the app's job queue: one job per (plan, seed), queued together so they run one after another.
    The first job to start loads the shared base; the last to end drops it. ``results`` fill in as plans end."""

    def __init__(self, sweep: Sweep, train: TextDataset, val: TextDataset | None, root: Path,
                 on_result: OnResult | None = None) -> None:  # fmt: skip
        validate_sweep(sweep)
        self.sweep, self.root, self.on_result = sweep, root, on_result
        self.train, self.val = split(sweep, train, val)
        self.job_ids: list[str] = []
        self.results: list[PlanResult] = []
        self._lock = threading.Lock()
        self._shared: SharedBase | None = None
        self._budgets: dict[str, int] = {}
        self._left = len(sweep.runs())
        self.manager: Any = None
        self.owner = ""

    def submit(self, manager: Any, owner: str) -> list[str]:
        self.manager, self.owner = manager, owner
        for index, (item, seed) in enumerate(self.sweep.runs()):
            runner = functools.partial(self._run, item, seed)
            self.job_ids.append(manager.submit(
                owner, self.sweep.model, item.plan, self.train, self.val, self.sweep.settings_for(item, seed),
                workdir=plan_folder(self.root, index, item, seed), runner=runner, keep_rows=False,
            ))  # fmt: skip
        return list(self.job_ids)

    def _base(self) -> SharedBase:
        with self._lock:
            if self._shared is None:
                s = self.sweep
                self._shared = share_base(s.model, s.task, self.train, self.val, s.settings)
                self._budgets = budget_params(s.model, s.plans, len(self._shared.labels))
            return self._shared

    def _run(self, item: SweepPlan, seed: int, spec: Any, plan: Any, train: Any, val: Any, settings: Any,
             workdir: Path, state: RunState) -> TrainResult | None:  # fmt: skip
        """The job's runner (the queue's arguments after the plan and seed)."""
        try:
            try:
                shared = self._base()
            except LensError as exc:
                state.fail(exc.key, **exc.params)
                result, trained = PlanResult(item.name, seed, "failed", error_key=exc.key), None
            else:
                result, trained = train_plan(self.sweep, item, seed, shared, self.train, self.val, workdir, state,
                                             self._budgets[item.name])  # fmt: skip
            self._record(result, trained)
            return trained
        finally:
            self._one_less()

    def _record(self, result: PlanResult, trained: TrainResult | None) -> None:
        with self._lock:
            self.results.append(result)
        if self.on_result is not None:
            self.on_result(result, trained)

    def _one_less(self) -> None:
        with self._lock:
            self._left -= 1
            if self._left <= 0:
                self._shared = None
        if self._left <= 0:
            free_memory()

    def stop(self) -> None:
        """Drop the queued plans and stop the running one after its step; finished plans stay."""
        for job_id in self.job_ids:
            queued = (self.manager.queue_position(job_id) or 0) > 0
            if not self.manager.get(self.owner, job_id).snapshot.finished:
                self.manager.stop(self.owner, job_id)
                if queued:  # its runner never starts: count it here
                    self._one_less()

    @property
    def finished(self) -> bool:
        return all(self.manager.get(self.owner, j).snapshot.finished for j in self.job_ids)

    def running(self) -> tuple[SweepPlan, int, str] | None:
        """(plan, seed, job id) of the plan training now, else ``None``."""
        for (item, seed), job_id in zip(self.sweep.runs(), self.job_ids, strict=True):
            if self.manager.queue_position(job_id) == 0:
                return item, seed, job_id
        return None


_LIVE: dict[tuple[str, int], SweepRun] = {}
_LIVE_LOCK = threading.Lock()
# Sweeps recorded before this moment were started by an earlier server process (this module loads before any
# sweep of this process is recorded: the page that records one imports it).
PROCESS_STARTED = time.time()


def keep_live(owner: str, number: int, run: SweepRun) -> None:
    """Remember a submitted sweep for its owner's later reruns (the process-wide job queue runs it)."""
    with _LIVE_LOCK:
        _LIVE[(owner, number)] = run


def live_sweep(owner: str, number: int) -> SweepRun | None:
    with _LIVE_LOCK:
        return _LIVE.get((owner, number))


def interrupted(owner: str, number: int, status: str, created: float) -> bool:
    """A sweep still recorded as running that no live sweep of this process runs: the server restarted under it."""
    return status == "running" and created < PROCESS_STARTED and live_sweep(owner, number) is None


def forget_live(owner: str, number: int) -> None:
    with _LIVE_LOCK:
        _LIVE.pop((owner, number), None)
