"""CLI options shared by the commands: the model argument, its inventory, and one LoRA plan from argparse."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from core.errors import LensError
from core.models.spec import TASKS
from core.planning.plan import (
    ALL_LINEAR,
    BIAS_MODES,
    DEFAULT_ALPHA,
    DEFAULT_DROPOUT,
    DEFAULT_R,
    INIT_METHODS,
    LoraPlan,
    validate_plan,
)

if TYPE_CHECKING:
    from core.anatomy.inventory import Inventory

REGEX_CHARS = frozenset(".*+?|()[]{}^$\\")


def add_budget_options(parser: argparse.ArgumentParser, target_default: str = "all-linear") -> None:
    """The plan options, for every command that takes a plan (``--task`` comes with the model options)."""
    parser.add_argument(
        "--target", nargs="+", default=None, metavar="NAME",
        help=f"short names (q_proj v_proj), one regex (.*\\.(q|v)_proj), or all-linear (default: {target_default})",
    )
    parser.add_argument("--r", type=int, default=DEFAULT_R, help=f"LoRA rank (default {DEFAULT_R})")
    parser.add_argument("--alpha", type=float, default=DEFAULT_ALPHA, help=f"lora_alpha (default {DEFAULT_ALPHA})")
    parser.add_argument("--dropout", type=float, default=DEFAULT_DROPOUT, help=f"lora_dropout (default {DEFAULT_DROPOUT})")
    parser.add_argument("--bias", choices=BIAS_MODES, default="none")
    parser.add_argument("--layers", default=None, metavar="I,J", help="only these blocks, e.g. 0,2 (default all)")
    parser.add_argument("--dora", action="store_true", help="use DoRA")
    parser.add_argument("--rslora", action="store_true", help="scale by alpha/sqrt(r)")
    parser.add_argument("--modules-to-save", nargs="+", default=(), metavar="NAME", help="modules trained in full")
    parser.add_argument("--rank-pattern", nargs="+", default=(), metavar="NAME=R",
                        help="PEFT's rank_pattern: r for modules whose name ends with NAME (a regex), first match wins")
    parser.add_argument("--alpha-pattern", nargs="+", default=(), metavar="NAME=A", help="PEFT's alpha_pattern")
    parser.add_argument("--exclude", nargs="+", default=(), metavar="NAME",
                        help="exclude_modules: modules named NAME or ending with .NAME get no LoRA")
    parser.add_argument("--target-parameters", nargs="+", default=(), metavar="NAME",
                        help="nn.Parameters to adapt (fused MoE experts: experts.gate_up_proj); alone, no module targets")
    parser.add_argument("--init", choices=INIT_METHODS, default="default", help="init_lora_weights (default: default)")


def parse_layers(text: str | None) -> tuple[int, ...]:
    """``"0,2"`` -> ``(0, 2)``; empty or None -> every block."""
    if text is None or not text.strip():
        return ()
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise LensError("memory.cli.bad_layers", value=text) from exc
    if not values:
        raise LensError("memory.cli.bad_layers", value=text)
    return tuple(sorted(set(values)))


def parse_targets(values: list[str] | None, known: frozenset[str] = frozenset()) -> tuple[tuple[str, ...], str | None]:
    """(short names, regex): one value with regex characters is a regex, unless it is one of the model's ``known``
    short names (``experts.gate_up_proj``); all-linear is PEFT's keyword.

    No value means all-linear: a budget or memory figure for "everything" is what the CLI documents,
    unlike the default plan (``core.planning.presets.default_plan``) that ``train`` starts from.
    """
    values = [v.strip() for v in (values or []) if v.strip()]
    if not values or values == [ALL_LINEAR]:
        return (), ALL_LINEAR
    if any(ch in REGEX_CHARS for v in values if v not in known for ch in v):
        if len(values) != 1:
            raise LensError("memory.cli.bad_target")
        return (), values[0]
    if ALL_LINEAR in values:
        raise LensError("memory.cli.bad_target")
    return tuple(dict.fromkeys(values)), None


def parse_pairs(values: list[str] | tuple[str, ...], option: str, number: type) -> tuple[tuple[str, object], ...]:
    """``["q_proj=16", "mlp.*=4"]`` -> ``(("q_proj", 16), ("mlp.*", 4))``, in the order given (PEFT takes the first
    key that matches); the last ``=`` splits, so a key may contain one. Ranges are the plan's to check."""
    pairs: dict[str, object] = {}
    for text in values:
        key, sep, value = text.rpartition("=")
        try:
            parsed = number(value.strip())
        except ValueError:
            parsed = None
        if not sep or not key.strip() or parsed is None:
            raise LensError("cli.bad_pair", option=option, value=text[:80])
        pairs[key.strip()] = int(parsed) if isinstance(parsed, float) and parsed.is_integer() else parsed
    return tuple(pairs.items())


def plan_from_args(args: argparse.Namespace, task: str, default: LoraPlan | None = None,
                   inventory: Inventory | None = None) -> LoraPlan:
    """The validated plan the options describe; without ``--target``, ``default``'s targets (else all-linear), or
    only the parameters when ``--target-parameters`` is given. With the model's ``inventory``, a parameter named as
    a target (``experts.gate_up_proj``) goes to target_parameters, where PEFT adapts it."""
    params = tuple(dict.fromkeys(getattr(args, "target_parameters", None) or ()))
    if getattr(args, "target", None) is None and params:
        targets, regex = (), None
    elif getattr(args, "target", None) is None and default is not None:
        targets, regex = default.targets, default.target_regex
    else:
        known = frozenset(inventory.short_names()) if inventory is not None else frozenset()
        targets, regex = parse_targets(getattr(args, "target", None), known)
    alpha = float(args.alpha)
    plan = LoraPlan(
        targets=targets,
        target_regex=regex,
        r=args.r,
        lora_alpha=int(alpha) if alpha.is_integer() else alpha,
        lora_dropout=float(args.dropout),
        bias=args.bias,
        use_rslora=bool(args.rslora),
        use_dora=bool(args.dora),
        layers=parse_layers(args.layers),
        modules_to_save=tuple(dict.fromkeys(args.modules_to_save or ())),
        task=task,
        rank_pattern=parse_pairs(getattr(args, "rank_pattern", ()) or (), "--rank-pattern", int),
        alpha_pattern=parse_pairs(getattr(args, "alpha_pattern", ()) or (), "--alpha-pattern", float),
        exclude_modules=tuple(dict.fromkeys(getattr(args, "exclude", None) or ())),
        target_parameters=params,
        init_lora_weights=getattr(args, "init", "default"),
    )
    if inventory is not None and targets:
        from core.planning.presets import plan_with_targets

        plan = plan_with_targets(inventory, plan, targets)
    validate_plan(plan)
    return plan


# --- the model argument ---------------------------------------------------------------


def add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL", help="catalog name, embedded name, local folder or Hub id")
    parser.add_argument("--task", choices=TASKS, default=None, help="default: read from the config")


def load_inventory(args: argparse.Namespace):
    from core.models.meta import meta_inventory
    from core.models.sources import guess_spec, load_config

    spec = guess_spec(args.model, args.task)
    mc = load_config(spec, token=os.environ.get("HF_TOKEN"))
    return mc, meta_inventory(mc)
