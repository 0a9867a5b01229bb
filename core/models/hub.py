"""The one Hub helper: repository-id checks and the offline switch, shared by models, data and export."""

from __future__ import annotations

import os

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
