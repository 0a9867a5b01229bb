"""Hugging Face Hub datasets, streamed: only the first rows are ever fetched."""

from __future__ import annotations

import re
from itertools import islice
from typing import Any

import pandas as pd

from core.data.upload import MAX_ROWS, frame_from_records
from core.errors import LensError
from core.models.hub import hub_offline, is_repo_id

_HUB_SPLIT = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_HF_TOKEN = re.compile(r"hf_[A-Za-z0-9]{8,}")

def _scrub(text: str, token: str | None) -> str:
    """Error details are shown to the user: never echo a token back."""
    if token:
        text = text.replace(token, "***")
    return _HF_TOKEN.sub("hf_***", text)[:300]


def _hub_error(error: Exception, dataset_id: str, token: str | None) -> LensError:
    kind = type(error).__name__
    if "NotFound" in kind or "Gated" in kind or isinstance(error, FileNotFoundError):
        return LensError("data.hub_not_found", dataset_id=dataset_id)
    if isinstance(error, ConnectionError) or any(w in kind for w in ("Connection", "Offline", "Timeout")):
        return LensError("data.hub_offline", dataset_id=dataset_id)
    return LensError("data.hub_failed", dataset_id=dataset_id, detail=_scrub(f"{kind}: {error}", token))


def _label_names(features: Any) -> dict[str, Any]:
    """ClassLabel columns stream as ints; map them back to their names."""
    return {k: f for k, f in dict(features or {}).items() if hasattr(f, "int2str")}


def load_hub_dataset(
    dataset_id: str, split: str = "train", token: str | None = None, max_rows: int = MAX_ROWS
) -> pd.DataFrame:
    """The first ``max_rows`` rows of a Hub dataset as an all-string frame (streamed,
    so a huge dataset is never downloaded whole). Needs ``datasets`` and network."""
    dataset_id = (dataset_id or "").strip()
    if not is_repo_id(dataset_id):
        raise LensError("data.hub_bad_id", dataset_id=dataset_id)
    if not _HUB_SPLIT.fullmatch(split or ""):
        raise LensError("data.hub_bad_split", split=split)
    try:
        import datasets
    except ImportError:
        raise LensError("data.hub_needs_datasets") from None
    if hub_offline():
        raise LensError("data.hub_offline", dataset_id=dataset_id)
    try:
        stream = datasets.load_dataset(dataset_id, split=split, token=token or None, streaming=True)
        rows = [dict(r) for r in islice(stream, max_rows)]
        for key, feature in _label_names(getattr(stream, "features", None)).items():
            for row in rows:
                if isinstance(row.get(key), int) and row[key] >= 0:
                    row[key] = feature.int2str(row[key])
    except Exception as error:  # noqa: BLE001 - any Hub failure becomes a user message
        raise _hub_error(error, dataset_id, token) from None
    return frame_from_records(rows)
