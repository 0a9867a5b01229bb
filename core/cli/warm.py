"""``python -m core warm``: build the embedded models' cached weights now (the Dockerfile runs it at build time)."""

from __future__ import annotations

import argparse
import time
from typing import Any

from core.models.embedded import EMBEDDED


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("warm", help="convert and cache the embedded models' weights (done once)")
    parser.add_argument("models", nargs="*", metavar="MODEL",
                        help=f"embedded models to prepare (default: all of {', '.join(EMBEDDED)})")  # fmt: skip
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from core.i18n import t
    from core.models.embedded import config_folder, weights_folder

    for name in args.models or list(EMBEDDED):
        start = time.monotonic()
        # The very functions training and the pages call: the cache they fill is the one they read.
        folder = weights_folder(name)
        config_folder(name)
        print(t("warm.done", name=name, seconds=time.monotonic() - start, folder=folder))
    return 0
