"""Towers and attention kinds, read off the module tree and the model's own configuration.

A tower is a sub-model with a configuration of its own: the module whose ``config`` *is* one of the root
config's sub-configs (CLIP's ``text_config`` and ``vision_config``, a vision-language model's language model
and vision encoder), or the encoder and decoder an encoder-decoder model hands out (``get_encoder()``,
``get_decoder()``). An attention module is self- or cross-attention by its class (``…CrossAttention``), its
``is_cross_attention`` flag, or — in the decoder of an encoder-decoder model — by not being causal: the
decoder's own attention is causal, the one that reads the encoder is not. No per-model name list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from torch import nn

SELF, CROSS = "self", "cross"
# Config keys read per tower; generic spellings across families, not a list per model.
_HIDDEN = ("hidden_size", "d_model", "n_embd", "dim", "embed_dim")
_POSITIONS = ("max_position_embeddings", "n_positions", "max_seq_len")


@dataclass(frozen=True)
class Tower:
    """One sub-model: where it lives and the sizes a plan or a memory estimate reads from its config."""

    name: str  # "vision", "text", "audio", "encoder", "decoder", or another sub-config's name
    prefix: str  # the module name it lives under
    hidden_size: int | None
    positions: int | None  # the longest token sequence it takes (text), when its config says
    image_size: int | None = None
    patch_size: int | None = None
    num_blocks: int = 0

    @property
    def patches(self) -> int | None:
        """Image patches a vision tower sees: (image size / patch size)², from its config."""
        if not self.image_size or not self.patch_size:
            return None
        return (self.image_size // self.patch_size) ** 2

    def holds(self, name: str) -> bool:
        return name == self.prefix or name.startswith(self.prefix + ".")


def _int(config: object, keys: tuple[str, ...]) -> int | None:
    for key in keys:
        value = getattr(config, key, None)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def _side(config: object, key: str) -> int | None:
    """An image or patch size: one int, or (height, width) of a square."""
    value = getattr(config, key, None)
    if isinstance(value, list | tuple) and value and all(v == value[0] for v in value):
        value = value[0]
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _tower(name: str, prefix: str, config: object) -> Tower:
    return Tower(
        name=name,
        prefix=prefix,
        hidden_size=_int(config, _HIDDEN),
        positions=_int(config, _POSITIONS),
        image_size=_side(config, "image_size"),
        patch_size=_side(config, "patch_size"),
    )


def find_towers(model: nn.Module, modules: Mapping[str, nn.Module]) -> list[Tower]:
    """The model's towers, outermost module each, in model order; none unless there are at least two."""
    root = getattr(model, "config", None)
    towers: dict[str, Tower] = {}
    for key in getattr(root, "sub_configs", None) or {}:
        sub = getattr(root, key, None)
        if sub is None or sub is root:
            continue
        prefix = next((n for n, m in modules.items() if n and getattr(m, "config", None) is sub), None)
        if prefix is not None:
            name = key.removesuffix("_config")
            towers.setdefault(name, _tower(name, prefix, sub))
    if getattr(root, "is_encoder_decoder", False):
        for name, getter in (("encoder", "get_encoder"), ("decoder", "get_decoder")):
            prefix = _name_of(model, getter, modules)
            if prefix and name not in towers and not any(t.holds(prefix) for t in towers.values()):
                config = getattr(modules[prefix], "config", root)
                towers[name] = _tower(name, prefix, config)
    found = sorted(towers.values(), key=lambda t: list(modules).index(t.prefix))
    return found if len(found) >= 2 else []


def _name_of(model: nn.Module, getter: str, modules: Mapping[str, nn.Module]) -> str | None:
    try:
        part = getattr(model, getter)()
    except (AttributeError, NotImplementedError, TypeError):
        return None
    return next((n for n, m in modules.items() if m is part), None)


def tower_of(name: str, towers: list[Tower]) -> Tower | None:
    """The innermost tower holding module ``name`` (towers do not nest in practice; the longest prefix wins)."""
    held = [t for t in towers if t.holds(name)]
    return max(held, key=lambda t: len(t.prefix)) if held else None


def attention_kind(name: str, modules: Mapping[str, nn.Module], decoder: Tower | None) -> str | None:
    """The attention kind of module ``name``: "self" or "cross" inside attention, None outside it.

    An attention module is an ancestor whose class name ends in "Attention" (LlamaAttention, T5Attention,
    T5LayerCrossAttention, BertSelfAttention, nn.MultiheadAttention); a decoder layer that merely holds one
    (MllamaCrossAttentionDecoderLayer) is not, so its MLP stays outside attention.
    """
    parts = name.split(".")
    ancestors = [modules.get(".".join(parts[:i])) for i in range(len(parts) - 1, 0, -1)]
    attention = [m for m in ancestors if m is not None and type(m).__name__.lower().endswith("attention")]
    if not attention:
        return None
    for module in attention:
        if "cross" in type(module).__name__.lower() or getattr(module, "is_cross_attention", False) is True:
            return CROSS
    if decoder is not None and decoder.holds(name):
        causal = next((m.is_causal for m in attention if isinstance(getattr(m, "is_causal", None), bool)), None)
        if causal is False:  # the decoder attends to itself causally; what it does not mask reads the encoder
            return CROSS
    return SELF
