"""One traced forward with LoRA on every adaptable module of a block, kept as a tape that answers any LoRA layout.

Autograd decides what a call saves from which of its inputs need a gradient, and an input needs one when any
source of gradient upstream of it is trained. So the tape colours every tensor with the sources it depends on
(each block's LoRA modules, each block's hidden-state input, ``ALWAYS`` for what every plan of this shape
trains), and records each call that saves something. A layout then switches sources on or off: a call whose
inputs need a gradient as in the traced forward saves the same tensors; one that sees fewer (a mix the trace did
not have) is re-run alone on its meta inputs with just those needing one. LoRA's own calls run only where the
module is adapted, and lora_A's output scales with the module's rank.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from core.planning.tracing import _Recorder

ALWAYS = ("always",)
EMPTY: frozenset = frozenset()
ALWAYS_SET = frozenset({ALWAYS})


def tensors_in(value: object) -> list[torch.Tensor]:
    """Every tensor in nested tuples, lists and dicts, in order."""
    if torch.is_tensor(value):
        return [value]
    if isinstance(value, tuple | list):
        return [t for v in value for t in tensors_in(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in tensors_in(v)]
    return []


def map_tensors(value: object, fn: Callable) -> object:
    """``value`` with each tensor replaced by ``fn(tensor)``, in ``tensors_in`` order."""
    if torch.is_tensor(value):
        return fn(value)
    if isinstance(value, list):
        return [map_tensors(v, fn) for v in value]
    if isinstance(value, tuple) and tensors_in(value):
        items = [map_tensors(v, fn) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else type(value)(items)
    if isinstance(value, dict):
        return {k: map_tensors(v, fn) for k, v in value.items()}
    return value


def storage(t: torch.Tensor) -> int:
    return t.untyped_storage()._cdata


@dataclass(eq=False)
class Call:
    """One call that saved tensors for backward in the traced forward."""

    func: Callable
    args: tuple
    kwargs: dict
    tag: object  # block tag, or ("after", k)
    guard: object  # the LoRA source whose own code made this call (it runs only where adapted), else None
    colours: tuple[frozenset, ...]  # per tensor input: the gradient sources it depends on (empty: none)
    saved: tuple  # storage keys saved, as traced
    outputs: tuple[int, ...]  # storage keys of the tensor outputs
    replays: dict = field(default_factory=dict)  # inputs needing a gradient -> storage keys saved

    @property
    def pattern(self) -> tuple[bool, ...]:
        return tuple(bool(c) for c in self.colours)


class TapeRecorder(_Recorder):
    """The trace recorder that also colours tensors and keeps the calls that save, to replay them."""

    def __init__(self, params: set[int], attention, device: str, param_colours: dict[int, frozenset]) -> None:
        super().__init__(params, attention, device)
        self.param_colours = param_colours
        self.colours: dict[int, frozenset] = {}  # id(tensor) -> sources (every such tensor is kept alive)
        self.override: dict[int, frozenset] = {}  # inside a block: its hidden input stands for ("in", tag)
        self.calls: list[Call] = []
        self.current: list | None = None  # storage keys saved by the call running now
        self.nbytes: dict[object, int] = {}
        self.origin: dict[object, object] = {}  # storage key -> tag of the call that made or first saved it
        self.rank_scaled: dict[int, tuple] = {}  # lora_A output -> its source (bytes ∝ rank)
        self.guards: list[list] = []  # [source or None, base layer call pending]
        self.hidden: dict[object, tuple] = {}  # block that ran -> (hidden input's key, its sources, needs a grad)
        self.out_colours: dict[object, frozenset] = {}
        self.out_key: dict[object, int | None] = {}
        self.node_colours: dict = {}  # autograd node of a traced output -> its sources
        self.orphans: list = []  # saved by a custom autograd Function, not yet claimed by its output
        self.unsafe: str | None = None

    def colour(self, t: torch.Tensor) -> frozenset:
        if not t.requires_grad:
            return EMPTY
        c = self.override.get(id(t))
        if c is None:
            c = self.colours.get(id(t), self.param_colours.get(id(t)))
        if not c:  # made where nothing needed a gradient, or by no traced call
            c = self._untraced(t)
        return c or ALWAYS_SET

    def _untraced(self, t: torch.Tensor) -> frozenset:
        """A tensor needing a gradient that no traced call made so: a leaf (PEFT's transposed Conv1D weight for
        DoRA, T5's checkpointed bias set by hand, the inputs' gradients) needs one in every plan; a custom
        autograd Function's output (Bloom's GeLU), what its inputs need, read from the autograd graph. What
        that Function saved is then one call."""
        if t.grad_fn is None or t.grad_fn in self.node_colours:
            return self.node_colours.get(t.grad_fn, ALWAYS_SET)
        inputs = [self._node_colours(n) for n, _ in t.grad_fn.next_functions if n is not None]
        colours = frozenset().union(*inputs)
        if self.orphans:  # saved by the Function's backward context: all of it, once any input needs a gradient
            guard = self.guards[-1][0] if self.guards else None
            self.calls.append(Call(None, (), {}, self.tag, guard, tuple(inputs), tuple(self.orphans), ()))
            self.orphans = []
        self._note(t, colours)
        return colours

    def _node_colours(self, node, depth: int = 0) -> frozenset:
        variable = getattr(node, "variable", None)
        if variable is not None:
            return self.colour(variable)
        if node in self.node_colours:
            return self.node_colours[node]
        if depth > 64:
            self.unsafe = self.unsafe or "an autograd graph too deep to follow"
            return ALWAYS_SET
        return frozenset().union(*(self._node_colours(n, depth + 1) for n, _ in node.next_functions if n is not None))

    def _note(self, t: torch.Tensor, colours: frozenset) -> None:
        self.alive.append(t)
        self.origin.setdefault(storage(t), self.tag)
        self.colours[id(t)] = colours if t.requires_grad else EMPTY
        if t.grad_fn is not None:
            self.node_colours[t.grad_fn] = colours

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        colours = tuple(self.colour(t) for t in tensors_in((args, kwargs)))
        saved: list = []
        outer, self.current = self.current, saved
        try:
            out = super().__torch_function__(func, types, args, kwargs)
        finally:
            self.current = outer
        outs = tensors_in(out)
        union = frozenset().union(*colours)
        for t in outs:
            self._note(t, union)
        if saved:
            guard = self.guards[-1][0] if self.guards else None
            self.calls.append(Call(func, args, kwargs, self.tag, guard, colours, tuple(dict.fromkeys(saved)),
                                   tuple(storage(t) for t in outs)))
        return out

    def pack(self, tensor: torch.Tensor) -> torch.Tensor:
        key = storage(tensor)
        if key in self.params:
            return tensor
        self.nbytes.setdefault(key, tensor.untyped_storage().nbytes())
        self.origin.setdefault(key, self.tag)
        (self.orphans if self.current is None else self.current).append(key)  # None: a custom Function's
        self.alive.append(tensor)
        return tensor

    def _extra(self, nbytes: int) -> None:
        key = ("extra", len(self.nbytes))
        self.nbytes[key], self.origin[key] = nbytes, self.tag
        if self.current is not None:
            self.current.append(key)

    def enter_block(self, tag: object, args: tuple, kwargs: dict) -> None:
        super().enter_block(tag, args, kwargs)
        hidden = args[0] if args else kwargs.get("hidden_states")
        if not torch.is_tensor(hidden):  # its own colours then reach the block: the colour check refuses the tape
            self.hidden[tag] = (None, EMPTY, False)
            return
        self.hidden[tag] = (storage(hidden), self.colour(hidden), hidden.requires_grad)
        self.override = {id(hidden): frozenset({("in", tag)})} if hidden.requires_grad else {}

    def leave_block(self, tag: object, output: object) -> None:
        hidden = output if torch.is_tensor(output) else tensors_in(output)[0] if tensors_in(output) else None
        self.out_colours[tag] = self.colour(hidden) if hidden is not None else EMPTY
        self.out_key[tag] = storage(hidden) if hidden is not None else None
        self.override = {}
        super().leave_block(tag, output)

    def replay(self, call: Call, pattern: tuple[bool, ...]) -> tuple:
        """The storages ``call`` saves when only the inputs ``pattern`` marks need a gradient."""
        if pattern == call.pattern or call.func is None:
            return call.saved if any(pattern) else ()
        if pattern not in call.replays:
            flags = iter(pattern)

            def fresh(t: torch.Tensor) -> torch.Tensor:
                x = t.detach()
                return x.requires_grad_() if next(flags) else x

            args, kwargs = map_tensors(call.args, fresh), map_tensors(call.kwargs, fresh)
            saved: list = []
            self.current, self.tag = saved, call.tag
            try:
                with torch.autograd.graph.saved_tensors_hooks(self.pack, lambda t: t), torch.enable_grad():
                    out = _Recorder.__torch_function__(self, call.func, (), args, kwargs)
            finally:
                self.current = None
            mapping = dict(zip((storage(t) for t in tensors_in(out)), call.outputs, strict=False))
            for new, traced in mapping.items():  # the replay's outputs are the traced call's
                if new in self.nbytes:
                    self.nbytes.setdefault(traced, self.nbytes[new])
            call.replays[pattern] = tuple(dict.fromkeys(mapping.get(k, k) for k in saved))
        return call.replays[pattern]


def watch_lora(rec: TapeRecorder, wrapper: nn.Module, source: tuple, adapter: str = "default") -> list:
    """Hooks marking ``wrapper``'s own calls (they run only where ``source`` is adapted; its base layer's call
    runs everywhere) and lora_A's output (its bytes scale with the rank)."""
    base = wrapper.get_base_layer()

    def enter_base(m, a):
        top = rec.guards[-1] if rec.guards else None
        first = top is not None and top[0] == source and top[1]
        if first:
            top[1] = False
        rec.guards.append([None if first else (top[0] if top else None), first])

    def leave(m, a, out) -> None:  # a hook returning something would replace the output
        rec.guards.pop()

    def scaled(m, a, out) -> None:
        rec.rank_scaled[storage(out)] = source

    return [wrapper.register_forward_pre_hook(lambda m, a: rec.guards.append([source, True])),
            base.register_forward_pre_hook(enter_base), base.register_forward_hook(leave),
            wrapper.register_forward_hook(leave), wrapper.lora_A[adapter].register_forward_hook(scaled)]
