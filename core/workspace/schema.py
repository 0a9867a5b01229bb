"""The workspace database schema: numbered migrations, applied in order, tracked by ``PRAGMA user_version``."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from core.errors import LensError


def _v1(db: sqlite3.Connection) -> None:
    """Plans, runs and preferences keyed by visitor; each record's JSON in ``body``.

    In v1 a run's number was ``max(number) + 1``, so deleting the newest run freed its number.
    """
    db.execute(
        "CREATE TABLE plans (visitor TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL,"
        " created REAL NOT NULL, updated REAL NOT NULL, PRIMARY KEY (visitor, name))"
    )
    db.execute(
        "CREATE TABLE runs (visitor TEXT NOT NULL, number INTEGER NOT NULL, body TEXT NOT NULL,"
        " status TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL, PRIMARY KEY (visitor, number))"
    )
    db.execute("CREATE TABLE preferences (visitor TEXT PRIMARY KEY, body TEXT NOT NULL)")


def _v2(db: sqlite3.Connection) -> None:
    """A visitors table with the next run number, so ``#N`` is never reused after a delete."""
    db.execute(
        "CREATE TABLE visitors (visitor TEXT PRIMARY KEY, next_run INTEGER NOT NULL,"
        " created REAL NOT NULL, seen REAL NOT NULL)"
    )
    db.execute(
        "INSERT INTO visitors (visitor, next_run, created, seen)"
        " SELECT visitor, MAX(n) + 1, MIN(c), MAX(u) FROM ("
        "  SELECT visitor, number AS n, created AS c, updated AS u FROM runs"
        "  UNION ALL SELECT visitor, 0, created, updated FROM plans"
        "  UNION ALL SELECT visitor, 0, 0, 0 FROM preferences"
        " ) GROUP BY visitor"
    )
    db.execute("CREATE INDEX runs_by_status ON runs (status, updated)")


def _v3(db: sqlite3.Connection) -> None:
    """Sweeps: each one's settings, plans and per-plan results as JSON in ``body``, so it can be shown and re-run."""
    db.execute(
        "CREATE TABLE sweeps (visitor TEXT NOT NULL, number INTEGER NOT NULL, body TEXT NOT NULL,"
        " created REAL NOT NULL, updated REAL NOT NULL, PRIMARY KEY (visitor, number))"
    )


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_v1, _v2, _v3)
VERSION = len(MIGRATIONS)


def migrate(db: sqlite3.Connection, upto: int = VERSION) -> int:
    """Bring ``db`` (inside a write transaction) from its version to ``upto``; return the old version."""
    current = db.execute("PRAGMA user_version").fetchone()[0]
    if current > VERSION:
        raise LensError("workspace.corrupt", detail=f"schema v{current} is newer than this app (v{VERSION})")
    for step in MIGRATIONS[current:upto]:
        step(db)
    db.execute(f"PRAGMA user_version = {max(current, upto):d}")
    return current
