"""Disk housekeeping: a per-visitor quota, a time-to-live for finished runs, and an orphan sweep."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from core.errors import LensError
from core.workspace.identity import visitor_key
from core.workspace.paths import RUNS, TMP_PREFIX, UPLOADS, VISITORS, folder_size, remove_folder, visitor_dir
from core.workspace.store import WorkspaceStore

DEFAULT_QUOTA_MB = 2048  # a few small-model adapters with checkpoints; a Space's /data is 20 GB+
DEFAULT_TTL_HOURS = 72  # long enough to come back after a weekend
ORPHAN_GRACE_S = 3600  # anything younger may be mid-write (an upload, a run whose row is being added)


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise LensError("workspace.bad_env", name=name, value=raw[:40])
    return value


def quota_bytes() -> int:
    """``LORA_LENS_VISITOR_QUOTA_MB`` (MiB), default 2048."""
    return int(_env_number("LORA_LENS_VISITOR_QUOTA_MB", DEFAULT_QUOTA_MB) * (1 << 20))


def run_ttl_s() -> float:
    """``LORA_LENS_RUN_TTL_HOURS``, default 72."""
    return _env_number("LORA_LENS_RUN_TTL_HOURS", DEFAULT_TTL_HOURS) * 3600


@dataclass(frozen=True)
class QuotaReport:
    used_bytes: int
    quota_bytes: int
    freed: tuple[int, ...]  # numbers of the runs deleted, oldest first

    @property
    def over(self) -> bool:
        """Still over after every finished run went: active runs and uploads alone exceed it."""
        return self.used_bytes > self.quota_bytes


def visitor_usage(store: WorkspaceStore, key: str) -> int:
    return folder_size(visitor_dir(store.root, key))


def enforce_quota(store: WorkspaceStore, visitor: str, quota: int | None = None) -> QuotaReport:
    """Delete the visitor's oldest finished runs until their folder fits ``quota``; never an active run."""
    key = visitor_key(visitor)
    quota = quota_bytes() if quota is None else quota
    used = visitor_usage(store, key)
    freed: list[int] = []
    for run in store.runs_of(key):  # by number: oldest first
        if used <= quota:
            break
        if not run.finished:
            continue
        size = folder_size(Path(run.folder))
        if store.delete_run_of(key, run.number):
            freed.append(run.number)
            used -= size
    return QuotaReport(visitor_usage(store, key), quota, tuple(freed))


def expire(store: WorkspaceStore, now: float | None = None, ttl_s: float | None = None) -> list[tuple[str, int]]:
    """Delete every finished run last updated more than ``ttl_s`` ago; (visitor key, number) of each."""
    now = time.time() if now is None else now
    cutoff = now - (run_ttl_s() if ttl_s is None else ttl_s)
    gone = []
    for key, run in store.all_runs():
        if run.finished and run.updated < cutoff and store.delete_run_of(key, run.number):
            gone.append((key, run.number))
    return gone


def sweep_orphans(store: WorkspaceStore, root: Path | None = None, now: float | None = None) -> list[Path]:
    """Remove what no row owns: unknown visitors' folders, run folders without a run, stale temp uploads.

    Only paths older than ``ORPHAN_GRACE_S`` go, so a folder being created right now is safe.
    """
    root = store.root if root is None else root
    now = time.time() if now is None else now
    keys = store.visitor_keys()
    runs = {(key, str(run.number)) for key, run in store.all_runs()}
    removed: list[Path] = []

    def drop(path: Path) -> None:
        if _older(path, now) and remove_folder(root, path):
            removed.append(path)

    for vdir in _children(root / VISITORS):
        if vdir.name not in keys or not vdir.is_dir() or vdir.is_symlink():
            drop(vdir)
            continue
        for run in _children(vdir / RUNS):
            if (vdir.name, run.name) not in runs:
                drop(run)
        for upload in _children(vdir / UPLOADS):
            if upload.name.startswith(TMP_PREFIX):
                drop(upload)
    return removed


def _children(folder: Path) -> list[Path]:
    try:
        return sorted(folder.iterdir()) if folder.is_dir() and not folder.is_symlink() else []
    except OSError:
        return []


def _older(path: Path, now: float) -> bool:
    try:
        return path.lstat().st_mtime < now - ORPHAN_GRACE_S
    except OSError:
        return False
