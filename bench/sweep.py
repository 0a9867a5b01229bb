"""A 4-plan sweep (one base load, one tokenization) vs 4 separate ``run_training`` calls of the same plans.

Same model, data, plans, settings and seed, in one process; the separate runs are what a visitor clicking
Start four times on the Train page costs (each loads the base and tokenizes the data again). The sweep runs first
and the separate runs after, so any warm-up (file cache, first imports) favours the baseline. Prints the wall time
of each, the ratio, and checks the two give every plan the same trainable count.

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
from core.training.engine import run_training
from core.training.run_state import RunState
from core.training.settings import TrainSettings
from core.training.sweep import Sweep, ladder
from core.training.sweep_run import run_sweep, split

CASES = {
    "minilm": ("seq-cls", "rotten-tomatoes", "ranks", "qv"),
    "smollm2": ("causal-lm", "chatterbot-ko", "targets", "all-linear"),
}


def separate(sweep: Sweep, data, root: Path) -> tuple[float, list[int]]:
    """Each plan as the Train page runs it: ``run_training`` loads and tokenizes on its own."""
    train, val = split(sweep, data, None)
    counts, started = [], time.monotonic()
    for i, (item, seed) in enumerate(sweep.runs()):
        state = RunState()
        result = run_training(sweep.model, item.plan, train, val, sweep.settings_for(item, seed), root / str(i), state)
        assert result is not None, state.snapshot().error_key
        counts.append(int(result.model.get_nb_trainable_parameters()[0]))
    return time.monotonic() - started, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=CASES, default="minilm")
    parser.add_argument("--steps", type=int, default=None, help="default: the task's demo size")
    args = parser.parse_args()
    task, data_name, kind, preset = CASES[args.model]
    spec = ModelSpec("embedded", args.model, task)
    plans = ladder(list_adaptable_layers(build_meta_model(load_config(spec))), kind, task, 8, preset)[:4]
    changes = {"max_steps": args.steps} if args.steps else {}
    sweep = Sweep(spec, data_name, plans, TrainSettings.for_task(task, **changes), (1,))
    data = load_bundled(data_name, task)
    with tempfile.TemporaryDirectory() as work:
        started = time.monotonic()
        results = run_sweep(sweep, data, None, Path(work) / "sweep")
        swept = time.monotonic() - started
        apart, counts = separate(sweep, data, Path(work) / "apart")
    assert [r.trainable_params for r in results] == counts, "the sweep and the separate runs disagree on a count"
    for r in results:
        quality = {k: round(v, 4) for k, v in r.metrics.items()}
        print(f"  {r.name:<22} {r.trainable_params:>10,} params  {r.seconds:7.1f} s  {quality}")
    print(f"{args.model}: {len(plans)}-plan sweep {swept:.1f} s vs {len(plans)} separate runs {apart:.1f} s"
          f" -> ratio {apart / swept:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
