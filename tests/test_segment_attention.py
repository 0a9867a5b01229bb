"""Padding-free SFT batches with each row's attention run on its own (``recipe.segment_attention``): the logits,
loss and LoRA gradients of transformers' SDPA under its block-diagonal mask, on tiny random decoders (GQA, a
sliding window shorter than a row), and the probe that switches it on."""

from __future__ import annotations

import pytest
import torch
from peft import LoraConfig, get_peft_model

from core.training import recipe

ROWS = [[5, 9, 14, 3, 7, 21, 8], [11, 4, 6], [30, 2, 19, 17, 25]]


def _model(kind: str) -> torch.nn.Module:
    from transformers import LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM

    torch.manual_seed(0)
    small = {"vocab_size": 40, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
             "num_attention_heads": 4, "num_key_value_heads": 2, "attn_implementation": "sdpa"}  # fmt: skip
    if kind == "mistral-window":  # a sliding window shorter than the first row
        model = MistralForCausalLM(MistralConfig(**small, sliding_window=3))
    else:
        model = LlamaForCausalLM(LlamaConfig(**small))
    return get_peft_model(model, LoraConfig(r=2, target_modules=["q_proj", "v_proj"], init_lora_weights=False))


def _batch() -> dict:
    rows = [{"input_ids": ids, "labels": [-100, *ids[1:]]} for ids in ROWS]
    return {k: v for k, v in recipe.make_collator(None, "causal-lm", padding_free=True)(rows).items()}


def _step(model: torch.nn.Module, batch: dict) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
    model.zero_grad()
    out = model(**batch)
    out.loss.backward()
    grads = [p.grad.clone() for p in model.parameters() if p.requires_grad]
    return out.logits.detach(), out.loss.detach(), grads


@pytest.mark.parametrize("kind", ["llama-gqa", "mistral-window"])
def test_each_row_alone_gives_the_block_mask_logits_loss_and_gradients(kind, monkeypatch):
    model, batch = _model(kind).eval(), _batch()
    assert batch["cu_seq_lens_q"].tolist() == [0, 7, 10, 15]
    masked = _step(model, batch)
    lengths: list[int] = []
    sdpa = torch.nn.functional.scaled_dot_product_attention
    monkeypatch.setattr(torch.nn.functional, "scaled_dot_product_attention",
                        lambda q, *a, **k: lengths.append(q.shape[2]) or sdpa(q, *a, **k))  # fmt: skip
    assert recipe.use_segment_attention(model)
    rows = _step(model, batch)
    assert torch.allclose(rows[0], masked[0], atol=1e-5) and torch.allclose(rows[1], masked[1], atol=1e-6)
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(rows[2], masked[2], strict=True))
    if kind == "mistral-window":  # a window cuts rows: the model's own mask over the whole packed sequence
        assert set(lengths) == {15}
    else:  # one attention call per row and layer, no longer over the packed sequence
        assert sorted(set(lengths)) == [3, 5, 7] and len(lengths) == 3 * 2


def test_the_probe_switches_it_on_and_the_model_keeps_sdpa_for_anything_else():
    model = _model("llama-gqa")
    assert recipe.packing_keeps_rows_apart(model, None, "causal-lm") == (True, True)
    assert model.get_base_model().config._attn_implementation == recipe.SEGMENTS
    padded = {"input_ids": torch.tensor([[5, 9, 14], [11, 4, 0]]), "attention_mask": torch.tensor([[1, 1, 1], [1, 1, 0]])}
    with torch.no_grad():
        ours = model(**padded).logits
        recipe.use_segment_attention(model, on=False)
        assert model.get_base_model().config._attn_implementation == "sdpa"
        theirs = model(**padded).logits
    assert torch.allclose(ours, theirs, atol=1e-6)


def test_a_model_that_attends_across_rows_is_not_packed(monkeypatch):
    """If running rows alone gave other logits (here: the bounds ignored), the probe refuses the shortcut."""
    real = recipe.segment_attention
    monkeypatch.setattr(recipe, "segment_attention", lambda m, q, k, v, mask, **kw: real(m, q, k, v, None, **{
        key: val for key, val in kw.items() if key != "cu_seq_lens_q"}))  # fmt: skip
    model = _model("llama-gqa")
    assert recipe.packing_keeps_rows_apart(model, None, "causal-lm") == (True, False)
    assert model.get_base_model().config._attn_implementation == "sdpa"
