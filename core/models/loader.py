"""Fresh models with real weights for training, and sensible default LoRA targets.

Every call builds a new model: ``get_peft_model`` changes a model in place, so a
model shared through a cache must never be trained.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torch import nn

from core.errors import LensError
from core.models import embedded
from core.models.sources import ModelSpec, load_config, remote_code_allowed

# Public Hub ids of the embedded models, for exported scripts and model cards.
EMBEDDED_HUB_IDS = {
    "smollm2": "HuggingFaceTB/SmolLM2-135M-Instruct",
    "minilm": "sentence-transformers/all-MiniLM-L6-v2",
}
_TARGET_CANDIDATES: tuple[tuple[str, ...], ...] = (
    ("q_proj", "v_proj"),
    ("query", "value"),
    ("q_lin", "v_lin"),
    ("c_attn",),
    ("query_key_value",),
    ("qkv_proj",),
    ("Wqkv",),
)
_WEIGHT_FILES = ("*.safetensors", "pytorch_model*.bin")


@dataclass(frozen=True)
class WeightsSource:
    """Where real weights load from: a local folder or a Hub id; ``public_ref`` is what a
    stranger could use (a Hub id for the embedded models)."""

    location: str
    public_ref: str
    is_hub: bool


def weights_source(spec: ModelSpec) -> WeightsSource:
    """Resolve a spec to loadable weights, refusing the catalog (configs only)."""
    if spec.source == "catalog":
        raise LensError("train.no_weights", name=spec.ref)
    if spec.source == "embedded":
        folder = embedded.weights_folder(spec.ref)
        return WeightsSource(str(folder), EMBEDDED_HUB_IDS.get(spec.ref, str(folder)), False)
    if spec.source == "local":
        folder = Path(spec.ref).expanduser()
        if not folder.is_dir():
            raise LensError("model.no_folder", path=spec.ref)
        if not any(any(folder.glob(pattern)) for pattern in _WEIGHT_FILES):
            raise LensError("train.no_weights", name=spec.ref)
        return WeightsSource(str(folder), str(folder), False)
    if spec.source == "hub":
        load_config(spec)  # validates the id and reachability with a clear error
        return WeightsSource(spec.ref, spec.ref, True)
    raise LensError("model.bad_source", source=spec.source)


def load_tokenizer(location: str) -> object:
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(location, trust_remote_code=remote_code_allowed())
    except (OSError, ValueError, KeyError) as exc:
        raise LensError("train.no_tokenizer", name=location, detail=str(exc)[:200]) from exc
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token or tok.unk_token or tok.sep_token
    if tok.pad_token is None:
        raise LensError("train.no_pad_token", name=location)
    return tok


def load_model(location: str, task: str, labels: tuple[str, ...], pad_token_id: int | None) -> nn.Module:
    """A new fp32 model for ``task``; seq-cls gets a head sized and named from ``labels``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    # fp32 explicitly: transformers' default "auto" would load a bf16 checkpoint in bf16 (and switch
    # torch's process-wide default dtype to bf16 while loading, under other sessions' threads).
    kwargs: dict = {"trust_remote_code": remote_code_allowed(), "dtype": torch.float32}
    try:
        if task == "seq-cls":
            model = AutoModelForSequenceClassification.from_pretrained(
                location,
                num_labels=len(labels),
                id2label=dict(enumerate(labels)),
                label2id={name: i for i, name in enumerate(labels)},
                **kwargs,
            )
        elif task == "causal-lm":
            model = AutoModelForCausalLM.from_pretrained(location, **kwargs)
        else:
            raise LensError("train.task_unsupported", task=task)
    except LensError:
        raise
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise LensError("train.load_failed", name=location, detail=str(exc)[:300]) from exc
    if pad_token_id is not None and getattr(model.config, "pad_token_id", None) is None:
        model.config.pad_token_id = pad_token_id
    return model


def default_targets(model: nn.Module) -> tuple[str, ...]:
    """The usual attention projections for this architecture; all-linear if none match."""
    names = {name.rsplit(".", 1)[-1] for name, mod in model.named_modules() if isinstance(mod, nn.Linear)}
    names |= {name.rsplit(".", 1)[-1] for name, mod in model.named_modules() if type(mod).__name__ == "Conv1D"}
    for candidate in _TARGET_CANDIDATES:
        if set(candidate) <= names:
            return candidate
    return ()


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
