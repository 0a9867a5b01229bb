"""The one table of architecture module names: attention, MLP, embeddings and heads, per family.

Roles, presets, budgets and the memory model all read these names from here; a new
architecture's spelling is added once. Keys are short names as ``named_modules`` ends them.
"""

from __future__ import annotations

# Attention projections. Families: Llama/Mistral/Qwen (q_proj), BERT/RoBERTa (query), T5 (q),
# DistilBERT (q_lin), Meta's original Llama (wq), GPT-2 (c_attn), Phi-3 (qkv_proj), Falcon/NeoX
# (query_key_value), MPT/Phi-1 (Wqkv lower-cased), CLIP/BART (out_proj), nn.MultiheadAttention (in_proj).
ATTENTION: dict[str, tuple[str, ...]] = {
    "query": ("q_proj", "query", "q", "q_lin", "wq"),
    "key": ("k_proj", "key", "k", "k_lin", "wk"),
    "value": ("v_proj", "value", "v", "v_lin", "wv"),
    "output": ("o_proj", "o", "out_lin", "out_proj"),
    "fused": ("c_attn", "qkv_proj", "query_key_value", "qkv", "wqkv", "in_proj"),
}

# MLP layers. Gated MLPs (Llama gate/up/down, T5 v1.1 wi_0/wi_1, Mixtral w1/w3/w2) multiply a gate
# by an up projection; plain MLPs widen, apply the activation, and narrow.
MLP: dict[str, tuple[str, ...]] = {
    "gate": ("gate_proj", "wi_0", "w1"),
    "up": ("up_proj", "wi_1", "w3"),
    "down": ("down_proj", "w2"),
    "widen": ("c_fc", "fc1", "lin1", "wi", "dense_h_to_4h", "fc_in"),
    "narrow": ("fc2", "lin2", "dense_4h_to_h", "fc_out"),
    "fused": ("gate_up_proj",),
}

# Names that mean attention output or MLP narrowing depending on where they sit (BERT dense, GPT-2 c_proj, T5 wo).
CONTEXTUAL: tuple[str, ...] = ("dense", "c_proj", "wo")

EMBEDDINGS: dict[str, tuple[str, ...]] = {
    "tokens": ("embed_tokens", "wte", "word_embeddings", "token_embedding", "shared", "tok_embeddings"),
    "positions": ("wpe", "position_embeddings", "position_embedding", "embed_positions"),
    "token_types": ("token_type_embeddings",),
    "relative_bias": ("relative_attention_bias",),
}

HEADS: dict[str, tuple[str, ...]] = {
    "lm": ("lm_head", "embed_out", "proj_out", "vocab_projector", "decoder"),
    "classification": ("classifier", "score"),  # PEFT's SEQ_CLS task adds these to modules_to_save
    "qa": ("qa_outputs",),
    "pooler": ("pooler",),
    "transform": ("vocab_transform", "transform"),
    "generic": ("head",),  # timm / ViT-style heads
}

PROJECTIONS: dict[str, tuple[str, ...]] = {
    "clip": ("visual_projection", "text_projection"),
    "multimodal": ("multi_modal_projector", "mm_projector", "linear_1", "linear_2"),
}
CONVS: dict[str, tuple[str, ...]] = {"patch": ("patch_embedding", "patch_embed", "projection"), "audio": ("conv1", "conv2")}
ROUTERS: tuple[str, ...] = ("router", "gate")
EXPERT_GATE_UP: tuple[str, ...] = ("gate_up_proj", "w13", "w1w3")
EXPERT_DOWN: tuple[str, ...] = ("down_proj", "w2")

# Words in parent module names (lower-cased) that place a module in attention, MLP, a head or a projector.
ATTENTION_WORDS: tuple[str, ...] = ("attn", "attention")
MLP_WORDS: tuple[str, ...] = ("mlp", "ffn", "feed_forward", "feedforward", "densereludense", "intermediate")
HEAD_PARENTS: tuple[str, ...] = ("classifier", "score", "lm_head", "cls", "qa_outputs", "pooler")
PROJECTOR_WORDS: tuple[str, ...] = ("projector", "connector")
EXPERT_CLASS_WORDS: tuple[str, ...] = ("expert", "moe", "router", "gate", "topk")  # fused MoE module classes

SEQ_CLS_HEADS: tuple[str, ...] = HEADS["classification"]
HEAD_NAMES: tuple[str, ...] = (*HEADS["lm"], *HEADS["classification"], *HEADS["qa"], *HEADS["pooler"], *HEADS["generic"])
# Modules whose input is not shared with a sibling (memory: q/k/v or gate/up share one saved copy).
OUTPUT_PROJECTIONS: frozenset[str] = frozenset((*ATTENTION["output"], *MLP["down"], *MLP["narrow"], *CONTEXTUAL))
GATED_MLP: frozenset[str] = frozenset((*MLP["gate"], *MLP["up"], *MLP["fused"]))
