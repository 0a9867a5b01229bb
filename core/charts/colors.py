"""One colour per module group and per label, shared by every chart in the app.

The colours are mid-luminance (no near-black, no pale yellow), so they read on
both the light and the dark Streamlit theme. A module group keeps its colour on
every page: the query projection is the same blue in BERT (``query``), Llama
(``q_proj``) and T5 (``q``); anything unknown gets a colour from a stable hash
of its name (never Python's salted ``hash``).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

PALETTE: tuple[str, ...] = (
    "#4C8BF5",  # blue
    "#F28E2B",  # orange
    "#2CA58D",  # teal
    "#E15759",  # red
    "#9B6CD6",  # purple
    "#59A14F",  # green
    "#D4A017",  # mustard
    "#E377C2",  # pink
    "#17A2B8",  # cyan
    "#B07A4F",  # brown
    "#8C96A8",  # slate
    "#C0504D",  # brick
)
# Tableau 20 (Tableau's own categorical palette): enough distinct colours for up to 20 class labels.
CATEGORY_PALETTE: tuple[str, ...] = (
    "#4E79A7", "#F28E2B", "#E15759", "#76B7B2", "#59A14F", "#EDC948", "#B07AA1", "#FF9DA7", "#9C755F", "#BAB0AC",
    "#A0CBE8", "#FFBE7D", "#FF9D9A", "#86BCB6", "#8CD17D", "#F1CE63", "#D4A6C8", "#FABFD2", "#D7B5A6", "#499894",
)
OTHER_COLOR = "#6B6B6B"  # the grouped tail beyond CATEGORY_PALETTE
TRAIN_COLOR = PALETTE[0]  # the adapted model and its training loss
EVAL_COLOR = PALETTE[1]
BASE_COLOR = "#9AA0A6"  # the base model, before the adapter: neutral grey on both themes

# Roles across architectures -> palette index.
_ROLES: dict[str, int] = {
    "query": 0,
    "key": 1,
    "value": 2,
    "attn_out": 3,
    "gate": 4,
    "up": 5,
    "down": 6,
    "qkv": 7,
    "embed": 8,
    "head": 9,
}
_ALIASES: dict[str, str] = {
    "q_proj": "query", "q": "query", "query": "query", "wq": "query",
    "k_proj": "key", "k": "key", "key": "key", "wk": "key",
    "v_proj": "value", "v": "value", "value": "value", "wv": "value",
    "o_proj": "attn_out", "out_proj": "attn_out", "o": "attn_out", "wo": "attn_out",
    "attention.output.dense": "attn_out", "attention.dense": "attn_out",
    "gate_proj": "gate", "w1": "gate", "wi_0": "gate",
    "up_proj": "up", "c_fc": "up", "fc1": "up", "intermediate.dense": "up", "wi": "up", "wi_1": "up",
    "down_proj": "down", "fc2": "down", "output.dense": "down", "w2": "down", "c_proj": "down",
    "c_attn": "qkv", "qkv_proj": "qkv", "query_key_value": "qkv", "wqkv": "qkv", "qkv": "qkv",
    "embed_tokens": "embed", "wte": "embed", "word_embeddings": "embed", "shared": "embed",
    "lm_head": "head", "classifier": "head", "score": "head",
}


def _role(name: str) -> str | None:
    """The architecture-independent role of a module group name, if we know it."""
    name = name.strip().lower()
    if name in _ALIASES:
        return _ALIASES[name]
    for size in (3, 2, 1):  # longest known tail wins: "attention.output.dense" before "dense"
        tail = ".".join(name.split(".")[-size:])
        if tail in _ALIASES:
            return _ALIASES[tail]
    return None


def group_color(short_name: str) -> str:
    """A stable hex colour for a module group (``q_proj``, ``query``, ``output.dense``...)."""
    role = _role(short_name)
    if role is not None:
        return PALETTE[_ROLES[role]]
    spare = PALETTE[len(_ROLES):]
    return spare[zlib.crc32(short_name.encode("utf-8")) % len(spare)]


def label_colors(labels: Iterable[str]) -> dict[str, str]:
    """One distinct colour per class label, assigned in sorted order so a label keeps its colour between the
    'before' and 'after' plots and across reruns. Up to 12 labels use the app palette, up to 20 Tableau 20;
    past that, use ``group_tail`` first (this raises rather than repeat a colour)."""
    ordered = sorted({str(x) for x in labels})
    palette = PALETTE if len(ordered) <= len(PALETTE) else CATEGORY_PALETTE
    if len(ordered) > len(palette):
        raise ValueError(f"{len(ordered)} labels but {len(palette)} distinct colours: group the tail first")
    return {label: palette[i] for i, label in enumerate(ordered)}


def group_tail(labels: Iterable[str], other: str, keep: int = len(CATEGORY_PALETTE) - 1) -> list[str]:
    """``labels`` with all but the ``keep`` most frequent ones replaced by ``other`` (ties: alphabetical)."""
    names = [str(x) for x in labels]
    counts = {name: names.count(name) for name in set(names)}
    if len(counts) <= keep + 1:
        return names
    kept = set(sorted(counts, key=lambda n: (-counts[n], n))[:keep])
    return [name if name in kept else other for name in names]
