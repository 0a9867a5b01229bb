"""The model built on the meta device: shapes only, no memory and no download (a 405B budget is instant)."""

from __future__ import annotations

import torch
from torch import nn

from core import limits
from core.compat import auto_class_for
from core.errors import LensError
from core.models.sources import ModelConfig, infer_task


def model_class(config: object, task: str) -> type:
    """The transformers class to build: the declared architecture when it fits the task."""
    import transformers

    archs = getattr(config, "architectures", None) or []
    declared = getattr(transformers, archs[0], None) if archs else None
    if declared is not None and infer_task(config) == task and task != "seq-cls":
        return declared
    auto_names = {
        "causal-lm": ["AutoModelForCausalLM", "AutoModelForImageTextToText"],
        "seq-cls": ["AutoModelForSequenceClassification"],
        "seq2seq": ["AutoModelForSeq2SeqLM", "AutoModelForSpeechSeq2Seq"],
        "feature": ["AutoModel"],
    }[task]
    for auto_name in auto_names:
        found = auto_class_for(getattr(transformers, auto_name), config)
        if found is not None:
            return found
    raise LensError("model.task_unsupported", task=task, model_type=getattr(config, "model_type", "?"))


def build_meta_model(mc: ModelConfig) -> nn.Module:
    """Instantiate the architecture on the meta device: shapes only, no memory."""
    import copy

    config = copy.deepcopy(mc.config)
    if mc.task == "seq-cls":
        config.num_labels = mc.spec.num_labels
    try:
        cls = model_class(config, mc.task)
        with limits.deadline(), torch.device("meta"):
            # dtype=None: transformers would otherwise switch torch's process-wide default dtype to the
            # config's (bf16) while building, under the feet of other sessions' threads and a training run.
            model = cls._from_config(config, dtype=None)
    except LensError:
        raise
    except Exception as exc:  # noqa: BLE001 - a stranger's config can break a model's __init__ in any way
        raise LensError("model.build_failed", name=limits.shorten(mc.display_name), detail=limits.one_line(exc)) from exc
    limits.check_param_count(sum(p.numel() for p in model.parameters()))
    return model


def meta_inventory(mc: ModelConfig):  # -> core.anatomy.inventory.Inventory
    """What Inspect, the CLI and every budget read: the meta build and its inventory, under one deadline."""
    from core.anatomy.inventory import list_adaptable_layers

    with limits.deadline():
        inv = list_adaptable_layers(build_meta_model(mc))
    if not inv.layers:
        raise LensError("model.no_adaptable")
    return inv
