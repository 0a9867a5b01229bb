"""How long one training example is for a model: the memory planner's default and the longest the model takes.

The default comes from the model, never from a constant that may not fit it: a text model's positions (CLIP's
text tower takes 77 tokens), capped at ``DEFAULT_SEQ_LEN`` for long-context models; the image patches a vision
model or a vision tower sees (image size / patch size, squared).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.anatomy.inventory import Inventory

DEFAULT_SEQ_LEN = 512  # tokens per example where the model takes more (or says nothing): a common fine-tune length
_POSITIONS = ("max_position_embeddings", "n_positions", "max_seq_len")
SOURCES = ("text", "patches", "default")  # where a default came from (SequenceDefault.source)


@dataclass(frozen=True)
class SequenceDefault:
    """The sequence length to start from, the longest the model takes (None: not bounded by its config), and
    where the default came from: "text" positions, image "patches", or the "default" constant."""

    seq_len: int
    maximum: int | None
    source: str

    def out_of_range(self, seq_len: int) -> bool:
        return self.maximum is not None and seq_len > self.maximum


def text_positions(config: object) -> int | None:
    """The longest token sequence the (text part of the) model takes, when its config says."""
    getter = getattr(config, "get_text_config", None)
    text = getter() if callable(getter) else config  # multimodal configs: the language model's
    for key in _POSITIONS:
        value = getattr(text, key, None)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def default_sequence(inventory: Inventory, config: object | None = None, tower: str | None = None) -> SequenceDefault:
    """Where to start the sequence length for ``inventory``'s model; ``tower`` narrows it to one tower (the one
    a plan adapts): a vision tower's patches, a text tower's positions."""
    config = config if config is not None else getattr(inventory.model, "config", None)
    maximum = text_positions(config)
    chosen = inventory.tower(tower)
    if chosen is not None and chosen.patches:
        return SequenceDefault(chosen.patches, maximum, "patches")
    if chosen is None and getattr(inventory.model, "main_input_name", None) == "pixel_values":
        patches = _patches(config)
        if patches:
            return SequenceDefault(patches, maximum, "patches")
    positions = chosen.positions if chosen is not None and chosen.positions else maximum
    if positions:
        return SequenceDefault(min(DEFAULT_SEQ_LEN, positions), maximum, "text")
    return SequenceDefault(DEFAULT_SEQ_LEN, maximum, "default")


def _patches(config: object) -> int | None:
    vision = getattr(config, "vision_config", None) or config
    size, patch = getattr(vision, "image_size", None), getattr(vision, "patch_size", None)
    if isinstance(size, int) and isinstance(patch, int) and size > 0 and patch > 0:
        return (size // patch) ** 2
    return None


def adapted_tower(inventory: Inventory, names: Sequence[str]) -> str | None:
    """The one tower every adapted module sits in, else None (no towers, or several)."""
    towers = {layer.tower for name in names if (layer := inventory.layer(name)) is not None}
    return next(iter(towers)) if len(towers) == 1 else None


def common_default(defaults: Sequence[SequenceDefault]) -> SequenceDefault:
    """One sequence length for several models (Compare): the shortest default, within every model's maximum."""
    if not defaults:
        return SequenceDefault(DEFAULT_SEQ_LEN, None, "default")
    maxima = [d.maximum for d in defaults if d.maximum is not None]
    shortest = min(defaults, key=lambda d: d.seq_len)
    return SequenceDefault(shortest.seq_len, min(maxima) if maxima else None, shortest.source)
