"""The workspace's sweeps: each one's definition, results and kept rows, per visitor (``WorkspaceStore`` has these)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path

from core.data.dataset import TextDataset
from core.errors import LensError
from core.training.sweep import PlanResult, Sweep
from core.workspace.identity import visitor_key
from core.workspace.model import SweepRecord
from core.workspace.paths import is_inside, remove_folder, visitor_dir
from core.workspace.sweep_data import rerun_data, save_sweep_data

MAX_SWEEPS = 50  # sweep records per visitor
SWEEPS = "sweeps"


class SweepRecords:
    """``WorkspaceStore``'s sweep methods: they use its one connection, lock and clock."""

    root: Path
    _clock: Callable[[], float]
    _write: Callable[[], AbstractContextManager[sqlite3.Connection]]
    _read: Callable[[], AbstractContextManager[sqlite3.Connection]]
    _touch: Callable[[sqlite3.Connection, str], float]

    def add_sweep(
        self, visitor: str, sweep: Sweep, train: TextDataset | None = None, val: TextDataset | None = None
    ) -> SweepRecord:
        """Record a new sweep as ``#N`` (one more than the visitor's highest) with its folder created, holding the
        rows it trains on when given (``sweep_data``: a re-run needs them after the upload is gone)."""
        key = visitor_key(visitor)
        with self._write() as db:
            now = self._touch(db, key)
            count, top = db.execute("SELECT COUNT(*), MAX(number) FROM sweeps WHERE visitor = ?", (key,)).fetchone()
            if count >= MAX_SWEEPS:
                raise LensError("sweep.too_many", max=MAX_SWEEPS)
            number = (top or 0) + 1
            folder = visitor_dir(self.root, key) / SWEEPS / str(number)
            record = SweepRecord(number, sweep, "running", (), str(folder), now, now)
            self._put_sweep(db, key, record)
            try:  # inside the transaction: no row without its folder and rows
                folder.mkdir(parents=True, exist_ok=True)
                if train is not None and val is not None:
                    save_sweep_data(folder, train, val)
            except OSError as exc:
                remove_folder(self.root, folder)
                raise LensError("train.save_failed", detail=str(exc)[:200]) from None
        return record

    def sweep_data(self, visitor: str, number: int) -> tuple[TextDataset, TextDataset | None]:
        """The rows to re-run the visitor's sweep ``#number`` on (``sweep_data.rerun_data``), from their own folder."""
        key = visitor_key(visitor)
        with self._read() as db:
            record = self._get_sweep(db, key, number)
        return rerun_data(Path(record.folder), record.sweep.data_name, record.sweep.task)

    def update_sweep(
        self, visitor: str, number: int, status: str | None = None, result: PlanResult | None = None
    ) -> SweepRecord:
        """Set the sweep's status and/or add one plan's result (kept in the sweep's order of plans and seeds, however
        the plans training side by side end)."""
        key = visitor_key(visitor)
        with self._write() as db:
            record = self._get_sweep(db, key, number)
            results = record.results + ((result,) if result is not None else ())
            order = {(item.name, seed): i for i, (item, seed) in enumerate(record.sweep.runs())}
            results = tuple(sorted(results, key=lambda r: order.get((r.name, r.seed), len(order))))  # the sweep's order
            record = replace(record, status=status or record.status, updated=self._clock(), results=results)
            self._put_sweep(db, key, record)
        return record

    def sweeps(self, visitor: str) -> list[SweepRecord]:
        key = visitor_key(visitor)
        with self._read() as db:
            rows = db.execute("SELECT body FROM sweeps WHERE visitor = ? ORDER BY number", (key,)).fetchall()
        return [r for (body,) in rows if (r := self._sweep(key, body))]

    def delete_sweep(self, visitor: str, number: int) -> bool:
        """Forget sweep ``#number`` and remove its folder (adapters included)."""
        key = visitor_key(visitor)
        with self._write() as db:
            gone = db.execute("DELETE FROM sweeps WHERE visitor = ? AND number = ?", (key, number)).rowcount > 0
        folder = visitor_dir(self.root, key) / SWEEPS / str(number)
        if gone and is_inside(self.root, folder):
            remove_folder(self.root, folder)
        return gone

    def _get_sweep(self, db: sqlite3.Connection, key: str, number: int) -> SweepRecord:
        row = db.execute("SELECT body FROM sweeps WHERE visitor = ? AND number = ?", (key, number)).fetchone()
        if row is None or (record := self._sweep(key, row[0])) is None:
            raise LensError("sweep.no_sweep", number=number)
        return record

    def _sweep(self, key: str, body: str) -> SweepRecord | None:
        """A stored sweep, its folder derived from where the store is now; a row that no longer parses is skipped."""
        try:
            record = SweepRecord.from_json(json.loads(body))
        except (LensError, ValueError, TypeError, KeyError, RecursionError):
            return None
        return replace(record, folder=str(visitor_dir(self.root, key) / SWEEPS / str(record.number)))

    def _put_sweep(self, db: sqlite3.Connection, key: str, r: SweepRecord) -> None:
        db.execute(
            "INSERT INTO sweeps (visitor, number, body, created, updated) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (visitor, number) DO UPDATE SET body = excluded.body, updated = excluded.updated",
            (key, r.number, json.dumps(r.to_json(), ensure_ascii=False), r.created, r.updated),
        )
