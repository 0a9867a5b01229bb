"""A run's folder on disk: its inputs when submitted, its outcome when it ends, read back after a restart.

``job.json`` (who, model, plan, settings) and ``train.jsonl``/``val.jsonl`` (the exact rows) are written
at submit, ``run.json`` (the same plus the final snapshot and result) when the run ends, each atomically.
A folder with ``job.json`` and no ``run.json`` is a run the server lost mid-way.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.data.dataset import TextDataset, dataset_from_jsonl, dataset_jsonl
from core.errors import LensError
from core.models.spec import ModelSpec
from core.planning.plan import LoraPlan
from core.planning.plans_io import spec_from_json, spec_to_json
from core.training.engine import TrainResult
from core.training.loader import WeightsSource, load_tokenizer, weights_source
from core.training.run_state import RunSnapshot
from core.training.settings import TrainSettings

SCHEMA = 1
JOB_FILE, RUN_FILE, TRAIN_FILE, VAL_FILE = "job.json", "run.json", "train.jsonl", "val.jsonl"
# One loss point a step (~70 bytes): the longest run allowed (100k steps) fits with room to spare.
MAX_RUN_JSON_BYTES = 16 * 2**20
MAX_SPLIT_BYTES = 128 * 2**20  # uploads are capped at 20 MB; JSON escaping can grow them


@dataclass(frozen=True)
class StoredRun:
    """What a run folder holds, checked: the inputs, and the outcome once the run ended."""

    job_id: str
    created: float
    spec: ModelSpec
    plan: LoraPlan
    settings: TrainSettings
    train: TextDataset
    val: TextDataset | None
    snapshot: RunSnapshot | None  # None: the run never ended (the server stopped mid-way)
    result: dict[str, Any] | None


def owner_tag(owner: str) -> str:
    """What the files name the owner by: a hash, so a folder never hands out a visitor's id."""
    return hashlib.sha256(b"lora-lens-run-owner:" + owner.encode()).hexdigest()


def _write_text(path: Path, text: str) -> None:
    """Write-temp-then-rename: a crash leaves the old file or the new one, never half of one."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _inputs_json(job: Any) -> dict[str, Any]:
    def part(ds: TextDataset | None) -> dict[str, Any] | None:
        return None if ds is None else {"name": ds.name, "dropped": ds.dropped, "rows": len(ds)}

    return {
        "schema": SCHEMA, "id": job.id, "owner": owner_tag(job.owner), "created": job.created,
        "spec": spec_to_json(job.spec), "plan": job.plan.to_json(), "settings": job.settings.to_json(),
        "train": part(job.train), "val": part(job.val),
    }  # fmt: skip


def write_inputs(job: Any, rows: bool = True) -> None:
    """At submit: the rows first (unless kept elsewhere: a sweep's, once for all its plans), then ``job.json``."""
    if rows:
        _write_text(job.workdir / TRAIN_FILE, dataset_jsonl(job.train))
    if rows and job.val is not None:
        _write_text(job.workdir / VAL_FILE, dataset_jsonl(job.val))
    _write_text(job.workdir / JOB_FILE, json.dumps(_inputs_json(job), ensure_ascii=False))


def result_to_json(r: TrainResult, workdir: Path) -> dict[str, Any]:
    """What rebuilds a ``TrainResult`` without the live model; the adapter folder relative to ``workdir``."""
    adapter = r.adapter_dir.relative_to(workdir).as_posix() if r.adapter_dir else None
    return {
        "task": r.task, "labels": list(r.labels), "public_ref": r.source.public_ref, "precision": r.precision,
        "dataset_name": r.dataset_name, "train_rows": r.train_rows, "val_rows": r.val_rows,
        "base_params": r.base_params, "steps_done": r.steps_done, "metrics": dict(r.metrics), "adapter": adapter,
    }  # fmt: skip


def write_outcome(job: Any) -> None:
    """When the run ended, whichever way: ``run.json`` with the final snapshot and result."""
    result = job.result if isinstance(job.result, TrainResult) else None
    data = {
        **_inputs_json(job),
        "snapshot": job.snapshot.to_json(),
        "result": result_to_json(result, job.workdir) if result else None,
    }
    _write_text(job.workdir / RUN_FILE, json.dumps(data, ensure_ascii=False, default=str))


# --- reading back -------------------------------------------------------------------------------


def _read_json(path: Path) -> dict[str, Any]:
    if path.stat().st_size > MAX_RUN_JSON_BYTES:
        raise LensError("train.bad_run_file", name=path.name)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError):
        raise LensError("train.bad_run_file", name=path.name) from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise LensError("train.bad_run_file", name=path.name)
    return data


def _read_dataset(path: Path, part: object) -> TextDataset:
    if not isinstance(part, dict) or not isinstance(part.get("name"), str) or path.stat().st_size > MAX_SPLIT_BYTES:
        raise ValueError(path.name)
    return dataset_from_jsonl(path.read_text(encoding="utf-8"), part["name"], part.get("rows"), part.get("dropped", 0))


def read_run(owner: str, job_id: str, workdir: Path) -> StoredRun:
    """The checked contents of a run folder; ``LensError`` if damaged, too big or someone else's."""
    run_file, job_file = workdir / RUN_FILE, workdir / JOB_FILE
    if not run_file.is_file() and not job_file.is_file():
        raise LensError("train.interrupted")  # the folder was made, the run never started
    name = RUN_FILE if run_file.is_file() else JOB_FILE
    data = _read_json(workdir / name)
    if not hmac.compare_digest(str(data.get("owner", "")), owner_tag(owner)) or data.get("id") != job_id:
        raise LensError("train.no_job")
    try:
        val_file = workdir / VAL_FILE
        stored = StoredRun(
            job_id=job_id, created=float(data["created"]), spec=spec_from_json(data["spec"]),
            plan=LoraPlan.from_json(data["plan"]), settings=TrainSettings.from_json(data["settings"]),
            train=_read_dataset(workdir / TRAIN_FILE, data["train"]),
            val=None if data["val"] is None else _read_dataset(val_file, data["val"]),
            snapshot=_finished_snapshot(data["snapshot"]) if name == RUN_FILE else None,
            result=_result_json(data.get("result")) if name == RUN_FILE else None,
        )  # fmt: skip
    except (KeyError, TypeError, ValueError, OSError, LensError, RecursionError):
        raise LensError("train.bad_run_file", name=name) from None
    return stored


def _finished_snapshot(data: object) -> RunSnapshot:
    snapshot = RunSnapshot.from_json(data)
    if not snapshot.finished:  # run.json is only ever written once a run ended
        raise ValueError("status")
    return snapshot


def _result_json(data: object) -> dict[str, Any] | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ValueError("result")
    ints = ("train_rows", "val_rows", "base_params", "steps_done")
    if any(not isinstance(data.get(k), int) or isinstance(data.get(k), bool) for k in ints):
        raise ValueError("result")
    strings = ("task", "public_ref", "precision", "dataset_name")
    if any(not isinstance(data.get(k), str) for k in strings) or not isinstance(data.get("labels"), list):
        raise ValueError("result")
    adapter = data.get("adapter")
    if adapter is not None and (not isinstance(adapter, str) or Path(adapter).is_absolute() or ".." in adapter):
        raise ValueError("result")
    RunSnapshot.from_json({"status": "done", "metrics": data.get("metrics", {})})  # checks the numbers
    return data


def _source(spec: ModelSpec, public_ref: str) -> WeightsSource:
    """Re-resolved from the spec (embedded weights may live elsewhere after a restart); if that
    fails now (the Hub unreachable, a folder gone), the playground says so when it loads."""
    try:
        return weights_source(spec)
    except LensError:
        return WeightsSource(spec.ref, public_ref, spec.source == "hub")


def rebuild_result(stored: StoredRun, workdir: Path) -> TrainResult | None:
    """The finished run's ``TrainResult`` with ``model=None``; ``None`` when it left no adapter."""
    data = stored.result
    if data is None or data["adapter"] is None or not (workdir / data["adapter"]).is_dir():
        return None
    source = _source(stored.spec, data["public_ref"])
    try:
        tokenizer = load_tokenizer(source.location)
    except LensError:
        tokenizer = None  # finished_result tries again, and reports why it cannot
    return TrainResult(
        model=None, tokenizer=tokenizer, task=data["task"], labels=tuple(str(x) for x in data["labels"]),
        source=source, spec=stored.spec, plan=stored.plan, settings=stored.settings, precision=data["precision"],
        dataset_name=data["dataset_name"], train_rows=data["train_rows"], val_rows=data["val_rows"],
        base_params=data["base_params"], steps_done=data["steps_done"],
        metrics={str(k): float(v) for k, v in data.get("metrics", {}).items()}, adapter_dir=workdir / data["adapter"],
    )  # fmt: skip
