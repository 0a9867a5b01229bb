"""What a module does, in words a practitioner can act on.

``describe_module`` reads a module's short name (``q_proj``, ``c_attn``,
``dense`` …), refined by its full name when a ``LayerInfo`` is given (BERT's
``dense`` and GPT-2's ``c_proj`` mean different things in different places).
Names we do not know get a role guessed from position and shape, marked
``inferred=True`` so the UI can say so.

With an ``inventory``, the role describes what *targeting that short name*
adapts: when the layers sharing the short name play different roles (BERT's
``dense`` is the attention output, the MLP widening and narrowing, and the
pooler), the answer is a "mixed" role that says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from core.anatomy import names as N
from core.anatomy.groups import ModuleGroup
from core.anatomy.inventory import Inventory, LayerInfo
from core.i18n import t

CATEGORIES: tuple[str, ...] = (
    "attention-query",
    "attention-key",
    "attention-value",
    "attention-output",
    "attention-fused",
    "mlp-up",
    "mlp-gate",
    "mlp-down",
    "mlp-fused",
    "mlp",
    "embedding",
    "head",
    "projection",
    "conv",
    "router",
    "experts",
    "other",
)


@dataclass(frozen=True)
class Role:
    """A module's role: a category (see ``CATEGORIES``), a translation key, and whether it was guessed."""

    category: str
    text_key: str
    inferred: bool = False


def role_text(role: Role, lang: str = "en") -> str:
    """The role's explanation in ``lang`` ("en" or "ko")."""
    return t(role.text_key, lang)


# --- fixed readings of well-known short names --------------------------------------------

_Q = ("attention-query", "role.attn_query")
_K = ("attention-key", "role.attn_key")
_V = ("attention-value", "role.attn_value")
_O = ("attention-output", "role.attn_output")
_QKV = ("attention-fused", "role.attn_fused_qkv")
_UP = ("mlp-up", "role.mlp_up")  # gated MLP, multiplied by the gate
_GATE = ("mlp-gate", "role.mlp_gate")
_DOWN = ("mlp-down", "role.mlp_down")
_WIDEN = ("mlp-up", "role.mlp_widen")  # plain MLP, activation follows
_NARROW = ("mlp-down", "role.mlp_narrow")
_GATE_UP = ("mlp-fused", "role.mlp_fused_gate_up")
_TOKENS = ("embedding", "role.embed_tokens")
_POSITIONS = ("embedding", "role.embed_positions")
_TOKEN_TYPES = ("embedding", "role.embed_token_types")
_REL_BIAS = ("embedding", "role.embed_relative_bias")
_LM_HEAD = ("head", "role.head_lm")
_CLS_HEAD = ("head", "role.head_cls")
_QA_HEAD = ("head", "role.head_qa")
_POOLER = ("head", "role.head_pooler")
_HEAD_TRANSFORM = ("head", "role.head_transform")
_CLIP_PROJ = ("projection", "role.proj_clip")
_MM_PROJ = ("projection", "role.proj_multimodal")
_PATCH = ("conv", "role.conv_patch")
_AUDIO = ("conv", "role.conv_audio")
_ROUTER = ("router", "role.router")
_EXPERTS_GATE_UP = ("experts", "role.experts_gate_up")
_EXPERTS_DOWN = ("experts", "role.experts_down")
_EXPERTS = ("experts", "role.experts")

def _table() -> dict[str, tuple[str, str]]:
    """short name -> (category, text key), read off the one name table."""
    table: dict[str, tuple[str, str]] = {}
    for names, role in (
        (N.ATTENTION["query"], _Q), (N.ATTENTION["key"], _K), (N.ATTENTION["value"], _V),
        (N.ATTENTION["output"], _O), (N.ATTENTION["fused"], _QKV),
        (N.MLP["up"], _UP), (N.MLP["gate"], _GATE), (N.MLP["down"], _DOWN),
        (N.MLP["widen"], _WIDEN), (N.MLP["narrow"], _NARROW), (N.MLP["fused"], _GATE_UP),
        (N.EMBEDDINGS["tokens"], _TOKENS), (N.EMBEDDINGS["positions"], _POSITIONS),
        (N.EMBEDDINGS["token_types"], _TOKEN_TYPES), (N.EMBEDDINGS["relative_bias"], _REL_BIAS),
        (N.HEADS["lm"], _LM_HEAD), (N.HEADS["classification"], _CLS_HEAD), (N.HEADS["qa"], _QA_HEAD),
        (N.HEADS["pooler"], _POOLER), (N.HEADS["transform"], _HEAD_TRANSFORM),
        (N.PROJECTIONS["clip"], _CLIP_PROJ), (N.PROJECTIONS["multimodal"], _MM_PROJ),
        (N.CONVS["patch"], _PATCH), (N.CONVS["audio"], _AUDIO), (N.ROUTERS, _ROUTER),
    ):  # fmt: skip
        table.update(dict.fromkeys(names, role))
    return table


_FIXED = _table()

# Names whose meaning depends on where they sit; without a full name they are "mixed".
_MIXED_KEYS = {name: f"role.mixed_{name}" for name in N.CONTEXTUAL}


def describe_module(short_name: str, layer: LayerInfo | None = None, inventory: Inventory | None = None) -> Role:
    """The role of the module(s) called ``short_name``.

    ``layer`` gives the full name and shapes (to tell BERT's three ``dense`` apart,
    or to guess an unknown name). ``inventory`` gives the vocabulary size (to spot
    heads) and, when several layers share ``short_name`` with different roles,
    turns the answer into a "mixed" role, since targeting the short name adapts them all.
    """
    vocab = _vocab_size(inventory)
    if inventory is not None:
        return _describe_group(inventory, short_name, layer, vocab)
    return _describe_one(short_name, layer, vocab)


def describe_group(inventory: Inventory, group: ModuleGroup) -> Role:
    """The role of one module group (a short name in one tower and attention kind), read off its own members."""
    vocab = _vocab_size(inventory)
    roles = tuple(dict.fromkeys(_describe_one(group.short_name, inventory.layer(n), vocab) for n in group.names))
    return roles[0] if len({role.category for role in roles}) == 1 else _mixed(group.short_name, roles)


def _describe_group(inventory: Inventory, short_name: str, layer: LayerInfo | None, vocab: int | None) -> Role:
    roles = _group_roles(inventory, short_name, vocab)
    if not roles:
        return _describe_one(short_name, layer, vocab)
    if len({role.category for role in roles}) == 1:
        # same category everywhere: the given layer's own reading, else the first one's
        return _describe_one(short_name, layer, vocab) if layer is not None else roles[0]
    return _mixed(short_name, roles)


@lru_cache(maxsize=1024)
def _group_roles(inventory: Inventory, short_name: str, vocab: int | None) -> tuple[Role, ...]:
    """The distinct roles of every layer called ``short_name``, in model order (cached per inventory)."""
    found: dict[Role, None] = {}
    for member in inventory.layers:
        if member.short_name == short_name:
            found[_describe_one(short_name, member, vocab)] = None
    return tuple(found)


def _mixed(short_name: str, roles: tuple[Role, ...]) -> Role:
    categories = {role.category for role in roles}
    category = "mlp" if all(c.startswith("mlp") for c in categories) else "other"
    key = _MIXED_KEYS.get(_base(short_name), "role.mixed")
    return Role(category, key, inferred=any(role.inferred for role in roles))


def _base(short_name: str) -> str:
    """``gate.weight`` -> ``gate``; ``experts.down_proj`` stays as is."""
    name = short_name.strip()
    for suffix in (".weight", ".bias"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name


def _describe_one(short_name: str, layer: LayerInfo | None, vocab: int | None) -> Role:
    base = _base(short_name)
    full = _base(layer.name) if layer is not None else base  # the full name wins: it has the context
    last = full.rsplit(".", 1)[-1].lower()
    parents = [p.lower() for p in full.split(".")[:-1]]
    if "experts" in parents or base.lower().startswith("experts."):
        return Role(*_experts(last))
    known = _contextual(last, parents, layer, vocab)
    if known is not None:
        return Role(*known)
    return _infer(parents, layer, vocab)


def _experts(last: str) -> tuple[str, str]:
    if last in N.EXPERT_GATE_UP:
        return _EXPERTS_GATE_UP
    if last in N.EXPERT_DOWN:
        return _EXPERTS_DOWN
    return _EXPERTS


def _contextual(last: str, parents: list[str], layer: LayerInfo | None, vocab: int | None) -> tuple[str, str] | None:
    in_attn = any(w in p for p in parents for w in N.ATTENTION_WORDS)
    in_mlp = any(w in p for p in parents for w in N.MLP_WORDS)
    head_parent = next((p for p in parents if p in N.HEAD_PARENTS or p == "predictions"), None)
    if head_parent is not None and not in_attn:
        return _head_from_context(last, head_parent, layer, vocab)
    if last == "dense":
        if in_attn:  # BERT attention.output.dense, Falcon self_attention.dense
            return _O
        if "intermediate" in parents:
            return _WIDEN
        if parents and parents[-1] == "output":  # BERT output.dense after intermediate
            return _NARROW
        if in_mlp:
            return _shape_mlp(layer) or (None if layer is None else ("mlp", "role.mlp_plain"))
        return ("other", _MIXED_KEYS["dense"]) if layer is None else None
    if last == "c_proj":
        if in_attn:
            return _O
        if in_mlp:
            return _NARROW
        return ("other", _MIXED_KEYS["c_proj"]) if layer is None else None
    if last == "wo":
        if in_attn:  # Meta's original Llama format
            return _O
        if in_mlp:  # T5 DenseReluDense.wo
            return _NARROW
        return ("other", _MIXED_KEYS["wo"]) if layer is None else None
    if (
        last in ("linear_1", "linear_2")
        and layer is not None
        and not any(w in p for p in parents for w in N.PROJECTOR_WORDS)
    ):
        return None  # only LLaVA-style projectors use these names for sure
    if last in ("conv1", "conv2") and layer is not None and layer.kind != "conv":
        return None
    if last == "projection" and layer is not None and layer.kind != "conv":
        return ("projection", "role.proj_generic")
    if last == "gate" and layer is not None and layer.out_features > layer.in_features:
        return _GATE  # a widening "gate" is a gated MLP's gate, not a router (routers output one score per expert)
    if any(w in p for p in parents for w in N.PROJECTOR_WORDS) and last not in _FIXED:
        return _MM_PROJ
    return _FIXED.get(last)


def _head_from_context(last: str, parent: str, layer: LayerInfo | None, vocab: int | None) -> tuple[str, str]:
    if parent in N.HEADS["pooler"]:
        return _POOLER
    if parent in N.HEADS["qa"]:
        return _QA_HEAD
    if parent in N.HEADS["classification"]:
        return _CLS_HEAD  # e.g. RoBERTa's classifier.dense and classifier.out_proj
    # lm_head.* / cls.predictions.*: the vocabulary projection or the transform before it
    if last == "decoder" or (layer is not None and vocab and layer.out_features == vocab):
        return _LM_HEAD
    return _HEAD_TRANSFORM


def _shape_mlp(layer: LayerInfo | None) -> tuple[str, str] | None:
    if layer is None:
        return None
    if layer.out_features > layer.in_features:
        return _WIDEN
    if layer.out_features < layer.in_features:
        return _NARROW
    return None


def _infer(parents: list[str], layer: LayerInfo | None, vocab: int | None) -> Role:
    """An unknown name: guess from kind, position and shape."""
    if layer is None:
        return Role("other", "role.unknown", inferred=True)
    if layer.kind == "embedding":
        return Role("embedding", "role.inferred_embedding", inferred=True)
    if layer.kind == "conv":
        return Role("conv", "role.inferred_conv", inferred=True)
    if layer.kind == "expert-param":
        return Role("experts", "role.experts", inferred=True)
    if vocab and layer.out_features == vocab:
        return Role("head", "role.inferred_head", inferred=True)
    in_attn = any(w in p for p in parents for w in N.ATTENTION_WORDS)
    in_mlp = any(w in p for p in parents for w in N.MLP_WORDS)
    if in_attn:
        if layer.out_features > layer.in_features:
            return Role("attention-fused", "role.inferred_attn_fused", inferred=True)
        return Role("projection", "role.inferred_attn_projection", inferred=True)
    if in_mlp:
        if layer.out_features > layer.in_features:
            return Role("mlp-up", "role.inferred_widen", inferred=True)
        if layer.out_features < layer.in_features:
            return Role("mlp-down", "role.inferred_narrow", inferred=True)
        return Role("mlp", "role.inferred_mlp", inferred=True)
    if layer.block is None and layer.out_features < layer.in_features and layer.out_features <= 16:
        return Role("head", "role.inferred_small_head", inferred=True)
    return Role("projection" if layer.block is not None else "other", "role.inferred_other", inferred=True)


def _vocab_size(inventory: Inventory | None) -> int | None:
    if inventory is None:
        return None
    config = getattr(inventory.model, "config", None)
    for source in (config, getattr(config, "text_config", None)):
        value = getattr(source, "vocab_size", None)
        if isinstance(value, int) and value > 0:
            return value
    if inventory.output_embedding:
        out = inventory.layer(inventory.output_embedding)
        if out is not None:
            return out.out_features
    return None
