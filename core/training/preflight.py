"""Fit before download: the memory planner's estimate of a run against this machine's free memory, before any weights."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from core.errors import LensError
from core.i18n import human_bytes
from core.models.spec import ModelSpec
from core.planning.memory import MemoryEstimate, MemorySettings
from core.planning.plan import LoraPlan
from core.training.settings import TrainSettings

MIN_MARGIN = 256 * 2**20  # the Python process, tokenizer and batches the planner does not count
MARGIN = 0.10  # of the free memory: allocator fragmentation, other sessions' small allocations
MIN_SEQ = 64  # shorter sequences are no longer a useful fine-tune


@dataclass(frozen=True)
class Fit:
    """One run against one machine: bytes the planner estimates, bytes usable now (after the margin)."""

    device: str  # "cuda" or "cpu"
    needed: int
    usable: int

    @property
    def fits(self) -> bool:
        return self.needed <= self.usable


def _meminfo_available(path: Path = Path("/proc/meminfo")) -> int | None:
    try:
        for line in path.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _cgroup_free(root: Path = Path("/sys/fs/cgroup")) -> int | None:
    """What a container may still allocate (a Space's limit is far below the host's RAM that /proc/meminfo shows)."""
    for limit, used in (("memory.max", "memory.current"), ("memory/memory.limit_in_bytes", "memory/memory.usage_in_bytes")):
        try:
            cap = (root / limit).read_text().strip()
            if cap.isdigit() and int(cap) < 2**60:
                return int(cap) - int((root / used).read_text().strip())
        except (OSError, ValueError):
            continue
    return None


def available_memory() -> tuple[str, int | None]:
    """(device, bytes free now): the CUDA device's free memory, else RAM available to this process; None if unknown."""
    import torch

    if torch.cuda.is_available():
        free, _total = torch.cuda.mem_get_info()
        return "cuda", int(free)
    known = [n for n in (_meminfo_available(), _cgroup_free()) if n is not None]
    return "cpu", min(known) if known else None


def usable(free: int) -> int:
    return max(0, free - max(MIN_MARGIN, int(free * MARGIN)))


def memory_settings(task: str, settings: TrainSettings, device: str) -> MemorySettings:
    """What the engine runs: base weights in fp32 (the recipe's loader; bf16/fp16 is autocast, so this is an upper
    bound), the Trainer's AdamW, each batch padded at most to the sequence length."""
    return MemorySettings("fp32", settings.batch_size, settings.seq_len_for(task), settings.gradient_checkpointing,
                          "adamw", device)  # fmt: skip


def _estimators(spec: ModelSpec, plans: list[LoraPlan], token: str | None) -> list[Callable[[MemorySettings], MemoryEstimate]]:
    """Config only (no weights): one meta build and its inventory for the model, each plan's budget, then the
    planner."""
    from core.anatomy.inventory import list_adaptable_layers
    from core.models.meta import build_meta_model
    from core.models.sources import load_config
    from core.planning.budget import compute_budget
    from core.planning.memory import estimate_training_memory

    mc = load_config(ModelSpec(spec.source, spec.ref, plans[0].task, spec.num_labels), token=token)
    inventory = list_adaptable_layers(build_meta_model(mc))

    def estimator(plan: LoraPlan) -> Callable[[MemorySettings], MemoryEstimate]:
        budget = compute_budget(inventory, plan)  # refuses a modules_to_save name that matches nothing
        return lambda ms: estimate_training_memory(inventory, budget, ms, config=mc.config, plan=plan)

    return [estimator(plan) for plan in plans]


def _smaller(ms: MemorySettings) -> Iterator[MemorySettings]:
    """Ever cheaper settings, the smallest change first: checkpointing, then halving the batch, then the sequence."""
    ms = replace(ms, gradient_checkpointing=True)
    yield ms
    while ms.batch_size > 1:
        ms = replace(ms, batch_size=max(1, ms.batch_size // 2))
        yield ms
    while ms.seq_len > MIN_SEQ:
        ms = replace(ms, seq_len=max(MIN_SEQ, ms.seq_len // 2))
        yield ms


def check_fits(spec: ModelSpec, plan: LoraPlan, settings: TrainSettings, token: str | None = None) -> Fit | None:
    """Refuse a run whose estimate exceeds the memory free on this machine, saying what would make it fit, and a
    ``modules_to_save`` name that matches nothing. Reads the config (one small download for a Hub model) but never
    weights; ``None`` when the free memory is unknown."""
    (estimate,) = _estimators(spec, [plan], token)
    device, free = available_memory()
    if free is None:
        return None
    ms = memory_settings(plan.task, settings, device)
    fit = Fit(device, estimate(ms).total, usable(free))
    if fit.fits:
        return fit
    raise _refusal(fit, ms, estimate)


def _refusal(fit: Fit, ms: MemorySettings, estimate: Callable[[MemorySettings], MemoryEstimate]) -> LensError:
    sizes = {"needed": human_bytes(fit.needed), "available": human_bytes(fit.usable), "device": fit.device.upper()}
    candidate, least = ms, fit.needed
    for candidate in _smaller(ms):
        least = estimate(candidate).total
        if least <= fit.usable:
            return LensError("train.wont_fit", **sizes, batch=candidate.batch_size, seq_len=candidate.seq_len,
                             fit_needed=human_bytes(least))  # fmt: skip
    params = {**sizes, "seq_len": candidate.seq_len, "least": human_bytes(least)}
    if fit.device == "cuda":  # bitsandbytes' 4-bit base exists on CUDA only
        nf4 = estimate(replace(candidate, precision="nf4")).total
        if nf4 <= fit.usable:
            return LensError("train.wont_fit_model_nf4", **params, nf4_needed=human_bytes(nf4))
    return LensError("train.wont_fit_model", **params)


def side_by_side(spec: ModelSpec, plans: list[LoraPlan], settings: TrainSettings, wanted: int) -> int:
    """How many runs of ``plans`` (one model, one setting) fit this machine's memory at once, each with its own copy
    of the base (the planner's estimate of the largest, against the memory free now); at most ``wanted``, and 1 when
    the free memory is unknown."""
    if wanted <= 1 or not plans:
        return 1
    device, free = available_memory()
    if free is None:
        return 1
    ms = memory_settings(plans[0].task, settings, device)
    needed = max(estimate(ms).total for estimate in _estimators(spec, plans, None))
    return max(1, min(wanted, usable(free) // max(1, needed)))
