"""The one Hub helper: repository-id checks and the offline switch, shared by models, data and export; and the one config.json download."""

from __future__ import annotations

import os
from pathlib import Path

from core.errors import LensError

_TRUE = {"1", "true", "yes", "on"}
# config.json, tokenizer.json/_config, vocab.txt, merges.txt, SentencePiece and tiktoken files.
TOKENIZER_PATTERNS = ("*.json", "*.txt", "*.model", "*.tiktoken")


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


def _hub_failure(exc: Exception, repo_id: str) -> LensError:
    """Every huggingface_hub failure as one sentence (offline misses first: they subclass EntryNotFoundError)."""
    from huggingface_hub import errors as hub_errors

    offline = tuple(getattr(hub_errors, n) for n in ("LocalEntryNotFoundError", "OfflineModeIsEnabled") if hasattr(hub_errors, n))
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(exc, offline):
        return LensError("model.hub_unreachable", repo_id=repo_id)
    if isinstance(exc, hub_errors.GatedRepoError):
        return LensError("model.gated", repo_id=repo_id)
    if isinstance(exc, hub_errors.RepositoryNotFoundError):  # the Hub answers 401 for these without a token
        return LensError("model.hub_not_found", repo_id=repo_id)
    if isinstance(exc, hub_errors.EntryNotFoundError):
        return LensError("model.hub_no_config", repo_id=repo_id)
    if status in (401, 403):
        return LensError("model.gated", repo_id=repo_id)
    return LensError("model.hub_unreachable", repo_id=repo_id)  # connection errors come in many classes


def fetch_hub_config(repo_id: str, token: str | None) -> Path:
    """Download only ``config.json``; map every Hub failure to a sentence."""
    if not is_repo_id(repo_id):
        raise LensError("model.bad_hub_id", repo_id=repo_id)
    from huggingface_hub import hf_hub_download

    try:
        path = hf_hub_download(repo_id, "config.json", token=token or None)
    except Exception as exc:  # noqa: BLE001 - every Hub failure becomes a sentence
        raise _hub_failure(exc, repo_id) from None
    return Path(path).parent


def _weight_patterns(names: list[str]) -> list[str]:
    """safetensors when the repo has them, else PyTorch .bin: never both, never ONNX/GGUF/TF copies."""
    if any(n.endswith(".safetensors") for n in names):
        return ["*.safetensors", "*.safetensors.index.json"]
    return ["pytorch_model*.bin", "pytorch_model*.bin.index.json"]


def download_model(repo_id: str, token: str | None = None, weights: bool = True) -> Path:
    """The local snapshot of a Hub model: config, tokenizer files and (``weights``) one format of weights, from
    the cache when offline. One listing call picks the files, so nothing else in the repo is fetched."""
    if not is_repo_id(repo_id):
        raise LensError("model.bad_hub_id", repo_id=repo_id)
    from huggingface_hub import HfApi, snapshot_download

    patterns = list(TOKENIZER_PATTERNS)
    if hub_offline():
        return _cached_model(repo_id, patterns, weights, None)
    try:
        info = HfApi(token=token or None).model_info(repo_id)
    except Exception as exc:  # noqa: BLE001 - every Hub failure becomes a sentence, never the token
        return _cached_model(repo_id, patterns, weights, _hub_failure(exc, repo_id))
    names = [s.rfilename for s in info.siblings or []]
    if weights and not any(n.endswith((".safetensors", ".bin")) for n in names):
        raise LensError("train.no_weights", name=repo_id)
    try:
        # the default branch, not info.sha: only a branch download writes the cache's refs/main, which an
        # offline load (revision None) looks up later
        return Path(snapshot_download(repo_id, token=token or None,
                                      allow_patterns=patterns + (_weight_patterns(names) if weights else [])))  # fmt: skip
    except Exception as exc:  # noqa: BLE001
        raise _hub_failure(exc, repo_id) from None


def _cached_model(repo_id: str, patterns: list[str], weights: bool, failure: LensError | None) -> Path:
    """Offline, or the Hub unreachable: the snapshot already in the cache (as transformers would fall back to);
    else ``failure`` (the Hub's own answer: gated, not found) or "unreachable"."""
    from huggingface_hub import snapshot_download

    if failure is not None and failure.key != "model.hub_unreachable":
        raise failure
    # whichever weights format the cache holds (asking for both fails: the cached listing has files never fetched)
    for extra in (_weight_patterns(["x.safetensors"]), _weight_patterns([])) if weights else ([],):
        try:
            return Path(snapshot_download(repo_id, allow_patterns=patterns + extra, local_files_only=True))
        except Exception:  # noqa: BLE001, S112 - not cached in this format
            continue
    raise failure or LensError("model.hub_unreachable", repo_id=repo_id)
