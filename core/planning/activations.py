"""What one training step saves for backward, traced on the meta device through torch's own autograd.

The architecture decides (fused projections, parallel residuals, partial rotary, gated MLPs, MoE routing,
cross-attention, vision patches, eager scores, soft-capping): the model's real forward runs on shapes only,
with the plan's LoRA applied by PEFT, and every tensor autograd saves is counted once per storage. Only one
block per distinct LoRA layout is traced; the fused attention kernel's saved set is the device's (see
``attention.py``), since the meta device has no kernels of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from core.compat import checkpointing_flags_only
from core.planning.attention import AttentionKind
from core.planning.tracing import Stack, dummy_batch, few_block_copy, split_name, stacks_of, trace_saved


@dataclass(frozen=True)
class SavedActivations:
    """Bytes saved for backward, in forward order: outside the blocks (embeddings before the first stack,
    then what follows each stack: final norms, head, loss) and, per block, (saved, hidden-state input)."""

    segments: tuple[int, ...]  # before stack 0, after stack 0, after stack 1, …
    stacks: tuple[tuple[tuple[int, int, int], ...], ...]  # per block (saved, hidden input, recomputed)
    shared: int = 0  # tensors every checkpointed block keeps, once (masks, position biases, encoder output)

    @property
    def outside(self) -> int:
        return sum(self.segments)

    def total(self, checkpointing: bool) -> int:
        """Peak of saved bytes. Plain: all of it at the end of forward. Checkpointing keeps each block's
        inputs; backward then frees what follows a block before recomputing it, so the peak is the larger of
        the end of forward and (what precedes a block + what that block's recomputation saves besides)."""
        blocks = [b for stack in self.stacks for b in stack]
        if not checkpointing or not blocks:
            return self.outside + sum(saved for saved, _, _ in blocks)
        peak = self.outside
        for k, stack in enumerate(self.stacks):
            before = sum(self.segments[: k + 1])
            peak = max([peak, *(before + again for _, _, again in stack)])
        return sum(held for _, held, _ in blocks) + self.shared + peak


def _layout(budget, inventory, stacks: Sequence[Stack]) -> tuple[list[dict[int, tuple]], dict[str, int]]:
    """Per stack, block index -> its trainable layout; and the LoRA rank of every adapted module."""
    layouts: list[dict[int, tuple]] = [{} for _ in stacks]
    ranks: dict[str, int] = {}
    for m in budget.modules:
        layer = inventory.layer(m.name)
        if m.lora_params and layer is not None:
            ranks[m.name] = max(m.lora_params // max(layer.in_features + layer.out_features, 1), 1)
        where = split_name(m.name, stacks)
        if where and (m.lora_params or m.bias_params):
            k, idx, rest = where
            layouts[k][idx] = (*layouts[k].get(idx, ()), (rest, m.lora_params, m.bias_params))
    return layouts, ranks


def _keep(layouts: list[dict[int, tuple]], stacks: Sequence[Stack], inflow: bool,
          passed_on: bool = False) -> list[dict[int, int]]:
    """Per stack, each block -> the block traced for it: one per (layout, gradient flows in) pair; with
    ``passed_on`` (reentrant checkpointing: what a block hands the next one needs a gradient) the first
    block is traced apart from the rest."""
    reps: list[dict[int, int]] = []
    for k, stack in enumerate(stacks):
        flows = inflow or any(layouts[j] for j in range(k))
        first = min(layouts[k], default=None)
        chosen: dict[tuple, int] = {}
        rep: dict[int, int] = {}
        for idx in range(stack.size):
            key = (layouts[k].get(idx, ()), flows or (first is not None and idx > first), passed_on and idx > 0)
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
    layouts, ranks = _layout(budget, inventory, stacks)
    reentrant = settings.gradient_checkpointing and settings.reentrant
    reps = _keep(layouts, stacks, inflow or settings.gradient_checkpointing, reentrant)
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
    config = replace(lora_config, target_modules=sorted(names), layers_to_transform=None, layers_pattern=None,
                     rank_pattern={re_exact(n): r for n, r in names.items()}, exclude_modules=None)
    # Adapter weights on the meta device through this thread's default device: PEFT's low_cpu_mem_usage would patch
    # nn.Module.register_parameter process-wide, under the feet of a training run wrapping or loading in another thread.
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


def re_exact(name: str) -> str:
    import re

    return "^" + re.escape(name) + "$"


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
            saved = saved_activations(model, inventory, budget, _lora_config(plan), task, settings, attention,
                                      inflow=_inflow(inventory, budget, plan))
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
