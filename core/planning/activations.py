"""What one training step saves for backward, traced on the meta device through torch's own autograd.

The architecture decides (fused projections, parallel residuals, partial rotary, gated MLPs, MoE routing,
cross-attention, vision patches, eager scores, soft-capping): the model's real forward runs on shapes only,
with the plan's LoRA applied by PEFT, and every tensor autograd saves is counted once per storage. Only one
block per distinct LoRA layout is traced; the fused attention kernel's saved set is the device's (see
``attention.py``), since the meta device has no kernels of its own. A plan change is answered from the model's
tape (``compose.py``) without a new trace; this trace of the plan answers where the tape cannot.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from core.compat import checkpointing_flags_only
from core.planning.attention import AttentionKind
from core.planning.compose import composed_activations
from core.planning.saved import SavedActivations, layout_of, re_exact
from core.planning.tracing import Stack, dummy_batch, few_block_copy, split_name, stacks_of, trace_saved


def _keep(layouts: list[dict[int, tuple]], stacks: Sequence[Stack], inflow: bool) -> list[dict[int, int]]:
    """Per stack, each block -> the block traced for it: one per (layout, gradient flows in) pair, the first
    block apart from the rest (it may differ: T5's first block makes the position bias the others are
    handed, which checkpointing keeps; reentrant checkpointing makes what it hands on need a gradient)."""
    reps: list[dict[int, int]] = []
    for k, stack in enumerate(stacks):
        flows = inflow or any(layouts[j] for j in range(k))
        first = min(layouts[k], default=None)
        chosen: dict[tuple, int] = {}
        rep: dict[int, int] = {}
        for idx in range(stack.size):
            key = (layouts[k].get(idx, ()), flows or (first is not None and idx > first), idx > 0)
            rep[idx] = chosen.setdefault(key, idx)
        reps.append(rep)
    return reps


def saved_activations(model: nn.Module, inventory, budget, lora_config, task: str, settings,
                      attention: AttentionKind, inflow: bool) -> SavedActivations:
    """Trace a few-block meta copy of ``model`` with the plan's LoRA; scale to every block.
    ``inflow``: gradients flow into the first block (checkpointing's input grads, trained embeddings, bias=all)."""
    from dataclasses import replace

    from peft import get_peft_model

    stacks = stacks_of(model)
    layouts, ranks = layout_of(budget, inventory, stacks)
    reentrant = settings.gradient_checkpointing and settings.reentrant
    reps = _keep(layouts, stacks, inflow or settings.gradient_checkpointing)
    keep = [sorted(set(rep.values())) for rep in reps]
    meta = few_block_copy(model, stacks, keep, settings.precision)
    if settings.gradient_checkpointing:
        if hasattr(meta.config, "use_cache"):
            meta.config.use_cache = False  # as transformers sets it: no KV cache copies of k and v
        if getattr(meta, "supports_gradient_checkpointing", False):
            checkpointing_flags_only(meta, reentrant)
    names = {}
    for name, r in ranks.items():
        where = split_name(name, stacks)
        if where is None:
            names[name] = r
        elif where[1] in keep[where[0]]:
            k, idx, rest = where
            names[f"{stacks[k].prefix}.{keep[k].index(idx)}.{rest}"] = r
    # lora.ParamWrapper (fused experts) cannot run on the meta device (its forward opens a "meta" autocast):
    # the experts are traced without their LoRA; the estimate says so (memory.note_params_untraced).
    config = replace(lora_config, target_modules=sorted(names), layers_to_transform=None, layers_pattern=None,
                     rank_pattern={re_exact(n): r for n, r in names.items()}, alpha_pattern={}, exclude_modules=None,
                     target_parameters=None)
    # The LoRA layers are made on the meta device through torch's device context, which is per thread. PEFT's
    # low_cpu_mem_usage would patch nn.Module.register_parameter for the whole process, and a training job
    # loading weights in another thread at that moment fails ("unexpected keyword argument '_is_hf_initialized'").
    with torch.device("meta"):
        peft_model = get_peft_model(meta, config)
    peft_model.train()
    tags = {peft_model.get_submodule(_peft_prefix(peft_model, s.prefix))[i]: (k, idx)
            for k, (s, kept) in enumerate(zip(stacks, keep, strict=True)) for i, idx in enumerate(kept)}
    batch = dummy_batch(meta, task, settings.batch_size, settings.seq_len)
    traced = trace_saved(peft_model, batch, attention, settings.device, tags, inflow or settings.gradient_checkpointing)
    segments = tuple(traced.saved.get(("after", k), 0) for k in range(-1, len(stacks)))
    per_stack = tuple(tuple((traced.saved.get((k, rep[idx]), 0), traced.inputs.get((k, rep[idx]), 0),
                             traced.recompute.get((k, rep[idx]), 0)) for idx in sorted(rep))
                      for k, rep in enumerate(reps))
    return SavedActivations(segments, per_stack, traced.shared)


def _peft_prefix(peft_model: nn.Module, prefix: str) -> str:
    return "base_model.model." + prefix


_CACHE: dict[tuple, int] = {}  # bounded: a few plans × settings per model, cleared when full
_CACHE_SIZE = 128


def trace_activations(inventory, budget, settings, plan, attention: AttentionKind) -> int | None:
    """Saved-for-backward bytes of one step, or None when the model cannot be traced (no model, custom code)."""
    model = inventory.model
    if model is None or not hasattr(model, "config") or not hasattr(type(model), "_from_config"):
        return None
    task = getattr(plan, "task", None) or _task_of(model)
    key = (id(model), type(model).__name__, inventory.total_params, budget.modules, _shape_of(plan), settings,
           attention)
    if key not in _CACHE:
        try:
            config, inflow = _lora_config(plan), _inflow(inventory, budget, plan)
            try:
                saved = composed_activations(model, inventory, budget, config, task, settings, attention, inflow)
            except Exception:  # noqa: BLE001 - a tape that cannot say: the trace of the plan answers
                saved = None
            if saved is None:
                saved = saved_activations(model, inventory, budget, config, task, settings, attention, inflow)
        except Exception:  # noqa: BLE001 - an architecture the meta device cannot run: the formula answers
            return None
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.clear()
        _CACHE[key] = saved.total(settings.gradient_checkpointing)
    return _CACHE[key]


def _shape_of(plan) -> str:
    """The plan as far as saved bytes go: α and rsLoRA only scale B·A by a Python number (nothing saved)."""
    if plan is None:
        return "None"
    from dataclasses import replace

    return repr(replace(plan, lora_alpha=1.0, use_rslora=False))


def _task_of(model: nn.Module) -> str:
    name = type(model).__name__
    if name.endswith("ForCausalLM") or name.endswith("LMHeadModel"):
        return "causal-lm"
    if name.endswith("ForConditionalGeneration") or name.endswith("Seq2SeqLM"):
        return "seq2seq"
    if "Classification" in name:
        return "seq-cls"
    return "feature"


def _lora_config(plan):
    from peft import LoraConfig

    if plan is None:  # callers without a plan: PEFT's defaults but dropout 0.05 (as the formula assumed)
        return LoraConfig(target_modules=["_"], lora_dropout=0.05)
    from core.planning.plan import to_lora_config

    return to_lora_config(plan)


def _inflow(inventory, budget, plan) -> bool:
    """Gradients reach the first block: biases trained everywhere, or a trained module before the blocks."""
    if getattr(plan, "bias", "none") == "all":
        return True
    heads = {inventory.output_embedding}
    return any(split_name_generic(n) is None and n not in heads and not n.endswith(("score", "classifier", "head"))
               for n in budget.saved_modules)


def split_name_generic(name: str) -> int | None:
    from core.anatomy.inventory import block_index

    return block_index(name)
