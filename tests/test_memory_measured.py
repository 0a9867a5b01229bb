"""Activation estimates against the bytes autograd really saves, over a table of tiny architectures."""

from __future__ import annotations

import weakref
from pathlib import Path

import pytest
import torch
import transformers as tf
from peft import get_peft_model

from core.anatomy.inventory import list_adaptable_layers
from core.planning.budget import compute_budget
from core.planning.memory import MemorySettings, estimate_training_memory
from core.planning.plan import LoraPlan, to_lora_config

pytestmark = pytest.mark.filterwarnings("ignore")
V, H, FF, L = 256, 64, 128, 2  # vocab, hidden, intermediate, blocks: tiny, random weights
DEC = {"vocab_size": V, "hidden_size": H, "intermediate_size": FF, "num_hidden_layers": L, "num_attention_heads": 4}
ATTN = ("q_proj", "v_proj")
CASES = {  # name: (config, class, task, LoRA targets)
    "llama": (tf.LlamaConfig(**DEC, num_key_value_heads=2), tf.LlamaForCausalLM, "causal-lm", ATTN),
    "mistral": (tf.MistralConfig(**DEC, num_key_value_heads=2, sliding_window=16), tf.MistralForCausalLM,
                "causal-lm", "all-linear"),
    "qwen2": (tf.Qwen2Config(**DEC, num_key_value_heads=2), tf.Qwen2ForCausalLM, "causal-lm", ATTN),
    "gemma2": (tf.Gemma2Config(**DEC, num_key_value_heads=2, head_dim=16, sliding_window=16,
                               attn_logit_softcapping=50.0, final_logit_softcapping=30.0),
               tf.Gemma2ForCausalLM, "causal-lm", ATTN),
    "phi": (tf.PhiConfig(**DEC, partial_rotary_factor=0.5, resid_pdrop=0.0, embd_pdrop=0.0),
            tf.PhiForCausalLM, "causal-lm", ("q_proj", "v_proj", "fc1")),
    "gpt2": (tf.GPT2Config(vocab_size=V, n_embd=H, n_layer=L, n_head=4, resid_pdrop=0.0, embd_pdrop=0.0,
                           attn_pdrop=0.0), tf.GPT2LMHeadModel, "causal-lm", ("c_attn",)),
    "gpt_neox": (tf.GPTNeoXConfig(**DEC, rotary_pct=0.25, use_parallel_residual=True), tf.GPTNeoXForCausalLM,
                 "causal-lm", ("query_key_value", "dense_h_to_4h")),
    "falcon": (tf.FalconConfig(vocab_size=V, hidden_size=H, num_hidden_layers=L, num_attention_heads=4,
                               multi_query=True, parallel_attn=True, new_decoder_architecture=False),
               tf.FalconForCausalLM, "causal-lm", ("query_key_value",)),
    "opt": (tf.OPTConfig(vocab_size=V, hidden_size=H, ffn_dim=FF, num_hidden_layers=L, num_attention_heads=4,
                         word_embed_proj_dim=H, dropout=0.0), tf.OPTForCausalLM, "causal-lm", ("q_proj", "v_proj")),
    "bloom": (tf.BloomConfig(vocab_size=V, hidden_size=H, n_layer=L, n_head=4), tf.BloomForCausalLM,
              "causal-lm", ("query_key_value",)),
    "mixtral": (tf.MixtralConfig(**DEC, num_key_value_heads=2, num_local_experts=4, num_experts_per_tok=2),
                tf.MixtralForCausalLM, "causal-lm", ATTN),
    "bert": (tf.BertConfig(vocab_size=V, hidden_size=H, intermediate_size=FF, num_hidden_layers=L,
                           num_attention_heads=4, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0),
             tf.BertForSequenceClassification, "seq-cls", ("query", "value")),
    "t5": (tf.T5Config(vocab_size=V, d_model=H, d_kv=16, d_ff=FF, num_layers=L, num_heads=4, dropout_rate=0.0,
                       decoder_start_token_id=0), tf.T5ForConditionalGeneration, "seq2seq", ("q", "v")),
    "vit": (tf.ViTConfig(hidden_size=H, intermediate_size=FF, num_hidden_layers=L, num_attention_heads=4,
                         image_size=64, patch_size=8, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0),
            tf.ViTForImageClassification, "seq-cls", ATTN),
}
B, S = 2, 64
ROWS: list[str] = []


def _batch(model, task: str) -> dict:
    if task == "seq-cls" and getattr(model, "main_input_name", "") == "pixel_values":
        size = model.config.image_size
        return {"pixel_values": torch.randn(B, 3, size, size), "labels": torch.randint(0, 2, (B,))}
    ids = torch.randint(0, V, (B, S))
    return {"input_ids": ids, "labels": torch.randint(0, 2, (B,)) if task == "seq-cls" else ids}


def peak_saved_bytes(model, batch: dict) -> int:
    """Peak bytes of tensors autograd holds for backward during forward + backward (storages once, parameters
    excluded). Checkpointing: reentrant runs each block's recomputation under these hooks; non-reentrant hides it
    behind hooks of its own, so what it keeps is watched there (core.compat.watch_recomputed), from the
    recomputation until backward has used it; the block inputs it keeps go through these hooks."""
    from core.compat import watch_recomputed

    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    live: dict[int, list[int]] = {}  # storage -> [bytes, holders]
    state = {"now": 0, "peak": 0}

    class Held:
        def __init__(self, tensor: torch.Tensor) -> None:
            self.tensor = tensor

    def release(ptr: int) -> None:
        live[ptr][1] -= 1
        if live[ptr][1] == 0:
            state["now"] -= live.pop(ptr)[0]

    def hold(tensor: torch.Tensor, holder: object) -> None:
        """``tensor``'s storage counts until ``holder`` is freed."""
        ptr = tensor.untyped_storage().data_ptr()
        if ptr in params or tensor.untyped_storage().nbytes() == 0:
            return
        if ptr not in live:
            live[ptr] = [tensor.untyped_storage().nbytes(), 0]
            state["now"] += live[ptr][0]
            state["peak"] = max(state["peak"], state["now"])
        live[ptr][1] += 1
        weakref.finalize(holder, release, ptr)

    def pack(tensor: torch.Tensor):
        held = Held(tensor)
        hold(tensor, held)
        return held

    def unpack(held):
        return held.tensor if isinstance(held, Held) else held

    with torch.autograd.graph.saved_tensors_hooks(pack, unpack), watch_recomputed(hold):
        model(**batch).loss.backward()
    return state["peak"]


FLAVOURS = {"off": None, "non-reentrant": False, "reentrant": True}  # checkpointing: off, the Trainer's, the other


def _case(name: str, flavour: str):
    config, cls, task, targets = CASES[name]
    torch.manual_seed(0)
    model = cls(config)
    plan = LoraPlan(targets=targets, task=task) if targets != "all-linear" else LoraPlan(target_regex="all-linear")
    inv = list_adaptable_layers(model)
    reentrant = FLAVOURS[flavour]
    settings = MemorySettings("fp32", B, S, gradient_checkpointing=reentrant is not None, device="cpu",
                              reentrant=bool(reentrant))
    est = estimate_training_memory(inv, compute_budget(inv, plan), settings, plan=plan)
    peft_model = get_peft_model(model, to_lora_config(plan))
    peft_model.train()
    if reentrant is not None:
        peft_model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": reentrant})
        peft_model.enable_input_require_grads()
    return est, peak_saved_bytes(peft_model, _batch(peft_model, task))


@pytest.mark.parametrize("flavour", list(FLAVOURS))
@pytest.mark.parametrize("name", list(CASES))
def test_activations_within_ten_percent(name: str, flavour: str, capsys) -> None:
    est, measured = _case(name, flavour)
    error = (est["activations"] - measured) / measured
    kind = est.assumptions.attention
    row = (f"| {name} | {kind.implementation}/{kind.kernel} | {flavour} | "
           f"{est['activations']:,} | {measured:,} | {100 * error:+.1f}% |")
    ROWS.append(row)
    with capsys.disabled():
        print("\n  " + row)
    assert est.assumptions.method == "traced"
    assert est.assumptions.checkpointing_flavour == (None if flavour == "off" else flavour)
    assert abs(error) <= 0.10, row


@pytest.mark.parametrize("name", ["llama", "gpt_neox", "gemma2"])
def test_bf16_base_activations(name: str) -> None:
    """16-bit base: norms upcast to fp32, PEFT casts each LoRA input to fp32; the trace sees both."""
    config, cls, task, targets = CASES[name]
    torch.manual_seed(0)
    model = cls(config).to(torch.bfloat16)
    plan = LoraPlan(targets=targets, task=task)
    inv = list_adaptable_layers(model)
    est = estimate_training_memory(inv, compute_budget(inv, plan), MemorySettings("bf16", B, S, device="cpu"),
                                   plan=plan)
    peft_model = get_peft_model(model, to_lora_config(plan))
    peft_model.train()
    measured = peak_saved_bytes(peft_model, _batch(peft_model, task))
    assert abs(est["activations"] - measured) / measured <= 0.10, (est["activations"], measured)


def _storage_bytes(tensors) -> int:
    return sum({t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in tensors if t is not None}.values())


@pytest.mark.parametrize("name", list(CASES))
def test_fixed_parts_within_one_percent(name: str) -> None:
    """Weights, adapter, gradients and AdamW states against the bytes torch holds after one step."""
    config, cls, task, targets = CASES[name]
    torch.manual_seed(0)
    model = cls(config)
    plan = LoraPlan(targets=targets, task=task) if targets != "all-linear" else LoraPlan(target_regex="all-linear")
    inv = list_adaptable_layers(model)
    est = estimate_training_memory(inv, compute_budget(inv, plan), MemorySettings("fp32", 1, 8, device="cpu"),
                                   plan=plan)
    peft_model = get_peft_model(model, to_lora_config(plan))
    optimizer = torch.optim.AdamW([p for p in peft_model.parameters() if p.requires_grad], lr=1e-3)
    batch = _batch(peft_model, task)
    peft_model(**{k: v[:1, :8] if k != "pixel_values" and v.dim() > 1 else v[:1] for k, v in batch.items()}).loss.backward()
    optimizer.step()
    params = list(peft_model.parameters())
    states = [v for state in optimizer.state.values() for v in state.values() if torch.is_tensor(v)]
    held = _storage_bytes(params + [p.grad for p in params] + states)
    fixed = sum(est[k] for k in ("weights", "adapter", "gradients", "optimizer"))
    assert abs(fixed - held) / held < 0.01, (fixed, held)


def teardown_module() -> None:
    if ROWS:
        out = Path("artifacts/memory_table.md")
        out.parent.mkdir(exist_ok=True)
        head = ["| architecture | attention | checkpointing | estimate (B) | measured (B) | error |",
                "|---|---|---|---:|---:|---:|"]
        out.write_text("\n".join(head + sorted(ROWS)) + "\n")
