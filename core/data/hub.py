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
_TIMEOUT_S = 10


def _scrub(text: str, token: str | None) -> str:
    """Error details are shown to the user: never echo a token back."""
    if token:
        text = text.replace(token, "***")
    return " ".join(_HF_TOKEN.sub("hf_***", text).split())[:300]  # one line, whatever the library wrote


def _causes(error: BaseException) -> list[BaseException]:
    """The error and what it was raised from: datasets wraps huggingface_hub's typed errors."""
    chain: list[BaseException] = []
    while error is not None and error not in chain and len(chain) < 8:
        chain.append(error)
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
    return chain


def _hub_error(error: Exception, dataset_id: str, token: str | None) -> LensError:
    chain = _causes(error)
    kinds = [type(e).__name__ for e in chain]
    if any(isinstance(e, ConnectionError) or any(w in type(e).__name__ for w in ("Connect", "Offline", "Timeout"))
           for e in chain):  # fmt: skip
        return LensError("data.hub_offline", dataset_id=dataset_id)
    if any("Gated" in k for k in kinds) or "gated dataset" in str(error):
        return LensError("data.hub_gated", dataset_id=dataset_id)
    if any("NotFound" in k for k in kinds) or isinstance(error, FileNotFoundError):
        return LensError("data.hub_not_found", dataset_id=dataset_id)
    if isinstance(error, ValueError) and "split" in str(error).lower():
        return LensError("data.hub_no_split", dataset_id=dataset_id, detail=_scrub(str(error), token))
    return LensError("data.hub_failed", dataset_id=dataset_id, detail=_scrub(f"{type(error).__name__}: {error}", token))


def _resolve(dataset_id: str, token: str | None) -> tuple[str, str | None]:
    """(owner/name id, commit) from one quick metadata call: a missing repo or an unreachable Hub is told at
    once, where ``datasets`` would retry a refused connection for about 20 s. A canonical id such as ``nsmc``
    answers with its current owner/name, which ``datasets``' file system needs; the commit pins the stream."""
    from huggingface_hub import HfApi

    try:
        info = HfApi(token=token or None).dataset_info(dataset_id, timeout=_TIMEOUT_S)
        return (info.id if is_repo_id(info.id or "") else dataset_id), info.sha
    except Exception as error:  # noqa: BLE001 - any Hub failure becomes a user message
        raise _hub_error(error, dataset_id, token) from None


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
    repo_id, revision = _resolve(dataset_id, token)
    try:
        stream = datasets.load_dataset(repo_id, split=split, revision=revision, token=token or None, streaming=True)
        rows = [dict(r) for r in islice(stream, max_rows)]
        for key, feature in _label_names(getattr(stream, "features", None)).items():
            for row in rows:
                if isinstance(row.get(key), int) and row[key] >= 0:
                    row[key] = feature.int2str(row[key])
    except Exception as error:  # noqa: BLE001 - any Hub failure becomes a user message
        raise _hub_error(error, dataset_id, token) from None
    return frame_from_records(rows)
