"""``python -m core memory MODEL``: the training-memory breakdown of a LoRA plan."""

from __future__ import annotations

import argparse
import json
from typing import Any

from core.cli.options import add_budget_options, add_model_options, load_inventory, plan_from_args
from core.planning.memory import COMPONENTS, GPUS, OPTIMIZERS, PRECISIONS, MemorySettings, estimate_training_memory


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("memory", help="estimated GPU memory to train a LoRA plan")
    add_model_options(parser)
    add_budget_options(parser)
    parser.add_argument("--precision", choices=PRECISIONS, default="bf16", help="base weights dtype (default bf16)")
    parser.add_argument("--batch", type=int, default=1, help="batch size (default 1)")
    parser.add_argument("--seq-len", type=int, default=None,
                        help="tokens per example (default: the model's text positions up to 512, or its image patches)")
    parser.add_argument("--grad-checkpointing", action="store_true", help="recompute activations in backward")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default="adamw")
    parser.add_argument("--json", action="store_true", help="one JSON object, sizes in bytes")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from core.errors import LensError
    from core.i18n import human_bytes, t
    from core.planning.budget import compute_budget
    from core.planning.sequence import adapted_tower, default_sequence

    mc, inv = load_inventory(args)
    plan = plan_from_args(args, mc.task, inventory=inv)
    budget = compute_budget(inv, plan)
    tower = adapted_tower(inv, [m.name for m in budget.modules])
    seq_len = default_sequence(inv, mc.config, tower).seq_len if args.seq_len is None else args.seq_len
    settings = MemorySettings(args.precision, args.batch, seq_len, args.grad_checkpointing, args.optimizer)
    est = estimate_training_memory(inv, budget, settings, config=mc.config, plan=plan)
    notes = [LensError(k, **p).message("en") for k, p in est.notes]
    if args.json:
        payload = {"model": mc.display_name, "task": mc.task, "settings": vars(settings),
                   "trainable_params": budget.trainable_params, **est.to_json(), "notes": notes}
        print(json.dumps(payload))
        return 0
    ckpt = f"on ({est.assumptions.checkpointing_flavour})" if settings.gradient_checkpointing else "off"
    print(f"{mc.display_name} ({mc.task}): {settings.precision}, batch {settings.batch_size} × seq "
          f"{settings.seq_len}, checkpointing {ckpt}, "
          f"{settings.optimizer}; trainable params {budget.trainable_params:,}")
    for name in COMPONENTS:
        print(f"  {t(f'memory.comp.{name}'):<28} {human_bytes(est[name]):>12}")
    print(f"  {'Total':<28} {human_bytes(est.total):>12}")
    for gpu, size in GPUS.items():
        print(f"  {gpu:<14} {human_bytes(size):>12}  {'fits' if est.fits(gpu) else 'does not fit'}")
    a = est.assumptions
    if a is not None:
        print(f"  assumes: {a.attention.implementation} attention ({a.attention.kernel} kernel, saves "
              f"{'s×s scores' if a.attention.saves == 'scores' else 'out + lse'}), activations in {a.saved_dtype}, "
              f"{a.method} activations")
    for note in notes:
        print(f"note: {note}")
    return 0
