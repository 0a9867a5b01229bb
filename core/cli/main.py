"""The CLI's entry point and its one error policy: bad input exits 2 with one line on stderr, never a traceback."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from core.cli import analyze, budget, layers, memory, sweep, train, warm
from core.errors import LensError
from core.limits import as_lens_error

# Every command, imported explicitly: a broken command fails loudly here instead of disappearing.
COMMANDS = (layers, budget, memory, train, analyze, sweep, warm)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        sys.stderr.write(f"error: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="lora-lens", description="LoRA Lens: LoRA target modules, budgets and training.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for command in COMMANDS:
        command.register(sub)
    return parser


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
    except Exception as exc:  # noqa: BLE001 - never a traceback for the user: OS errors and the rest, one sentence
        sys.stderr.write(f"error: {as_lens_error(exc).message('en')}\n")
        return 1
