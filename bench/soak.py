"""Soak: many visitors at once while a real training runs, and nothing leaks between them.

    python bench/soak.py [--sessions 6] [--rounds 3] [--waves 2] [--steps 10] [--model minilm|smollm2]

N AppTest sessions run in threads, each on its own catalog model: Inspect, Configure
(a session-specific r, a saved plan under a session-specific name, one bad regex),
Compare. Meanwhile the job manager trains the embedded model for real (~10 steps); a
second run is submitted at once and must wait in the queue, and is then stopped mid-run;
a third run's runner raises ``torch.OutOfMemoryError``. Checks: each session only ever
sees its own model, plan and saved plans (no cross-talk); the queue holds; every run
ends in a clear state and the worker survives; RSS stays bounded and every Streamlit
cache has ``max_entries``. Prints: sessions run, inputs tried, faults injected,
anything lost (must be 0). Exit code 1 when any check failed.
"""

from __future__ import annotations

import argparse
import ast
import os
import resource
import sys
import tempfile
import threading
import time
import traceback
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("LORA_LENS_DATA", tempfile.mkdtemp(prefix="lora-lens-soak-"))  # fresh visitors
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
warnings.filterwarnings("ignore")
import logging  # noqa: E402

logging.getLogger("streamlit").setLevel(logging.ERROR)

import torch  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

import core.training.jobs  # noqa: E402
from core.anatomy.inventory import list_adaptable_layers  # noqa: E402
from core.data.bundled import load_bundled  # noqa: E402
from core.data.splits import sample  # noqa: E402
from core.i18n import human_count, t  # noqa: E402
from core.models.meta import build_meta_model  # noqa: E402
from core.models.sources import ModelSpec, load_config  # noqa: E402
from core.planning.budget import compute_budget  # noqa: E402
from core.planning.plan import LoraPlan  # noqa: E402
from core.planning.presets import preset_targets  # noqa: E402
from core.training.engine import run_training  # noqa: E402
from core.training.jobs import JobManager  # noqa: E402
from core.training.settings import TrainSettings  # noqa: E402
from core.workspace.store import WorkspaceStore  # noqa: E402

APP = str(ROOT / "app.py")
MODELS = ("gpt2", "llama-3.2-1b", "qwen2.5-0.5b", "bert-base", "phi-3-mini", "mistral-7b-v0.3", "gemma-2-2b",
          "roberta-base", "t5-base", "falcon-7b", "llama-3.1-8b", "distilbert")
COUNTS = {"sessions": 0, "inputs": 0, "faults": 0, "lost": 0, "rounds_while_training": 0}
TRAINER = "f" * 32
REPORT: dict[str, str] = {}
FAILURES: list[str] = []
LOCK = threading.Lock()
_KEEP: list = []


def note(kind: str, n: int = 1) -> None:
    with LOCK:
        COUNTS[kind] += n


def check(ok: bool, what: str) -> None:
    if not ok:
        with LOCK:
            FAILURES.append(what)


def rss_mib() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def expected(slug: str) -> tuple[int, str, int]:
    """(total params, task, blocks) of a catalog model, computed alone before any concurrency."""
    spec = ModelSpec("catalog", slug)
    mc = load_config(spec)
    inv = list_adaptable_layers(build_meta_model(mc))
    return inv.total_params, mc.task, inv.num_blocks


def let_apptests_run_in_parallel() -> None:
    """AppTest sets the global ``Runtime._instance`` to a mock for each run and back to ``None``
    after it, and patches ``config.get_option`` around each run: with several sessions running
    at once, one finishing would pull the runtime from under the others. Keep one live mock
    runtime (the latest) and patch the config once, for the whole soak."""
    import contextlib

    import streamlit.testing.v1.app_test as app_test
    from streamlit.runtime import Runtime
    from streamlit.testing.v1.util import patch_config_options

    class _KeepInstance(type(Runtime)):
        def __setattr__(cls, name, value):
            if name == "_instance":
                if value is not None:
                    Runtime._instance = value
                return
            super().__setattr__(name, value)

    class _SharedRuntime(Runtime, metaclass=_KeepInstance):
        pass

    app_test.Runtime = _SharedRuntime
    # CPython 3.11's ast module keeps its recursion counter per interpreter, not per thread: two
    # scripts compiled at once fail with "AST constructor recursion depth mismatch". Compile one at a time.
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache

    compile_lock = threading.RLock()
    get_bytecode = ScriptCache.get_bytecode

    def locked_get_bytecode(self, script_path):
        with compile_lock:
            return get_bytecode(self, script_path)

    ScriptCache.get_bytecode = locked_get_bytecode
    _KEEP.append(patch_config_options({"global.appTest": True}))  # a dropped generator would undo the patch
    _KEEP[-1].__enter__()
    app_test.patch_config_options = lambda overrides: contextlib.nullcontext()


# --- one visitor ---------------------------------------------------------------------------------


STORE = WorkspaceStore()  # the same file the app opens (LORA_LENS_DATA)


def visitor(index: int, slug: str, rounds: int, truth: dict) -> None:
    sid = f"{index + 1:032x}"
    r = 4 + index  # this session's own rank: any other value on its pages is cross-talk
    name = f"session-{index} {slug} r={r}"
    total, task, _ = truth[slug]
    try:
        at = AppTest.from_file(APP, default_timeout=300)
        at.session_state["app.visitor"] = sid
        at.session_state["app.model_spec"] = ModelSpec("catalog", slug)
        for round_no in range(rounds):
            mgr = core.training.jobs._MANAGER
            if mgr is not None and any(j.snapshot.status == "running" for j in mgr.jobs_of(TRAINER)):
                note("rounds_while_training")
            if round_no:
                at.switch_page("pages/inspect.py")
            at.run()
            note("inputs")
            check(not at.exception, f"{name}: exception on Inspect: {[e.value for e in at.exception]}")
            shown = next((m.value for m in at.metric if m.label == t("inspect.total_params")), None)
            check(shown == human_count(total), f"{name}: Inspect shows {shown}, expected {human_count(total)}")
            at.switch_page("pages/configure.py")
            at.run()
            at.number_input(key="configure.w.r").set_value(r).run()
            note("inputs")
            check(not at.exception, f"{name}: exception on Configure: {[e.value for e in at.exception]}")
            plan = at.session_state["configure.plan"]
            check(plan.r == r and plan.task == task, f"{name}: configure plan is {plan}")
            inv = list_adaptable_layers(build_meta_model(load_config(ModelSpec("catalog", slug))))
            want = compute_budget(inv, plan).trainable_params
            shown = next((m.help for m in at.metric if m.label == t("configure.trainable")), "")
            check(shown == f"{want:,}", f"{name}: trainable {shown} != {want:,}")
            at.text_input(key="configure.save_name").set_value(name).run()
            at.button(key="configure.save_btn").click().run()
            note("inputs")
            # one bad input per round: a regex that matches nothing
            at.button_group(key="configure.w.preset").set_value("regex").run()
            at.text_input(key="configure.w.regex").input(r".*\.no_such_module_here").run()
            note("inputs")
            check(not at.exception and any("matches no layer" in e.value for e in at.error),
                  f"{name}: bad regex gave {[e.value for e in at.error]}")
            at.button_group(key="configure.w.preset").set_value("custom").run()
            at.switch_page("pages/compare.py")
            at.run()
            note("inputs")
            check(not at.exception, f"{name}: exception on Compare: {[e.value for e in at.exception]}")
            plans = {p.name: p for p in STORE.load(sid).plans}  # what the visitor's workspace holds
            mine = set(plans) == {name} and plans[name].model == ModelSpec("catalog", slug)
            check(mine, f"{name}: saved plans are {list(plans)}")
            if not mine:
                note("lost")
            table = at.dataframe[0].value if at.dataframe else None
            check(table is not None and list(table.iloc[:, 0]) == [name], f"{name}: compare table {table}")
            check(at.session_state["app.model_spec"] == ModelSpec("catalog", slug), f"{name}: model changed")
        note("sessions")
    except Exception as exc:  # noqa: BLE001 - report, do not hide
        check(False, f"{name}: {type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}")


# --- training in the background ----------------------------------------------------------------------


def trainer(model: str, steps: int, root: Path) -> None:
    def runner(spec, plan, train, val, settings, workdir, state):
        if plan.r == 13:  # injected fault
            state.start(settings.max_steps)
            raise torch.OutOfMemoryError("CUDA out of memory (injected by the soak)")
        return run_training(spec, plan, train, val, settings, workdir, state)

    mgr = JobManager(root=root, runner=runner)
    core.training.jobs._MANAGER = mgr
    owner = TRAINER
    started = time.monotonic()
    task = "seq-cls" if model == "minilm" else "causal-lm"
    data = sample(load_bundled("rotten-tomatoes" if task == "seq-cls" else "chatterbot-en", task), 120, seed=0)
    spec = ModelSpec("embedded", model, task)
    inv = list_adaptable_layers(build_meta_model(load_config(spec)))
    targets, _ = preset_targets(inv, "qv")
    plan = LoraPlan(targets=targets, r=8, lora_alpha=16, task=task)
    settings = TrainSettings(max_steps=steps, batch_size=8, max_seq_len=64, eval_every=max(steps // 2, 1),
                             max_eval_examples=16)
    first = mgr.submit(owner, spec, plan, data, None, settings)
    second = mgr.submit(owner, spec, plan, data, None, settings.with_changes(max_steps=steps * 10))
    oom = mgr.submit(owner, spec, plan.with_changes(r=13), data, None, settings)
    note("inputs", 3)
    check(mgr.queue_position(second) in (1, 2), f"second run not queued: {mgr.queue_position(second)}")
    check(mgr.get(owner, second).snapshot.status == "queued", "second run started before the first finished")
    check(mgr.get(owner, first).state.wait(900), "first run did not finish in 15 min")
    snap = mgr.get(owner, first).snapshot
    check(snap.status == "done" and snap.step == steps, f"first run ended {snap.status} at {snap.step}: "
          f"{snap.error_key} {snap.error_params}")
    losses = [row["loss"] for row in snap.losses]
    REPORT["first"] = (f"run 1: {snap.status} after {snap.step} steps in {time.monotonic() - started:.0f} s, "
                       f"loss {losses[0]:.3f} -> {losses[-1]:.3f}" if losses else f"run 1: {snap.status}")
    adapter = mgr.get(owner, first).adapter_dir
    check(adapter is not None and (adapter / "adapter_model.safetensors").is_file(), "first adapter missing")
    # stop the second run mid-way (it was queued behind the first)
    deadline = time.monotonic() + 600
    while mgr.get(owner, second).snapshot.step < 2 and time.monotonic() < deadline:
        snap2 = mgr.get(owner, second).snapshot
        if snap2.finished:
            check(False, f"second run ended early: {snap2.status} {snap2.error_key} {snap2.error_params}")
            break
        time.sleep(0.2)
    mgr.stop(owner, second)
    note("faults")
    check(mgr.get(owner, second).state.wait(600), "stopped run did not end")
    snap2 = mgr.get(owner, second).snapshot
    check(snap2.status == "stopped" and 2 <= snap2.step < steps * 10, f"second run: {snap2.status} {snap2.step}")
    check(mgr.get(owner, second).adapter_dir is not None, "a stopped run keeps its adapter")
    REPORT["second"] = f"run 2 (queued behind run 1, then stopped): {snap2.status} at step {snap2.step}"
    check(mgr.get(owner, oom).state.wait(60), "OOM run did not end")
    note("faults")
    snap3 = mgr.get(owner, oom).snapshot
    check(snap3.status == "failed" and "memory" in t(snap3.error_key, "en", **snap3.error_params).lower(),
          f"OOM run: {snap3.status} {snap3.error_key}")
    for job in mgr.jobs_of(owner):  # nothing lost: every run is still listed with its files
        if job.snapshot.status in ("done", "stopped") and not (job.adapter_dir and job.adapter_dir.is_dir()):
            note("lost")
    REPORT["third"] = f"run 3 (runner raised OutOfMemoryError): {snap3.status}, " + t(
        snap3.error_key or "err.unexpected", "en", **snap3.error_params)[:90]
    check(len(mgr.jobs_of(owner)) == 3, "a run disappeared")
    check(all(mgr.jobs_of(f"{i + 1:032x}") == [] for i in range(64)), "a visitor sees the trainer's runs")


# --- caches ---------------------------------------------------------------------------------------------


def caches_are_bounded() -> list[str]:
    """Every st.cache_resource / st.cache_data in the app declares max_entries."""
    unbounded = []
    for path in [*(ROOT / "ui").rglob("*.py"), *(ROOT / "pages").rglob("*.py"), ROOT / "app.py", *(ROOT / "core").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef):
                continue
            for dec in node.decorator_list:
                text = ast.unparse(dec)
                if ("cache_resource" in text or "cache_data" in text) and "max_entries" not in text:
                    unbounded.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    return unbounded


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--model", choices=("minilm", "smollm2"), default="minilm")
    parser.add_argument("--waves", type=int, default=2, help="repeat the sessions: memory must level off")
    parser.add_argument("--max-growth-mib", type=float, default=1500.0, help="allowed RSS growth after warm-up")
    parser.add_argument("--max-creep-mib", type=float, default=300.0, help="allowed RSS growth from wave to wave")
    args = parser.parse_args()
    threads = max(1, (os.cpu_count() or 2) // 2)
    torch.set_num_threads(threads)
    os.environ["LORA_LENS_CPU_THREADS"] = str(threads)  # the engine sets its count in the training thread
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    let_apptests_run_in_parallel()
    slugs = [MODELS[i % len(MODELS)] for i in range(args.sessions)]
    started = time.monotonic()
    truth = {slug: expected(slug) for slug in set(slugs)}
    # warm-up: one session alone, so imports and the first caches are not counted as growth
    AppTest.from_file(APP, default_timeout=300).run()
    rss_before = rss_mib()
    rss_waves = []
    with tempfile.TemporaryDirectory(prefix="lora-lens-soak-") as tmp:
        train_thread = threading.Thread(target=trainer, args=(args.model, args.steps, Path(tmp)), name="trainer")
        train_thread.start()
        time.sleep(1.0)
        for _wave in range(args.waves):  # the same load again: memory must level off, not climb
            threads = [threading.Thread(target=visitor, args=(i, slug, args.rounds, truth), name=f"visitor-{i}")
                       for i, slug in enumerate(slugs)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            rss_waves.append(rss_mib())
        train_thread.join()
    rss_after = rss_mib()
    unbounded = caches_are_bounded()
    check(not unbounded, f"caches without max_entries: {unbounded}")
    growth = rss_after - rss_before
    check(growth < args.max_growth_mib, f"RSS grew {growth:.0f} MiB (limit {args.max_growth_mib:.0f})")
    creep = rss_waves[-1] - rss_waves[0] if len(rss_waves) > 1 else 0.0
    check(creep < args.max_creep_mib, f"RSS crept {creep:.0f} MiB between waves (limit {args.max_creep_mib:.0f})")
    print(f"soak: {args.waves} waves × {args.sessions} concurrent sessions × {args.rounds} rounds on "
          f"{len(set(slugs))} catalog models while {args.model} trained; {time.monotonic() - started:.0f} s")
    for key in ("first", "second", "third"):
        print("  " + REPORT.get(key, f"{key} run: no report"))
    print(f"  session rounds that started while a training step was running: {COUNTS['rounds_while_training']}")
    waves = ", ".join(f"{r:.0f}" for r in rss_waves)
    print(f"RSS: {rss_before:.0f} MiB after warm-up, after each wave {waves} MiB, {rss_after:.0f} MiB at the end "
          f"(growth {growth:+.0f} MiB, between waves {creep:+.0f} MiB); caches bounded: {not unbounded}")
    print(f"sessions run: {COUNTS['sessions']}, inputs tried: {COUNTS['inputs']}, "
          f"faults injected: {COUNTS['faults']}, anything lost: {COUNTS['lost']}")
    for failure in FAILURES:
        print(f"FAIL: {failure}")
    ok = not FAILURES and COUNTS["lost"] == 0 and COUNTS["sessions"] == args.sessions * args.waves
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
