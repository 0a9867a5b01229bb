"""The app's datasets -> the recipe's rows and token ids, refusing rows that cannot train."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.data.dataset import TextDataset
from core.errors import LensError
from core.training.recipe import IGNORE, Row, encode_rows, encode_sft, prompt_text

__all__ = ["IGNORE", "encode", "encode_sft", "jsonl_rows", "label_names", "prompt_text"]


def jsonl_rows(ds: TextDataset, task: str) -> list[Row]:
    """The recipe's row shape, also what the exported JSONL files hold."""
    if task == "seq-cls":
        return [{"text": ex.text, "label": ex.label} for ex in ds.examples]
    return [{"text": ex.text, "response": ex.response} for ex in ds.examples]


def label_names(*datasets: TextDataset) -> tuple[str, ...]:
    """The class list for a classifier head: every label seen in any part, sorted."""
    labels = sorted({str(ex.label) for ds in datasets for ex in ds.examples if ex.label is not None})
    if len(labels) < 2:
        raise LensError("train.need_two_labels", count=len(labels))
    return tuple(labels)


def encode(tok: Any, ds: TextDataset, task: str, max_len: int, labels: Sequence[str] = ()) -> list[Row]:
    """Tokenize a whole dataset for ``task`` with the recipe; rows that cannot train are refused clearly."""
    if task == "causal-lm" and any(not ex.response for ex in ds.examples):
        raise LensError("train.missing_response", name=ds.name)
    if task != "causal-lm" and any(ex.label is None for ex in ds.examples):
        raise LensError("train.missing_label", name=ds.name)
    return encode_rows(tok, jsonl_rows(ds, task), task, max_len, tuple(labels))
