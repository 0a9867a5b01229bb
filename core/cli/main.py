"""Command-line interface: layers, budget, memory, train, analyze.

Bad input exits 2 with one line on stderr; never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Sequence

from core.errors import LensError

OPTIONAL_COMMANDS = ("core.cli.memory", "core.cli.train", "core.cli.analyze")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        sys.stderr.write(f"error: {message}\n")
        raise SystemExit(2)


def add_model_options(parser: argparse.ArgumentParser) -> None:
    from core.models.spec import TASKS

    parser.add_argument("model", metavar="MODEL", help="catalog name, embedded name, local folder or Hub id")
    parser.add_argument("--task", choices=TASKS, default=None, help="default: read from the config")


def build_parser() -> argparse.ArgumentParser:
    from core.cli.options import add_budget_options

    parser = _Parser(prog="python -m core", description="LoRA Lens: LoRA target modules, budgets and training.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    layers = sub.add_parser("layers", help="list every module LoRA can adapt")
    add_model_options(layers)
    layers.add_argument("--json", action="store_true")
    layers.set_defaults(func=run_layers)
    budget = sub.add_parser("budget", help="exact trainable parameters of a LoRA plan")
    add_model_options(budget)
    add_budget_options(budget)
    budget.add_argument("--json", action="store_true")
    budget.set_defaults(func=run_budget)
    for name in OPTIONAL_COMMANDS:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        module.register(sub)
    return parser


def load_inventory(args: argparse.Namespace):
    from core.anatomy.inventory import list_adaptable_layers
    from core.models.meta import build_meta_model
    from core.models.sources import guess_spec, load_config

    spec = guess_spec(args.model, args.task)
    mc = load_config(spec, token=os.environ.get("HF_TOKEN"))
    inv = list_adaptable_layers(build_meta_model(mc))
    if not inv.layers:
        raise LensError("model.no_adaptable")
    return mc, inv


def run_layers(args: argparse.Namespace) -> int:
    from core.charts.tables import layers_frame

    mc, inv = load_inventory(args)
    frame = layers_frame(inv)
    if args.json:
        payload = {
            "model": mc.display_name,
            "task": mc.task,
            "total_params": inv.total_params,
            "num_blocks": inv.num_blocks,
            "layers": json.loads(frame.to_json(orient="records")),
        }
        print(json.dumps(payload))
        return 0
    print(f"{mc.display_name} ({mc.task}): {inv.total_params:,} parameters, {inv.num_blocks} blocks")
    print(frame.to_string(index=False, max_rows=10_000))
    return 0


def run_budget(args: argparse.Namespace) -> int:
    from core.cli.options import plan_from_args
    from core.planning.budget import compute_budget

    mc, inv = load_inventory(args)
    plan = plan_from_args(args, mc.task)
    budget = compute_budget(inv, plan)
    if args.json:
        payload = {
            "model": mc.display_name,
            "task": mc.task,
            "trainable_params": budget.trainable_params,
            "total_params": budget.total_params,
            "lora_params": budget.lora_params,
            "saved_params": budget.saved_params,
            "bias_params": budget.bias_params,
            "scaling": budget.scaling,
            "modules": [{"name": m.name, "lora_params": m.lora_params} for m in budget.modules],
            "modules_to_save": list(budget.saved_modules),
            "warnings": [LensError(k, **p).message("en") for k, p in budget.warnings],
        }
        print(json.dumps(payload))
        return 0
    print(f"{mc.display_name} ({mc.task})")
    print(f"trainable params: {budget.trainable_params:,} || all params: {budget.total_params:,} "
          f"|| trainable%: {100 * budget.share:.4f}")
    print(f"scaling: {budget.scaling:.4g}   adapted modules: {len(budget.modules):,}")
    for group, n in budget.by_group().items():
        print(f"  {group:<28} {n:>16,}")
    for key, params in budget.warnings:
        print(f"warning: {LensError(key, **params).message('en')}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    import warnings

    warnings.filterwarnings("ignore")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except LensError as exc:
        sys.stderr.write(f"error: {exc.message('en')}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        return 130
    except Exception as exc:  # noqa: BLE001 - never a traceback for the user
        sys.stderr.write(f"error: {type(exc).__name__}: {str(exc)[:300]}\n")
        return 1
