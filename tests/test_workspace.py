"""The workspace: names, ids, the SQLite store, bounds, and housekeeping on real temporary folders."""

from __future__ import annotations

import json
import multiprocessing
import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from core.errors import LensError
from core.models.spec import ModelSpec
from core.planning.plan import ALL_LINEAR, LoraPlan
from core.planning.plans_io import MAX_NAME, export_plans, import_plans, saved_plan_to_json
from core.training.settings import TrainSettings
from core.workspace import housekeeping, limits, paths, schema
from core.workspace.housekeeping import ORPHAN_GRACE_S, enforce_quota, expire, sweep_orphans
from core.workspace.identity import new_visitor_id, parse_visitor_id, visitor_key
from core.workspace.model import Preferences, SavedPlan
from core.workspace.naming import default_plan_name, unique_name
from core.workspace.store import WorkspaceStore

SPEC = ModelSpec("embedded", "smollm2")
QV = LoraPlan(targets=("v_proj", "q_proj"))
REGEX = r".*\.(q|v)_proj"


class Clock:
    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock):
    with WorkspaceStore(tmp_path / "ws.sqlite3", clock=clock) as s:
        yield s


def add_run(store: WorkspaceStore, visitor: str, status: str = "done", **kw) -> object:
    fields = dict(job_id="j" * 32, model=SPEC, data_name="alpaca-mini", plan=QV, settings={}, planned_steps=10)
    return store.add_run(visitor, status=status, **(fields | kw))


# --- naming ---------------------------------------------------------------------------

NAMES = [
    (QV, "qv", None, "en", "q_proj+v_proj r=8 α=16"),
    (LoraPlan(target_regex=ALL_LINEAR, r=16, lora_alpha=32, layers=tuple(range(12))), "all-linear", 24, "en",
     "all-linear r=16 α=32 blocks 0–11"),
    (LoraPlan(target_regex=ALL_LINEAR, r=16, lora_alpha=32, layers=tuple(range(12))), None, 12, "en",
     "all-linear r=16 α=32"),
    (LoraPlan(targets=("c_attn",), r=16, lora_alpha=32.0), "qv", None, "en", "c_attn r=16 α=32"),
    (LoraPlan(target_regex=REGEX, r=4, lora_alpha=4), "regex", None, "en", r".*\.(q|v)_proj r=4 α=4"),
    (LoraPlan(targets=("q", "k", "v", "o"), lora_alpha=8.5), "attention", None, "en", "attention r=8 α=8.5"),
    (LoraPlan(targets=("a", "b", "c", "d", "e")), "custom", None, "en", "a+b+c +2 more r=8 α=16"),
    (LoraPlan(targets=("a", "b", "c", "d", "e")), "custom", None, "ko", "a+b+c 외 2개 r=8 α=16"),
    (LoraPlan(targets=("c_attn",), use_rslora=True, use_dora=True, layers=(5, 0, 1, 2, 7, 8)), None, None, "ko",
     "c_attn r=8 α=16 rsLoRA DoRA 블록 0–2,5,7–8"),
    # PEFT's patterns, experts, init and exclusions: two plans that differ only there never share a name
    (LoraPlan(targets=("q_proj", "v_proj"), rank_pattern=(("q_proj", 16),), alpha_pattern=(("q_proj", 8.0),)), "qv",
     None, "en", "q_proj+v_proj r=8 (q_proj:16) α=16 (q_proj:8)"),
    (LoraPlan(targets=("q_proj",), target_parameters=("experts.gate_up_proj",), init_lora_weights="pissa",
              exclude_modules=("layers.0.self_attn.q_proj",)), "custom", None, "en",
     "q_proj+experts.gate_up_proj r=8 α=16 pissa −layers.0.self_attn.q_proj"),
]


@pytest.mark.parametrize("plan,preset,num_blocks,lang,expected", NAMES)
def test_default_plan_name(plan, preset, num_blocks, lang, expected):
    assert default_plan_name(plan, preset, num_blocks, lang) == expected


def test_default_name_of_a_huge_regex_still_fits():
    name = default_plan_name(LoraPlan(target_regex="x" * 500, r=8, lora_alpha=16))
    assert len(name) <= MAX_NAME and name.endswith("… r=8 α=16")
    assert limits.check_name(name) == name


UNIQUE = [
    ("plan", [], "plan"),
    ("plan", ["plan"], "plan (2)"),
    ("plan", ["plan", "plan (2)"], "plan (3)"),
    ("plan (2)", ["plan", "plan (2)"], "plan (3)"),
    (REGEX, [REGEX], REGEX + " (2)"),
    ("x" * MAX_NAME, ["x" * MAX_NAME], "x" * (MAX_NAME - 4) + " (2)"),
]


@pytest.mark.parametrize("name,existing,expected", UNIQUE)
def test_unique_name(name, existing, expected):
    assert unique_name(name, existing) == expected


# --- identity -------------------------------------------------------------------------


def test_new_ids_parse_are_distinct_and_keyed_apart():
    ids = {new_visitor_id() for _ in range(200)}
    assert len(ids) == 200
    for vid in ids:
        assert parse_visitor_id(vid) == vid and len(vid) == 32
        key = visitor_key(vid)
        assert key != vid and len(key) == 32 and key.isalnum()


BAD_IDS = [None, "", 12, b"0" * 32, "0" * 31, "0" * 33, "A" * 32, "g" * 32, "../" + "0" * 29, "0" * 32 + "\n",
           "12345678-1234-1234-1234-123456789012", "0" * 10_000_000]


@pytest.mark.parametrize("bad", BAD_IDS, ids=lambda b: repr(b)[:20])
def test_bad_visitor_ids_are_refused_everywhere(store, bad):
    with pytest.raises(LensError) as info:
        parse_visitor_id(bad)
    assert info.value.key == "workspace.bad_visitor"
    for call in (store.load, store.visitor_folder, lambda v: store.save_plan(v, SavedPlan("p", SPEC, QV)),
                 lambda v: store.set_preferences(v, language="ko"), lambda v: store.delete_run(v, 1)):
        with pytest.raises(LensError):
            call(bad)


# --- round trips and restart ----------------------------------------------------------

PLAN_NAMES = [REGEX, r"C:\temp\new [x]_*y*", "쿼리·밸류 적응 r=8", "emoji 🙂 and `code` **bold**", "a" * MAX_NAME]
PLANS = [
    QV,
    LoraPlan(target_regex=REGEX, r=4, lora_alpha=7.5, lora_dropout=0.0, bias="lora_only", layers=(0, 3)),
    LoraPlan(target_regex=ALL_LINEAR, use_rslora=True, use_dora=True, modules_to_save=("score",), task="seq-cls"),
]


@pytest.mark.parametrize("name", PLAN_NAMES)
@pytest.mark.parametrize("plan", PLANS, ids=["qv", "regex", "all-linear"])
def test_saved_plan_round_trips_byte_for_byte_across_a_restart(tmp_path, name, plan):
    path, vid = tmp_path / "ws.sqlite3", new_visitor_id()
    saved = SavedPlan(name, ModelSpec("hub", "Qwen/Qwen2-0.5B", "seq-cls", 5), plan)
    with WorkspaceStore(path) as s:
        assert s.save_plan(vid, saved).status == "saved"
    with WorkspaceStore(path) as s:
        (back,) = s.load(vid).plans
    assert back == saved and back.plan.to_json() == plan.to_json()
    assert back.name.encode("utf-8") == name.encode("utf-8")
    assert import_plans(export_plans([back].copy()).encode()) == [back]  # and the plans file agrees


def test_runs_and_preferences_round_trip_across_a_restart(tmp_path, clock):
    path, vid = tmp_path / "ws.sqlite3", new_visitor_id()
    settings = TrainSettings.for_task("causal-lm", max_steps=30).to_json()
    with WorkspaceStore(path, clock=clock) as s:
        run = add_run(s, vid, status="queued", settings=settings, data_name="리뷰.csv", plan=PLANS[1])
        clock.t += 60
        done = s.update_run(vid, run.number, status="done", planned_steps=30)
        prefs = s.set_preferences(vid, language="ko", model=SPEC, settings={"configure.r": 16, "train.lr": 1e-4})
        prefs = s.set_preferences(vid, settings={"configure.targets": ["q_proj", "v_proj"], "train.lr": None})
    with WorkspaceStore(path, clock=clock) as s:
        ws = s.load(vid)
    assert ws.runs == (done,) and ws.preferences == prefs
    assert done.created == 1_000_000.0 and done.updated == 1_000_060.0 and done.finished
    assert TrainSettings.from_json(ws.runs[0].settings) == TrainSettings.from_json(settings)
    assert Path(done.folder).is_dir() and Path(done.folder).is_relative_to(tmp_path)
    assert prefs.settings == {"configure.r": 16, "configure.targets": ["q_proj", "v_proj"]}
    assert Preferences.from_json(json.loads(json.dumps(prefs.to_json()))) == prefs


def test_the_data_folder_can_move(tmp_path):
    vid = new_visitor_id()
    with WorkspaceStore(tmp_path / "a" / "ws.sqlite3") as s:
        write(Path(add_run(s, vid).folder), "adapter.bin", 10)
    os.rename(tmp_path / "a", tmp_path / "b")
    with WorkspaceStore(tmp_path / "b" / "ws.sqlite3") as s:
        (run,) = s.load(vid).runs
        assert Path(run.folder, "adapter.bin").is_file() and Path(run.folder).is_relative_to(tmp_path / "b")


def test_two_visitors_never_see_each_other(store):
    a, b = new_visitor_id(), new_visitor_id()
    store.save_plan(a, SavedPlan("mine", SPEC, QV))
    store.save_plan(b, SavedPlan("mine", SPEC, QV.with_changes(r=64)))
    run_a = add_run(store, a)
    store.set_preferences(b, language="ko")
    wa, wb = store.load(a), store.load(b)
    assert wa.plans[0].plan.r == 8 and wb.plans[0].plan.r == 64
    assert [r.number for r in wa.runs] == [1] and wb.runs == ()
    assert wa.preferences.language is None and wb.preferences.language == "ko"  # a never chosen language stays unset
    assert store.delete_plan(b, "mine") and store.load(a).plan("mine") is not None
    assert not store.delete_run(b, run_a.number) and store.load(a).run(1) is not None
    with pytest.raises(LensError, match="#1"):
        store.update_run(b, 1, status="failed")


# --- conflicts, renames, numbering ------------------------------------------------------


def test_ask_changes_nothing_overwrite_replaces_keep_both_renames(store):
    vid = new_visitor_id()
    store.save_plan(vid, SavedPlan("p", SPEC, QV))
    store.save_plan(vid, SavedPlan("q", SPEC, QV))
    outcome = store.save_plan(vid, SavedPlan("p", SPEC, QV.with_changes(r=32)), on_conflict="ask")
    assert outcome.status == "exists" and not outcome.changed
    assert store.load(vid).plan("p").plan.r == 8
    assert store.save_plan(vid, SavedPlan("p", SPEC, QV.with_changes(r=32)), "overwrite").status == "overwritten"
    assert store.load(vid).plan_names == ("p", "q") and store.load(vid).plan("p").plan.r == 32
    names = [store.save_plan(vid, SavedPlan(" p ", SPEC, QV), "keep_both").plan.name for _ in range(2)]
    assert names == ["p (2)", "p (3)"] and store.load(vid).plan_names == ("p", "q", "p (2)", "p (3)")


def test_rename(store):
    vid = new_visitor_id()
    store.save_plan(vid, SavedPlan("p", SPEC, QV))
    store.save_plan(vid, SavedPlan("q", SPEC, QV))
    assert store.rename_plan(vid, "p", REGEX).name == REGEX
    assert store.load(vid).plan_names == (REGEX, "q")
    with pytest.raises(LensError) as info:
        store.rename_plan(vid, REGEX, "q")
    assert info.value.key == "workspace.name_taken"
    with pytest.raises(LensError) as info:
        store.rename_plan(vid, "p", "z")
    assert info.value.key == "workspace.no_plan"


def test_run_numbers_are_never_reused(tmp_path):
    path, vid = tmp_path / "ws.sqlite3", new_visitor_id()
    with WorkspaceStore(path) as s:
        runs = [add_run(s, vid) for _ in range(3)]
        assert [r.number for r in runs] == [1, 2, 3]
        assert s.delete_run(vid, 3) and not Path(runs[2].folder).exists()
    with WorkspaceStore(path) as s:
        assert add_run(s, vid).number == 4
        assert add_run(s, new_visitor_id()).number == 1


def test_an_active_run_is_not_deleted_without_force(store):
    vid = new_visitor_id()
    run = add_run(store, vid, status="running")
    with pytest.raises(LensError) as info:
        store.delete_run(vid, run.number)
    assert info.value.key == "workspace.run_active" and Path(run.folder).is_dir()
    assert store.delete_run(vid, run.number, force=True) and not Path(run.folder).exists()


# --- schema ---------------------------------------------------------------------------


def test_a_v1_file_migrates_and_keeps_everything(tmp_path):
    path, vid = tmp_path / "ws.sqlite3", new_visitor_id()
    key = visitor_key(vid)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    schema.migrate(db, upto=1)
    db.execute("COMMIT")
    assert db.execute("PRAGMA user_version").fetchone()[0] == 1
    plan_body = json.dumps(saved_plan_to_json(SavedPlan(REGEX, SPEC, QV)))
    db.execute("INSERT INTO plans VALUES (?, ?, ?, 5, 5)", (key, REGEX, plan_body))
    with WorkspaceStore(tmp_path / "scratch.sqlite3") as scratch:  # v1 run bodies are what the store writes
        bodies = [json.dumps(add_run(scratch, vid).to_json()) for _ in range(5)]
    for n in (1, 2, 5):
        db.execute("INSERT INTO runs VALUES (?, ?, ?, 'done', ?, ?)", (key, n, bodies[n - 1], n, n))
    db.execute("INSERT INTO preferences VALUES (?, ?)", (key, json.dumps(Preferences(language="ko").to_json())))
    db.close()
    with WorkspaceStore(path) as s:
        ws = s.load(vid)
        assert [r.number for r in ws.runs] == [1, 2, 5] and ws.plans[0].name == REGEX
        assert ws.preferences.language == "ko"
        assert s.delete_run(vid, 5) and add_run(s, vid).number == 6  # v1 would have handed out #3
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == schema.VERSION == 3


def test_a_newer_schema_is_refused_not_clobbered(tmp_path):
    path = tmp_path / "ws.sqlite3"
    sqlite3.connect(path).execute(f"PRAGMA user_version = {schema.VERSION + 1}")
    with pytest.raises(LensError) as info:
        WorkspaceStore(path)
    assert info.value.key == "workspace.corrupt"


def test_a_file_that_is_not_a_database_is_a_lens_error(tmp_path):
    path = tmp_path / "ws.sqlite3"
    path.write_bytes(b"not a database, just bytes " * 100)
    with pytest.raises(LensError) as info:
        WorkspaceStore(path)
    assert info.value.key == "workspace.corrupt"


def test_a_full_disk_is_a_lens_error_and_nothing_half_written(store):
    vid = new_visitor_id()
    store.save_plan(vid, SavedPlan("p", SPEC, QV))
    before = store.load(vid)
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages + 1}")  # the file may not grow: SQLITE_FULL
    with pytest.raises(LensError) as info:
        store.set_preferences(vid, settings={f"k{i}": "x" * 100 for i in range(400)})
    assert info.value.key == "workspace.write_failed"
    assert store.load(vid) == before
    store._db.execute("PRAGMA max_page_count = 1073741823")
    assert store.set_preferences(vid, language="ko").language == "ko"


def test_a_row_that_no_longer_parses_is_skipped(store):
    vid = new_visitor_id()
    store.save_plan(vid, SavedPlan("good", SPEC, QV))
    store._db.execute("INSERT INTO plans VALUES (?, 'bad', '{\"name\": 1}', 9e9, 9e9)", (visitor_key(vid),))
    assert store.load(vid).plan_names == ("good",)


# --- concurrency ----------------------------------------------------------------------


def test_threads_writing_at_once_lose_nothing(store):
    visitors = [new_visitor_id() for _ in range(2)]
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            vid = visitors[i % 2]
            for j in range(15):
                store.save_plan(vid, SavedPlan(f"t{i}-{j}", SPEC, QV))
                add_run(store, vid)
                store.set_preferences(vid, settings={f"k{i}": j})
                store.load(vid)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    for k, vid in enumerate(visitors):
        ws = store.load(vid)
        assert len(ws.plans) == 60 and [r.number for r in ws.runs] == list(range(1, 61))
        assert ws.preferences.settings == {f"k{i}": 14 for i in range(k, 8, 2)}


def _process_writer(path: str, vid: str, tag: str) -> None:
    with WorkspaceStore(Path(path)) as s:
        for j in range(20):
            add_run(s, vid)
            s.save_plan(vid, SavedPlan(f"{tag}{j}", SPEC, QV))


def test_two_processes_writing_one_file_lose_nothing(tmp_path):
    path, vid = tmp_path / "ws.sqlite3", new_visitor_id()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_process_writer, args=(str(path), vid, tag)) for tag in "ab"]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    with WorkspaceStore(path) as s:
        ws = s.load(vid)
        assert [r.number for r in ws.runs] == list(range(1, 41)) and len(ws.plans) == 40
        assert s._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# --- bounds ---------------------------------------------------------------------------

HOSTILE = [
    (lambda s, v: s.save_plan(v, SavedPlan("x" * 10_000_000, SPEC, QV)), "workspace.name_too_long"),
    (lambda s, v: s.save_plan(v, SavedPlan("x" * (MAX_NAME + 1), SPEC, QV)), "workspace.name_too_long"),
    (lambda s, v: s.save_plan(v, SavedPlan("   ", SPEC, QV)), "workspace.name_empty"),
    (lambda s, v: s.save_plan(v, SavedPlan("a\nb", SPEC, QV)), "workspace.name_control"),
    (lambda s, v: s.save_plan(v, SavedPlan("a\u2028b", SPEC, QV)), "workspace.name_control"),
    (lambda s, v: s.rename_plan(v, "p", "\x00"), "workspace.name_control"),
    (lambda s, v: s.set_preferences(v, settings={"k": "x" * (limits.MAX_PREFS_BYTES + 1)}), "workspace.prefs_too_big"),
    (lambda s, v: s.set_preferences(v, settings={f"k{i}": i for i in range(limits.MAX_PREF_KEYS + 1)}),
     "workspace.too_many_settings"),
    (lambda s, v: s.set_preferences(v, settings={"../x": 1}), "workspace.bad_setting_key"),
    (lambda s, v: s.set_preferences(v, settings={"k": float("nan")}), "workspace.not_json"),
    (lambda s, v: s.set_preferences(v, settings={"k": object()}), "workspace.not_json"),
    (lambda s, v: s.set_preferences(v, language="fr"), "workspace.bad_language"),
    (lambda s, v: add_run(s, v, data_name="d" * 201), "workspace.data_name_too_long"),
    (lambda s, v: add_run(s, v, settings={"x": "y" * (limits.MAX_SETTINGS_BYTES + 1)}), "workspace.settings_too_big"),
    (lambda s, v: add_run(s, v, status="exploded"), "workspace.bad_status"),
]


@pytest.mark.parametrize("call,key", HOSTILE)
def test_hostile_input_is_a_lens_error_and_changes_nothing(store, call, key):
    vid = new_visitor_id()
    store.save_plan(vid, SavedPlan("p", SPEC, QV))
    before = store.load(vid)
    t0 = time.perf_counter()
    with pytest.raises(LensError) as info:
        call(store, vid)
    assert info.value.key == key and time.perf_counter() - t0 < 1
    assert info.value.message("ko") != info.value.message("en")
    assert store.load(vid) == before


def test_ten_thousand_plans_stop_at_the_bound_quickly(store):
    vid, t0 = new_visitor_id(), time.perf_counter()
    refused = 0
    for i in range(10_000):
        try:
            store.save_plan(vid, SavedPlan(f"p{i}", SPEC, QV))
        except LensError as exc:
            assert exc.key == "workspace.too_many_plans"
            refused += 1
    assert refused == 10_000 - limits.MAX_PLANS and len(store.load(vid).plans) == limits.MAX_PLANS
    assert store.save_plan(vid, SavedPlan("p0", SPEC, QV), "overwrite").changed  # overwriting still works
    assert time.perf_counter() - t0 < 30


def test_runs_stop_at_the_bound(store, monkeypatch):
    monkeypatch.setattr(limits, "MAX_RUNS", 3)
    vid = new_visitor_id()
    for _ in range(3):
        add_run(store, vid)
    with pytest.raises(LensError) as info:
        add_run(store, vid)
    assert info.value.key == "workspace.too_many_runs" and len(store.load(vid).runs) == 3


# --- where the data lives ---------------------------------------------------------------


def test_data_root_prefers_the_env_then_data_then_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LORA_LENS_DATA", str(tmp_path / "d"))
    assert paths.data_root() == tmp_path / "d"
    monkeypatch.delenv("LORA_LENS_DATA")
    monkeypatch.setenv("LORA_LENS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(paths.os.path, "isdir", lambda p: False)
    assert paths.data_root() == tmp_path / "cache" / "workspace"
    monkeypatch.setattr(paths.os.path, "isdir", lambda p: p == "/data")
    monkeypatch.setattr(paths.os, "access", lambda p, mode: p == "/data")
    assert paths.data_root() == Path("/data/lora-lens")


# --- housekeeping on real folders ---------------------------------------------------------


def write(folder: Path, name: str, size: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(os.urandom(size))
    return folder / name


def age(path: Path, seconds: float) -> None:
    t = time.time() - seconds
    os.utime(path, (t, t), follow_symlinks=False)


def test_quota_deletes_oldest_finished_runs_only(store):
    vid, other = new_visitor_id(), new_visitor_id()
    statuses = ["done", "running", "failed", "stopped", "done"]
    runs = [add_run(store, vid, status=s) for s in statuses]
    for r in runs:
        write(Path(r.folder), "adapter.bin", 100_000)
    theirs = write(Path(add_run(store, other).folder), "adapter.bin", 100_000)
    report = enforce_quota(store, vid, quota=250_000)
    assert report.freed == (1, 3, 4) and not report.over and report.used_bytes == 200_000
    assert [r.number for r in store.load(vid).runs] == [2, 5]
    assert not Path(runs[0].folder).exists() and Path(runs[1].folder, "adapter.bin").exists()
    assert theirs.exists() and len(store.load(other).runs) == 1
    report = enforce_quota(store, vid, quota=50_000)  # only the running run is left to delete: it stays
    assert report.freed == (5,) and report.over and [r.number for r in store.load(vid).runs] == [2]


def test_expire_removes_old_finished_runs(store, clock):
    vid = new_visitor_id()
    old_done, old_running = add_run(store, vid), add_run(store, vid, status="running")
    clock.t += 100 * 3600
    fresh = add_run(store, vid)
    assert expire(store, now=clock.t, ttl_s=72 * 3600) == [(visitor_key(vid), old_done.number)]
    assert [r.number for r in store.load(vid).runs] == [old_running.number, fresh.number]
    assert not Path(old_done.folder).exists() and Path(fresh.folder).exists()


def test_sweep_orphans(store, tmp_path):
    vid = new_visitor_id()
    run = add_run(store, vid)
    vdir = store.visitor_folder(vid)
    outside = write(tmp_path / "outside", "keep.txt", 10)
    doomed = [
        write(tmp_path / "visitors" / ("0" * 32), "x", 10).parent,  # a visitor with no row
        write(vdir / "runs" / "99", "x", 10).parent,  # a run with no row
        write(vdir / "uploads" / ".tmp-abc", "part", 10).parent,  # an upload left half-written
    ]
    link = vdir / "runs" / "link"
    link.symlink_to(outside.parent, target_is_directory=True)
    doomed.append(link)
    kept = [Path(run.folder), write(vdir / "uploads" / "reviews.csv", "data", 10).parent,
            write(vdir / "runs" / "98", "x", 10).parent]  # an orphan too young to judge
    for p in [*doomed, *kept[:2]]:
        age(p, ORPHAN_GRACE_S + 60)
    assert sorted(sweep_orphans(store)) == sorted(doomed)
    assert all(not p.exists() and not p.is_symlink() for p in doomed)
    assert all(p.exists() for p in kept) and outside.exists()


def test_remove_folder_refuses_anything_outside_the_root(tmp_path):
    root, outside = tmp_path / "root", write(tmp_path / "elsewhere", "f", 1).parent
    (root / "visitors").mkdir(parents=True)
    assert not paths.remove_folder(root, outside) and outside.exists()
    assert not paths.remove_folder(root, root / "visitors" / ".." / ".." / "elsewhere") and outside.exists()
    assert not paths.remove_folder(root, root) and root.exists()


@pytest.mark.parametrize("env,value,expected", [
    ("LORA_LENS_VISITOR_QUOTA_MB", None, 2048 << 20),
    ("LORA_LENS_VISITOR_QUOTA_MB", "10", 10 << 20),
    ("LORA_LENS_VISITOR_QUOTA_MB", "0", "workspace.bad_env"),
    ("LORA_LENS_VISITOR_QUOTA_MB", "lots", "workspace.bad_env"),
    ("LORA_LENS_RUN_TTL_HOURS", None, 72 * 3600),
    ("LORA_LENS_RUN_TTL_HOURS", "0.5", 1800),
    ("LORA_LENS_RUN_TTL_HOURS", "-1", "workspace.bad_env"),
])
def test_housekeeping_settings_from_the_environment(monkeypatch, env, value, expected):
    if value is None:
        monkeypatch.delenv(env, raising=False)
    else:
        monkeypatch.setenv(env, value)
    read = housekeeping.quota_bytes if "QUOTA" in env else housekeeping.run_ttl_s
    if isinstance(expected, str):
        with pytest.raises(LensError) as info:
            read()
        assert info.value.key == expected
    else:
        assert read() == expected


def _open_and_save(path: str, vid: str, tag: str) -> None:
    with WorkspaceStore(Path(path)) as s:
        s.save_plan(vid, SavedPlan(f"plan {tag}", SPEC, QV))


def test_many_processes_opening_a_new_file_at_once_all_succeed(tmp_path):
    """Switching a new file to WAL needs it alone: simultaneous first opens wait for each other, never fail."""
    path, vid = tmp_path / "new.sqlite3", new_visitor_id()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_open_and_save, args=(str(path), vid, str(i))) for i in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * 8
    with WorkspaceStore(path) as s:
        assert len(s.load(vid).plans) == 8
