"""``python -m core layers MODEL``: every module LoRA can adapt, as a table or JSON."""

from __future__ import annotations

import argparse
import json
from typing import Any

from core.cli.options import add_model_options, load_inventory


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("layers", help="list every module LoRA can adapt")
    add_model_options(parser)
    parser.add_argument("--json", action="store_true")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
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


