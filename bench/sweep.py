"""A 4-plan sweep vs 4 separate ``run_training`` calls of the same plans, in one process.

Same model, data, plans, settings and seed. The separate runs are what a visitor clicking Start four times on the
Train page costs: each loads the base, tokenizes the data, probes packing and evaluates its untrained start again,
on every core. The sweep tokenizes once and, on a CPU, trains ``lane_count`` plans at once, each in a process of
its own on its share of the cores (``core.training.lanes``); ``--lanes 1`` is the one-at-a-time sweep (one base
load, one step-0 evaluation). The default compares all three: separate runs, the one-lane sweep, the lanes sweep.

Untimed first: a 1-step run with its evaluations (the process's lazy imports, first kernels, file cache) and the
lane server's start (its one import of torch/transformers/PEFT, once per process: the app starts it as a sweep is
submitted), printed on its own. Wall time only: a lane's CPU time is spent in processes the fork server started,
which this process's CPU clock does not see. Checks that every side gives every plan the same trainable count.

    PYTHONPATH=. python bench/sweep.py                   # MiniLM / Rotten Tomatoes, the r ladder
    PYTHONPATH=. python bench/sweep.py --model smollm2   # SmolLM2 / chatterbot-ko, the targets ladder
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from core.anatomy.inventory import list_adaptable_layers
from core.data.bundled import load_bundled
from core.models.meta import build_meta_model
from core.models.sources import load_config
from core.models.spec import ModelSpec
from core.training import lanes
from core.training.engine import run_training
from core.training.lanes import lane_count, start_lane_server
from core.training.run_state import RunState
from core.training.sweep import Sweep, ladder, sweep_settings
from core.training.sweep_run import run_sweep, split

CASES = {
    "minilm": ("seq-cls", "rotten-tomatoes", "ranks", "qv"),
    "smollm2": ("causal-lm", "chatterbot-ko", "targets", "all-linear"),
}


def timed(work, *args):
    started = time.monotonic()
    return work(*args), time.monotonic() - started


def lane_server_start() -> float:
    """Start the fork server and wait until it forks (its preload imports done); the seconds it took."""
    started = time.monotonic()
    start_lane_server()
    process = lanes._context().Process(target=time.sleep, args=(0,))
    process.start()
    process.join()
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=CASES, default="minilm")
    parser.add_argument("--steps", type=int, default=None, help="default: the sweep's (SWEEP_STEPS)")
    parser.add_argument("--lanes", type=int, default=None, help="lanes of the sweep (default: lane_count)")
    args = parser.parse_args()
    task, data_name, kind, preset = CASES[args.model]
    spec = ModelSpec("embedded", args.model, task)
    plans = ladder(list_adaptable_layers(build_meta_model(load_config(spec))), kind, task, 8, preset)[:4]
    changes = {"max_steps": args.steps} if args.steps else {}
    sweep = Sweep(spec, data_name, plans, sweep_settings(task, **changes), (1,))
    data = load_bundled(data_name, task)
    train, val = split(sweep, data, None)
    n_lanes = lane_count(sweep, args.lanes)
    with tempfile.TemporaryDirectory() as work:
        warm = sweep.settings.with_changes(max_steps=1, eval_every=1)  # one step and evaluation, untimed
        run_training(spec, plans[0].plan, train, val, warm, Path(work) / "warm", RunState())
        server = lane_server_start() if n_lanes > 1 else 0.0

        def apart() -> list[int]:
            counts = []
            for item in plans:
                state = RunState()
                one = run_training(spec, item.plan, train, val, sweep.settings_for(item, 1), Path(work) / item.name, state)
                assert one is not None, state.snapshot().error_key
                counts.append(int(one.model.get_nb_trainable_parameters()[0]))
            return counts

        sides = [("separate runs", apart, None)]
        sides.append(("sweep, 1 lane", lambda: run_sweep(sweep, data, None, Path(work) / "one", lanes=1), None))
        if n_lanes > 1:
            sides.append((f"sweep, {n_lanes} lanes", lambda: run_sweep(sweep, data, None, Path(work) / "lanes",
                                                                       lanes=n_lanes), None))  # fmt: skip
        measured = []
        for name, work_fn, _ in sides:
            out, seconds = timed(work_fn)
            counts = out if name == "separate runs" else [r.trainable_params for r in out]
            measured.append((name, seconds, counts, out))
    base_counts = measured[0][2]
    assert all(m[2] == base_counts for m in measured), "the sides disagree on a count"
    for name, _, _, out in measured[1:]:
        print(f"{name}:")
        for r in out:
            quality = {k: round(v, 4) for k, v in r.metrics.items()}
            print(f"  {r.name:<22} {r.trainable_params:>10,} params  {r.seconds:7.1f} s  {quality}")
    apart_s = measured[0][1]
    if n_lanes > 1:
        print(f"lane server start (once per process, untimed): {server:.1f} s")
    for name, seconds, _, _ in measured:
        print(f"{args.model}: {name:<16} {seconds:6.1f} s wall -> separate / this = {apart_s / seconds:.2f}x")


if __name__ == "__main__":
    main()
