"""Init methods and the count: PiSSA/OLoRA/orthogonal/MiCA on tiny models with real random weights, where PEFT
runs them for real. MiCA freezes lora_B (only A trains); PiSSA and OLoRA cap the rank at the weight's smaller
side (the SVD/QR has no more components); what PEFT refuses, we refuse with a sentence.
"""

from __future__ import annotations

import pytest
import torch
from peft import get_peft_model
from transformers import (
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
    MixtralConfig,
    MixtralForCausalLM,
    WhisperConfig,
    WhisperForConditionalGeneration,
)

from core.anatomy.inventory import list_adaptable_layers
from core.errors import LensError
from core.planning.budget import compute_budget
from core.planning.plan import LoraPlan, to_lora_config

pytestmark = pytest.mark.filterwarnings("ignore")

TINY = {  # hidden 32; llama's k/v project to 16, gpt2's c_attn 32 -> 96, whisper has conv stems
    "llama": lambda: LlamaForCausalLM(LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=48,
                                                  num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2)),
    "gpt2": lambda: GPT2LMHeadModel(GPT2Config(vocab_size=64, n_embd=32, n_layer=2, n_head=4, n_positions=16)),
    "whisper": lambda: WhisperForConditionalGeneration(WhisperConfig(
        vocab_size=64, d_model=32, encoder_layers=1, decoder_layers=1, encoder_attention_heads=4,
        decoder_attention_heads=4, encoder_ffn_dim=64, decoder_ffn_dim=64, num_mel_bins=8, max_source_positions=16,
        max_target_positions=16, pad_token_id=1, bos_token_id=1, eos_token_id=2, decoder_start_token_id=1)),
    "mixtral": lambda: MixtralForCausalLM(MixtralConfig(vocab_size=64, hidden_size=32, intermediate_size=48,
                                                        num_hidden_layers=2, num_attention_heads=4,
                                                        num_key_value_heads=2, num_local_experts=4)),
}


def _both(kind: str, plan: LoraPlan):
    """Our budget and PEFT's model, each from its own fresh copy (PEFT changes the model it wraps)."""
    torch.manual_seed(0)
    ours = compute_budget(list_adaptable_layers(TINY[kind]()), plan)
    torch.manual_seed(0)
    return ours, get_peft_model(TINY[kind](), to_lora_config(plan))


# (tiny model, plan fields)
CASES = [
    ("llama", dict(targets=("q_proj", "v_proj", "embed_tokens"), r=4, init_lora_weights="mica")),
    ("llama", dict(targets=("q_proj", "k_proj"), r=4, init_lora_weights="mica", rank_pattern=(("k_proj", 16),))),
    ("llama", dict(targets=("q_proj", "k_proj", "down_proj"), r=24, init_lora_weights="pissa")),  # k: 16 < 24
    ("llama", dict(targets=("q_proj", "k_proj"), r=24, init_lora_weights="olora", rank_pattern=(("q_proj", 40),))),
    ("llama", dict(targets=("q_proj", "v_proj"), r=40, init_lora_weights="pissa", use_dora=True)),
    ("llama", dict(targets=("q_proj", "embed_tokens"), r=4, init_lora_weights="orthogonal",
                   rank_pattern=(("q_proj", 6),))),
    ("llama", dict(targets=("q_proj", "v_proj"), r=4, init_lora_weights="gaussian", alpha_pattern=(("v_proj", 2),))),
    ("gpt2", dict(targets=("c_attn", "c_proj"), r=4, init_lora_weights="mica")),
    ("gpt2", dict(targets=("c_attn",), r=40, init_lora_weights="pissa")),  # Conv1D: 32 -> 96, capped at 32
    ("gpt2", dict(targets=("c_attn", "wte"), r=4, init_lora_weights="orthogonal")),
    ("whisper", dict(targets=("q_proj", "fc1"), r=4, init_lora_weights="pissa", rank_pattern=(("fc1", 48),))),
    ("mixtral", dict(targets=("q_proj",), target_parameters=("experts.gate_up_proj",), r=4, lora_dropout=0.0,
                     init_lora_weights="gaussian")),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{k}-{kw['init_lora_weights']}-{i}" for i, (k, kw) in enumerate(CASES)])
def test_init_budget_equals_peft(case: tuple) -> None:
    kind, kwargs = case
    plan = LoraPlan(**kwargs)
    ours, peft_model = _both(kind, plan)
    assert (ours.trainable_params, ours.total_params) == tuple(peft_model.get_nb_trainable_parameters())
    frozen_lora = sum(p.numel() for n, p in peft_model.named_parameters() if "lora_" in n and not p.requires_grad)
    assert ours.frozen_params == frozen_lora
    assert (ours.frozen_params > 0) == (plan.init_lora_weights == "mica")


def test_pissa_caps_the_rank_where_the_weight_is_smaller() -> None:
    ours, _ = _both("llama", LoraPlan(targets=("k_proj",), r=24, init_lora_weights="pissa"))
    plain, _ = _both("llama", LoraPlan(targets=("k_proj",), r=24))
    assert ours.lora_params == 2 * 16 * (32 + 16) and plain.lora_params == 2 * 24 * (32 + 16)


# (tiny model, plan fields, our sentence): PEFT refuses (or breaks) and so do we
REFUSALS = [
    ("whisper", dict(targets=("conv1",), init_lora_weights="pissa"), "budget.init_unsupported"),
    ("whisper", dict(targets=("conv1", "q_proj"), init_lora_weights="olora"), "budget.init_unsupported"),
    ("whisper", dict(targets=("conv2",), init_lora_weights="orthogonal"), "budget.init_unsupported"),
    ("whisper", dict(targets=("conv1",), init_lora_weights="mica"), "budget.init_unsupported"),
    ("llama", dict(targets=("q_proj",), init_lora_weights="mica", use_dora=True), "budget.init_dora"),
    ("llama", dict(targets=("q_proj",), r=3, init_lora_weights="orthogonal"), "budget.init_even_r"),
    ("llama", dict(targets=("q_proj",), rank_pattern=(("q_proj", 5),), init_lora_weights="orthogonal"),
     "budget.init_even_r"),
    ("llama", dict(targets=("q_proj",), r=40, init_lora_weights="mica"), "budget.init_mica_r"),
    ("mixtral", dict(target_parameters=("experts.gate_up_proj",), lora_dropout=0.0, init_lora_weights="pissa"),
     "budget.init_unsupported"),
    ("mixtral", dict(target_parameters=("experts.down_proj",), lora_dropout=0.0, init_lora_weights="mica"),
     "budget.init_unsupported"),
]


@pytest.mark.parametrize("case", REFUSALS, ids=[f"{c[0]}-{c[2]}-{i}" for i, c in enumerate(REFUSALS)])
def test_init_refused_when_peft_refuses(case: tuple) -> None:
    kind, kwargs, key = case
    plan = LoraPlan(**kwargs)
    with pytest.raises(LensError) as err:
        compute_budget(list_adaptable_layers(TINY[kind]()), plan)
    assert err.value.key == key
    with pytest.raises((ValueError, TypeError, AttributeError)):
        get_peft_model(TINY[kind](), to_lora_config(plan))


def test_olora_on_a_transposed_conv1d_is_refused_since_peft_breaks_the_layer() -> None:
    plan = LoraPlan(targets=("c_fc",), init_lora_weights="olora", lora_dropout=0.0)
    with pytest.raises(LensError) as err:
        compute_budget(list_adaptable_layers(TINY["gpt2"]()), plan)
    assert err.value.key == "budget.init_transposed"
    model = get_peft_model(TINY["gpt2"](), to_lora_config(plan))  # PEFT accepts it ...
    with pytest.raises(RuntimeError):  # ... and the adapted layer cannot run
        model(torch.tensor([[1, 2, 3]]))


def test_pissa_on_an_embedding_is_refused_since_its_conversion_drops_it(tmp_path) -> None:
    """PEFT starts the embedding as plain LoRA and its PiSSA -> LoRA conversion keeps only lora_A/lora_B keys."""
    from safetensors.torch import load_file

    plan = LoraPlan(targets=("q_proj", "embed_tokens"), r=4, init_lora_weights="pissa")
    with pytest.raises(LensError) as err:
        compute_budget(list_adaptable_layers(TINY["llama"]()), plan)
    assert err.value.key == "budget.init_embedding"
    model = get_peft_model(TINY["llama"](), to_lora_config(plan))
    model.save_pretrained(tmp_path / "init")
    model.save_pretrained(tmp_path / "out", path_initial_model_for_weight_conversion=str(tmp_path / "init"))
    keys = load_file(tmp_path / "out" / "adapter_model.safetensors")
    assert keys and not [k for k in keys if "embed_tokens" in k]


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        (dict(use_rslora=True, rank_pattern=(("q_proj", 4),)), "plan.init_rslora_patterns"),
        (dict(use_rslora=True, alpha_pattern=(("q_proj", 4),)), "plan.init_rslora_patterns"),
        (dict(bias="lora_only"), "plan.init_bias"),
        (dict(bias="all"), "plan.init_bias"),
    ],
)
@pytest.mark.parametrize("init", ["pissa", "olora"])
def test_what_peft_cannot_convert_after_a_mutating_init_is_refused_before_training(fields, key, init, tmp_path):
    """Saving converts the adapter for the original base; PEFT's conversion refuses these combinations."""
    plan = LoraPlan(targets=("q_proj",), init_lora_weights=init, **fields)
    with pytest.raises(LensError) as err:
        to_lora_config(plan)
    assert err.value.key == key
    config = to_lora_config(plan.with_changes(init_lora_weights="default"))
    config.init_lora_weights = init
    torch.manual_seed(0)
    model = get_peft_model(TINY["llama"](), config)
    model.peft_config["default"].init_lora_weights = True
    model.save_pretrained(tmp_path / "init")
    with pytest.raises(ValueError):
        model.save_pretrained(tmp_path / "out", path_initial_model_for_weight_conversion=str(tmp_path / "init"))
