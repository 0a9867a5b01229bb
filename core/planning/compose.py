"""Saved-for-backward bytes of any LoRA layout, composed from one tape of the model with every module adapted.

A plan change (targets, ranks, rank_pattern, α, layers, exclusions) then costs no forward and no PEFT wrap: the
tape is traced once per model, memory settings and plan shape (dropout on or off, DoRA, bias mode, modules to
save, what is adapted outside the blocks), and answers every layout of the blocks' linear layers exactly as a
trace of that layout would (tests/test_memory_compose.py holds the two equal).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import torch
from torch import nn

from core.compat import checkpointing_flags_only
from core.planning.attention import AttentionKind
from core.planning.saved import SavedActivations, positions, rank_of, re_exact
from core.planning.tape import ALWAYS, ALWAYS_SET, TapeRecorder, watch_lora
from core.planning.tracing import (
    Stack,
    cached,
    dummy_batch,
    few_block_copy,
    parameter_storages,
    run_recorded,
    split_name,
    stacks_of,
)

KINDS = ("linear", "conv1d-transposed")  # the layers the tape adapts (PEFT's lora.Linear)
MAX_UNIVERSE = 64  # adaptable layers per block beyond which a tape costs more than it saves: trace the plan


@dataclass(eq=False)
class Tape:
    rec: TapeRecorder
    stacks: tuple[Stack, ...]
    universe: dict[tuple[int, int], frozenset[str]]  # traced block (stack, 0 or 1) -> its adapted layers
    model: nn.Module | None = None  # kept alive: a freed parameter's storage address could come back in a replay
    calls: dict[object, list] = field(default_factory=dict)  # tag -> its calls, in order
    lock: threading.Lock = field(default_factory=threading.Lock)  # replays fill per-call caches


def rep(stack: Stack, k: int, idx: int) -> tuple[int, int]:
    """The traced block that stands for block ``idx``: the first block, or the second for all the others."""
    return (k, 0 if idx == 0 or stack.size == 1 else 1)


def universe_of(inventory, stacks: Sequence[Stack]) -> dict[tuple[int, int], frozenset[str]]:
    """The linear layers of each stack's first two blocks, by their names inside the block."""
    found: dict[tuple[int, int], set[str]] = {(k, i): set() for k, s in enumerate(stacks) for i in range(min(2, s.size))}
    for layer in inventory.layers:
        where = split_name(layer.name, stacks)
        if where and layer.kind in KINDS and where[1] < 2:
            found[(where[0], where[1])].add(where[2])
    return {tag: frozenset(names) for tag, names in found.items()}


@dataclass(eq=False)
class Adapted:
    """The few-block copy with every layer of the universe adapted: one per plan shape and dtype, shared by the
    tapes of every batch size and sequence length (hooks are added for one recording at a time)."""

    model: nn.Module
    tags: dict[nn.Module, tuple[int, int]]
    wrappers: list[tuple[nn.Module, tuple]]
    colours: dict[int, frozenset]
    params: set[int]
    lock: threading.Lock = field(default_factory=threading.Lock)


def adapt_copy(model: nn.Module, stacks: Sequence[Stack], universe, lora_config, outside: dict[str, int],
               precision: str, checkpointing: bool) -> Adapted:
    """The first two blocks of each stack, every layer of ``universe`` adapted at rank 1, the modules outside
    the blocks as the plan adapts them; each trainable parameter coloured by the LoRA module it belongs to."""
    from peft import get_peft_model

    keep = [[0, 1] if s.size > 1 else [0] for s in stacks]
    meta = few_block_copy(model, stacks, keep, precision)
    if checkpointing:
        if hasattr(meta.config, "use_cache"):
            meta.config.use_cache = False
        if getattr(meta, "supports_gradient_checkpointing", False):
            checkpointing_flags_only(meta, False)
    names = [f"{stacks[k].prefix}.{i}.{rest}" for (k, i), rests in universe.items() for rest in rests]
    config = replace(lora_config, r=1, target_modules=sorted([*names, *outside]), layers_to_transform=None,
                     layers_pattern=None, rank_pattern={re_exact(n): r for n, r in outside.items()},
                     alpha_pattern={}, exclude_modules=None, target_parameters=None, init_lora_weights=True)
    with torch.device("meta"):  # per thread; PEFT's low_cpu_mem_usage patches torch for the whole process
        peft_model = get_peft_model(meta, config)
    peft_model.train()
    root = peft_model.get_submodule("base_model.model")
    tags = {root.get_submodule(stacks[k].prefix)[i]: (k, i) for (k, i) in universe}
    colours, wrappers = {}, []
    for (k, i), rests in universe.items():
        for rest in rests:
            wrapper = root.get_submodule(f"{stacks[k].prefix}.{i}.{rest}")
            source = ((k, i), rest)
            wrappers.append((wrapper, source))
            base = set(map(id, wrapper.get_base_layer().parameters()))
            for p in wrapper.parameters():  # its LoRA weights, and its bias where bias="lora_only"
                if p.requires_grad and (id(p) not in base or config.bias == "lora_only"):
                    colours[id(p)] = frozenset({source})
    for p in peft_model.parameters():
        if p.requires_grad and id(p) not in colours:
            colours[id(p)] = ALWAYS_SET  # trained by every plan of this shape (modules to save, bias="all")
    return Adapted(peft_model, tags, wrappers, colours, parameter_storages(peft_model))


def record_tape(adapted: Adapted, stacks: Sequence[Stack], universe, task: str, settings,
                attention: AttentionKind, inflow: bool) -> Tape | None:
    """One forward of the adapted copy, taped; None where the tape could not follow every gradient."""
    with adapted.lock:
        rec = TapeRecorder(adapted.params, attention, settings.device, adapted.colours)
        hooks = [h for wrapper, source in adapted.wrappers for h in watch_lora(rec, wrapper, source)]
        meta = adapted.model.get_submodule("base_model.model")
        try:
            run_recorded(adapted.model, dummy_batch(meta, task, settings.batch_size, settings.seq_len), rec,
                         adapted.tags, inflow or settings.gradient_checkpointing)
        finally:
            for h in hooks:
                h.remove()
    tape = Tape(rec, tuple(stacks), dict(universe), adapted.model)
    for call in rec.calls:
        tape.calls.setdefault(call.tag, []).append(call)
    return tape if rec.unsafe is None and not rec.orphans and _colours_follow_blocks(tape) else None


def _own(tape: Tape, tag: tuple[int, int]) -> set:
    return {("in", tag), *((tag, rest) for rest in tape.universe[tag])}


def _colours_follow_blocks(tape: Tape) -> bool:
    """Each block's calls depend only on its own sources and on earlier stacks' last blocks (cross-attention);
    what follows a stack, on the last blocks so far: so one block's layout can be switched at a time."""
    last = [set() for _ in tape.stacks]
    for k, stack in enumerate(tape.stacks):
        last[k] = _own(tape, rep(stack, k, stack.size - 1))
    for tag, calls in tape.calls.items():
        k = tag[1] if tag[0] == "after" else tag[0]
        allowed = {ALWAYS}.union(*last[: k + 1] if tag[0] == "after" else last[:k])
        if tag[0] != "after":
            allowed |= _own(tape, tag)
        if any(c - allowed for call in calls for c in call.colours):
            return False
    ran = tape.rec.hidden
    return all((tag in ran) == ((tag[0], 0) in ran) for tag in tape.universe)  # a stack runs whole or not at all


def _on(colours: frozenset, assign: dict) -> bool:
    return any(assign.get(c, False) for c in colours)


def _saved_keys(tape: Tape, tag: object, assign: dict) -> list:
    """Storage keys the calls of ``tag`` save under ``assign`` (sources on or off), in order, once each."""
    rec, keys = tape.rec, []
    for call in tape.calls.get(tag, ()):
        if call.guard is not None and not assign.get(call.guard, False):
            continue  # a LoRA module's own call, where the layout does not adapt it
        pattern = tuple(_on(c, assign) for c in call.colours)
        if any(pattern):
            keys += rec.replay(call, pattern)
    return list(dict.fromkeys(keys))


def _nbytes(tape: Tape, key: object, ranks: dict[str, int]) -> int:
    scaled = tape.rec.rank_scaled.get(key)
    return tape.rec.nbytes[key] * (ranks.get(scaled[1], 1) if scaled else 1)


def compose(tape: Tape, layouts: list[dict[int, dict[str, int]]]):
    """SavedActivations of the layout (per stack: block -> {layer: rank}); None where the tape cannot say."""
    with tape.lock:
        try:
            return _compose(tape, layouts)
        except RuntimeError:  # a replayed call refused its inputs (an in-place call on one needing a gradient)
            return None


def _compose(tape: Tape, layouts):
    """Forward order, as a trace counts: what precedes the blocks, each stack's blocks, what follows each stack;
    a storage saved in several places counts where first saved, except what a block makes (its own per block)."""
    rec, glob, seen = tape.rec, {ALWAYS: True}, set()

    def segment(tag: object) -> int:
        keys = _saved_keys(tape, tag, glob)
        n = sum(_nbytes(tape, key, {}) for key in keys if key not in seen)
        seen.update(keys)
        return n

    segments, stacks = [segment(("after", -1))], []
    for k, stack in enumerate(tape.stacks):
        if (k, 0) not in rec.hidden:  # a tower this task's inputs do not reach (Gemma 3's vision for text)
            stacks.append(((0, 0, 0),) * stack.size)
        else:
            done = _blocks(tape, k, layouts[k], glob, seen)
            if done is None:
                return None
            blocks, last = done
            glob = {**glob, **{c: v for c, v in last.items() if c not in glob}}  # the stack's last block, from now
            stacks.append(blocks)
        segments.append(segment(("after", k)))
    return SavedActivations(tuple(segments), tuple(stacks), sum(rec.shared.values()))


def _blocks(tape: Tape, k: int, layout_of_block: dict, glob: dict, seen: set):
    """Per block of stack ``k`` (saved, hidden input, recomputed) and the last block's sources; one evaluation
    per (traced block, gradient flows in, layout), as a trace keeps one block per such case."""
    rec, stack = tape.rec, tape.stacks[k]
    flow, out_saved, assign = _on(rec.hidden[(k, 0)][1], glob), False, glob
    memo: dict[tuple, tuple] = {}
    blocks = []
    for idx in range(stack.size):
        tag = rep(stack, k, idx)
        layout = layout_of_block.get(idx, {})
        if not set(layout) <= tape.universe[tag] or (flow and not rec.hidden[tag][2]):
            return None  # a layer the tape did not adapt, or a gradient its trace did not have
        case = (tag, flow, tuple(sorted(layout.items())))
        if case not in memo:
            assign = {**glob, ("in", tag): flow, **{(tag, rest): True for rest in layout}}
            keys = _saved_keys(tape, tag, assign)
            saved = sum(_nbytes(tape, key, layout) for key in keys if _counted(tape, key, tag, seen, idx, out_saved))
            again = sum(_nbytes(tape, key, layout) for key in keys if key not in rec.kept[tag])
            seen.update(keys)
            memo[case] = ((saved, rec.inputs[tag], again), _on(rec.out_colours[tag], assign),
                          rec.out_key[tag] in keys, assign)
        block, flow, out_saved, assign = memo[case]
        blocks.append(block)
    return tuple(blocks), assign


def _counted(tape: Tape, key: object, tag: tuple, seen: set, idx: int, handed_on_saved: bool) -> bool:
    """Whether block ``idx`` counts ``key``: what it makes, always (its own in every block it stands for); its
    hidden input, unless the block before saved it as its output; anything else, where first saved."""
    if tape.rec.origin.get(key) == tag:
        return True
    if key == tape.rec.hidden[tag][0] and idx > 0:
        return not handed_on_saved
    return key not in seen


_TAPES: dict = {}  # (model, settings, plan shape) -> (weak model, tape or None); bounded
_TAPES_SIZE = 8
_ADAPTED: dict = {}  # (model, plan shape, dtype, checkpointing) -> (weak model, Adapted); bounded
_ADAPTED_SIZE = 4


def composed_activations(model: nn.Module, inventory, budget, lora_config, task: str, settings,
                         attention: AttentionKind, inflow: bool):
    """SavedActivations of the plan from the model's tape, or None where a trace of the plan must answer
    (reentrant checkpointing, parameter targets, modules to save inside the blocks, layers the tape lacks)."""
    if (settings.gradient_checkpointing and settings.reentrant) or getattr(lora_config, "target_parameters", None):
        return None
    if getattr(lora_config, "init_lora_weights", True) == "mica":  # a frozen B saves less: trace the plan
        return None
    stacks = stacks_of(model)
    if any(split_name(n, stacks) is not None for n in budget.saved_modules):
        return None
    where = positions(inventory, stacks)
    per_block: list[dict[int, dict[str, int]]] = [{} for _ in stacks]
    outside: dict[str, int] = {}
    for m in budget.modules:
        if m.lora_params:
            if inventory.layer(m.name) is None:
                return None  # a parameter target (fused MoE experts): not a layer
            at = where.get(m.name)
            if at is None:
                outside[m.name] = rank_of(m, inventory)
            else:
                per_block[at[0]].setdefault(at[1], {})[at[2]] = rank_of(m, inventory)
    universe = cached(model, ("universe",), lambda: universe_of(inventory, stacks))
    if any(len(rests) > MAX_UNIVERSE for rests in universe.values()):
        return None
    shape = replace(lora_config, r=1, lora_alpha=1, target_modules=None, rank_pattern={}, alpha_pattern={},
                    layers_to_transform=None, layers_pattern=None, exclude_modules=None, use_rslora=False,
                    init_lora_weights=True, lora_dropout=0.5 if lora_config.lora_dropout > 0 else 0.0)
    copy_key = ("adapted", repr(shape), tuple(sorted(outside.items())), settings.precision,
                settings.gradient_checkpointing)

    def make() -> Tape | None:
        try:
            adapted = cached(model, copy_key, lambda: adapt_copy(model, stacks, universe, shape, outside,
                                                                 settings.precision, settings.gradient_checkpointing),
                             _ADAPTED, _ADAPTED_SIZE)
            return record_tape(adapted, stacks, universe, task, settings, attention, inflow)
        except Exception:  # noqa: BLE001 - an architecture the tape cannot follow: a trace of the plan answers
            return None

    tape = cached(model, (*copy_key, task, settings, attention, inflow), make, _TAPES, _TAPES_SIZE)
    if tape is None:
        return None
    return compose(tape, per_block)
