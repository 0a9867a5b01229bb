"""Workspace soak: many visitors' runs fill real folders while each enforces its disk quota, at once.

    python bench/workspace_soak.py [--visitors 16] [--runs 40] [--quota-kib 2048] [--max-file-kib 512] [--seed 0]

Each visitor is a thread: it adds a run, writes 1–3 files of random size into the run's folder,
sometimes leaves the run active, finishes it, and enforces its quota. Checks: after every
enforce a visitor's disk use is within its quota (unless its active runs alone exceed it);
at the end every surviving run's files are byte-identical to what was written (so no visitor
ever touched another's files), every run the quota freed is gone from disk and database,
a sentinel outside ``visitors/`` is intact, and the orphan sweep finds nothing to remove.
Prints disk used against the configured bound and enforce latency. Exit code 1 when a check failed.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from core.models.spec import ModelSpec  # noqa: E402
from core.planning.plan import LoraPlan  # noqa: E402
from core.workspace.housekeeping import ORPHAN_GRACE_S, enforce_quota, sweep_orphans, visitor_usage  # noqa: E402
from core.workspace.identity import new_visitor_id, visitor_key  # noqa: E402
from core.workspace.store import WorkspaceStore  # noqa: E402

SPEC = ModelSpec("embedded", "smollm2")
PLAN = LoraPlan(targets=("q_proj", "v_proj"))


@dataclass
class Visitor:
    vid: str
    files: dict[int, dict[str, str]] = field(default_factory=dict)  # run number -> file name -> sha256
    freed: set[int] = field(default_factory=set)
    peak_over: int = 0  # worst bytes above quota after an enforce, when nothing was left to free
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    written: int = 0


def run_visitor(store: WorkspaceStore, v: Visitor, runs: int, quota: int, max_file: int, seed: int) -> None:
    rng = random.Random(seed)
    active: list[int] = []
    try:
        for _ in range(runs):
            run = store.add_run(v.vid, job_id=f"{rng.getrandbits(128):032x}", model=SPEC, data_name="soak",
                                plan=PLAN, settings={"max_steps": 10}, planned_steps=10, status="running")
            v.files[run.number] = {}
            for i in range(rng.randint(1, 3)):
                data = rng.randbytes(rng.randint(1024, max_file))
                Path(run.folder, f"part{i}.bin").write_bytes(data)
                v.files[run.number][f"part{i}.bin"] = hashlib.sha256(data).hexdigest()
                v.written += len(data)
            active.append(run.number)
            while active and (len(active) > 2 or rng.random() < 0.7):  # up to two runs stay active a while
                store.update_run(v.vid, active.pop(0), status=rng.choice(["done", "stopped", "failed"]))
            t0 = time.perf_counter()
            report = enforce_quota(store, v.vid, quota=quota)
            v.latencies.append(time.perf_counter() - t0)
            v.freed.update(report.freed)
            if report.over:
                active_bytes = sum(visitor_usage_of_run(store, v, n) for n in active)
                if report.used_bytes > max(quota, active_bytes):
                    v.failures.append(f"used {report.used_bytes} > quota {quota} with only {active_bytes} active")
                v.peak_over = max(v.peak_over, report.used_bytes - quota)
        for n in active:
            store.update_run(v.vid, n, status="done")
        v.freed.update(enforce_quota(store, v.vid, quota=quota).freed)
    except Exception as exc:  # noqa: BLE001 - a soak reports every failure instead of stopping
        v.failures.append(f"{type(exc).__name__}: {exc}")


def visitor_usage_of_run(store: WorkspaceStore, v: Visitor, number: int) -> int:
    folder = store.root / "visitors" / visitor_key(v.vid) / "runs" / str(number)
    return sum(p.stat().st_size for p in folder.glob("*") if p.is_file())


def verify(store: WorkspaceStore, visitors: list[Visitor], quota: int) -> list[str]:
    problems: list[str] = []
    for v in visitors:
        live = {r.number: r for r in store.load(v.vid).runs}
        for number, files in v.files.items():
            folder = store.root / "visitors" / visitor_key(v.vid) / "runs" / str(number)
            if number in v.freed:
                if number in live or folder.exists():
                    problems.append(f"run #{number} of a visitor was freed but is still there")
                continue
            if number not in live:
                problems.append(f"run #{number} of a visitor vanished without its owner freeing it")
                continue
            for name, digest in files.items():
                path = folder / name
                if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
                    problems.append(f"{path} changed or vanished")
        used = visitor_usage(store, visitor_key(v.vid))
        if used > quota:
            problems.append(f"a visitor ends at {used} bytes, over the quota {quota}")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--visitors", type=int, default=16)
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--quota-kib", type=int, default=2048)
    ap.add_argument("--max-file-kib", type=int, default=512)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    quota, max_file = args.quota_kib << 10, args.max_file_kib << 10
    with tempfile.TemporaryDirectory(prefix="ws-soak-") as tmp, WorkspaceStore(Path(tmp) / "ws.sqlite3") as store:
        sentinel = Path(tmp, "sentinel.bin")
        sentinel.write_bytes(b"do not touch")
        visitors = [Visitor(new_visitor_id()) for _ in range(args.visitors)]
        t0 = time.perf_counter()
        threads = [
            threading.Thread(target=run_visitor, args=(store, v, args.runs, quota, max_file, args.seed + i))
            for i, v in enumerate(visitors)
        ]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - t0
        problems = [f for v in visitors for f in v.failures] + verify(store, visitors, quota)
        if sentinel.read_bytes() != b"do not touch":
            problems.append("the sentinel outside visitors/ changed")
        swept = sweep_orphans(store, now=time.time() + 2 * ORPHAN_GRACE_S)
        if swept:
            problems.append(f"the orphan sweep found {len(swept)} orphans: {swept[:3]}")
        report(store, visitors, quota, wall)
    for p in problems[:20]:
        print("FAIL:", p)
    print(f"problems: {len(problems)} (must be 0)")
    return 1 if problems else 0


def report(store: WorkspaceStore, visitors: list[Visitor], quota: int, wall: float) -> None:
    used = [visitor_usage(store, visitor_key(v.vid)) for v in visitors]
    lat = sorted(x for v in visitors for x in v.latencies)
    written = sum(v.written for v in visitors)
    print(f"visitors: {len(visitors)}  runs: {sum(len(v.files) for v in visitors)}  "
          f"freed by quota: {sum(len(v.freed) for v in visitors)}  wall: {wall:.1f} s")
    print(f"written: {written / 2**20:.1f} MiB  on disk at the end: {sum(used) / 2**20:.2f} MiB  "
          f"bound: {len(visitors)} × {quota / 2**20:.2f} MiB = {len(visitors) * quota / 2**20:.2f} MiB")
    print(f"per visitor at the end: max {max(used) / 2**20:.2f} MiB of {quota / 2**20:.2f} MiB quota "
          f"({max(used) / quota:.0%}); worst overshoot while runs were active: "
          f"{max(v.peak_over for v in visitors) / 2**20:.2f} MiB")
    print(f"enforce_quota: p50 {statistics.median(lat) * 1e3:.1f} ms  p95 {lat[int(0.95 * (len(lat) - 1))] * 1e3:.1f} ms"
          f"  ({len(lat)} calls)")


if __name__ == "__main__":
    sys.exit(main())
