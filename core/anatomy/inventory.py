"""Every module LoRA can adapt, read off a (meta-device) model once.

The inventory keeps what budgets need — names, shapes, parameter counts, biases —
so that recomputing a budget never walks the model again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from torch import nn

from core.anatomy.names import EXPERT_CLASS_WORDS
from core.anatomy.structure import Tower, attention_kind, find_towers, tower_of
from core.limits import check_deadline

_BLOCK_INDEX = re.compile(r"\.(\d+)(?:\.|$)")
KINDS = {
    "Linear": "linear",
    "Conv1D": "conv1d-transposed",  # transformers' GPT-2 style: weight stored (in, out)
    "Embedding": "embedding",
    "Conv1d": "conv",
    "Conv2d": "conv",
    "Conv3d": "conv",
}


@dataclass(frozen=True)
class LayerInfo:
    """One module PEFT's LoRA accepts, with the shapes its A and B matrices depend on."""

    name: str
    short_name: str
    block: int | None
    kind: str
    class_name: str
    in_features: int
    out_features: int
    has_bias: bool
    params: int
    kernel: tuple[int, ...] = ()
    groups: int = 1
    experts: int = 1  # >1 for fused MoE expert weights, adapted by PEFT as target_parameters
    tower: str | None = None  # the sub-model it sits in (core.anatomy.structure), where a model has several
    attention: str | None = None  # "self" or "cross" inside attention, else None

    @property
    def kernel_size(self) -> int:
        size = 1
        for k in self.kernel:
            size *= k
        return size


@dataclass(frozen=True)
class ModuleInfo:
    """Any module (adaptable or not): for modules_to_save copies and PEFT's refusals."""

    name: str
    class_name: str
    params: int  # unique parameters under it, recursively
    bias_params: int  # parameters named *.bias under it, recursively
    adaptable: bool


@dataclass(frozen=True, eq=False)  # identity hash: budgets cache per inventory
class Inventory:
    model_type: str
    class_name: str
    total_params: int
    bias_params: int  # every parameter named ``*.bias`` (PEFT's bias="all")
    num_blocks: int
    hidden_size: int | None
    layers: tuple[LayerInfo, ...]
    modules: tuple[ModuleInfo, ...]
    output_embedding: str | None  # excluded by PEFT's all-linear
    model: nn.Module | None = field(default=None, compare=False, repr=False)
    towers: tuple[Tower, ...] = ()  # two or more sub-models (vision/text, encoder/decoder), else none

    def tower(self, name: str | None) -> Tower | None:
        return next((t for t in self.towers if t.name == name), None)

    def layer(self, name: str) -> LayerInfo | None:
        return self._by_name().get(name)

    def _by_name(self) -> dict[str, LayerInfo]:
        cache = self.__dict__.get("_layer_index")
        if cache is None:
            cache = {layer.name: layer for layer in self.layers}
            object.__setattr__(self, "_layer_index", cache)
        return cache

    def short_names(self) -> list[str]:
        """Distinct short names in model order."""
        return list(dict.fromkeys(layer.short_name for layer in self.layers))


def block_index(name: str) -> int | None:
    """The first numbered segment, as PEFT's ``layers_to_transform`` reads it."""
    match = _BLOCK_INDEX.search(name)
    return int(match.group(1)) if match else None


def _adaptable_kind(module: nn.Module) -> str | None:
    from transformers.pytorch_utils import Conv1D

    if isinstance(module, Conv1D):
        return KINDS["Conv1D"]
    if isinstance(module, nn.Linear):  # subclasses too, e.g. Falcon's Linear
        return KINDS["Linear"]
    if isinstance(module, nn.Embedding):
        return KINDS["Embedding"]
    if isinstance(module, nn.Conv1d | nn.Conv2d | nn.Conv3d):
        return KINDS["Conv2d"]
    return None


def _layer_info(name: str, module: nn.Module, kind: str) -> LayerInfo:
    short = name.rsplit(".", 1)[-1]
    bias = getattr(module, "bias", None)
    params = sum(p.numel() for p in module.parameters(recurse=False))
    if kind == "embedding":
        fan_in, fan_out, kernel, groups = module.num_embeddings, module.embedding_dim, (), 1
    elif kind == "conv":
        fan_in, fan_out = module.in_channels, module.out_channels
        kernel, groups = tuple(module.kernel_size), module.groups
    elif kind == "conv1d-transposed":
        fan_in, fan_out = module.weight.shape
        kernel, groups = (), 1
    else:
        fan_in, fan_out, kernel, groups = module.in_features, module.out_features, (), 1
    return LayerInfo(
        name=name,
        short_name=short,
        block=block_index(name),
        kind=kind,
        class_name=type(module).__name__,
        in_features=int(fan_in),
        out_features=int(fan_out),
        has_bias=bias is not None,
        params=int(params),
        kernel=kernel,
        groups=int(groups),
    )


def list_adaptable_layers(model: nn.Module) -> Inventory:
    """Walk the model once and record everything a budget needs."""
    layers: list[LayerInfo] = []
    modules: list[ModuleInfo] = []
    by_name: dict[str, nn.Module] = {}
    for name, module in model.named_modules(remove_duplicate=False):
        check_deadline()  # a no-op unless a caller set one (core.models.meta.meta_inventory)
        by_name.setdefault(name, module)
        kind = _adaptable_kind(module)
        if kind is not None and name:
            layers.append(_layer_info(name, module, kind))
        if name:
            layers.extend(_expert_params(name, module))
        params, biases = _unique_counts(module)
        modules.append(ModuleInfo(name, type(module).__name__, params, biases, kind is not None))
    total, bias_total = _unique_counts(model)
    towers = find_towers(model, by_name)
    layers = _place(layers, towers, by_name)
    blocks = [layer.block for layer in layers if layer.block is not None]
    config = getattr(model, "config", None)
    return Inventory(
        model_type=str(getattr(config, "model_type", type(model).__name__)),
        class_name=type(model).__name__,
        total_params=total,
        bias_params=bias_total,
        num_blocks=max(blocks) + 1 if blocks else 0,
        hidden_size=_hidden_size(config),
        layers=tuple(layers),
        modules=tuple(modules),
        output_embedding=_output_embedding_name(model),
        model=model,
        towers=tuple(replace(t, num_blocks=len({x.block for x in layers if x.tower == t.name and x.block is not None}))
                     for t in towers),
    )


def _place(layers: list[LayerInfo], towers: list[Tower], modules: dict[str, nn.Module]) -> list[LayerInfo]:
    """Each layer's tower and attention kind (self or cross), read off the module tree."""
    decoder = next((t for t in towers if t.name == "decoder"), None)
    placed = []
    for layer in layers:
        tower = tower_of(layer.name, towers)
        kind = attention_kind(layer.name, modules, decoder)
        placed.append(replace(layer, tower=tower.name if tower else None, attention=kind))
    return placed


def _expert_params(name: str, module: nn.Module) -> list[LayerInfo]:
    """Fused MoE expert weights and routers (transformers v5): PEFT adapts them as parameters."""
    found = []
    cls = type(module).__name__.lower()
    if not any(word in cls for word in EXPERT_CLASS_WORDS):
        return found
    for param_name, param in module.named_parameters(recurse=False):
        if param.dim() in (2, 3):
            experts, dim_a, dim_b = param.shape if param.dim() == 3 else (1, *param.shape)
            found.append(
                LayerInfo(
                    name=f"{name}.{param_name}",
                    short_name=f"{name.rsplit('.', 1)[-1]}.{param_name}",
                    block=block_index(name),
                    kind="expert-param",
                    class_name="Parameter",
                    in_features=int(dim_b),
                    out_features=int(dim_a),
                    has_bias=False,
                    params=int(param.numel()),
                    experts=int(experts),
                )
            )
    return found


def _unique_counts(module: nn.Module) -> tuple[int, int]:
    total = biases = 0
    for name, param in module.named_parameters():
        total += param.numel()
        if name == "bias" or name.endswith(".bias"):
            biases += param.numel()
    return total, biases


def _hidden_size(config: object) -> int | None:
    for source in (config, getattr(config, "text_config", None)):
        for key in ("hidden_size", "d_model", "n_embd", "dim"):
            value = getattr(source, key, None)
            if isinstance(value, int):
                return value
    return None


def _output_embedding_name(model: nn.Module) -> str | None:
    getter = getattr(model, "get_output_embeddings", None)
    try:
        out = getter() if getter else None
    except (AttributeError, NotImplementedError):
        out = None
    if out is None:
        return None
    return next((n for n, m in model.named_modules() if m is out), None)
