"""ΔW anatomy of a LoRA adapter: how large each update is, and how many directions it uses.

For every adapted module ΔW = scaling · B·A. Its singular values come from the
small problem: with B = Q_B R_B and Aᵀ = Q_A R_A (thin QR), ΔW = scaling ·
Q_B (R_B R_Aᵀ) Q_Aᵀ, so σ(ΔW) = |scaling| · σ(R_B R_Aᵀ), an r×r SVD. ΔW itself is
never materialised; ‖ΔW‖_F = √Σσ². Works from a live ``PeftModel`` or from a saved
adapter (state dict + config + base model). Charts live in ``core.charts.delta``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd
import torch
from torch import nn

from core.anatomy.inventory import block_index
from core.errors import LensError

PEFT_PREFIX = "base_model.model."
_LORA_PARTS = ("lora_A", "lora_B", "lora_embedding_A", "lora_embedding_B", "lora_magnitude_vector")
_GENERIC_NAMES = frozenset({"dense", "linear", "proj", "fc", "out", "output", "weight"})


@dataclass(frozen=True)
class DeltaRow:
    """The anatomy of one adapted module's update."""

    module: str  # path inside the base model, e.g. "bert.encoder.layer.0.attention.self.query"
    short_name: str  # last path component, e.g. "query"
    group: str  # module group for charts: the short name, or the in-block path when generic
    block: int | None  # transformer block index; None outside the blocks (embeddings)
    kind: str  # "linear" | "conv1d" | "embedding" | "conv"
    r: int
    scaling: float
    delta_norm: float  # ‖ΔW‖_F
    weight_norm: float  # ‖W‖_F of the frozen base weight
    ratio: float  # ‖ΔW‖_F / ‖W‖_F
    singular_values: tuple[float, ...]  # σ(ΔW), descending, at most r of them
    effective_rank: float  # exp(entropy of σ/Σσ), Roy & Vetterli 2007; 0 when ΔW = 0
    rank_share: float  # effective_rank / r
    dora: bool = False
    magnitude_shift: float | None = None  # DoRA: ‖m − ‖W‖_row‖ / ‖‖W‖_row‖ (0 at the usual init)


@dataclass
class LoraFactors:
    """The raw pieces of one adapted module (not frozen: it holds tensors)."""

    module: str
    kind: str
    lora_a: torch.Tensor  # (r, in), flattened
    lora_b: torch.Tensor  # (out, r), flattened
    scaling: float
    base_weight: torch.Tensor
    magnitude: torch.Tensor | None = None


# --- maths ---------------------------------------------------------------------


def singular_values(lora_a: torch.Tensor, lora_b: torch.Tensor, scaling: float) -> torch.Tensor:
    """σ(scaling · B·A) in float64, descending, from the r×r route (QR of B and Aᵀ)."""
    a = lora_a.detach().to(torch.float64).reshape(lora_a.shape[0], -1)
    b = lora_b.detach().to(torch.float64).reshape(lora_b.shape[0], -1)
    _, r_b = torch.linalg.qr(b, mode="reduced")
    _, r_a = torch.linalg.qr(a.T, mode="reduced")
    return torch.linalg.svdvals(r_b @ r_a.T) * abs(float(scaling))


def effective_rank(values: torch.Tensor | Sequence[float]) -> float:
    """Roy & Vetterli's effective rank: exp of the Shannon entropy of σ / Σσ."""
    sv = torch.as_tensor(values, dtype=torch.float64).abs()
    total = float(sv.sum())
    if not total > 0 or not math.isfinite(total):
        return 0.0
    p = sv[sv > 0] / total
    return float(torch.exp(-(p * p.log()).sum()))


def _magnitude_shift(magnitude: torch.Tensor, weight: torch.Tensor) -> float | None:
    """How far DoRA's magnitude vector moved from its start, the row norms of W."""
    m = magnitude.detach().to(torch.float64).reshape(-1)
    w = weight.detach().to(torch.float64).reshape(weight.shape[0], -1)
    for oriented in (w, w.T):
        if oriented.shape[0] == m.numel():
            start = oriented.norm(dim=1)
            return float((m - start).norm() / start.norm().clamp_min(1e-30))
    return None


# --- names ---------------------------------------------------------------------


def module_group(module: str) -> str:
    """The short name, or the path inside the block when the short name is generic
    (BERT has three ``dense`` layers per block: ``attention.output.dense``,
    ``intermediate.dense``, ``output.dense``)."""
    parts = module.split(".")
    if parts[-1] not in _GENERIC_NAMES:
        return parts[-1]
    digits = [i for i, p in enumerate(parts) if p.isdigit()]
    return ".".join(parts[digits[0] + 1 :] if digits else parts[-2:])


def _strip_prefix(name: str) -> str:
    return name.removeprefix(PEFT_PREFIX)


# --- rows ----------------------------------------------------------------------


def analyse(factors: LoraFactors) -> DeltaRow:
    """One row of numbers for one module."""
    sv = singular_values(factors.lora_a, factors.lora_b, factors.scaling)
    r = int(factors.lora_a.shape[0])
    delta_norm = float(sv.square().sum().sqrt())
    weight_norm = float(factors.base_weight.detach().to(torch.float64).norm())
    erank = effective_rank(sv)
    shift = None if factors.magnitude is None else _magnitude_shift(factors.magnitude, factors.base_weight)
    return DeltaRow(
        module=factors.module,
        short_name=factors.module.rsplit(".", 1)[-1],
        group=module_group(factors.module),
        block=block_index(factors.module),
        kind=factors.kind,
        r=r,
        scaling=float(factors.scaling),
        delta_norm=delta_norm,
        weight_norm=weight_norm,
        ratio=delta_norm / weight_norm if weight_norm > 0 else float("nan"),
        singular_values=tuple(float(x) for x in sv),
        effective_rank=erank,
        rank_share=erank / r if r else 0.0,
        dora=factors.magnitude is not None,
        magnitude_shift=shift,
    )


def to_frame(rows: Sequence[DeltaRow]) -> pd.DataFrame:
    """A table with one row per module; ``sigma_1`` is the largest singular value."""
    records = []
    for row in rows:
        data = asdict(row)
        data["sigma_1"] = row.singular_values[0] if row.singular_values else 0.0
        data["singular_values"] = list(row.singular_values)
        records.append(data)
    columns = [*DeltaRow.__dataclass_fields__, "sigma_1"]
    frame = pd.DataFrame.from_records(records, columns=columns)
    return frame.astype({"block": "Int64"})


# --- from a live PeftModel -----------------------------------------------------


def _base_kind(base: nn.Module, module: str = "?") -> str:
    from transformers.pytorch_utils import Conv1D

    if isinstance(base, Conv1D):
        return "conv1d"
    if isinstance(base, nn.Embedding):
        return "embedding"
    if isinstance(base, nn.Linear):
        return "linear"
    if isinstance(base, nn.Conv1d | nn.Conv2d | nn.Conv3d):
        return "conv"
    raise LensError("analysis.unsupported_layer", module=module, kind=type(base).__name__)


def _layer_factors(name: str, layer: Any, adapter: str) -> LoraFactors | None:
    base = layer.get_base_layer()
    if adapter in getattr(layer, "lora_A", {}):
        a, b = layer.lora_A[adapter].weight, layer.lora_B[adapter].weight
    elif adapter in getattr(layer, "lora_embedding_A", {}):
        a, b = layer.lora_embedding_A[adapter], layer.lora_embedding_B[adapter]
    else:
        return None
    magnitude = None
    if getattr(layer, "use_dora", {}).get(adapter) and adapter in layer.lora_magnitude_vector:
        magnitude = layer.lora_magnitude_vector[adapter].weight
    kind = _base_kind(base, name)
    return LoraFactors(name, kind, a, b, float(layer.scaling[adapter]), base.weight, magnitude)


def delta_from_peft(model: nn.Module, adapter_name: str | None = None) -> list[DeltaRow]:
    """ΔW rows for every LoRA module of a ``PeftModel`` (the active adapter by default)."""
    from peft.tuners.lora import LoraLayer

    adapter = adapter_name or getattr(model, "active_adapter", None) or "default"
    if isinstance(adapter, list | tuple):
        adapter = adapter[0]
    rows = []
    with torch.no_grad():
        for name, layer in model.named_modules():
            if isinstance(layer, LoraLayer):
                factors = _layer_factors(_strip_prefix(name), layer, str(adapter))
                if factors is not None:
                    rows.append(analyse(factors))
    if not rows:
        raise LensError("analysis.no_lora_modules")
    return rows


# --- from a saved adapter ------------------------------------------------------


def split_key(key: str) -> tuple[str, str] | None:
    """``base_model.model.x.y.lora_A.weight`` -> (``x.y``, ``lora_A``); None for other keys."""
    parts = _strip_prefix(key).split(".")
    for i, part in enumerate(parts):
        if part in _LORA_PARTS and i > 0:
            return ".".join(parts[:i]), part
    return None


def _config_value(config: Any, name: str, default: Any) -> Any:
    if isinstance(config, Mapping):
        value = config.get(name, default)
    else:
        value = getattr(config, name, default)
    return default if value is None else value


def config_scaling(config: Any, module: str, r: int) -> float:
    """PEFT's scaling for ``module``: alpha/r (alpha/√r with rsLoRA), honouring alpha_pattern."""
    alpha = float(_config_value(config, "lora_alpha", 8))
    for pattern, value in dict(_config_value(config, "alpha_pattern", {})).items():
        if re.match(rf"(.*\.)?({pattern})$", module):
            alpha = float(value)
            break
    rslora = bool(_config_value(config, "use_rslora", False))
    return alpha / (math.sqrt(r) if rslora else r)


def _expected_shapes(kind: str, weight: torch.Tensor, r: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Shapes A and B must have (flattened) to fit a base weight of this kind."""
    if kind == "conv1d":  # transformers Conv1D stores (in, out)
        return (r, weight.shape[0]), (weight.shape[1], r)
    if kind == "embedding":  # (num_embeddings, dim); A is (r, num), B is (dim, r)
        return (r, weight.shape[0]), (weight.shape[1], r)
    return (r, math.prod(weight.shape[1:])), (weight.shape[0], r)


def _wrong_base(module: str, detail: str) -> LensError:
    return LensError("analysis.wrong_base", module=module, detail=detail)


def factors_for_module(module: str, parts: Mapping[str, torch.Tensor], base_model: nn.Module, config: Any) -> LoraFactors:
    """Check one module's tensors against the base model and bundle them."""
    try:
        base = base_model.get_submodule(module)
    except AttributeError as exc:
        raise _wrong_base(module, "no such module in the base model") from exc
    a = parts.get("lora_A", parts.get("lora_embedding_A"))
    b = parts.get("lora_B", parts.get("lora_embedding_B"))
    if a is None or b is None or a.ndim < 2 or b.ndim < 2:
        raise LensError("analysis.incomplete_adapter", module=module)
    base = getattr(base, "base_layer", base)
    kind, weight = _base_kind(base, module), base.weight
    a2, b2 = a.reshape(a.shape[0], -1), b.reshape(b.shape[0], -1)
    want_a, want_b = _expected_shapes(kind, weight, int(a.shape[0]))
    if tuple(a2.shape) != want_a or tuple(b2.shape) != want_b:
        got = f"A {tuple(a.shape)}, B {tuple(b.shape)}; base weight {tuple(weight.shape)}"
        raise _wrong_base(module, got)
    scaling = config_scaling(config, module, int(a.shape[0]))
    return LoraFactors(module, kind, a2, b2, scaling, weight, parts.get("lora_magnitude_vector"))
