"""Running a sweep: one tokenization shared by every plan, each plan measured, through the job queue (the app) or in
this thread (the CLI and the benchmark). On a CPU several plans train at once, each in a process of its own
(``core.training.lanes``); with one lane, every plan wraps one base loaded once. A failing plan is recorded and the
sweep goes on."""

from __future__ import annotations

import functools
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.data.dataset import TextDataset
from core.data.splits import train_val_split
from core.errors import LensError
from core.models.spec import ModelSpec
from core.training.engine import TrainResult, free_memory
from core.training.lanes import SideBySide, lane_count, start_lane_server
from core.training.plan_run import train_plan
from core.training.run_state import RunState
from core.training.shared_base import SharedBase, load_base, load_rows, read_in
from core.training.sweep import PlanResult, Sweep, SweepPlan, validate_sweep

OnResult = Callable[[PlanResult, "TrainResult | None"], None]


def share_base(spec: ModelSpec, task: str, train: TextDataset, val: TextDataset, settings: Any) -> SharedBase:
    """Tokenize once and load the base once (``load_base``, what ``prepare`` does per run), for every plan of a
    sweep; each run wraps the base in turn and draws its own head from its seed (``engine.fresh_head``)."""
    shared = load_base(spec, task, train, val, settings)
    read_in(shared.model)
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


def plan_folder(root: Path, index: int, item: SweepPlan, seed: int) -> Path:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", item.name).strip("-")[:40] or "plan"
    return root / f"{index:02d}-{slug}-seed{seed}"


def run_sweep(
    sweep: Sweep, train: TextDataset, val: TextDataset | None, root: Path,
    on_result: OnResult | None = None, stop: threading.Event | None = None, lanes: int | None = None,
) -> list[PlanResult]:
    """Every (plan, seed), ``lanes`` at once (default ``lane_count``: one a core on a CPU), results in the sweep's
    order; ``stop`` set between or during plans keeps what finished. ``on_result`` is called as each plan ends."""
    validate_sweep(sweep)
    train, val = split(sweep, train, val)
    lanes = lane_count(sweep, lanes)
    if lanes > 1:
        start_lane_server()  # its imports run in their own process while this one tokenizes
        return _run_side_by_side(sweep, train, val, root, on_result, stop, lanes)
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


def _run_side_by_side(
    sweep: Sweep, train: TextDataset, val: TextDataset, root: Path, on_result: OnResult | None,
    stop: threading.Event | None, lanes: int,
) -> list[PlanResult]:
    """``lanes`` threads, each taking the next (plan, seed) and training it in a child process."""
    side = SideBySide(sweep, load_rows(sweep.model, sweep.task, train, val, sweep.settings), train, val, lanes)
    budgets = budget_params(sweep.model, sweep.plans, len(side.rows.labels))
    todo = list(enumerate(sweep.runs()))
    done: dict[int, PlanResult] = {}
    lock = threading.Lock()

    def lane() -> None:
        while True:
            with lock:
                if not todo or (stop is not None and stop.is_set()):
                    return
                index, (item, seed) = todo.pop(0)
            state = RunState()
            watcher = _forward_stop(stop, state)
            result, trained = side.run(item, seed, plan_folder(root, index, item, seed), state, budgets[item.name])
            watcher.set()
            with lock:
                done[index] = result
                if on_result is not None:
                    on_result(result, trained)

    threads = [threading.Thread(target=lane, name=f"lora-lens-sweep-lane-{i}", daemon=True) for i in range(lanes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return [done[i] for i in sorted(done)]


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
        self.lanes = 1  # plans at once (``lane_count``, set as the sweep is submitted)
        self._side: SideBySide | None = None
        self._beside = 0  # lanes training a taken job now, beside the queue's worker
        self._stopping = False
        self._submitted = threading.Event()  # every plan queued: the first may start before the last is submitted

    def submit(self, manager: Any, owner: str, lanes: int | None = None) -> list[str]:
        self.manager, self.owner = manager, owner
        self.lanes = lane_count(self.sweep, lanes)
        if self.lanes > 1:
            start_lane_server()  # its imports run now, while the page shows the sweep queued
        try:
            for index, (item, seed) in enumerate(self.sweep.runs()):
                runner = functools.partial(self._run, item, seed)
                self.job_ids.append(manager.submit(
                    owner, self.sweep.model, item.plan, self.train, self.val, self.sweep.settings_for(item, seed),
                    workdir=plan_folder(self.root, index, item, seed), runner=runner, keep_rows=False,
                ))  # fmt: skip
        finally:
            self._submitted.set()
        return list(self.job_ids)

    def _base(self) -> SharedBase:
        with self._lock:
            if self._shared is None:
                s = self.sweep
                self._shared = share_base(s.model, s.task, self.train, self.val, s.settings)
                self._budgets = budget_params(s.model, s.plans, len(self._shared.labels))
            return self._shared

    def _lanes(self) -> SideBySide:
        with self._lock:
            if self._side is None:
                s = self.sweep
                rows = load_rows(s.model, s.task, self.train, self.val, s.settings)
                self._side = SideBySide(s, rows, self.train, self.val, self.lanes)
                self._budgets = budget_params(s.model, s.plans, len(rows.labels))
            return self._side

    def _run(self, item: SweepPlan, seed: int, spec: Any, plan: Any, train: Any, val: Any, settings: Any,
             workdir: Path, state: RunState) -> TrainResult | None:  # fmt: skip
        """The job's runner (the queue's arguments after the plan and seed)."""
        try:
            if self.lanes > 1:
                self._submitted.wait(timeout=60)
                self._fill_lanes()
            try:
                side = self._lanes() if self.lanes > 1 else None
                shared = None if side is not None else self._base()
            except LensError as exc:
                state.fail(exc.key, **exc.params)
                result, trained = PlanResult(item.name, seed, "failed", error_key=exc.key), None
            else:
                budget = self._budgets[item.name]
                if side is not None:
                    result, trained = side.run(item, seed, workdir, state, budget)
                else:
                    assert shared is not None
                    result, trained = train_plan(self.sweep, item, seed, shared, self.train, self.val, workdir, state,
                                                 budget)  # fmt: skip
            self._record(result, trained)
            return trained
        finally:
            self._one_less()

    def _fill_lanes(self) -> None:
        """Free lanes take this sweep's next queued plans and train them beside the queue's worker."""
        while True:
            job = self._take_next(new_lane=True)
            if job is None:
                return
            threading.Thread(target=self._beside_lane, args=(job,), name="lora-lens-sweep-lane", daemon=True).start()

    def _take_next(self, new_lane: bool = False) -> Any:
        with self._lock:
            if self._stopping or (new_lane and self._beside >= self.lanes - 1):
                return None
            for job_id in self.job_ids:
                if (self.manager.queue_position(job_id) or 0) > 0:
                    job = self.manager.take(self.owner, job_id)
                    if job is not None and new_lane:
                        self._beside += 1
                    return job
            return None

    def _beside_lane(self, job: Any) -> None:
        try:
            while job is not None:
                self.manager.run_beside(job)
                job = self._take_next()
        finally:
            with self._lock:
                self._beside -= 1

    def _record(self, result: PlanResult, trained: TrainResult | None) -> None:
        order = {(item.name, seed): i for i, (item, seed) in enumerate(self.sweep.runs())}
        with self._lock:
            self.results.append(result)
            self.results.sort(key=lambda r: order.get((r.name, r.seed), len(order)))  # lanes end in any order
        if self.on_result is not None:
            self.on_result(result, trained)

    def _one_less(self) -> None:
        with self._lock:
            self._left -= 1
            if self._left <= 0:
                self._shared = self._side = None
        if self._left <= 0:
            free_memory()

    def stop(self) -> None:
        """Drop the queued plans and stop the running ones after their step; finished plans stay."""
        with self._lock:
            self._stopping = True  # no lane takes another plan
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
        """(plan, seed, job id) of the first plan training now, else ``None``."""
        every = self.running_all()
        return every[0] if every else None

    def running_all(self) -> list[tuple[SweepPlan, int, str]]:
        """(plan, seed, job id) of every plan training now (more than one where lanes train side by side)."""
        return [(item, seed, job_id) for (item, seed), job_id in zip(self.sweep.runs(), self.job_ids, strict=True)
                if self.manager.queue_position(job_id) == 0]  # fmt: skip


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
