"""Training-memory estimate of a LoRA plan: weights, adapter, gradients, optimizer, activations.

Weights, adapter, gradients and optimizer states are arithmetic over the inventory and the budget, exact
(tests hold them to a real step within 1%). Activations are what autograd saves for backward, traced on the
meta device through the model's own forward (activations.py; tests/test_memory_measured.py holds 14
architectures to ±10%, with and without checkpointing in both flavours); a plan change is composed from the
model's tape without a new trace (compose.py); where a model cannot be traced, the per-block formula below
answers, and says so.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

from core.anatomy.inventory import Inventory, block_index
from core.anatomy.names import GATED_MLP, HEAD_NAMES, OUTPUT_PROJECTIONS
from core.errors import LensError
from core.planning.activations import trace_activations
from core.planning.attention import Assumptions, describe_assumptions
from core.planning.budget import Budget
from core.planning.matching import PARAM_KINDS
from core.planning.sequence import text_positions

PRECISIONS: tuple[str, ...] = ("fp32", "bf16", "fp16", "int8", "nf4")
OPTIMIZERS: tuple[str, ...] = ("adamw", "adamw-8bit", "sgd")
DEVICES: tuple[str, ...] = ("cuda", "cpu")
COMPONENTS: tuple[str, ...] = ("weights", "adapter", "gradients", "optimizer", "activations", "loss", "overhead")
MAX_TOKENS = 2**24  # batch × seq above this is a typo, not a plan
MIB, GIB = 2**20, 2**30
CUDA_OVERHEAD = 500 * MIB  # CUDA context + cuBLAS/cuDNN workspaces + allocator slack; not in max_memory_allocated
# Usable memory as nvidia-smi reports each card's total (MiB); the driver already keeps its reserve.
GPUS: dict[str, int] = {
    "T4 16 GB": 15_360 * MIB,
    "L4 24 GB": 23_034 * MIB,
    "A10G 24 GB": 23_028 * MIB,
    "A100 40 GB": 40_960 * MIB,
    "A100 80 GB": 81_920 * MIB,
    "H100 80 GB": 81_559 * MIB,
}


@dataclass(frozen=True)
class MemorySettings:
    precision: str = "bf16"  # dtype the base weights are loaded in; int8/nf4 compute in bf16
    batch_size: int = 1
    seq_len: int = 512
    gradient_checkpointing: bool = False
    optimizer: str = "adamw"
    device: str = "cuda"  # cuda: bool dropout masks + context overhead; cpu: masks in the compute dtype
    reentrant: bool = False  # checkpoint flavour: transformers' (and so the Trainer's) default is non-reentrant

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise LensError("memory.bad_precision", precision=self.precision, choices=", ".join(PRECISIONS))
        if self.optimizer not in OPTIMIZERS:
            raise LensError("memory.bad_optimizer", optimizer=self.optimizer, choices=", ".join(OPTIMIZERS))
        if self.device not in DEVICES:
            raise LensError("memory.bad_device", device=self.device, choices=", ".join(DEVICES))
        for key, value in (("batch", self.batch_size), ("seq_len", self.seq_len)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise LensError(f"memory.bad_{key}", value=value)
        if self.batch_size * self.seq_len > MAX_TOKENS:
            raise LensError("memory.too_many_tokens", tokens=self.batch_size * self.seq_len, max=MAX_TOKENS)

    @property
    def compute_bytes(self) -> int:
        return 4 if self.precision == "fp32" else 2  # activations: fp32, or 16-bit (int8/nf4 compute in bf16)


@dataclass(frozen=True)
class MemoryEstimate(Mapping[str, int]):
    """Bytes per component, in ``COMPONENTS`` order; ``notes`` are (translation key, params)."""

    parts: tuple[tuple[str, int], ...]
    settings: MemorySettings
    notes: tuple[tuple[str, dict], ...] = ()
    assumptions: Assumptions | None = None

    def __getitem__(self, key: str) -> int:
        return dict(self.parts)[key]

    def __iter__(self) -> Iterator[str]:
        return iter(name for name, _ in self.parts)

    def __len__(self) -> int:
        return len(self.parts)

    @property
    def total(self) -> int:
        return sum(v for _, v in self.parts)

    def fits(self, gpu: str | int) -> bool:
        if isinstance(gpu, str) and gpu not in GPUS:
            raise LensError("memory.unknown_gpu", gpu=gpu, choices=", ".join(GPUS))
        return self.total <= (GPUS[gpu] if isinstance(gpu, str) else gpu)

    def to_json(self) -> dict:
        return {"components": dict(self.parts), "total": self.total, "fits": {g: self.fits(g) for g in GPUS},
                "assumptions": self.assumptions.to_json() if self.assumptions else {}}


@dataclass(frozen=True)
class _Shape:
    hidden: int
    heads: int
    kv_dim: int  # num_key_value_heads × head_dim (GQA/MQA)
    intermediate: int
    vocab: int
    gated: bool
    act_saves: int  # i-sized tensors the activation saves: 1 fused GELU/SiLU, 4 for the tanh-formula gelu_new
    hidden_dropout: float
    attn_dropout: float
    max_positions: int | None


def _first(config: object, keys: Sequence[str], default: object = None) -> object:
    for key in keys:
        value = getattr(config, key, None)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
    return default


def _shape(inventory: Inventory, config: object) -> _Shape:
    getter = getattr(config, "get_text_config", None)
    c = getter() if callable(getter) else config  # multimodal configs: the language model's
    hidden = int(_first(c, ("hidden_size", "d_model", "n_embd", "dim"), inventory.hidden_size or 0))
    heads = int(_first(c, ("num_attention_heads", "n_head", "num_heads", "n_heads", "encoder_attention_heads"), 1))
    head_dim = int(_first(c, ("head_dim",), hidden // max(heads, 1)))
    kv = int(_first(c, ("num_key_value_heads", "num_kv_heads"), heads))
    inter = int(_first(c, ("intermediate_size", "n_inner", "ffn_dim", "d_ff", "hidden_dim"), 4 * hidden))
    act = str(getattr(c, "hidden_act", getattr(c, "activation_function", "")) or "")
    return _Shape(
        hidden=hidden,
        heads=heads,
        kv_dim=kv * head_dim,
        intermediate=inter,
        vocab=int(_first(c, ("vocab_size",), 0)),
        gated=any(layer.short_name in GATED_MLP for layer in inventory.layers),
        act_saves=4 if act == "gelu_new" else 1,
        hidden_dropout=float(_first(c, ("hidden_dropout_prob", "resid_pdrop", "hidden_dropout", "dropout"), 0.0)),
        attn_dropout=float(_first(c, ("attention_probs_dropout_prob", "attn_pdrop", "attention_dropout"), 0.0)),
        max_positions=text_positions(config),
    )


def _quantized_layers(inventory: Inventory, budget: Budget) -> list[tuple[int, int]]:
    """(weight elements, rows) of the Linear weights bitsandbytes replaces: not the LM head nor saved heads."""
    skip = set(budget.saved_modules) | {inventory.output_embedding}
    return [
        (layer.in_features * layer.out_features, layer.out_features)
        for layer in inventory.layers
        if layer.kind in ("linear", "conv1d-transposed") and layer.name not in skip
        and not any(layer.name.startswith(s + ".") for s in skip if s)
    ]


def weight_bytes(inventory: Inventory, budget: Budget, precision: str) -> int:
    """Frozen base weights (unique parameters, so tied embeddings count once)."""
    total = inventory.total_params
    if precision == "fp32":
        return total * 4
    if precision in ("bf16", "fp16"):
        return total * 2
    quant = _quantized_layers(inventory, budget)
    n_quant = sum(n for n, _ in quant)
    rest = (total - n_quant) * 2  # embeddings, norms, biases, LM head stay 16-bit (no prepare_model_for_kbit_training)
    if precision == "int8":  # LLM.int8: 1 byte per weight + one fp32 scale (SCB) per output row
        return rest + sum(n + rows * 4 for n, rows in quant)
    # nf4 (QLoRA): 4 bits per weight; absmax per 64-block quantized to 8 bit (double quant),
    # plus one fp32 constant per 256 absmax values
    return rest + sum(n // 2 + math.ceil(n / 64) + math.ceil(n / 64 / 256) * 4 for n, _ in quant)


def _activation_bytes(inventory: Inventory, budget: Budget, settings: MemorySettings, shape: _Shape,
                      dropout: float, dora: bool) -> tuple[int, int]:
    """(saved for backward, transient loss buffers) of one step. The saved part is the fallback formula
    (SDPA/flash attention, no s×s matrix) for models the meta trace cannot run; the loss buffers always.

    Per token and block, at compute dtype p: both norm inputs (2h; the first trainable block's input needs
    no gradient); SDPA keeps q, k, v, out (2h + 2kv) and an fp32 logsumexp per head; the MLP keeps 3i
    (gated: act input, act output, up) or i (GELU input; 4i for the tanh-formula gelu_new); each residual
    dropout keeps a mask (2h). CUDA SDPA does attention dropout with an RNG seed; on CPU it forces the math
    path (3 heads×s matrices). Frozen Linear layers save no input (their weight needs no gradient); each
    LoRA branch saves its input cast to fp32 (4·in; shared by q/k/v when dropout is 0, else one dropout
    copy + mask per module) and lora_A's output (4r); DoRA also keeps the base and LoRA outputs. Blocks
    before the first trainable one save nothing. Checkpointing keeps one hidden state per block plus one
    block's activations while it is recomputed. The head keeps the final norm input (h) and, for LM heads,
    the fp32 log-softmax (4V); backward adds two fp32 logits-sized buffers (+ 16-bit logits before upcast).
    """
    p, h, i = settings.compute_bytes, shape.hidden, shape.intermediate
    mask = 1 if settings.device == "cuda" else p  # native_dropout's bool mask on CUDA; input * noise on CPU
    tokens = settings.batch_size * settings.seq_len
    blocks = inventory.num_blocks
    trained = [m.block for m in budget.modules if m.lora_params or m.bias_params]
    early_saved = [n for n in budget.saved_modules if block_index(n) is None and n != inventory.output_embedding
                   and n.rsplit(".", 1)[-1] not in HEAD_NAMES]  # e.g. embed_tokens: gradients cross every block
    bias_all = budget.bias_params > sum(m.bias_params for m in budget.modules)
    if any(b is None for b in trained) or early_saved or bias_all:
        first = 0  # bias="all" or a trainable embedding: every block needs its activations
    else:
        first = min((b for b in trained if b is not None), default=blocks)
    base = 2 * h * p + (2 * h + 2 * shape.kv_dim) * p + shape.heads * 4 + 2 * 4  # norms, attention, lse, rstd
    base += (3 * i * p) if shape.gated else shape.act_saves * i * p
    base += 2 * h * mask if shape.hidden_dropout > 0 else 0
    if settings.device == "cpu" and shape.attn_dropout > 0:  # math path: probs, mask, dropped probs; no out/lse
        base += 3 * shape.heads * settings.seq_len * p - h * p - shape.heads * 4
    per_block = dict.fromkeys(range(blocks), base)
    groups: dict[tuple, int] = {}
    for m in budget.modules:
        layer = inventory.layer(m.name)
        if layer is None or m.block is None or not m.lora_params:
            continue
        r = m.r
        extra = 4 * r + (dora and layer.out_features * (p + 4))
        if dropout > 0:
            extra += layer.in_features * (4 + mask)
        else:  # modules reading the same tensor (q/k/v, gate/up) share one fp32 copy
            parent = m.name.rsplit(".", 1)[0] if m.short_name not in OUTPUT_PROJECTIONS else m.name
            key = (m.block, parent, layer.in_features)
            extra += 0 if key in groups else layer.in_features * 4
            groups[key] = 1
        per_block[m.block] = per_block.get(m.block, base) + extra
    grad_blocks = [b for b in per_block if b >= first]
    if not grad_blocks:
        saved = 0
    elif settings.gradient_checkpointing:
        saved = len(grad_blocks) * h * p + max(per_block[b] for b in grad_blocks)
    else:
        saved = sum(per_block[b] for b in grad_blocks) - h * p  # first block: its input needs no gradient
    head = h * p + 4 + 8  # final norm input + rstd; int64 labels
    loss = 0
    if inventory.output_embedding is not None and shape.vocab:
        head += shape.vocab * 4
        loss = shape.vocab * (8 + (p if p != 4 else 0))
    return tokens * (saved + (head if grad_blocks else 0)), tokens * loss


def estimate_training_memory(inventory: Inventory, budget: Budget, settings: MemorySettings,
                             config: object | None = None, plan: object | None = None) -> MemoryEstimate:
    """Peak training memory of one step. ``plan`` (a LoraPlan) tells lora_dropout and DoRA;
    without it dropout > 0 and no DoRA are assumed."""
    config = config if config is not None else getattr(inventory.model, "config", None)
    shape = _shape(inventory, config)
    notes: list[tuple[str, dict]] = []
    if shape.max_positions and settings.seq_len > shape.max_positions:
        raise LensError("memory.seq_too_long", seq_len=settings.seq_len, max=shape.max_positions)
    if settings.precision in ("int8", "nf4"):
        notes.append(("memory.note_cuda_only", {"precision": settings.precision}))
    if settings.precision in ("bf16", "fp16"):
        notes.append((f"memory.note_{settings.precision}", {}))
    if config is None:
        notes.append(("memory.note_no_config", {}))
    if any(m.kind in PARAM_KINDS for m in budget.modules):
        notes.append(("memory.note_params_untraced", {}))
    # PEFT keeps LoRA A/B/magnitude in fp32 (autocast_adapter_dtype=True) whatever the base dtype;
    # modules_to_save copies and trainable biases keep the base dtype (fp32 or 16-bit).
    fp32_n, base_n = budget.lora_params, budget.saved_params + budget.bias_params
    q = 4 if settings.precision == "fp32" else 2
    state = {"adamw": 8, "adamw-8bit": 2, "sgd": 0}[settings.optimizer]  # AdamW: exp_avg + exp_avg_sq
    state_q = {"adamw": 2 * q, "adamw-8bit": 2, "sgd": 0}[settings.optimizer]  # states take the param dtype
    dropout = float(getattr(plan, "lora_dropout", 0.05))
    dora = bool(getattr(plan, "use_dora", False))
    rough, loss = _activation_bytes(inventory, budget, settings, shape, dropout, dora)
    assumptions = describe_assumptions(inventory.model, settings, shape.attn_dropout)
    traced = trace_activations(inventory, budget, settings, plan, assumptions.attention)
    activations = rough if traced is None else traced
    if traced is None:
        notes.append(("memory.note_rough", {}))
        assumptions = replace(assumptions, method="rough")
    parts = (
        ("weights", weight_bytes(inventory, budget, settings.precision)),
        # bias="all"/"lora_only" train biases in place; MiCA's frozen B is held but has no gradient or state
        ("adapter", (fp32_n + budget.frozen_params) * 4 + budget.saved_params * q),
        ("gradients", fp32_n * 4 + base_n * q),
        ("optimizer", fp32_n * state + base_n * state_q),
        ("activations", activations),
        ("loss", loss),
        ("overhead", CUDA_OVERHEAD if settings.device == "cuda" else 0),
    )
    return MemoryEstimate(parts=parts, settings=settings, notes=tuple(notes), assumptions=assumptions)


@dataclass(frozen=True)
class GpuFit:
    """One GPU of ``GPUS`` against each named estimate: fits or not, and the bytes left (negative: short)."""

    gpu: str
    memory: int
    fits: dict[str, bool]
    headroom: dict[str, int]


def gpu_fits(estimates: Mapping[str, MemoryEstimate], gpus: Mapping[str, int] = GPUS) -> list[GpuFit]:
    """One row per GPU: does each estimate fit, with how much to spare."""
    return [
        GpuFit(gpu, size, {k: est.fits(size) for k, est in estimates.items()},
               {k: size - est.total for k, est in estimates.items()})
        for gpu, size in gpus.items()
    ]  # fmt: skip
