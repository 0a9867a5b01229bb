"""Every use of a library's private API, in one place, with the version it was written against.

When a pinned library moves, this is the only file to change; tests/test_compat.py pins each shim
against the library itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

# peft 0.21.2: ``all-linear`` expansion and the exclusion marker live in tuners_utils as private names.
# transformers 5.23.0: the auto classes' config -> class table is the private ``_model_mapping``.


def expand_all_linear(config: Any, model: Any) -> Any:
    """PEFT's own expansion of ``target_modules="all-linear"`` to the model's linear-layer names."""
    from peft.tuners.tuners_utils import _maybe_include_all_linear_layers

    return _maybe_include_all_linear_layers(config, model)


def is_excluded_match(hit: Any) -> bool:
    """``check_target_module_exists`` returns this marker when ``exclude_modules`` removed a match."""
    from peft.tuners.tuners_utils import _ExcludedModule

    return isinstance(hit, _ExcludedModule)


def auto_class_for(auto: Any, config: Any) -> type | None:
    """The class an ``AutoModelFor…`` would build for ``config``, or None (no instantiation)."""
    mapping = auto._model_mapping
    return mapping[type(config)] if type(config) in mapping else None


# Python 3.11: ``re._parser`` (``sre_parse`` before 3.11) is the regex parser ``re.compile`` itself uses.
def regex_has_nested_repeat(pattern: str) -> bool:
    """Whether an unbounded repetition contains another repetition or an alternation (catastrophic backtracking)."""
    import re._parser as sre_parse  # type: ignore[import-not-found]

    repeats = (sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT, getattr(sre_parse, "POSSESSIVE_REPEAT", None))

    def inner_repeats(items: Any) -> bool:
        for op, arg in items:
            if op in repeats:
                return True
            if op == sre_parse.BRANCH:
                return True
            if op == sre_parse.SUBPATTERN and inner_repeats(arg[-1]):
                return True
        return False

    def walk(items: Any) -> bool:
        for op, arg in items:
            if op in repeats:
                low, high, sub = arg
                if high == sre_parse.MAXREPEAT and inner_repeats(sub):
                    return True
                if walk(sub):
                    return True
            elif op == sre_parse.SUBPATTERN and walk(arg[-1]):
                return True
            elif op == sre_parse.BRANCH and any(walk(b) for b in arg[1]):
                return True
        return False

    try:
        return walk(sre_parse.parse(pattern))
    except Exception:  # noqa: BLE001 - an invalid regex is refused by re.compile with its own sentence
        return False


# transformers 5.23.0: the attention implementation a built model resolved (``_check_and_adjust_attn_implementation``
# picks sdpa when the class sets ``_supports_sdpa``, else eager) is stored as the private ``config._attn_implementation``.
def attn_implementation(model: Any) -> str:
    """The attention implementation transformers resolved for this built model ("eager" when unknown)."""
    if model is None:
        return "sdpa"  # transformers' default for the classes that support it
    config = getattr(model, "config", None)
    impl = getattr(config, "_attn_implementation", None)
    if not impl:
        impl = "sdpa" if getattr(type(model), "_supports_sdpa", False) else "eager"
    return str(impl).removeprefix("paged|")


# transformers 5.23.0: ``_set_gradient_checkpointing`` installs the checkpoint function on every block.
def checkpointing_flags_only(model: Any, reentrant: bool = False) -> None:
    """Put the model in gradient-checkpointing mode (use_cache off, per-model quirks such as T5's trainable
    position bias) with a checkpoint function that just calls the block: its forward is traced once, plainly.
    ``reentrant``: as torch's reentrant ``checkpoint`` (an autograd Function), every floating tensor a block
    returns needs a gradient once any input does (T5's shared position bias: the next block's mask)."""
    import torch

    def call(fn, *args, **kwargs):
        out = fn(*args, **kwargs)
        if reentrant and any(torch.is_tensor(a) and a.requires_grad for a in (*args, *kwargs.values())):
            for t in out if isinstance(out, tuple) else (out,):
                if torch.is_tensor(t) and t.is_floating_point() and not t.requires_grad:
                    t.requires_grad_(True)
        return out

    model._set_gradient_checkpointing(enable=True, gradient_checkpointing_func=call)


# torch 2.13: non-reentrant ``torch.utils.checkpoint`` keeps what a block's recomputation saves through saved-tensor
# hooks of its own (the private ``_recomputation_hook``), which hide those tensors from any hooks outside, in
# ``frame.recomputed[graph task]``: a WeakKeyDictionary from a handle (freed when backward unpacks the tensor).
@contextmanager
def watch_recomputed(on_keep: Callable[[Any, object], None]) -> Iterator[None]:
    """Inside, ``on_keep(tensor, handle)`` is called for each tensor a non-reentrant checkpoint's recomputation
    keeps for backward; ``handle`` lives exactly as long as checkpoint holds the tensor. For measuring only."""
    from torch.utils import checkpoint

    real = checkpoint._recomputation_hook.__init__

    def init(self: Any, frame_ref: Any, gid: Any) -> None:
        real(self, frame_ref, gid)
        pack = self.pack_hook

        def watched(x: Any) -> Any:
            frame = frame_ref()
            known = set(map(id, frame.recomputed[gid])) if frame is not None else set()
            try:
                return pack(x)
            finally:
                for handle, kept in list(frame.recomputed[gid].items()) if frame is not None else ():
                    if id(handle) not in known:
                        on_keep(kept, handle)

        self.pack_hook = watched

    checkpoint._recomputation_hook.__init__ = init
    try:
        yield
    finally:
        checkpoint._recomputation_hook.__init__ = real


# transformers 5.23.0: ``PreTrainedModel._init_weights(module)`` is what ``from_pretrained`` applies to the weights
# missing from a checkpoint (a new classification head); ``_is_hf_initialized`` marks a tensor it must skip.
def init_fresh_weights(model: Any, module: Any) -> None:
    """Initialize ``module``'s weights as ``from_pretrained`` initializes missing ones (the global RNG decides)."""
    for tensor in module.parameters():
        if getattr(tensor, "_is_hf_initialized", False):
            tensor._is_hf_initialized = False
    module.apply(model._init_weights)


# torch 2.13: a module's hooks live in private dicts keyed by the hook's id (RemovableHandle removes from them).
_HOOK_DICTS = ("_forward_hooks", "_forward_hooks_with_kwargs", "_forward_hooks_always_called", "_forward_pre_hooks",
               "_forward_pre_hooks_with_kwargs", "_backward_hooks", "_backward_pre_hooks")  # fmt: skip


def hook_ids(module: Any) -> frozenset[int]:
    """The ids of every hook registered on ``module`` itself (not its children)."""
    return frozenset(k for name in _HOOK_DICTS for k in getattr(module, name, {}))


def remove_hooks_except(module: Any, keep: frozenset[int]) -> None:
    """Remove every hook of ``module`` whose id is not in ``keep``, as its handle's ``remove()`` would."""
    for name in _HOOK_DICTS:
        hooks = getattr(module, name, None)
        for key in [k for k in hooks or () if k not in keep]:
            del hooks[key]
