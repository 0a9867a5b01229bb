"""``python -m core analyze ADAPTER``: ΔW table and before/after label separation.

``register(subparsers)`` adds the sub-command; ``main(argv)`` runs it standalone.
A bad input prints one line on stderr and exits 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from pathlib import Path
from typing import Any

from core.errors import LensError
from core.i18n import LANGS, t

DEFAULT_SAMPLE = 200
DEFAULT_DATA = {"seq-cls": "rotten-tomatoes", "causal-lm": "chatterbot-en", "feature": "rotten-tomatoes"}
TABLE_COLUMNS = ["module", "kind", "r", "scaling", "delta_norm", "ratio", "sigma_1", "effective_rank", "rank_share"]


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``analyze`` to an ``argparse`` sub-parser set; the handler is ``args.func(args) -> int``."""
    parser = subparsers.add_parser("analyze", help="Anatomy of a LoRA adapter and its effect on embeddings.")
    parser.add_argument("adapter", metavar="ADAPTER_DIR", help="adapter folder (or .zip) written by save_pretrained")
    parser.add_argument("--data", default=None, help="bundled dataset name or a .csv/.json/.jsonl file")
    parser.add_argument("--text-col", default="text", help="text column of a --data file")
    parser.add_argument("--label-col", default="label", help="label column of a --data file")
    parser.add_argument("--sample", type=int, default=DEFAULT_SAMPLE, help="examples to embed (default 200)")
    parser.add_argument("--layer", type=int, default=-1, help="hidden-state index (default -1, the last)")
    parser.add_argument("--pooling", default="mean", choices=("mean", "cls"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lang", default="en", choices=LANGS)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)
    return parser


def _dataset(name: str | None, task: str, args: argparse.Namespace) -> Any:
    from core.data.bundled import BUNDLED, load_bundled
    from core.data.dataset import TASK_SEQ_CLS
    from core.data.upload import dataset_from_frame, parse_upload

    name = name or DEFAULT_DATA[task]
    if name in BUNDLED:
        return load_bundled(name, TASK_SEQ_CLS)
    path = Path(name).expanduser()
    if not path.is_file():
        raise LensError("analysis.cli.bad_data", name=name, available=", ".join(BUNDLED))
    frame = parse_upload(path.name, path.read_bytes())
    return dataset_from_frame(frame, TASK_SEQ_CLS, args.text_col, args.label_col, name=path.name)


def _clean(value: Any) -> Any:
    """JSON has no NaN: make it null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def analyze(args: argparse.Namespace) -> dict[str, Any]:
    """Everything the command reports, as plain data."""
    from dataclasses import asdict

    from core.adapters.load import load_adapter, read_adapter
    from core.analysis.pipeline import EmbeddingOptions, delta_rows, embedding_report

    options = EmbeddingOptions(n=args.sample, seed=args.seed, layer=args.layer, pooling=args.pooling)
    with read_adapter(args.adapter) as bundle:
        loaded = load_adapter(bundle, allow_local_base=True)
        rows = delta_rows(loaded.model)
        report = embedding_report(loaded.model, loaded.tokenizer, _dataset(args.data, bundle.task, args), options)
        result: dict[str, Any] = {
            "adapter": str(args.adapter),
            "base": loaded.base_name,
            "task": bundle.task,
            "modules": [asdict(row) for row in rows],
            "data": report.sample.name,
            "sample": len(report.sample),
            "layer": args.layer,
            "pooling": args.pooling,
            "scores": None if report.scores is None else {side: asdict(s) for side, s in report.scores.items()},
        }
        if report.scores_error is not None:
            result["scores_error"] = report.scores_error.message(args.lang)
    return _clean(result)


def _print_text(result: dict[str, Any], lang: str) -> None:
    import pandas as pd

    frame = pd.DataFrame(result["modules"])
    frame["sigma_1"] = [sv[0] if sv else 0.0 for sv in frame["singular_values"]]
    columns = TABLE_COLUMNS + (["magnitude_shift"] if frame["dora"].any() else [])
    print(t("analysis.cli.modules", lang))
    print(frame[columns].to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    print()
    print(t("analysis.cli.scores", lang, n=result["sample"], data=result["data"], layer=result["layer"], pooling=result["pooling"]))
    scores = result["scores"]
    if scores is None:
        print(t("analysis.cli.no_scores", lang, reason=result.get("scores_error", "?")))
        return
    before, after = scores["before"], scores["after"]
    names = ["silhouette", f"knn_accuracy (k={after['k']})"]
    keys = ["silhouette", "knn_accuracy"]
    table = pd.DataFrame(
        {
            "before": [f"{before[k]:.3f}" for k in keys],
            "after": [f"{after[k]:.3f}" for k in keys],
            "change": [f"{after[k] - before[k]:+.3f}" for k in keys],
        },
        index=names,
    )
    print(table.to_string())


def run(args: argparse.Namespace) -> int:
    """The ``analyze`` handler: 0 on success, 2 on a bad input, 1 on an unexpected failure."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = analyze(args)
    except LensError as exc:
        print(f"error: {exc.message(args.lang)}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - the CLI promises one line, not a traceback
        print(f"error: {t('err.unexpected', args.lang, detail=str(exc)[:300])}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        _print_text(result, args.lang)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
