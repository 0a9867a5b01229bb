"""The visitor's training runs: each one a ``#N`` record in their workspace, its job live or rebuilt from its folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.data.dataset import TextDataset
from core.errors import LensError
from core.models.spec import ModelSpec
from core.planning.plan import LoraPlan
from core.training.jobs import Job, job_manager
from core.training.settings import TrainSettings
from core.workspace import housekeeping
from core.workspace.model import RunRecord
from ui.state import store, tr, visitor, workspace


@dataclass(frozen=True)
class VisitorRun:
    """A run as every page lists it: the record, and its job (None with ``error`` when it cannot be rebuilt)."""

    record: RunRecord
    job: Job | None
    error: LensError | None = None

    @property
    def label(self) -> str:
        r = self.record
        steps = tr("trainpage.n_steps", n=f"{r.planned_steps:,}")
        return tr("runs.label", n=r.number, model=r.model.ref, data=r.data_name, steps=steps)


def visitor_runs() -> list[VisitorRun]:
    """Every run of this visitor, oldest first: live ones from memory, finished ones from their folders (so a
    server restart loses none). A record whose status moved on is brought up to date."""
    runs = []
    for record in workspace().runs:
        try:
            job = job_manager().restore(visitor(), record.job_id, Path(record.folder))
        except LensError as exc:
            runs.append(VisitorRun(record, None, exc))
            continue
        status = job.snapshot.status
        if status != record.status:
            record = store().update_run(visitor(), record.number, status=status)
        runs.append(VisitorRun(record, job))
    return runs


def submit_run(spec: ModelSpec, plan: LoraPlan, train: TextDataset, val: TextDataset | None,
               settings: TrainSettings) -> RunRecord:
    """Record ``#N`` in the workspace, then queue the job in its folder; a refused job leaves no record."""
    housekeeping.expire(store())  # runs past their time-to-live, any visitor's, leave the disk first
    report = housekeeping.enforce_quota(store(), visitor())  # then this visitor's oldest finished runs
    if report.over:
        raise LensError("runs.over_quota", mib=housekeeping.quota_bytes() >> 20)
    record = store().add_run(visitor(), job_id="", model=spec, data_name=train.name, plan=plan,
                             settings=settings.to_json(), planned_steps=settings.max_steps)  # fmt: skip
    try:
        job_id = job_manager().submit(visitor(), spec, plan, train, val, settings, workdir=Path(record.folder))
    except BaseException:
        store().delete_run(visitor(), record.number, force=True)
        raise
    return store().update_run(visitor(), record.number, job_id=job_id)


def delete_run(run: VisitorRun) -> bool:
    """Gone everywhere: from memory, from the workspace, and its folder from disk."""
    if run.job is not None:
        if not run.job.snapshot.finished:
            raise LensError("train.job_busy")
        job_manager().forget(visitor(), run.job.id)
    store().delete_run(visitor(), run.record.number)
    return True
