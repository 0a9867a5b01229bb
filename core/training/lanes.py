"""Plans of a sweep trained side by side on a CPU: one process a plan, each on its share of the cores.

A small model's training step does not keep two or more cores busy (the same step on 2 cores of this project's
machine runs 1.6x, not 2x, as fast as on one), so on a CPU a sweep runs ``lanes`` plans at once, each in a child
process with ``cores // lanes`` threads; on a GPU it runs one plan at a time in this process.

Each child is forked from a server process started once (``forkserver``, with torch, transformers and PEFT already
imported), reads the base from disk, takes the parent's tokenized rows, and runs the very ``train_plan`` a one-lane
sweep runs: its seed, head, LoRA init, batches and dropout are its own, so each plan's numbers equal a one-lane
sweep's (and a Train-page run's) whatever runs beside it. Its state streams to the parent's ``RunState`` (the page's
live curve), the parent's Stop reaches it, and a child that dies (killed for memory, a crash) fails that plan only.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.data.dataset import TextDataset
from core.training.engine import TrainResult
from core.training.plan_run import train_plan
from core.training.run_state import RunSnapshot, RunState
from core.training.shared_base import Rows, read_in, with_model
from core.training.sweep import PlanResult, Sweep, SweepPlan

LANES_ENV = "LORA_LENS_SWEEP_LANES"  # the operator's count of plans a CPU sweep trains at once (1: one at a time)
MAX_LANES = 4
_POLL_S = 0.2


def wanted_lanes(runs: int) -> int:
    """Plans at once: the operator's ``LORA_LENS_SWEEP_LANES``, else one a core (at most ``MAX_LANES``) on a CPU
    and one on a GPU (its kernels already fill it); never more than the sweep's runs."""
    import torch

    wanted = os.environ.get(LANES_ENV, "").strip()
    if wanted.isdigit() and int(wanted) > 0:
        n = int(wanted)
    else:
        n = 1 if torch.cuda.is_available() else min(os.cpu_count() or 1, MAX_LANES)
    return max(1, min(n, runs))


def lane_count(sweep: Sweep, wanted: int | None = None) -> int:
    """``wanted`` (default ``wanted_lanes``), never more than the sweep's runs, and fewer where this machine's free
    memory cannot hold that many runs at once (each its own base)."""
    from core.training.preflight import side_by_side

    runs = sweep.runs()
    n = wanted_lanes(len(runs)) if wanted is None else max(1, min(wanted, len(runs)))
    if n <= 1:
        return 1
    return side_by_side(sweep.model, [item.plan for item in sweep.plans], sweep.settings, n)  # seeds, rates: same size


def threads_per_lane(lanes: int) -> int:
    """The CPU threads of one lane: the engine's count (``cpu_thread_count``) shared out."""
    from core.training.engine import cpu_thread_count

    return max(1, cpu_thread_count() // max(1, lanes))


@dataclass(frozen=True)
class LaneJob:
    """What a child needs to train one (plan, seed): no live objects, only what pickles."""

    sweep: Sweep
    item: SweepPlan
    seed: int
    location: str  # the base's local folder (a Hub model already downloaded by the parent)
    rows: Rows  # the parent's tokenized rows (the tokenizer travels with them)
    train: TextDataset
    val: TextDataset
    workdir: Path
    budget: int
    threads: int
    start_evals: dict
    packs: tuple[bool, bool] | None


@dataclass
class LaneOutcome:
    """What a child sends back at the end: the plan's result and what its run learnt of the base."""

    result: PlanResult
    start_evals: dict
    packs: tuple[bool, bool] | None
    base_params: int = 0
    steps_done: int = 0
    precision: str = "fp32"


_CONTEXT: Any = None
_CONTEXT_LOCK = threading.Lock()


def _context() -> Any:
    """The fork server (started by the first child; its one import of torch, transformers and PEFT is then
    shared by every child this process starts)."""
    global _CONTEXT
    with _CONTEXT_LOCK:
        if _CONTEXT is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload([__name__])
            _CONTEXT = ctx
        return _CONTEXT


def start_lane_server() -> None:
    """Start the fork server now (the app does this as a sweep is submitted, not as its first plan starts)."""
    from multiprocessing import forkserver

    _context()
    forkserver.ensure_running()


class SideBySide:
    """A sweep's plans in lanes: the rows tokenized once, the base's folder, and what the finished runs learnt of
    the base (the step-0 evaluation, the packing probe), handed to the runs that start after."""

    on_start: Any = None  # called with (process, job) as each child runs (a test's hook)

    def __init__(self, sweep: Sweep, rows: Rows, train: TextDataset, val: TextDataset, lanes: int) -> None:
        from core.training.loader import local_weights

        self.sweep, self.rows, self.train, self.val, self.lanes = sweep, rows, train, val, lanes
        self.location = local_weights(rows.source.location)
        self.threads = threads_per_lane(lanes)
        self.start_evals: dict = {}
        self.packs: tuple[bool, bool] | None = None
        self._lock = threading.Lock()

    def run(self, item: SweepPlan, seed: int, workdir: Path, state: RunState, budget: int,
              ) -> tuple[PlanResult, TrainResult | None]:  # fmt: skip
        with self._lock:
            known, packs = dict(self.start_evals), self.packs
        job = LaneJob(self.sweep, item, seed, self.location, self.rows, self.train, self.val, workdir, budget,
                      self.threads, known, packs)  # fmt: skip
        hook = None if self.on_start is None else (lambda process: self.on_start(process, job))
        try:
            result, trained, outcome = train_in_lane(job, state, hook)
            result.side_by_side = self.lanes
        except Exception as exc:  # noqa: BLE001 - a lane thread must never die silently
            state.fail("err.unexpected", detail=f"{type(exc).__name__}: {str(exc)[:300]}")
            return _failed(job, state), None
        if outcome is not None:
            with self._lock:
                self.start_evals.update(outcome.start_evals)
                self.packs = outcome.packs if outcome.packs is not None else self.packs
        return result, trained


# --- the parent -----------------------------------------------------------------------------------------------


def train_in_lane(
    job: LaneJob, state: RunState, on_start: Any = None,
) -> tuple[PlanResult, TrainResult | None, LaneOutcome | None]:
    """Train ``job`` in a child process, mirroring its state into ``state``; never raises. ``on_start(process)``
    is called once the child runs (a test kills it there)."""
    ctx = _context()
    reader, writer = ctx.Pipe(duplex=False)
    stop = ctx.Event()
    try:
        process = ctx.Process(target=_lane_main, args=(job, writer, stop), name=f"lora-lens-lane-{job.item.name}",
                              daemon=True)  # fmt: skip
        process.start()
    except (OSError, RuntimeError, ValueError) as exc:
        state.fail("sweep.lane_failed", detail=f"{type(exc).__name__}: {str(exc)[:200]}")
        return _failed(job, state), None, None
    finally:
        writer.close()
    if on_start is not None:
        on_start(process)
    outcome: LaneOutcome | None = None
    final: RunSnapshot | None = None
    try:
        while True:
            if state.stop_requested:
                stop.set()
            if not reader.poll(_POLL_S):
                continue
            try:
                kind, payload = reader.recv()
            except (EOFError, OSError):  # the child ended (after its outcome, or dead)
                break
            if kind == "state":
                snapshot = RunSnapshot.from_json(payload)
                if snapshot.finished:
                    final = snapshot
                else:
                    state.mirror(snapshot)
            elif kind == "outcome":
                outcome = payload
    finally:
        reader.close()
        process.join(timeout=30)
        if process.is_alive():
            process.kill()
            process.join()
    if outcome is None or final is None:
        state.fail("sweep.lane_died", code=process.exitcode if process.exitcode is not None else "?")
        return _failed(job, state), None, None
    trained = _train_result(job, outcome, final)
    if final.status == "failed":
        state.fail(final.error_key or "err.unexpected", **final.error_params)
    else:
        state.finish(final.status, final.metrics, result=trained)
    return outcome.result, trained, outcome


def _failed(job: LaneJob, state: RunState) -> PlanResult:
    snap = state.snapshot()
    return PlanResult(job.item.name, job.seed, "failed", budget_params=job.budget, losses=snap.losses,
                      evals=snap.evals, error_key=snap.error_key, error_params=dict(snap.error_params))  # fmt: skip


def _train_result(job: LaneJob, outcome: LaneOutcome, final: RunSnapshot) -> TrainResult | None:
    """The parent's record of a run a child trained: its saved adapter (no live model: it reloads from there)."""
    result, rows = outcome.result, job.rows
    if final.status == "failed" or not result.adapter_dir:
        return None
    settings = job.sweep.settings_for(job.item, job.seed)
    return TrainResult(
        model=None, tokenizer=rows.tokenizer, task=rows.task, labels=rows.labels, source=rows.source,
        spec=job.sweep.model, plan=job.item.plan, settings=settings, precision=outcome.precision,
        dataset_name=rows.dataset_name, train_rows=len(rows.train_rows), val_rows=len(rows.val_rows),
        base_params=outcome.base_params, steps_done=outcome.steps_done, metrics=dict(result.metrics),
        adapter_dir=Path(result.adapter_dir), trainable_params=result.trainable_params,
    )  # fmt: skip


# --- the child ------------------------------------------------------------------------------------------------


class _Streaming(RunState):
    """The child's run state: every change is also sent to the parent."""

    def __init__(self, writer: Any) -> None:
        super().__init__()
        self._writer = writer
        self._send_lock = threading.Lock()

    def _send(self) -> None:
        data = self.snapshot().to_json()
        with self._send_lock:
            try:
                self._writer.send(("state", data))
            except (OSError, ValueError):  # the parent went away: train on, it cannot be told
                pass

    def start(self, total_steps: int) -> None:
        super().start(total_steps)
        self._send()

    def step(self, step: int, tokens: int, gpu_mem_bytes: int | None = None) -> None:
        super().step(step, tokens, gpu_mem_bytes)
        self._send()

    def log_loss(self, step: int, loss: float, lr: float) -> None:
        super().log_loss(step, loss, lr)
        self._send()

    def log_eval(self, step: int, eval_loss: float) -> None:
        super().log_eval(step, eval_loss)
        self._send()

    def _finished(self) -> None:
        self._send()
        super()._finished()


def _watch_stop(stop: Any, state: RunState) -> None:
    stop.wait()
    state.request_stop()


def _lane_main(job: LaneJob, writer: Any, stop: Any) -> None:
    """The child: train one plan as a one-lane sweep does, on this process's own copy of the base."""
    import torch

    os.dup2(2, 1)  # what libraries print goes to stderr: the parent's stdout may carry the CLI's JSON lines
    os.environ["LORA_LENS_CPU_THREADS"] = str(job.threads)  # the engine sets its threads from this
    torch.set_num_threads(job.threads)
    state = _Streaming(writer)
    threading.Thread(target=_watch_stop, args=(stop, state), daemon=True).start()
    rows = dataclasses.replace(job.rows, source=dataclasses.replace(job.rows.source, location=job.location))
    settings = job.sweep.settings_for(job.item, job.seed)
    try:
        shared = with_model(rows, settings.seed, start_evals=dict(job.start_evals), packs=job.packs)
        read_in(shared.model)
    except Exception as exc:  # noqa: BLE001 - reported as this plan's failure
        from core.errors import LensError

        if isinstance(exc, LensError):
            state.fail(exc.key, **exc.params)
        else:
            state.fail("err.unexpected", detail=f"{type(exc).__name__}: {str(exc)[:300]}")
        writer.send(("outcome", LaneOutcome(_failed(job, state), {}, job.packs)))
        return
    result, trained = train_plan(job.sweep, job.item, job.seed, shared, job.train, job.val, job.workdir, state,
                                 job.budget)  # fmt: skip
    outcome = LaneOutcome(result, shared.start_evals, shared.packs)
    if trained is not None:
        outcome.base_params, outcome.steps_done, outcome.precision = (
            trained.base_params, trained.steps_done, trained.precision)
    writer.send(("outcome", outcome))
    writer.close()
