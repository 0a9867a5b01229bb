"""``python -m core train``: train a LoRA adapter from the command line.

Bad input prints one line on stderr and exits with code 2; a run that fails
(out of memory, divergence) exits with code 1; success exits with 0.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, NoReturn

from core.anatomy.inventory import list_adaptable_layers
from core.cli.options import add_budget_options, plan_from_args
from core.data.bundled import BUNDLED, load_bundled
from core.data.dataset import TextDataset
from core.errors import LensError
from core.limits import check_output_dir
from core.models.meta import build_meta_model
from core.models.sources import ModelSpec, guess_spec, load_config
from core.planning.plan import LoraPlan
from core.planning.presets import default_plan
from core.training.engine import fit, prepare, save_adapter
from core.training.preflight import check_fits
from core.training.run_state import RunState
from core.training.settings import TrainSettings

_TEXT_COLUMNS = ("text", "prompt", "instruction", "question", "input", "sentence")
_TARGET_COLUMNS = {
    "causal-lm": ("response", "output", "completion", "answer", "target"),
    "seq-cls": ("label", "category", "class", "sentiment", "target"),
}


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``train`` sub-command to an ``add_subparsers()`` object."""
    p = subparsers.add_parser("train", help="train a LoRA adapter and save it")
    p.add_argument("model", metavar="MODEL", help='"smollm2", "minilm", a local folder or a Hub id')
    p.add_argument("--task", choices=("causal-lm", "seq-cls"), default=None)
    p.add_argument("--data", required=True, help=f"bundled ({', '.join(BUNDLED)}) or a .csv/.json/.jsonl file")
    p.add_argument("--text-col", default=None, help="text/prompt column of a data file")
    p.add_argument("--target-col", default=None, help="response/label column of a data file")
    add_budget_options(p, target_default="the model's default plan")
    p.add_argument("--steps", type=int, default=None, help="default: the task's demo size (24 SFT, 60 classification)")
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--batch", type=int, default=None, help="default: 4 SFT, 16 classification")
    p.add_argument("--seq-len", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None, help="adapter folder to write (default: a temp folder)")
    p.add_argument("--json", action="store_true", help="end with one JSON line of results")
    p.error = _one_line_error.__get__(p)  # type: ignore[method-assign]
    p.set_defaults(func=run)
    return p


def _one_line_error(self: argparse.ArgumentParser, message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def run(args: argparse.Namespace) -> int:
    """Entry point for the sub-command; returns the exit code."""
    _quiet_transformers()
    try:
        spec, plan, data, settings = _inputs(args)
        check_fits(spec, plan, settings)  # before any weights are downloaded
        session = prepare(spec, plan, data, None, settings)
    except LensError as exc:
        print(f"error: {exc.message('en')}", file=sys.stderr)
        return 2
    return _train(session, args)


def _quiet_transformers() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def _inputs(args: argparse.Namespace) -> tuple[ModelSpec, LoraPlan, TextDataset, TrainSettings]:
    spec = guess_spec(args.model)
    mc = load_config(spec)
    task = args.task or mc.task
    if task not in _TARGET_COLUMNS:
        raise LensError("train.task_unsupported", task=task)
    if args.out is not None:  # a file in the way fails now, not after the training it would have saved
        check_output_dir(args.out)
    inventory = list_adaptable_layers(build_meta_model(mc))
    plan = plan_from_args(args, task, default_plan(inventory, task) if args.target is None else None, inventory)
    given = {"max_steps": args.steps, "batch_size": args.batch}
    settings = TrainSettings.for_task(
        task, **{k: v for k, v in given.items() if v is not None},
        learning_rate=args.lr, max_seq_len=args.seq_len, seed=args.seed,
    )  # fmt: skip
    return ModelSpec(spec.source, spec.ref, task), plan, _dataset(args, task), settings


def _dataset(args: argparse.Namespace, task: str) -> TextDataset:
    if args.data in BUNDLED:
        return load_bundled(args.data, task)
    path = Path(args.data).expanduser()
    if not path.is_file():
        raise LensError("train.no_data_file", name=args.data, bundled=", ".join(BUNDLED))
    from core.data.upload import dataset_from_frame, parse_upload

    frame = parse_upload(path.name, path.read_bytes())
    columns = [str(c) for c in frame.columns]
    text = args.text_col or _pick(columns, _TEXT_COLUMNS)
    target = args.target_col or _pick(columns, _TARGET_COLUMNS[task])
    return dataset_from_frame(frame, task, text, target, name=path.name)


def _pick(columns: list[str], wanted: tuple[str, ...]) -> str:
    lower = {c.lower(): c for c in columns}
    for name in wanted:
        if name in lower:
            return lower[name]
    raise LensError("train.no_column", wanted=" / ".join(wanted), available=", ".join(columns))


def _train(session: Any, args: argparse.Namespace) -> int:
    state = RunState()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="lora-lens-train-") as work:
        printer = threading.Thread(target=_print_progress, args=(state,), daemon=True)
        printer.start()
        try:
            result = fit(session, Path(work), state)
        except Exception as exc:  # one line, never a traceback
            state.fail("err.unexpected", detail=f"{type(exc).__name__}: {str(exc)[:300]}")
            result = None
        printer.join(timeout=2)
        snap = state.snapshot()
        if result is None:
            print(
                f"error: {LensError(snap.error_key or 'err.unexpected', **snap.error_params).message('en')}",
                file=sys.stderr,
            )
            return 1
        out = args.out or Path(tempfile.mkdtemp(prefix="lora-adapter-"))
        save_adapter(result, Path(out))
    print(f"adapter saved to {out}", flush=True)
    if args.json:
        print(json.dumps(_summary(snap, time.monotonic() - started)))
    return 0


def _print_progress(state: RunState) -> None:
    seen = 0
    while True:
        done = state.wait(0.5)
        snap = state.snapshot()
        for row in snap.losses[seen:]:
            tps = f"{snap.tokens_per_s:,.0f}" if snap.tokens_per_s else "?"
            print(
                f"step {row['step']}/{snap.total_steps} loss {row['loss']:.4f} lr {row['lr']:.2e} tok/s {tps}",
                flush=True,
            )
        seen = len(snap.losses)
        if done:
            return


def _summary(snap: Any, seconds: float) -> dict:
    losses = [row["loss"] for row in snap.losses]
    return {
        "status": snap.status,
        "steps": snap.step,
        "train_loss_first": losses[0] if losses else None,
        "train_loss_last": losses[-1] if losses else None,
        **snap.metrics,
        "seconds": round(seconds, 3),
        "tokens_per_second": snap.tokens_per_s,
    }
