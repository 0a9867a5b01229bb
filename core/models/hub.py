"""The one Hub helper: repository-id checks and the offline switch, shared by models, data and export; and the one config.json download."""

from __future__ import annotations

import os
from pathlib import Path

from core.errors import LensError

_TRUE = {"1", "true", "yes", "on"}


def is_repo_id(text: str, *, namespaced: bool = False) -> bool:
    """Whether ``text`` is a Hub repository id (huggingface_hub's own rule; ``namespaced`` asks for owner/name)."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    if not isinstance(text, str) or not text or text != text.strip():
        return False
    if namespaced and text.count("/") != 1:
        return False
    try:
        validate_repo_id(text)
    except HFValidationError:
        return False
    return True


def hub_offline() -> bool:
    """Read at call time: huggingface_hub's own constant is frozen when it is first imported."""
    names = ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE")
    return any(os.environ.get(name, "").strip().lower() in _TRUE for name in names)


def fetch_hub_config(repo_id: str, token: str | None) -> Path:
    """Download only ``config.json``; map every Hub failure to a sentence."""
    if not is_repo_id(repo_id):
        raise LensError("model.bad_hub_id", repo_id=repo_id)
    from huggingface_hub import errors as hub_errors
    from huggingface_hub import hf_hub_download

    offline = tuple(
        getattr(hub_errors, name) for name in ("LocalEntryNotFoundError", "OfflineModeIsEnabled") if hasattr(hub_errors, name)
    )
    try:
        path = hf_hub_download(repo_id, "config.json", token=token or None)
    except offline as exc:  # before EntryNotFoundError: offline misses subclass it
        raise LensError("model.hub_unreachable", repo_id=repo_id) from exc
    except hub_errors.GatedRepoError as exc:
        raise LensError("model.gated", repo_id=repo_id) from exc
    except hub_errors.RepositoryNotFoundError as exc:
        raise LensError("model.hub_not_found", repo_id=repo_id) from exc
    except hub_errors.EntryNotFoundError as exc:
        raise LensError("model.hub_no_config", repo_id=repo_id) from exc
    except hub_errors.HfHubHTTPError as exc:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status in (401, 403):
            raise LensError("model.gated", repo_id=repo_id) from exc
        raise LensError("model.hub_unreachable", repo_id=repo_id) from exc
    except Exception as exc:  # offline: connection errors come in many classes
        raise LensError("model.hub_unreachable", repo_id=repo_id) from exc
    return Path(path).parent
