"""Which attention kernel a model really runs, and what that kernel saves for backward."""

from __future__ import annotations

from dataclasses import dataclass

from core.compat import attn_implementation

FUSED_KINDS = ("sdpa", "flash_attention_2", "flash_attention_3", "flex_attention")


@dataclass(frozen=True)
class AttentionKind:
    """``implementation`` as transformers resolved it; ``kernel`` what runs on the device for that dtype."""

    implementation: str  # eager | sdpa | flash_attention_2 | flex_attention | …
    kernel: str  # eager | flash | efficient | flash-cpu | math
    saves: str  # scores | lse: the s×s probabilities per head, or only out + log-sum-exp

    @property
    def fused(self) -> bool:
        return self.saves == "lse"


def resolve_attention(model: object, device: str, precision: str, attn_dropout: float) -> AttentionKind:
    """transformers' choice for this architecture (sdpa when the class supports it, else eager), then the
    kernel torch dispatches to: on CUDA flash for 16-bit and memory-efficient for fp32 (both keep out + lse,
    dropout by RNG seed); on CPU the flash kernel without dropout, the math path with it (probabilities kept)."""
    impl = attn_implementation(model)
    if impl not in FUSED_KINDS:
        return AttentionKind(impl, "eager", "scores")
    if impl != "sdpa":
        return AttentionKind(impl, impl.split("_attention")[0], "lse")
    if device == "cuda":
        return AttentionKind(impl, "efficient" if precision == "fp32" else "flash", "lse")
    if attn_dropout > 0:
        return AttentionKind(impl, "math", "scores")
    return AttentionKind(impl, "flash-cpu", "lse")


@dataclass(frozen=True)
class Assumptions:
    """What an activation estimate assumes, shown next to the number and in the CLI JSON."""

    attention: AttentionKind
    saved_dtype: str  # dtype of the saved activations (fp32 or the 16-bit compute dtype)
    checkpointing: bool
    device: str
    method: str = "traced"  # traced: the model's own forward on the meta device; rough: the per-block formula
    # With checkpointing: "non-reentrant" (use_reentrant=False, what transformers and so the Trainer run) keeps each
    # block's inputs and recomputes it in backward as the forward ran; "reentrant" makes what a block hands on
    # need a gradient (T5's position biases), which changes what it saves.
    checkpointing_flavour: str | None = None

    def to_json(self) -> dict:
        return {"attention": self.attention.implementation, "kernel": self.attention.kernel,
                "attention_saves": self.attention.saves, "saved_dtype": self.saved_dtype,
                "checkpointing": self.checkpointing, "checkpointing_flavour": self.checkpointing_flavour,
                "device": self.device, "method": self.method}


def describe_assumptions(model: object, settings, attn_dropout: float) -> Assumptions:
    precision = settings.precision
    saved = precision if precision in ("fp32", "fp16") else "bf16"
    kind = resolve_attention(model, settings.device, precision, attn_dropout)
    flavour = ("reentrant" if settings.reentrant else "non-reentrant") if settings.gradient_checkpointing else None
    return Assumptions(kind, saved, settings.gradient_checkpointing, settings.device, checkpointing_flavour=flavour)


def fused_call(kind: AttentionKind, device: str, q_heads: int, kv_heads: int, dropout_p: float,
               enable_gqa: bool, mask_grad: bool = False) -> bool:
    """Whether one ``scaled_dot_product_attention`` call runs a fused kernel (out + lse saved) or torch's
    math fallback (probabilities saved): fused kernels need as many k/v heads as query heads unless
    ``enable_gqa``; the CPU flash kernel has no dropout and no gradient for the mask (T5's trained bias)."""
    if not kind.fused:
        return False
    if q_heads != kv_heads and not enable_gqa:
        return False
    return device == "cuda" or (dropout_p == 0 and not mask_grad)
