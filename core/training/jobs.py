"""Background training jobs: one at a time, a FIFO queue, and owner isolation.

Job ids are ``uuid4`` hex (unguessable); every lookup needs the owner (the
visitor's session id) and the id, so one visitor can never reach another's run.
Each run's folder keeps its inputs and outcome (``core.training.persist``), so
``restore`` brings a finished run back after a restart.
"""

from __future__ import annotations

import functools
import shutil
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from core.data.dataset import TextDataset
from core.errors import LensError
from core.models.embedded import cache_root
from core.models.spec import ModelSpec
from core.planning.plan import LoraPlan
from core.training import persist
from core.training.engine import TrainResult, check_inputs, free_memory, run_training
from core.training.preflight import check_fits
from core.training.run_state import RunSnapshot, RunState
from core.training.settings import TrainSettings

Runner = Callable[..., "TrainResult | None"]


@dataclass
class Job:
    """One submitted run. ``result`` is set once training finished or was stopped."""

    id: str
    owner: str
    spec: ModelSpec
    plan: LoraPlan
    settings: TrainSettings
    train: TextDataset
    val: TextDataset | None
    workdir: Path
    state: RunState = field(default_factory=RunState)
    created: float = field(default_factory=time.time)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    on_model_used: Callable[[], None] | None = field(default=None, repr=False)  # set by the manager
    runner: Runner | None = field(default=None, repr=False)  # this job's own runner (a sweep's plan), else the manager's

    @property
    def snapshot(self) -> RunSnapshot:
        return self.state.snapshot()

    @property
    def result(self) -> TrainResult | None:
        return self.state.result

    @property
    def adapter_dir(self) -> Path | None:
        return self.result.adapter_dir if self.result else None


class JobManager:
    """Runs one training at a time on a daemon worker thread; the rest wait in FIFO order."""

    def __init__(self, root: Path | None = None, runner: Runner = run_training, keep_models: int = 2) -> None:
        self.root = root or cache_root() / "runs"
        self._runner = runner
        self._keep_models = keep_models
        self._jobs: dict[str, Job] = {}
        self._queue: deque[str] = deque()
        self._running: str | None = None
        self._beside: set[str] = set()  # queued jobs a sweep took to train beside the running one (``take``)
        self._with_model: deque[str] = deque()
        self._cond = threading.Condition()
        self._worker: threading.Thread | None = None

    # --- visitor API ---------------------------------------------------------------

    def submit(
        self,
        owner: str,
        spec: ModelSpec,
        plan: LoraPlan,
        dataset_train: TextDataset,
        dataset_val: TextDataset | None,
        settings: TrainSettings,
        workdir: Path | None = None,
        runner: Runner | None = None,
        keep_rows: bool = True,
    ) -> str:
        """Queue a run after quick input checks and the memory check (bad input, or a run that cannot fit this
        machine, raises ``LensError`` here). Its files go to ``workdir`` (the caller's folder for this run, made
        if missing), else ``root/<job id>``; ``runner`` replaces the manager's for this job (same arguments; a
        sweep shares its loaded base through it). ``keep_rows=False``: the folder does not copy the rows (a sweep
        keeps them once; such a run cannot be ``restore``d from its folder)."""
        if not owner:
            raise LensError("train.no_owner")
        check_inputs(spec, plan, dataset_train, settings)
        check_fits(spec, plan, settings)  # before any weights are downloaded: refuse what cannot fit here
        job_id = uuid.uuid4().hex
        workdir = workdir or self.root / job_id
        job = Job(job_id, owner, spec, plan, settings, dataset_train, dataset_val, workdir, runner=runner)
        try:
            workdir.mkdir(parents=True, exist_ok=True)
            persist.write_inputs(job, rows=keep_rows)
        except OSError as exc:
            raise LensError("train.save_failed", detail=str(exc)[:200]) from None
        job.state.on_finish = functools.partial(self._save, job)
        job.on_model_used = functools.partial(self._remember_model, job)
        with self._cond:
            self._jobs[job_id] = job
            self._queue.append(job_id)
            self._ensure_worker()
            self._cond.notify_all()
        return job_id

    def get(self, owner: str, job_id: str) -> Job:
        with self._cond:
            job = self._jobs.get(job_id)
        if job is None or job.owner != owner:
            raise LensError("train.no_job")
        return job

    def jobs_of(self, owner: str) -> list[Job]:
        with self._cond:
            return sorted((j for j in self._jobs.values() if j.owner == owner), key=lambda j: j.created)

    def stop(self, owner: str, job_id: str) -> None:
        """A queued job is dropped; a running one stops after its current step and keeps its adapter."""
        job = self.get(owner, job_id)
        with self._cond:
            if job_id in self._queue:
                self._queue.remove(job_id)
                job.state.finish("stopped")
                return
        job.state.request_stop()

    def queue_position(self, job_id: str) -> int | None:
        """0 while running, 1 for the next in line, ...; ``None`` once finished or unknown."""
        with self._cond:
            if job_id == self._running or job_id in self._beside:
                return 0
            if job_id in self._queue:
                return self._queue.index(job_id) + 1
        return None

    def remove(self, owner: str, job_id: str) -> None:
        """Forget a finished job and delete its working directory."""
        job = self.forget(owner, job_id)
        shutil.rmtree(job.workdir, ignore_errors=True)

    def forget(self, owner: str, job_id: str) -> Job:
        """Drop a finished job from memory, keeping its folder (``restore`` can bring it back)."""
        job = self.get(owner, job_id)
        if not job.state.snapshot().finished:
            raise LensError("train.job_busy")
        with self._cond:
            self._jobs.pop(job_id, None)
            if job_id in self._with_model:
                self._with_model.remove(job_id)
        return job

    def restore(self, owner: str, job_id: str, workdir: Path) -> Job:
        """The job in memory, else the finished run rebuilt from its folder (after a restart): its
        snapshot, rows and result (``model=None``; the playground reloads it from the adapter).
        A run the server lost mid-way comes back failed; a damaged or foreign folder is a ``LensError``."""
        with self._cond:
            if job_id in self._jobs:
                return self.get(owner, job_id)
        stored = persist.read_run(owner, job_id, workdir)
        if stored.snapshot is None:  # the server stopped while the run waited or trained
            snapshot = RunSnapshot("failed", total_steps=stored.settings.max_steps, error_key="train.interrupted")
            state = RunState.restored(snapshot)
        else:
            state = RunState.restored(stored.snapshot, persist.rebuild_result(stored, workdir))
        job = Job(job_id, owner, stored.spec, stored.plan, stored.settings, stored.train, stored.val, workdir, state,
                  stored.created)  # fmt: skip
        job.on_model_used = functools.partial(self._remember_model, job)
        with self._cond:
            if job_id not in self._jobs:  # another session may have restored it meanwhile
                self._jobs[job_id] = job
        return self.get(owner, job_id)

    # --- worker ------------------------------------------------------------------------

    def _ensure_worker(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._work, name="lora-lens-trainer", daemon=True)
            self._worker.start()

    def _next(self) -> Job:
        with self._cond:
            while not self._queue:
                self._cond.wait()
            job_id = self._queue.popleft()
            self._running = job_id
            return self._jobs[job_id]

    def _work(self) -> None:
        while True:
            job = self._next()
            self._run(job)

    def _run(self, job: Job) -> None:
        try:
            (job.runner or self._runner)(job.spec, job.plan, job.train, job.val, job.settings, job.workdir, job.state)
        except BaseException as exc:  # the worker must survive anything
            job.state.fail("err.unexpected", detail=f"{type(exc).__name__}: {str(exc)[:300]}")
        finally:
            with self._cond:
                if self._running == job.id:
                    self._running = None
                self._beside.discard(job.id)
            if not job.state.snapshot().finished:
                job.state.fail("err.unexpected", detail="the run ended without a status")
            self._remember_model(job)

    # --- a sweep's lanes -----------------------------------------------------------------

    def take(self, owner: str, job_id: str) -> Job | None:
        """A queued job of ``owner``'s, out of the queue to train beside the running one (a sweep's next plan on
        a free lane: ``run_beside``); ``None`` if it is no longer queued."""
        with self._cond:
            job = self._jobs.get(job_id)
            if job is None or job.owner != owner or job_id not in self._queue:
                return None
            self._queue.remove(job_id)
            self._beside.add(job_id)
            return job

    def run_beside(self, job: Job) -> None:
        """Run a job ``take`` gave, in the caller's thread, as the worker runs its own."""
        self._run(job)

    @staticmethod
    def _save(job: Job) -> None:
        """Write the outcome (the state calls this as the run ends, however it ends, before ``wait``
        returns); a full disk costs the run its return after a restart, never the worker its life."""
        try:
            persist.write_outcome(job)
        except Exception:  # noqa: BLE001 - the training thread must survive anything
            pass

    def _remember_model(self, job: Job) -> None:
        """Keep only the most recently trained or used few models in memory; older ones reload on
        demand. One in use elsewhere (its lock held) stays until next time: no thread waits."""
        if job.result is None or job.result.model is None:
            return
        evict: list[Job] = []
        with self._cond:
            if job.id in self._with_model:
                self._with_model.remove(job.id)
            self._with_model.append(job.id)
            while len(self._with_model) > max(1, self._keep_models):
                old = self._jobs.get(self._with_model.popleft())
                if old is not None:
                    evict.append(old)
        busy = [old.id for old in evict if not _drop_model(old)]
        with self._cond:
            self._with_model.extendleft(reversed(busy))
        if len(busy) < len(evict):
            free_memory()


def _drop_model(job: Job) -> bool:
    if not job.lock.acquire(blocking=False):
        return False
    try:
        if job.result is not None:
            job.result.model = None
    finally:
        job.lock.release()
    return True


_MANAGER: JobManager | None = None
_MANAGER_LOCK = threading.Lock()


def job_manager() -> JobManager:
    """The process-wide manager (Streamlit reruns and sessions share it)."""
    global _MANAGER
    with _MANAGER_LOCK:
        if _MANAGER is None:
            _MANAGER = JobManager()
        return _MANAGER
