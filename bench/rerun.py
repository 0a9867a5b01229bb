"""What a plan change costs the memory estimate, against 5f1d514's approach (the per-block formula) in one process.

    python bench/rerun.py [--models llama-3.1-405b smollm2-135m t5-base] [--plans 40] [--app-runs 12]

(a) core: for each catalog model (meta device), a sequence of plans never seen before (a new target set and r
    each time) is timed four ways, interleaved plan by plan so all four share the machine's load:
      budget      compute_budget for the new target set (PEFT's matcher runs): the rest of a plan change,
      formula     estimate_training_memory with the activations from the per-block formula (5f1d514),
      tape        estimate_training_memory as shipped (composed from the model's tape),
      trace       estimate_training_memory tracing each plan (the tape turned off: the commit before this one).
    The tape is recorded once, untimed, as the page's first view would; medians of wall and CPU time.
(b) app: the Configure page with the 405B model loaded, timed as bench/budget.py's bench_app_rerun times it
    (AppTest.run after a widget change, median), plus CPU time; each rerun sets r, then the ticked modules, to a
    value never used, and the three variants (formula, tape, trace) take turns rerun by rerun.
(c) what a plan change no longer pays moves to a settings change (batch, sequence, dtype, checkpointing): a new
    tape (one forward with every layer adapted; the adapted copy is kept per dtype and checkpointing) against a
    trace of the plan and the formula.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")  # AppTest's bare-mode warnings
os.environ.setdefault("LORA_LENS_DATA", tempfile.mkdtemp(prefix="lora-lens-bench-"))  # never the visitor's workspace
warnings.filterwarnings("ignore")

import core.planning.activations as activations  # noqa: E402
import core.planning.memory as memory  # noqa: E402
from core.anatomy.inventory import list_adaptable_layers  # noqa: E402
from core.models.meta import build_meta_model  # noqa: E402
from core.models.sources import ModelSpec, load_config  # noqa: E402
from core.planning.budget import compute_budget  # noqa: E402
from core.planning.memory import MemorySettings, estimate_training_memory  # noqa: E402
from core.planning.plan import LoraPlan  # noqa: E402

MODELS = ("llama-3.1-405b", "smollm2-135m", "t5-base")
REAL_TRACE, REAL_COMPOSE = memory.trace_activations, activations.composed_activations


def use(variant: str) -> None:
    """formula: no trace at all (5f1d514); tape: as shipped; trace: a trace of every plan (the tape off)."""
    memory.trace_activations = (lambda *a, **k: None) if variant == "formula" else REAL_TRACE
    activations.composed_activations = (lambda *a, **k: None) if variant == "trace" else REAL_COMPOSE
    activations._CACHE.clear()  # never the memo of an earlier answer


def _timed(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def plans_for(inv, count: int) -> list[LoraPlan]:
    """Target sets from the model's own short names, each with a rank not used before."""
    names = list(dict.fromkeys(layer.short_name for layer in inv.layers
                               if layer.block is not None and layer.kind in ("linear", "conv1d-transposed")))[:7]
    sets = [c for n in range(1, len(names) + 1) for c in itertools.combinations(names, n)]
    return [LoraPlan(targets=sets[i % len(sets)], r=2 + i) for i in range(count)]


def bench_core(slug: str, count: int) -> dict[str, list[tuple[float, float]]]:
    mc = load_config(ModelSpec("catalog", slug))
    inv = list_adaptable_layers(build_meta_model(mc))
    task = mc.task if mc.task in ("causal-lm", "seq2seq", "seq-cls") else "causal-lm"
    settings = MemorySettings(batch_size=4, seq_len=512)
    plans = [p.with_changes(task=task) for p in plans_for(inv, count + 1)]
    use("tape")
    estimate_training_memory(inv, compute_budget(inv, plans[0]), settings, config=mc.config, plan=plans[0])
    times: dict[str, list[tuple[float, float]]] = {v: [] for v in ("budget", "formula", "tape", "trace")}
    for plan in plans[1:]:
        budget = None

        def plan_budget(plan=plan) -> None:
            nonlocal budget
            budget = compute_budget(inv, plan)

        times["budget"].append(_timed(plan_budget))
        for variant in ("formula", "tape", "trace"):
            use(variant)
            times[variant].append(_timed(lambda plan=plan, budget=budget: estimate_training_memory(
                inv, budget, settings, config=mc.config, plan=plan)))
    use("tape")
    return times


def bench_settings(slug: str, count: int) -> dict[str, list[tuple[float, float]]]:
    """A change of batch size (never used before), checkpointing toggled every other time: a new tape or trace."""
    mc = load_config(ModelSpec("catalog", slug))
    inv = list_adaptable_layers(build_meta_model(mc))
    task = mc.task if mc.task in ("causal-lm", "seq2seq", "seq-cls") else "causal-lm"
    plan = plans_for(inv, 2)[1].with_changes(task=task)
    budget = compute_budget(inv, plan)
    batches = itertools.count(8)
    times: dict[str, list[tuple[float, float]]] = {v: [] for v in ("formula", "tape", "trace")}
    for i in range(count + 1):
        for variant in times:
            use(variant)
            settings = MemorySettings(batch_size=next(batches), seq_len=512, gradient_checkpointing=i % 2 == 1)
            timed = _timed(lambda s=settings: estimate_training_memory(inv, budget, s, config=mc.config, plan=plan))
            if i:  # the first: the process's first PEFT wrap (transformers builds its tables), for no variant
                times[variant].append(timed)
    use("tape")
    return times


GROUPS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def bench_app(runs: int, change: str) -> dict[str, list[tuple[float, float]]]:
    """bench/budget.py's bench_app_rerun (Configure, 405B, AppTest.run after a widget change); each rerun sets r
    (``change="r"``) or the ticked modules (``"targets"``) to a value no rerun used before."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=300)
    at.session_state["app.model_spec"] = ModelSpec("catalog", "llama-3.1-405b")
    at.run()
    at.switch_page("pages/configure.py")
    at.run()  # warm: the inventory and the tape, as a visitor's first view
    times: dict[str, list[tuple[float, float]]] = {v: [] for v in ("formula", "tape", "trace")}
    ranks = itertools.count(3)
    target_sets = iter([list(c) for n in (2, 3, 4, 5) for c in itertools.combinations(GROUPS, n)])
    for _ in range(runs):
        for variant in times:
            use(variant)
            if change == "r":
                at.number_input(key="configure.w.r").set_value(next(ranks))
            else:
                at.multiselect(key="configure.w.groups").set_value(next(target_sets))
            times[variant].append(_timed(at.run))
            assert not at.exception, [e.value for e in at.exception]
    use("tape")
    return times


def _report(title: str, times: dict[str, list[tuple[float, float]]], base: str) -> None:
    print(title)
    med = {v: (statistics.median(w for w, _ in t), statistics.median(c for _, c in t)) for v, t in times.items()}
    for variant, (wall, cpu) in med.items():
        print(f"  {variant:<8} wall {wall * 1000:9.2f} ms  cpu {cpu * 1000:9.2f} ms   "
              f"x{wall / med[base][0]:6.2f} / x{cpu / med[base][1]:6.2f} of {base}")
    print(f"  tape - {base}: wall {(med['tape'][0] - med[base][0]) * 1000:+.2f} ms, "
          f"cpu {(med['tape'][1] - med[base][1]) * 1000:+.2f} ms (medians of {len(times['tape'])})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    parser.add_argument("--plans", type=int, default=40, help="never-seen plans per model")
    parser.add_argument("--settings", type=int, default=8, help="never-seen memory settings per model")
    parser.add_argument("--app-runs", type=int, default=12, help="reruns per variant (0: skip the app)")
    args = parser.parse_args()
    import peft
    import torch
    import transformers

    print(f"torch {torch.__version__}, transformers {transformers.__version__}, peft {peft.__version__}; "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    for slug in args.models:
        _report(f"\n(a) {slug}: a plan change (new targets and r), batch 4 x 512, bf16, cuda",
                bench_core(slug, args.plans), "formula")
        _report(f"\n(c) {slug}: a settings change (a new batch size; checkpointing every other time)",
                bench_settings(slug, args.settings), "formula")
    for change in ("r", "targets") if args.app_runs else ():
        _report(f"\n(b) app: Configure rerun after {change} changes to a value never used, 405B loaded (AppTest.run)",
                bench_app(args.app_runs, change), "formula")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
