"""The model built on the meta device: shapes only, no memory and no download (a 405B budget is instant)."""

from __future__ import annotations

import torch
from torch import nn

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
    cls = model_class(config, mc.task)
    try:
        with torch.device("meta"):
            # dtype=None: transformers would otherwise switch torch's process-wide default dtype to the
            # config's (bf16) while building, under the feet of other sessions' threads and a training run.
            model = cls._from_config(config, dtype=None)
    except LensError:
        raise
    except Exception as exc:
        raise LensError("model.build_failed", name=mc.display_name, detail=str(exc)[:300]) from exc
    return model
