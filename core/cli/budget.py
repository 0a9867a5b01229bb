"""``python -m core budget MODEL``: the exact trainable parameters of a LoRA plan."""

from __future__ import annotations

import argparse
import json
from typing import Any

from core.anatomy.groups import key_label
from core.cli.options import add_budget_options, add_model_options, load_inventory, plan_from_args
from core.errors import LensError
from core.format import ratio, spread
from core.i18n import t


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("budget", help="exact trainable parameters of a LoRA plan")
    add_model_options(parser)
    add_budget_options(parser)
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from core.planning.budget import compute_budget
    from core.planning.serving import check_vllm, declared_architecture, served_model_id

    mc, inv = load_inventory(args)
    plan = plan_from_args(args, mc.task, inventory=inv)
    budget = compute_budget(inv, plan)
    serving = check_vllm(plan, budget, inv, declared=declared_architecture(mc.config))
    if args.json:
        payload = budget_payload(mc, budget)
        payload["serving"] = {"vllm": serving.to_json(served_model_id(mc.spec))}
        print(json.dumps(payload))
        return 0
    print(f"{mc.display_name} ({mc.task})")
    print(f"trainable params: {budget.trainable_params:,} || all params: {budget.total_params:,} "
          f"|| trainable%: {100 * budget.share:.4f}")
    print(f"scaling: {budget.scaling:.4g}   adapted modules: {len(budget.modules):,}")
    print(f"  {'group':<28} {'modules':>8} {'r':>10} {'scaling':>12} {'params':>16}")
    for g in budget.groups():
        print(f"  {key_label(g.key):<28} {g.modules:>8,} {spread(g.ranks, str):>10} {spread(g.scalings, ratio):>12} "
              f"{g.params:>16,}")
    for key, params in budget.warnings:
        print(f"warning: {LensError(key, **params).message('en')}")
    print(serving_line(serving, served_model_id(mc.spec)))
    return 0


def serving_line(serving, model: str) -> str:  # serving: core.planning.serving.ServingCheck
    """One line: the command to copy, or the first thing to change."""
    if serving.ok:
        return t("serving.cli_ok", version=serving.version, command=serving.command(model))
    first = serving.problems[0]
    more = f" (+{len(serving.problems) - 1})" if len(serving.problems) > 1 else ""
    return t("serving.cli_bad", version=serving.version, message=t(first.key, **first.params),
             fix=t(first.key + "_fix", **first.params)) + more  # fmt: skip


def budget_payload(mc: Any, budget: Any) -> dict:
    """``budget --json``: the counts, each module's and group's r and scaling, and the warnings in English."""
    from core.planning.matching import PARAM_KINDS

    return {
        "model": mc.display_name,
        "task": mc.task,
        "trainable_params": budget.trainable_params,
        "total_params": budget.total_params,
        "lora_params": budget.lora_params,
        "frozen_params": budget.frozen_params,
        "saved_params": budget.saved_params,
        "bias_params": budget.bias_params,
        "scaling": budget.scaling,
        "modules": [{"name": m.name, "lora_params": m.lora_params, "r": m.r, "scaling": m.scaling,
                     "parameter": m.kind in PARAM_KINDS} for m in budget.modules],
        "groups": [{"name": g.short_name, "key": g.key, "modules": g.modules, "params": g.params, "r": list(g.ranks),
                    "scaling": list(g.scalings)} for g in budget.groups()],
        "modules_to_save": list(budget.saved_modules),
        "warnings": [LensError(k, **p).message("en") for k, p in budget.warnings],
    }
