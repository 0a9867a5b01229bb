"""The workspace store: one SQLite file (WAL), every write one transaction, every visitor's rows apart."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from core.errors import LensError
from core.models.spec import ModelSpec
from core.planning.plan import LoraPlan
from core.planning.plans_io import saved_plan_to_json
from core.workspace import limits
from core.workspace.identity import visitor_key
from core.workspace.model import Preferences, RunRecord, SavedPlan, Workspace
from core.workspace.naming import unique_name
from core.workspace.paths import db_path, is_inside, remove_folder, run_dir, visitor_dir
from core.workspace.records import parse_plan, parse_prefs, parse_run
from core.workspace.schema import migrate
from core.workspace.sweep_records import SweepRecords

OnConflict = Literal["ask", "overwrite", "keep_both"]


@dataclass(frozen=True)
class SaveOutcome:
    """What ``save_plan`` did: ``saved``, ``overwritten``, ``kept_both`` (renamed) or ``exists`` (nothing)."""

    status: Literal["saved", "overwritten", "kept_both", "exists"]
    plan: SavedPlan  # as stored; for ``exists``, the plan that was not saved

    @property
    def changed(self) -> bool:
        return self.status != "exists"


def _enable_wal(db: sqlite3.Connection, wait_s: float = 30.0) -> None:
    """WAL mode (kept in the file once set). Switching needs the file to itself and SQLite's busy timeout does not
    cover it, so two processes opening a new file at once retry here instead of failing with "locked"."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            if str(db.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class WorkspaceStore(SweepRecords):
    """Thread-safe: one connection behind a lock (writes are tiny); other processes wait on SQLite's lock."""

    def __init__(self, path: Path | None = None, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path) if path else db_path()
        self.root = self.path.parent
        self.root.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            _enable_wal(self._db)
            self._db.execute("PRAGMA synchronous=NORMAL")
            with self._write() as db:
                migrate(db)
        except sqlite3.DatabaseError as exc:  # not a database, or damaged
            self._db.close()
            raise LensError("workspace.corrupt", detail=str(exc)[:200]) from exc
        except BaseException:
            self._db.close()
            raise

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> WorkspaceStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction; a full disk, a lock held too long or a damaged file is a LensError."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                    self._db.execute("COMMIT")
                except BaseException:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise
            except (sqlite3.ProgrammingError, sqlite3.InterfaceError):
                raise  # our bug, not the disk: keep the traceback
            except sqlite3.DatabaseError as exc:  # OperationalError (full, locked, read-only) included
                raise LensError("workspace.write_failed", detail=str(exc)[:200]) from exc

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN")
                try:
                    yield self._db
                finally:
                    self._db.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                raise LensError("workspace.corrupt", detail=str(exc)[:200]) from exc

    def _touch(self, db: sqlite3.Connection, key: str) -> float:
        now = self._clock()
        db.execute(
            "INSERT INTO visitors (visitor, next_run, created, seen) VALUES (?, 1, ?, ?)"
            " ON CONFLICT (visitor) DO UPDATE SET seen = excluded.seen",
            (key, now, now),
        )
        return now

    # --- reading --------------------------------------------------------------------

    def load(self, visitor: str) -> Workspace:
        """Everything the visitor made; an unknown visitor gets an empty workspace."""
        key = visitor_key(visitor)
        with self._read() as db:
            plans = db.execute("SELECT body FROM plans WHERE visitor = ? ORDER BY created, rowid", (key,)).fetchall()
            runs = db.execute("SELECT body FROM runs WHERE visitor = ? ORDER BY number", (key,)).fetchall()
            prefs = db.execute("SELECT body FROM preferences WHERE visitor = ?", (key,)).fetchone()
        return Workspace(
            plans=tuple(p for (body,) in plans if (p := parse_plan(body))),
            runs=tuple(r for (body,) in runs if (r := self._run(key, body))),
            preferences=parse_prefs(prefs[0]) if prefs else Preferences(),
        )

    def visitor_folder(self, visitor: str) -> Path:
        """``<root>/visitors/<key>``, created; uploads go under its ``uploads/``."""
        key = visitor_key(visitor)
        with self._write() as db:
            self._touch(db, key)
        folder = visitor_dir(self.root, key)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    # --- plans ----------------------------------------------------------------------

    def save_plan(self, visitor: str, saved: SavedPlan, on_conflict: OnConflict = "ask") -> SaveOutcome:
        """Save under ``saved.name``; a clash is resolved by ``on_conflict`` ("ask" changes nothing)."""
        key = visitor_key(visitor)
        saved = replace(saved, name=limits.check_name(saved.name))
        with self._write() as db:
            now = self._touch(db, key)
            names = {n for (n,) in db.execute("SELECT name FROM plans WHERE visitor = ?", (key,))}
            status: Literal["saved", "overwritten", "kept_both", "exists"] = "saved"
            if saved.name in names:
                if on_conflict == "ask":
                    return SaveOutcome("exists", saved)
                if on_conflict == "keep_both":
                    saved, status = replace(saved, name=unique_name(saved.name, names)), "kept_both"
                else:
                    status = "overwritten"
            if status != "overwritten" and len(names) >= limits.MAX_PLANS:
                raise LensError("workspace.too_many_plans", max=limits.MAX_PLANS)
            body = json.dumps(saved_plan_to_json(saved), ensure_ascii=False)
            db.execute(
                "INSERT INTO plans (visitor, name, body, created, updated) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (visitor, name) DO UPDATE SET body = excluded.body, updated = excluded.updated",
                (key, saved.name, body, now, now),
            )
        return SaveOutcome(status, saved)

    def delete_plan(self, visitor: str, name: str) -> bool:
        key = visitor_key(visitor)
        with self._write() as db:
            return db.execute("DELETE FROM plans WHERE visitor = ? AND name = ?", (key, name)).rowcount > 0

    def rename_plan(self, visitor: str, old: str, new: str) -> SavedPlan:
        key = visitor_key(visitor)
        new = limits.check_name(new)
        with self._write() as db:
            row = db.execute("SELECT body FROM plans WHERE visitor = ? AND name = ?", (key, old)).fetchone()
            if row is None or (saved := parse_plan(row[0])) is None:
                raise LensError("workspace.no_plan", name=old)
            if new == old:
                return saved
            if db.execute("SELECT 1 FROM plans WHERE visitor = ? AND name = ?", (key, new)).fetchone():
                raise LensError("workspace.name_taken", name=new)
            saved = replace(saved, name=new)
            body = json.dumps(saved_plan_to_json(saved), ensure_ascii=False)
            db.execute(
                "UPDATE plans SET name = ?, body = ?, updated = ? WHERE visitor = ? AND name = ?",
                (new, body, self._clock(), key, old),
            )
        return saved

    # --- runs -----------------------------------------------------------------------

    def add_run(
        self,
        visitor: str,
        *,
        job_id: str,
        model: ModelSpec,
        data_name: str,
        plan: LoraPlan,
        settings: dict[str, Any],
        planned_steps: int,
        status: str = "queued",
    ) -> RunRecord:
        """Record a new run as ``#N`` (per visitor, never reused) with its empty folder created."""
        key = visitor_key(visitor)
        limits.check_run_fields(job_id, data_name, settings, planned_steps, status)
        with self._write() as db:
            now = self._touch(db, key)
            if db.execute("SELECT COUNT(*) FROM runs WHERE visitor = ?", (key,)).fetchone()[0] >= limits.MAX_RUNS:
                raise LensError("workspace.too_many_runs", max=limits.MAX_RUNS)
            (number,) = db.execute("SELECT next_run FROM visitors WHERE visitor = ?", (key,)).fetchone()
            folder = run_dir(self.root, key, number)
            record = RunRecord(
                number, job_id, model, data_name, plan, dict(settings), planned_steps, status, str(folder), now, now
            )
            self._put_run(db, key, record)
            db.execute("UPDATE visitors SET next_run = ? WHERE visitor = ?", (number + 1, key))
            folder.mkdir(parents=True, exist_ok=True)  # inside the transaction: no row without its folder
        return record

    def update_run(self, visitor: str, number: int, **changes: Any) -> RunRecord:
        """Change ``status``, ``planned_steps``, ``job_id`` or ``settings`` of run ``#number``."""
        key = visitor_key(visitor)
        unknown = set(changes) - {"status", "planned_steps", "job_id", "settings"}
        if unknown:
            raise TypeError(f"update_run() got unexpected fields {sorted(unknown)}")
        with self._write() as db:
            record = self._get_run(db, key, number)
            record = replace(record, **changes, updated=self._clock())
            limits.check_run_fields(
                record.job_id, record.data_name, record.settings, record.planned_steps, record.status
            )
            self._put_run(db, key, record)
        return record

    def delete_run(self, visitor: str, number: int, force: bool = False) -> bool:
        """Forget run ``#number`` and remove its folder; a queued or running run needs ``force``."""
        return self.delete_run_of(visitor_key(visitor), number, force)

    def delete_run_of(self, key: str, number: int, force: bool = False) -> bool:
        """``delete_run`` by visitor key (housekeeping walks keys, not ids)."""
        with self._write() as db:
            try:
                record = self._get_run(db, key, number)
            except LensError:
                return False
            if not record.finished and not force:
                raise LensError("workspace.run_active", number=number)
            db.execute("DELETE FROM runs WHERE visitor = ? AND number = ?", (key, number))
        folder = Path(record.folder)
        if record.folder and is_inside(self.root, folder):
            remove_folder(self.root, folder)
        return True

    def runs_of(self, key: str) -> list[RunRecord]:
        with self._read() as db:
            rows = db.execute("SELECT body FROM runs WHERE visitor = ? ORDER BY number", (key,)).fetchall()
        return [r for (body,) in rows if (r := self._run(key, body))]

    def all_runs(self) -> list[tuple[str, RunRecord]]:
        """Every visitor's runs as (visitor key, record): for housekeeping only, never for a page."""
        with self._read() as db:
            rows = db.execute("SELECT visitor, body FROM runs ORDER BY visitor, number").fetchall()
        return [(key, r) for key, body in rows if (r := self._run(key, body))]

    def visitor_keys(self) -> set[str]:
        with self._read() as db:
            return {k for (k,) in db.execute("SELECT visitor FROM visitors")}

    def _get_run(self, db: sqlite3.Connection, key: str, number: int) -> RunRecord:
        row = db.execute("SELECT body FROM runs WHERE visitor = ? AND number = ?", (key, number)).fetchone()
        if row is None or (record := self._run(key, row[0])) is None:
            raise LensError("workspace.no_run", number=number)
        return record

    def _run(self, key: str, body: str) -> RunRecord | None:
        """A stored run, its folder derived from where the store is now (the data root may move)."""
        record = parse_run(body)
        return replace(record, folder=str(run_dir(self.root, key, record.number))) if record else None

    def _put_run(self, db: sqlite3.Connection, key: str, r: RunRecord) -> None:
        db.execute(
            "INSERT INTO runs (visitor, number, body, status, created, updated) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (visitor, number) DO UPDATE SET body = excluded.body, status = excluded.status,"
            " updated = excluded.updated",
            (key, r.number, json.dumps(r.to_json(), ensure_ascii=False), r.status, r.created, r.updated),
        )

    # --- preferences ----------------------------------------------------------------

    def set_preferences(self, visitor: str, **changes: Any) -> Preferences:
        """Change ``language``, ``model`` and/or merge ``settings`` (a ``None`` value forgets that id)."""
        key = visitor_key(visitor)
        with self._write() as db:
            self._touch(db, key)
            row = db.execute("SELECT body FROM preferences WHERE visitor = ?", (key,)).fetchone()
            prefs = limits.changed_preferences((parse_prefs(row[0]) if row else None) or Preferences(), changes)
            body = limits.dump_limited(prefs.to_json(), limits.MAX_PREFS_BYTES, "workspace.prefs_too_big")
            db.execute(
                "INSERT INTO preferences (visitor, body) VALUES (?, ?)"
                " ON CONFLICT (visitor) DO UPDATE SET body = excluded.body",
                (key, body),
            )
        return prefs
