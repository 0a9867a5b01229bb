"""How fast budgets are, against asking PEFT itself.

    python bench/budget.py [--runs N]

For Llama 3.1 405B and 8B (catalog configs, meta device) this times
(a) the inventory: build_meta_model + list_adaptable_layers (and each part),
(b) recomputing a budget: a fresh target set (PEFT's matcher runs) and a change
    of r only (the match is cached per plan, so only arithmetic runs),
(c) get_peft_model on a meta-device model + get_nb_trainable_parameters(),
and checks that (b) and (c) count the same. Targets: inventory of 405B < 1 s,
budget recompute < 10 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
warnings.filterwarnings("ignore")

from core.anatomy.inventory import list_adaptable_layers  # noqa: E402
from core.models.meta import build_meta_model  # noqa: E402
from core.models.sources import ModelSpec, load_config  # noqa: E402
from core.planning.budget import _match_cached, compute_budget  # noqa: E402
from core.planning.plan import LoraPlan, to_lora_config  # noqa: E402

MODELS = ("llama-3.1-405b", "llama-3.1-8b")
TARGET_SETS = (
    ("q_proj", "v_proj"),
    ("q_proj", "k_proj", "v_proj"),
    ("q_proj", "k_proj", "v_proj", "o_proj"),
    ("gate_proj", "up_proj", "down_proj"),
    ("q_proj", "v_proj", "down_proj"),
    ("o_proj",),
)
INVENTORY_TARGET_S = 1.0
RECOMPUTE_TARGET_S = 0.010


def _median_time(fn, runs: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:10.2f} ms"


def bench_model(slug: str, runs: int, peft_runs: int) -> dict:
    mc = load_config(ModelSpec("catalog", slug))

    # (a) inventory: cold first call, then the median of a few
    start = time.perf_counter()
    model = build_meta_model(mc)
    built = time.perf_counter()
    inv = list_adaptable_layers(model)
    walked = time.perf_counter()
    cold = (built - start, walked - built)
    builds, walks = [], []
    for _ in range(max(3, runs // 20)):
        t0 = time.perf_counter()
        model = build_meta_model(mc)
        t1 = time.perf_counter()
        inv = list_adaptable_layers(model)
        t2 = time.perf_counter()
        builds.append(t1 - t0)
        walks.append(t2 - t1)
    build_s, walk_s = statistics.median(builds), statistics.median(walks)

    # (b) budget recompute
    plans = [LoraPlan(targets=targets) for targets in TARGET_SETS]
    cycle = iter(range(10**9))

    def fresh_targets() -> None:
        _match_cached.cache_clear()  # force PEFT's matcher to run, as for a never-seen target set
        compute_budget(inv, plans[next(cycle) % len(plans)])

    ranks = (4, 8, 16, 32, 64)
    base = LoraPlan(targets=("q_proj", "v_proj"))

    def change_r() -> None:
        compute_budget(inv, base.with_changes(r=ranks[next(cycle) % len(ranks)]))

    fresh_s = _median_time(fresh_targets, runs)
    r_s = _median_time(change_r, runs)

    # (c) PEFT itself on a fresh meta model, same plan
    plan = LoraPlan(targets=("q_proj", "v_proj"))
    peft_times, counts = [], None
    from peft import get_peft_model

    for _ in range(peft_runs):
        fresh = build_meta_model(mc)  # not timed: PEFT needs a model of its own to wrap
        t0 = time.perf_counter()
        peft_model = get_peft_model(fresh, to_lora_config(plan))
        counts = tuple(peft_model.get_nb_trainable_parameters())
        peft_times.append(time.perf_counter() - t0)
        del peft_model, fresh
    peft_s = statistics.median(peft_times)
    ours = compute_budget(inv, plan)
    assert (ours.trainable_params, ours.total_params) == counts, (slug, ours, counts)
    return {
        "slug": slug,
        "layers": len(inv.layers),
        "modules": len(inv.modules),
        "params": inv.total_params,
        "cold": cold,
        "build": build_s,
        "walk": walk_s,
        "fresh": fresh_s,
        "r": r_s,
        "peft": peft_s,
        "trainable": counts[0],
    }


RERUN_TARGET_S = 0.150


def bench_app_rerun(runs: int = 5) -> float:
    """One Streamlit rerun of the Configure page after a module is ticked, with the 405B model loaded."""
    from streamlit.testing.v1 import AppTest

    app = str(Path(__file__).resolve().parents[1] / "app.py")
    at = AppTest.from_file(app, default_timeout=300)
    at.session_state["app.model_spec"] = ModelSpec("catalog", "llama-3.1-405b")
    at.run()
    at.switch_page("pages/configure.py")
    at.run()  # warm: builds the inventory once (cached for every visitor)
    times = []
    for i in range(runs):
        groups = ["q_proj", "v_proj"] + (["k_proj"] if i % 2 == 0 else [])
        at.multiselect(key="configure.w.groups").set_value(groups)
        t0 = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - t0)
        assert not at.exception, [e.value for e in at.exception]
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="timed runs per budget median (after warm-up)")
    parser.add_argument("--peft-runs", type=int, default=3, help="get_peft_model runs per model")
    args = parser.parse_args()

    import peft
    import torch
    import transformers

    print(f"torch {torch.__version__}, transformers {transformers.__version__}, peft {peft.__version__}")
    failures = []
    for slug in MODELS:
        r = bench_model(slug, args.runs, args.peft_runs)
        inventory_s = r["build"] + r["walk"]
        print(f"\n{slug}: {r['params']:,} params, {r['layers']} adaptable layers, {r['modules']} modules")
        print(
            f"  (a) inventory, cold first call     {_ms(sum(r['cold']))}  (build {_ms(r['cold'][0])}, walk {_ms(r['cold'][1])})"
        )
        print(f"  (a) inventory, median              {_ms(inventory_s)}")
        print(f"        build_meta_model             {_ms(r['build'])}")
        print(f"        list_adaptable_layers        {_ms(r['walk'])}")
        print(f"  (b) budget, fresh target set       {_ms(r['fresh'])}  (median of {args.runs})")
        print(f"  (b) budget, change of r (cached)   {_ms(r['r'])}  (median of {args.runs})")
        print(f"  (c) get_peft_model + count         {_ms(r['peft'])}  (median of {args.peft_runs})")
        print(f"  ratio (c)/(b fresh)                {r['peft'] / r['fresh']:10.0f} x")
        print(f"  ratio (c)/(b change of r)          {r['peft'] / r['r']:10.0f} x")
        print(f"  counts identical: {r['trainable']:,} trainable (q_proj, v_proj, r=8)")
        if slug == "llama-3.1-405b" and inventory_s > INVENTORY_TARGET_S:
            failures.append(f"{slug} inventory {inventory_s:.3f} s > {INVENTORY_TARGET_S} s")
        for label in ("fresh", "r"):
            if r[label] > RECOMPUTE_TARGET_S:
                failures.append(
                    f"{slug} budget ({label}) {r[label] * 1000:.2f} ms > {RECOMPUTE_TARGET_S * 1000:.0f} ms"
                )
    rerun = bench_app_rerun()
    print(f"\napp rerun (AppTest, Configure, 405B loaded) after ticking k_proj: {_ms(rerun)}  (median of 5)")
    if rerun > RERUN_TARGET_S:
        failures.append(f"app rerun {rerun * 1000:.0f} ms > {RERUN_TARGET_S * 1000:.0f} ms")
    print()
    print("targets met" if not failures else "targets missed:\n  " + "\n  ".join(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
