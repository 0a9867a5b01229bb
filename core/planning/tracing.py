"""Shapes-only tracing on the meta device: the blocks of a model, a few-block copy, and a recorder of every
tensor autograd saves, standing in for the device's fused attention kernel and dropout."""

from __future__ import annotations

import copy
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from core.planning.attention import AttentionKind, fused_call

DTYPES = {"fp32": torch.float32, "fp16": torch.float16}  # the rest compute in bf16


@dataclass(frozen=True)
class Stack:
    prefix: str  # e.g. "model.layers"
    size: int


def find_stacks(model: nn.Module) -> list[Stack]:
    """The outermost ModuleLists of repeated blocks (decoder layers, encoder blocks, vision layers)."""
    stacks: list[Stack] = []
    for name, module in model.named_modules():
        if not isinstance(module, nn.ModuleList) or len(module) < 1:
            continue
        if any(name.startswith(s.prefix + ".") for s in stacks):
            continue
        if any(isinstance(m, nn.Linear) or type(m).__name__ == "Conv1D" for m in module[0].modules()):
            stacks.append(Stack(name, len(module)))
    return stacks


def split_name(name: str, stacks: Sequence[Stack]) -> tuple[int, int, str] | None:
    """(stack number, block index, rest) of a module name inside a stack, else None."""
    for k, stack in enumerate(stacks):
        head = stack.prefix + "."
        if name.startswith(head):
            idx, _, rest = name[len(head):].partition(".")
            if idx.isdigit():
                return k, int(idx), rest
    return None


class _Fresh(torch.autograd.Function):
    """A new tensor (the shape given, else the first input's layout) that needs a gradient where an input
    does, saving nothing: a device kernel's output, without running the meta device's slow decomposition."""

    @staticmethod
    def forward(ctx, shape, dtype, first, *rest):
        return first.new_empty(shape, dtype=dtype) if shape is not None else torch.empty_like(first)

    @staticmethod
    def backward(ctx, *grads):  # never run: the trace is forward only
        raise NotImplementedError


class _Recorder(TorchFunctionMode):
    """Counts saved storages per block tag; stands in for the device's fused attention and dropout."""

    def __init__(self, params: set[int], attention: AttentionKind, device: str) -> None:
        super().__init__()
        self.params, self.attention, self.device = params, attention, device
        self.seen: dict[int, tuple[int, object]] = {}
        self.local: dict[object, dict[int, int]] = {}  # per tag, every storage it saves (shared ones too)
        self.extra: list[tuple[int, object]] = []
        self.alive: list[torch.Tensor] = []
        self.tag: object = None
        self.inputs: dict[object, int] = {}  # per block tag, its hidden-state input's bytes
        self.kept: dict[object, set[int]] = {}  # per block tag, the storages of the tensors a checkpoint keeps
        self.shared: dict[int, int] = {}  # positional block inputs besides the hidden state, once

    def enter_block(self, tag: object, args: tuple, kwargs: dict) -> None:
        self.tag = tag
        hidden = args[0] if args else kwargs.get("hidden_states")
        self.inputs[tag] = hidden.numel() * hidden.element_size() if torch.is_tensor(hidden) else 0
        self.kept[tag] = {t.untyped_storage()._cdata for t in (hidden, *args[1:]) if torch.is_tensor(t)} - self.params
        for t in args[1:]:
            if torch.is_tensor(t) and t.untyped_storage()._cdata not in self.params:
                self.shared[t.untyped_storage()._cdata] = t.untyped_storage().nbytes()
        self.alive.extend(t for t in (hidden, *args[1:]) if torch.is_tensor(t))  # their addresses stay theirs

    def leave_block(self, tag: object, output: object) -> None:
        self.tag = ("after", tag[0])

    def pack(self, tensor: torch.Tensor) -> torch.Tensor:
        key = tensor.untyped_storage()._cdata
        if key not in self.params:
            self.local.setdefault(self.tag, {})[key] = tensor.untyped_storage().nbytes()
        if key not in self.params and key not in self.seen:
            self.seen[key] = (tensor.untyped_storage().nbytes(), self.tag)
            self.alive.append(tensor)  # a freed storage's address could be reused by the next one
        return tensor

    def _extra(self, nbytes: int) -> None:
        """A tensor the device's kernel saves that the meta device does not make (its own storage)."""
        self.extra.append((nbytes, self.tag))
        self.local.setdefault(self.tag, {})[-len(self.extra)] = nbytes

    def _quiet(self, func, args, kwargs):
        with torch.autograd.graph.saved_tensors_hooks(lambda t: t, lambda t: t):
            return func(*args, **(kwargs or {}))

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is torch.nn.functional.scaled_dot_product_attention and self._fused(args, kwargs):
            q, v = args[0], args[2] if len(args) > 2 else kwargs["value"]
            out = _Fresh.apply((*q.shape[:-1], v.shape[-1]), q.dtype, *args[:3])  # the kernel's output, no math
            if not (torch.is_grad_enabled() and any(t.requires_grad for t in args[:3] if torch.is_tensor(t))):
                return out  # nothing needs a gradient here (blocks before the first trained one)
            mask = args[3] if len(args) > 3 else kwargs.get("attn_mask")
            for t in (*args[:3], out, *([mask] if torch.is_tensor(mask) else [])):  # fused kernels keep the mask
                self.pack(t)
            self._extra(q.numel() // q.shape[-1] * 4)  # fp32 log-sum-exp per head and query
            return out
        if func is torch.nn.functional.dropout and torch.is_grad_enabled():
            p = args[1] if len(args) > 1 else kwargs.get("p", 0.5)
            training = args[2] if len(args) > 2 else kwargs.get("training", True)
            if not (training and p > 0):
                return self._quiet(func, args, kwargs)
            if args[0].requires_grad:
                item = 1 if self.device == "cuda" else args[0].element_size()  # CUDA: bool mask; CPU: input * noise
                self._extra(args[0].numel() * item)
            return _Fresh.apply(None, args[0].dtype, args[0])  # the output's shape and layout, no noise drawn
        if getattr(func, "__name__", "") in ("_grouped_mm", "grouped_mm") and args[0].dtype != torch.bfloat16:
            # the meta kernel only takes bf16; frozen experts save nothing but their (parameter) weights
            out = self._quiet(func, (args[0].bfloat16(), args[1].bfloat16(), *args[2:]), kwargs)
            return out.to(args[0].dtype)
        if func is torch.Tensor.__bool__ and args[0].device.type == "meta":
            return True  # shape-only checks ("is the mask all ones", "no packed sequences"): the plain path
        return func(*args, **kwargs)

    def _fused(self, args, kwargs) -> bool:
        q, k = args[0], args[1] if len(args) > 1 else kwargs["key"]
        dropout = args[4] if len(args) > 4 else kwargs.get("dropout_p", 0.0)
        mask = args[3] if len(args) > 3 else kwargs.get("attn_mask")
        return fused_call(self.attention, self.device, q.shape[-3] if q.dim() > 3 else 1,
                          k.shape[-3] if k.dim() > 3 else 1, dropout, bool(kwargs.get("enable_gqa", False)),
                          torch.is_tensor(mask) and mask.requires_grad)

    def by_tag(self) -> dict[object, int]:
        totals: dict[object, int] = {}
        for nbytes, tag in [*self.seen.values(), *self.extra]:
            totals[tag] = totals.get(tag, 0) + nbytes
        return totals


def meta_copy(model: nn.Module, stacks: Sequence[Stack], keep: Sequence[Sequence[int]], precision: str) -> nn.Module:
    """A meta-device copy holding only the kept blocks of each stack, in the compute dtype. Copying (not
    rebuilding) costs only what is kept (a 126-block model stays cheap) and never touches the original,
    which may be a cached model shared by every visitor."""
    memo: dict[int, object] = {}
    skipped: list[str] = []
    for stack, kept in zip(stacks, keep, strict=True):
        for i, block in enumerate(model.get_submodule(stack.prefix)):
            if i not in kept:
                memo[id(block)] = None
                skipped.append(f"{stack.prefix}.{i}.")
    skip = tuple(skipped)
    for name, param in model.named_parameters(remove_duplicate=False):
        if not name.startswith(skip):
            empty = param.detach() if param.is_meta else torch.empty_like(param, device="meta")
            memo[id(param)] = nn.Parameter(empty, requires_grad=False)
    for name, buffer in model.named_buffers(remove_duplicate=False):
        if not name.startswith(skip):
            memo[id(buffer)] = buffer.detach() if buffer.is_meta else torch.empty_like(buffer, device="meta")
    meta = copy.deepcopy(model, memo)
    for stack, kept in zip(stacks, keep, strict=True):
        parent_name, _, attr = stack.prefix.rpartition(".")
        parent = meta.get_submodule(parent_name) if parent_name else meta
        blocks = getattr(parent, attr)
        setattr(parent, attr, nn.ModuleList([blocks[i] for i in kept]))
    return meta.to(DTYPES.get(precision, torch.bfloat16))


_COPIES: dict[tuple, tuple[weakref.ref, object]] = {}  # (model, what is kept, dtype) -> (model, stacks or copy)
_COPIES_SIZE = 16


def cached(model: nn.Module, key: tuple, make, store: dict | None = None, size: int = _COPIES_SIZE):
    """``make()`` once per live model and key (a weak reference tells a new model from a freed one's id)."""
    store = _COPIES if store is None else store
    full = (id(model), *key)
    hit = store.get(full)
    if hit is None or hit[0]() is not model:
        if len(store) >= size:
            store.clear()
        hit = store[full] = (weakref.ref(model), make())
    return hit[1]


def stacks_of(model: nn.Module) -> list[Stack]:
    return list(cached(model, ("stacks",), lambda: tuple(find_stacks(model))))


def few_block_copy(model: nn.Module, stacks: Sequence[Stack], keep: Sequence[Sequence[int]],
                   precision: str) -> nn.Module:
    """A fresh ``meta_copy`` to wrap with PEFT, copied from a cached bare one (copying only the kept blocks,
    not walking every parameter of a 126-block model again on each plan change)."""
    key = ("copy", tuple(stacks), tuple(tuple(k) for k in keep), precision)
    return copy.deepcopy(cached(model, key, lambda: meta_copy(model, stacks, keep, precision)))


def dummy_batch(model: nn.Module, task: str, batch: int, seq: int) -> dict:
    """Inputs and labels of the right shapes on the meta device (images: the config's image size)."""
    meta = {"device": "meta"}
    config = model.config
    if getattr(model, "main_input_name", "input_ids") == "pixel_values":
        vision = getattr(config, "vision_config", config)
        size = int(getattr(vision, "image_size", 224))
        channels = int(getattr(vision, "num_channels", 3))
        pixels = torch.empty(batch, channels, size, size, dtype=next(model.parameters()).dtype, **meta)
        labels = torch.zeros(batch, dtype=torch.long, **meta)
        return {"pixel_values": pixels, **({"labels": labels} if task == "seq-cls" else {})}
    ids = torch.zeros(batch, seq, dtype=torch.long, **meta)
    if task == "seq-cls":
        return {"input_ids": ids, "labels": torch.zeros(batch, dtype=torch.long, **meta)}
    if task in ("causal-lm", "seq2seq"):
        return {"input_ids": ids, "labels": ids}
    return {"input_ids": ids}


@dataclass
class Traced:
    """One traced forward: bytes saved per tag (each storage once, first tag wins); per block tag its
    hidden-state input, and what its recomputation saves beyond the tensors checkpointing keeps; the
    other tensors blocks take positionally (masks, T5's position biases, the encoder's output), once."""

    saved: dict[object, int]
    inputs: dict[object, int]
    recompute: dict[object, int]
    shared: int


def run_recorded(model: nn.Module, batch: dict, rec: _Recorder, tags: dict[nn.Module, object],
                 input_grads: bool) -> None:
    """One forward under ``rec``; work outside the blocks is tagged ("after", k): after stack k's blocks
    (-1: before any)."""
    rec.tag = ("after", -1)
    handles = []
    for module, tag in tags.items():
        handles += [module.register_forward_pre_hook(lambda m, a, k, tag=tag: rec.enter_block(tag, a, k),
                                                     with_kwargs=True),
                    module.register_forward_hook(lambda m, a, out, tag=tag: rec.leave_block(tag, out))]
    if input_grads:
        handles.append(model.get_input_embeddings().register_forward_hook(lambda m, i, o: o.requires_grad_(True)))
    try:
        with torch.autograd.graph.saved_tensors_hooks(rec.pack, lambda t: t), rec:
            model(**batch)
    finally:
        for handle in handles:
            handle.remove()


def parameter_storages(model: nn.Module) -> set[int]:
    return {p.untyped_storage()._cdata for p in model.parameters()}


def trace_saved(model: nn.Module, batch: dict, attention: AttentionKind, device: str,
                tags: dict[nn.Module, object], input_grads: bool) -> Traced:
    """Trace one forward: bytes saved per tag, each block's input, what its recomputation saves besides."""
    rec = _Recorder(parameter_storages(model), attention, device)
    run_recorded(model, batch, rec, tags, input_grads)
    recompute = {tag: sum(n for key, n in rec.local.get(tag, {}).items() if key not in rec.kept[tag])
                 for tag in rec.kept}
    return Traced(rec.by_tag(), rec.inputs, recompute, sum(rec.shared.values()))
