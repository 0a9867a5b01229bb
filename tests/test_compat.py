"""Each shim in core/compat.py against the library it wraps: same answer as the public path."""

from __future__ import annotations

import copy

import pytest
import torch
import transformers
from peft import LoraConfig, get_peft_model
from peft.tuners.tuners_utils import check_target_module_exists

from core.compat import auto_class_for, expand_all_linear, is_excluded_match


def _tiny(family: str) -> torch.nn.Module:
    torch.manual_seed(0)
    if family == "llama":
        return transformers.LlamaForCausalLM(transformers.LlamaConfig(
            vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4))
    if family == "gpt2":
        return transformers.GPT2LMHeadModel(transformers.GPT2Config(vocab_size=64, n_embd=32, n_layer=2, n_head=4))
    return transformers.BertForSequenceClassification(transformers.BertConfig(
        vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4))


def _lora_names(model: torch.nn.Module) -> set[str]:
    return {name.removeprefix("base_model.model.") for name, module in model.named_modules() if hasattr(module, "lora_A")}


@pytest.mark.parametrize("family", ["llama", "gpt2", "bert"])
def test_expand_all_linear_is_what_get_peft_model_adapts(family: str) -> None:
    task = "SEQ_CLS" if family == "bert" else "CAUSAL_LM"
    config = LoraConfig(target_modules="all-linear", task_type=task)
    expanded = expand_all_linear(copy.copy(config), _tiny(family))
    assert isinstance(expanded.target_modules, set | list)
    adapted = _lora_names(get_peft_model(_tiny(family), config))
    assert set(expanded.target_modules) == adapted


def test_is_excluded_match_marks_only_exclusions() -> None:
    config = LoraConfig(target_modules=["q_proj", "v_proj"], exclude_modules=["model.layers.0.self_attn.q_proj"])
    excluded = check_target_module_exists(config, "model.layers.0.self_attn.q_proj")
    kept = check_target_module_exists(config, "model.layers.1.self_attn.q_proj")
    missed = check_target_module_exists(config, "model.layers.1.mlp.up_proj")
    assert is_excluded_match(excluded) and not is_excluded_match(kept) and not is_excluded_match(missed)
    peft_model = get_peft_model(_tiny("llama"), config)
    assert not hasattr(peft_model.get_submodule("base_model.model.model.layers.0.self_attn.q_proj"), "lora_A")
    assert hasattr(peft_model.get_submodule("base_model.model.model.layers.1.self_attn.q_proj"), "lora_A")


@pytest.mark.parametrize(
    ("auto", "config"),
    [
        (transformers.AutoModelForCausalLM, transformers.LlamaConfig(vocab_size=64, hidden_size=32, intermediate_size=64,
                                                                     num_hidden_layers=1, num_attention_heads=4)),
        (transformers.AutoModelForCausalLM, transformers.GPT2Config(vocab_size=64, n_embd=32, n_layer=1, n_head=4)),
        (transformers.AutoModelForSequenceClassification, transformers.BertConfig(
            vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=4)),
        (transformers.AutoModelForSeq2SeqLM, transformers.T5Config(vocab_size=64, d_model=32, d_ff=64, num_layers=1,
                                                                   num_heads=4, d_kv=8)),
    ],
)
def test_auto_class_for_is_what_from_config_builds(auto: type, config: object) -> None:
    assert auto_class_for(auto, config) is type(auto.from_config(config))


def test_auto_class_for_unknown_is_none() -> None:
    config = transformers.BertConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                     num_attention_heads=4)
    assert auto_class_for(transformers.AutoModelForCausalLM, transformers.T5Config()) is None
    with pytest.raises(ValueError):
        transformers.AutoModelForCausalLM.from_config(transformers.T5Config())
    assert auto_class_for(transformers.AutoModelForSequenceClassification, config) is not None


def test_watch_recomputed_sees_what_the_plain_forward_saves_until_backward_uses_it() -> None:
    """A non-reentrant checkpoint's recomputation keeps, per storage, what the same forward saves unchecked; each
    handle is freed by the end of backward."""
    import weakref

    from core.compat import watch_recomputed

    torch.manual_seed(0)
    lin = torch.nn.Linear(8, 16)
    x = torch.randn(4, 8, requires_grad=True)

    def block(t: torch.Tensor) -> torch.Tensor:
        h = lin(t)
        return torch.nn.functional.gelu(h) * h.softmax(-1)

    params = {p.untyped_storage().data_ptr() for p in lin.parameters()}

    def storages(tensors) -> dict[int, int]:
        return {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in tensors
                if t.untyped_storage().data_ptr() not in params}

    plain: list[torch.Tensor] = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: plain.append(t) or t, lambda t: t):
        block(x).sum().backward()
    kept, alive = [], []
    with watch_recomputed(lambda t, handle: kept.append(t) or alive.append(weakref.ref(handle))):
        torch.utils.checkpoint.checkpoint(block, x, use_reentrant=False).sum().backward()
    assert kept and sorted(storages(kept).values()) == sorted(storages(plain).values())
    assert all(ref() is None for ref in alive)


@pytest.mark.parametrize("kind", ["forward", "forward_kwargs", "forward_pre", "full_backward"])
def test_remove_hooks_except_is_what_a_handles_remove_does(kind: str) -> None:
    from core.compat import hook_ids, remove_hooks_except

    layer = torch.nn.Linear(4, 4)
    calls: list[str] = []
    kept = layer.register_forward_hook(lambda *_: calls.append("kept"))
    before = hook_ids(layer)
    register = {
        "forward": lambda: layer.register_forward_hook(lambda *_: calls.append("new")),
        "forward_kwargs": lambda: layer.register_forward_hook(lambda *_: calls.append("new"), with_kwargs=True),
        "forward_pre": lambda: layer.register_forward_pre_hook(lambda *_: calls.append("new")),
        "full_backward": lambda: layer.register_full_backward_hook(lambda *_: calls.append("new")),
    }[kind]
    handle = register()
    assert hook_ids(layer) == before | {handle.id}
    remove_hooks_except(layer, before)
    assert hook_ids(layer) == before
    layer(torch.ones(1, 4, requires_grad=True)).sum().backward()
    assert calls == ["kept"]
    kept.remove()
    assert hook_ids(layer) == frozenset()
