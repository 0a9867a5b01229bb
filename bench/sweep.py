"""A 4-plan sweep (one base load, one tokenization) vs 4 separate ``run_training`` calls of the same plans.

Same model, data, plans, settings and seed, in one process; the separate runs are what a visitor clicking Start four
times on the Train page costs (each loads the base, tokenizes the data, probes packing and evaluates its untrained
start again; a sweep does each once). One untimed 1-step run with its evaluations first pays the process's one-time
costs (lazy imports, first kernels, file cache) for neither side; then each separate run follows the sweep's run of
the same plan, so both sides meet the same machine load. Prints wall and CPU seconds of each, the ratios, and checks
the two give every plan the same trainable count.

Both sides train with the sweep's own setting (``sweep_settings``: evaluated before the first step and after the
last), so they train and evaluate alike; a sweep measures the step-0 evaluation once.

    PYTHONPATH=. python bench/sweep.py                   # MiniLM / Rotten Tomatoes, the r ladder
    PYTHONPATH=. python bench/sweep.py --model smollm2   # SmolLM2 / chatterbot-ko, the targets ladder
    PYTHONPATH=. python bench/sweep.py --model smollm2 --steps 2 --threads 1   # on a machine others share

``--threads 1`` (both sides): on a shared 2-core machine two OpenMP threads spend most of their time waiting for each
other (the packing probe's two tiny forwards took 16 s of wall time), which drowns the difference being measured.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch

from core.anatomy.inventory import list_adaptable_layers
from core.data.bundled import load_bundled
from core.models.meta import build_meta_model
from core.models.sources import load_config
from core.models.spec import ModelSpec
from core.training.engine import run_training
from core.training.run_state import RunState
from core.training.sweep import Sweep, ladder, sweep_settings
from core.training.sweep_run import run_sweep, split

CASES = {
    "minilm": ("seq-cls", "rotten-tomatoes", "ranks", "qv"),
    "smollm2": ("causal-lm", "chatterbot-ko", "targets", "all-linear"),
}


class Clock:
    """Wall and process CPU seconds (CPU time is what other processes on a shared machine disturb least)."""

    def __init__(self) -> None:
        self.wall = self.cpu = 0.0

    def time(self, work, *args):
        wall, cpu = time.monotonic(), time.process_time()
        try:
            return work(*args)
        finally:
            self.wall += time.monotonic() - wall
            self.cpu += time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=CASES, default="minilm")
    parser.add_argument("--steps", type=int, default=None, help="default: the sweep's (SWEEP_STEPS)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads of both sides (default: every core)")
    args = parser.parse_args()
    if args.threads:
        os.environ["LORA_LENS_CPU_THREADS"] = str(args.threads)  # the engine's own count, set in each run
        torch.set_num_threads(args.threads)
    task, data_name, kind, preset = CASES[args.model]
    spec = ModelSpec("embedded", args.model, task)
    plans = ladder(list_adaptable_layers(build_meta_model(load_config(spec))), kind, task, 8, preset)[:4]
    changes = {"max_steps": args.steps} if args.steps else {}
    sweep = Sweep(spec, data_name, plans, sweep_settings(task, **changes), (1,))
    data = load_bundled(data_name, task)
    train, val = split(sweep, data, None)
    swept, apart, counts = Clock(), Clock(), []
    with tempfile.TemporaryDirectory() as work:
        warm = sweep.settings.with_changes(max_steps=1, eval_every=1)  # one step and evaluation, untimed
        run_training(spec, plans[0].plan, train, val, warm, Path(work) / "warm", RunState())

        def alone(result, _trained) -> None:
            """Right after each plan of the sweep, the same plan as the Train page runs it (same machine load)."""
            item = next(p for p in plans if p.name == result.name)
            state = RunState()
            settings = sweep.settings_for(item, result.seed)
            one = apart.time(run_training, spec, item.plan, train, val, settings, Path(work) / item.name, state)
            assert one is not None, state.snapshot().error_key
            counts.append(int(one.model.get_nb_trainable_parameters()[0]))

        results = swept.time(run_sweep, sweep, data, None, Path(work) / "sweep", alone)
    swept.wall, swept.cpu = swept.wall - apart.wall, swept.cpu - apart.cpu  # the sweep's own time
    assert [r.trainable_params for r in results] == counts, "the sweep and the separate runs disagree on a count"
    for r in results:
        quality = {k: round(v, 4) for k, v in r.metrics.items()}
        print(f"  {r.name:<22} {r.trainable_params:>10,} params  {r.seconds:7.1f} s  {quality}")
    print(f"{args.model}: {len(plans)}-plan sweep {swept.wall:.1f} s wall / {swept.cpu:.1f} s CPU vs {len(plans)} separate"
          f" runs {apart.wall:.1f} s / {apart.cpu:.1f} s -> ratio {apart.wall / swept.wall:.2f}x wall,"
          f" {apart.cpu / swept.cpu:.2f}x CPU")  # fmt: skip


if __name__ == "__main__":
    main()
