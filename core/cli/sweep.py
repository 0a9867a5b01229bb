"""``python -m core sweep``: train several plans on one model and dataset; one JSON line per plan, then the Pareto set."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from core.anatomy.inventory import list_adaptable_layers
from core.cli import train as train_command
from core.data.bundled import BUNDLED
from core.errors import LensError
from core.models.meta import build_meta_model
from core.models.sources import ModelSpec, guess_spec, load_config
from core.planning.plan import DEFAULT_R
from core.planning.plans_io import import_plans
from core.planning.presets import PRESETS
from core.training.sweep import (
    LADDERS,
    MAX_SEEDS,
    QUALITY,
    SWEEP_STEPS,
    PlanResult,
    Sweep,
    SweepPlan,
    ladder,
    summarize,
    sweep_settings,
)


def register(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser("sweep", help="train several LoRA plans on the same data and compare quality and cost")
    p.add_argument("model", metavar="MODEL", help='"smollm2", "minilm", a local folder or a Hub id')
    p.add_argument("--task", choices=("causal-lm", "seq-cls"), default=None)
    p.add_argument("--data", required=True, help=f"bundled ({', '.join(BUNDLED)}) or a .csv/.json/.jsonl file")
    p.add_argument("--text-col", default=None, help="text/prompt column of a data file")
    p.add_argument("--target-col", default=None, help="response/label column of a data file")
    p.add_argument("--plans", type=Path, default=None, help="a plans file exported from the app (2-8 plans)")
    p.add_argument("--ladder", choices=LADDERS, default=None,
                   help="targets: q+v / attention / MLP / all-linear at --r; ranks: r=4,8,16,64 on --preset, lora_alpha fixed")  # fmt: skip
    p.add_argument("--r", type=int, default=DEFAULT_R, help=f"rank of the targets ladder (default {DEFAULT_R})")
    p.add_argument("--preset", choices=[x for x in PRESETS if x not in ("custom", "regex")], default="all-linear",
                   help="targets of the ranks ladder (default all-linear)")  # fmt: skip
    p.add_argument("--steps", type=int, default=None,
                   help=f"steps per plan (default: {SWEEP_STEPS['causal-lm']} SFT, {SWEEP_STEPS['seq-cls']} classification)")  # fmt: skip
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--batch", type=int, default=None)
    p.add_argument("--seq-len", type=int, default=None)
    p.add_argument("--seeds", type=int, default=1, help=f"seeds per plan, 1-{MAX_SEEDS} (seeds 1..K)")
    p.add_argument("--lanes", type=int, default=None,
                   help="plans trained at once, each in its own process (default: one a CPU core, at most 4; 1 on a GPU)")
    p.add_argument("--out", type=Path, default=None, help="folder for every plan's adapter (default: a temp folder)")
    p.add_argument("--json", action="store_true", help="print one JSON line per plan and a summary line")
    p.set_defaults(func=run)
    return p


def build_sweep(args: argparse.Namespace) -> tuple[Sweep, Any]:
    """The sweep the options describe, and its dataset."""
    spec = guess_spec(args.model)
    mc = load_config(spec)
    task = args.task or mc.task
    if task not in QUALITY:
        raise LensError("train.task_unsupported", task=task)
    if args.plans is not None:
        try:
            saved = import_plans(args.plans.read_bytes())
        except OSError as exc:
            raise LensError("sweep.bad_plans_file", name=args.plans.name, detail=str(exc)[:120]) from exc
        plans = tuple(SweepPlan(s.name, s.plan.with_changes(task=task)) for s in saved)
    elif args.ladder is not None:
        plans = ladder(list_adaptable_layers(build_meta_model(mc)), args.ladder, task, args.r, args.preset)
    else:
        raise LensError("sweep.no_plans")
    given = {"max_steps": args.steps, "batch_size": args.batch}
    settings = sweep_settings(
        task, **{k: v for k, v in given.items() if v is not None}, learning_rate=args.lr, max_seq_len=args.seq_len
    )
    if not 1 <= args.seeds <= MAX_SEEDS:
        raise LensError("sweep.seed_count", n=args.seeds, high=MAX_SEEDS)
    data = train_command._dataset(args, task)
    sweep = Sweep(ModelSpec(spec.source, spec.ref, task), data.name, plans, settings, tuple(range(1, args.seeds + 1)))
    return sweep, data


def plan_line(r: PlanResult, task: str) -> dict[str, Any]:
    """The JSON line of one (plan, seed)."""
    line: dict[str, Any] = {"name": r.name, "seed": r.seed, "status": r.status, "trainable_params": r.trainable_params,
                            "budget_params": r.budget_params}  # fmt: skip
    if task == "seq-cls":
        line |= {"accuracy": r.metrics.get("accuracy"), "macro_f1": r.metrics.get("f1_macro")}
    line |= {"eval_loss": r.metrics.get("eval_loss"), "seconds": r.seconds, "tokens_per_second": r.tokens_per_second,
             "peak_memory_bytes": r.peak_memory_bytes, "memory_kind": r.memory_kind, "adapter_dir": r.adapter_dir}  # fmt: skip
    if r.error_key:
        line["error"] = LensError(r.error_key, **r.error_params).message("en")
    return line


def run(args: argparse.Namespace) -> int:
    from core.training.lanes import MAX_LANES
    from core.training.sweep_run import run_sweep

    train_command._quiet_transformers()
    sweep, data = build_sweep(args)
    out = args.out or Path(tempfile.mkdtemp(prefix="lora-sweep-"))

    def report(result: PlanResult, _trained: object) -> None:
        line = plan_line(result, sweep.task)
        print(json.dumps(line) if args.json else "  ".join(f"{k}={v}" for k, v in line.items()), flush=True)

    lanes = None if args.lanes is None else max(1, min(args.lanes, MAX_LANES))
    started = time.monotonic()
    results = run_sweep(sweep, data, None, Path(out), on_result=report, lanes=lanes)
    wall = time.monotonic() - started
    rows = summarize(results, sweep.task)
    metric, maximize = QUALITY[sweep.task]
    summary = {"summary": True, "metric": metric, "maximize": maximize, "pareto": [r.name for r in rows if r.on_frontier],
               "plans": len(sweep.plans), "runs": len(results), "failed": sum(r.status == "failed" for r in results),
               "seconds": round(wall, 3), "plan_seconds": round(sum(r.seconds for r in results), 3),
               "side_by_side": max((r.side_by_side for r in results), default=1), "out": str(out)}  # fmt: skip
    print(json.dumps(summary) if args.json else f"pareto: {', '.join(summary['pareto'])}", flush=True)
    if summary["failed"]:
        print(f"error: {summary['failed']} of {len(results)} runs failed", file=sys.stderr)
    return 1 if summary["failed"] == len(results) else 0
