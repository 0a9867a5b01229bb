"""Training-memory estimates against real CPU training steps on small models."""

from __future__ import annotations

import json

import pytest
import torch
from peft import get_peft_model
from transformers import (
    AutoModelForSequenceClassification,
    BertConfig,
    BertForSequenceClassification,
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
)

from core.anatomy.inventory import list_adaptable_layers
from core.charts.memory import memory_figure
from core.errors import LensError
from core.planning.budget import compute_budget
from core.planning.memory import (
    COMPONENTS,
    GPUS,
    MemoryEstimate,
    MemorySettings,
    estimate_training_memory,
    gpu_fits,
    weight_bytes,
)
from core.planning.plan import LoraPlan, to_lora_config

VOCAB = 500
pytestmark = pytest.mark.filterwarnings("ignore")


def tiny_llama(kv_heads: int = 4) -> torch.nn.Module:
    return LlamaForCausalLM(LlamaConfig(vocab_size=VOCAB, hidden_size=64, intermediate_size=160, num_hidden_layers=3,
                                        num_attention_heads=4, num_key_value_heads=kv_heads, max_position_embeddings=256))


def tiny_bert(attn_dropout: float = 0.0) -> torch.nn.Module:
    return BertForSequenceClassification(BertConfig(
        vocab_size=VOCAB, hidden_size=64, intermediate_size=160, num_hidden_layers=3, num_attention_heads=4,
        max_position_embeddings=256, attention_probs_dropout_prob=attn_dropout))


def tiny_gpt2() -> torch.nn.Module:
    return GPT2LMHeadModel(GPT2Config(vocab_size=VOCAB, n_embd=64, n_layer=3, n_head=4, n_positions=256,
                                      bos_token_id=0, eos_token_id=0))


def minilm() -> torch.nn.Module:
    from core.models.embedded import weights_folder

    return AutoModelForSequenceClassification.from_pretrained(str(weights_folder("minilm")), num_labels=2)


MODELS = {"llama": tiny_llama, "llama-gqa": lambda: tiny_llama(2), "bert": tiny_bert, "gpt2": tiny_gpt2}
PLANS = {
    "llama": LoraPlan(targets=("q_proj", "v_proj")),
    "llama-gqa": LoraPlan(target_regex="all-linear", lora_dropout=0.0, bias="all"),
    "bert": LoraPlan(targets=("query", "value"), bias="lora_only", task="seq-cls"),
    "gpt2": LoraPlan(targets=("c_attn", "c_fc"), use_dora=True, modules_to_save=("ln_f",)),
    "minilm": LoraPlan(target_regex="all-linear", task="seq-cls", use_rslora=True),
}


def _batch(model: torch.nn.Module, plan: LoraPlan, b: int, s: int) -> dict:
    ids = torch.randint(0, VOCAB, (b, s))
    labels = torch.randint(0, 2, (b,)) if plan.task == "seq-cls" else ids
    return {"input_ids": ids, "labels": labels}


def _prepare(name: str, plan: LoraPlan, settings: MemorySettings):
    torch.manual_seed(0)
    model = minilm() if name == "minilm" else MODELS[name]()
    inv = list_adaptable_layers(model)
    budget = compute_budget(inv, plan)
    est = estimate_training_memory(inv, budget, settings, plan=plan)
    peft_model = get_peft_model(model, to_lora_config(plan))
    peft_model.train()
    return peft_model, est


def _storage_bytes(tensors) -> int:
    """Bytes held by the tensors' storages, each storage once (tied weights, views)."""
    seen: dict[int, int] = {}
    for tensor in tensors:
        if tensor is not None:
            storage = tensor.untyped_storage()
            seen[storage.data_ptr()] = storage.nbytes()
    return sum(seen.values())


# per-module rank/alpha, exclusions and init methods: MiCA holds a frozen B (adapter, no gradient or state)
EXACT_CASES = [(name, PLANS[name]) for name in [*MODELS, "minilm"]] + [
    ("llama", LoraPlan(targets=("q_proj", "v_proj", "down_proj"), rank_pattern=(("q_proj", 16), ("down_proj", 2)),
                       exclude_modules=("layers.0.self_attn.v_proj",))),
    ("llama", LoraPlan(targets=("q_proj", "v_proj", "embed_tokens"), init_lora_weights="mica")),
    ("gpt2", LoraPlan(targets=("c_attn",), init_lora_weights="pissa", alpha_pattern=(("c_attn", 4),), r=96)),
]


@pytest.mark.parametrize(("name", "plan"), EXACT_CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(EXACT_CASES)])
def test_weights_adapter_gradients_optimizer_are_exact(name: str, plan: LoraPlan, capsys) -> None:
    settings = MemorySettings("fp32", 2, 16, device="cpu")
    model, est = _prepare(name, plan, settings)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    model(**_batch(model, plan, 2, 16)).loss.backward()
    optimizer.step()
    params = list(model.parameters())
    grads = [p.grad for p in params]
    states = [v for state in optimizer.state.values() for v in state.values() if torch.is_tensor(v)]
    measured = _storage_bytes(params + grads + states)
    estimated = sum(est[k] for k in ("weights", "adapter", "gradients", "optimizer"))
    with capsys.disabled():
        print(f"\n  weights+adapter+grads+AdamW {name}: estimated {estimated:,} B, held {measured:,} B, "
              f"error {100 * (estimated - measured) / measured:+.3f}%")
    assert abs(estimated - measured) / measured < 0.01, (estimated, measured)
    assert _storage_bytes(grads) == est["gradients"]


def _saved_bytes(model: torch.nn.Module, batch: dict) -> int:
    """Bytes of every tensor autograd saves for backward, parameters excluded, storages once."""
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    seen: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in params:
            seen[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        loss = model(**batch).loss
    loss.backward()
    return sum(seen.values())


# per-module ranks, exclusions and init methods reach the trace: these are exact to the byte
PATTERN_CASES = [
    ("llama", LoraPlan(targets=("q_proj", "k_proj", "v_proj"), rank_pattern=(("q_proj", 32), ("k_proj", 2)),
                       exclude_modules=("layers.0.self_attn.v_proj",), lora_dropout=0.0)),
    ("llama", LoraPlan(targets=("q_proj", "v_proj"), init_lora_weights="mica", lora_dropout=0.0)),
    ("bert", LoraPlan(targets=("query", "value"), init_lora_weights="pissa", rank_pattern=(("value", 16),),
                      task="seq-cls")),
]

ACTIVATION_CASES = [
    ("llama", LoraPlan(targets=("q_proj", "v_proj")), 2, 48),
    ("llama", LoraPlan(targets=("q_proj", "v_proj"), lora_dropout=0.0, layers=(1, 2)), 3, 40),
    ("llama-gqa", LoraPlan(target_regex="all-linear"), 2, 64),
    ("gpt2", LoraPlan(targets=("c_attn",), lora_dropout=0.0), 2, 48),
    ("gpt2", LoraPlan(target_regex="all-linear"), 1, 96),
    ("bert", LoraPlan(targets=("query", "value"), task="seq-cls"), 4, 32),
    ("minilm", LoraPlan(targets=("query", "key", "value"), task="seq-cls"), 2, 48),
    *[(name, plan, 2, 48) for name, plan in PATTERN_CASES],
]


@pytest.mark.parametrize(("name", "plan", "b", "s"), ACTIVATION_CASES)
def test_activations_match_saved_tensors(name: str, plan: LoraPlan, b: int, s: int, capsys) -> None:
    model, est = _prepare(name, plan, MemorySettings("fp32", b, s, device="cpu"))
    measured = _saved_bytes(model, _batch(model, plan, b, s))
    error = (est["activations"] - measured) / measured
    with capsys.disabled():
        print(f"\n  activations {name} b={b} s={s}: estimated {est['activations']:,} B, "
              f"saved {measured:,} B, error {100 * error:+.1f}%")
    assert abs(error) <= 0.10
    if (name, plan) in PATTERN_CASES:
        assert est["activations"] == measured


def test_checkpointing_keeps_less() -> None:
    plan = LoraPlan(targets=("q_proj", "v_proj"))
    settings = MemorySettings("fp32", 2, 48, gradient_checkpointing=True, device="cpu")
    model, est = _prepare("llama", plan, settings)
    model.gradient_checkpointing_enable()
    model.enable_input_require_grads()
    measured = _saved_bytes(model, _batch(model, plan, 2, 48))  # block recomputation happens outside the hook
    _, plain = _prepare("llama", plan, MemorySettings("fp32", 2, 48, device="cpu"))
    assert measured <= est["activations"] < plain["activations"]


@pytest.fixture(scope="module")
def catalog_1b():
    from core.models.meta import build_meta_model
    from core.models.sources import guess_spec, load_config

    mc = load_config(guess_spec("llama-3.2-1b"))
    inv = list_adaptable_layers(build_meta_model(mc))
    plan = LoraPlan(target_regex="all-linear")
    return inv, compute_budget(inv, plan), plan


def _est(catalog_1b, **kw) -> MemoryEstimate:
    inv, budget, plan = catalog_1b
    return estimate_training_memory(inv, budget, MemorySettings(**kw), plan=plan)


def test_activations_linear_in_batch_and_seq(catalog_1b) -> None:
    """SDPA: linear in tokens, but for what a batch shares (rotary cos/sin: s × head_dim, once)."""
    one = _est(catalog_1b, batch_size=1, seq_len=256)
    assert _est(catalog_1b, batch_size=4, seq_len=256)["activations"] == pytest.approx(4 * one["activations"], rel=1e-3)
    assert _est(catalog_1b, batch_size=1, seq_len=1024)["activations"] == pytest.approx(4 * one["activations"], rel=1e-3)
    assert _est(catalog_1b, batch_size=4, seq_len=256)["loss"] == 4 * one["loss"]
    gc = _est(catalog_1b, batch_size=1, seq_len=256, gradient_checkpointing=True)
    assert gc["activations"] < one["activations"] / 4
    assert gc["weights"] == one["weights"]


def test_precisions_order_and_qlora_size(catalog_1b) -> None:
    inv, budget, _ = catalog_1b
    sizes = {p: weight_bytes(inv, budget, p) for p in ("fp32", "bf16", "int8", "nf4")}
    assert sizes["nf4"] < sizes["int8"] < sizes["bf16"] < sizes["fp32"]
    assert ("memory.note_cuda_only", {"precision": "nf4"}) in _est(catalog_1b, precision="nf4").notes


@pytest.mark.parametrize("name", ["llama", "gpt2"])
def test_bf16_base_components_match_torch(name: str) -> None:
    """A bf16 base: each component equals the bytes torch really holds after one AdamW step."""
    plan = LoraPlan(targets=("q_proj", "v_proj") if name == "llama" else ("c_attn",), modules_to_save=("norm",)
                    if name == "llama" else ())
    torch.manual_seed(0)
    model = MODELS[name]().to(torch.bfloat16)
    inv = list_adaptable_layers(model)
    est = estimate_training_memory(inv, compute_budget(inv, plan), MemorySettings("bf16", 1, 8, device="cpu"),
                                   plan=plan)
    peft_model = get_peft_model(model, to_lora_config(plan))
    trainable = [p for p in peft_model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=1e-3)
    peft_model(**_batch(peft_model, plan, 1, 8)).loss.backward()
    optimizer.step()
    frozen = [p for p in peft_model.parameters() if not p.requires_grad]
    states = [v for st in optimizer.state.values() for k, v in st.items() if k != "step"]
    assert est["weights"] + est["adapter"] == _storage_bytes(frozen + trainable)
    assert est["adapter"] == _storage_bytes(trainable)  # LoRA in fp32 (PEFT autocasts adapters), copies in bf16
    assert est["gradients"] == _storage_bytes([p.grad for p in trainable])
    assert est["optimizer"] == _storage_bytes(states)


def test_estimate_mapping_fits_and_charts(catalog_1b) -> None:
    est = _est(catalog_1b, batch_size=2, seq_len=512)
    assert list(est) == list(COMPONENTS) and est.total == sum(est.values())
    assert est.fits("A100 80 GB") and est.fits(est.total) and not est.fits(est.total - 1)
    big = _est(catalog_1b, precision="fp32", batch_size=64, seq_len=2048)
    assert not big.fits("T4 16 GB")
    rows = gpu_fits({"small": est, "big": big})
    assert [r.gpu for r in rows] == list(GPUS) and rows[0].fits == {"small": True, "big": False}
    assert rows[0].headroom["small"] == GPUS[rows[0].gpu] - est.total > 0 > rows[0].headroom["big"]
    fig = memory_figure({"small": est, "big": big}, lang="ko", gpus=["T4 16 GB"])
    assert len(fig.data) == len(COMPONENTS) and fig.layout.barmode == "stack"
    assert "MiB" in fig.data[0].customdata[0]
    assert json.loads(json.dumps(est.to_json()))["total"] == est.total


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"batch_size": 0}, "memory.bad_batch"),
        ({"batch_size": -3}, "memory.bad_batch"),
        ({"batch_size": True}, "memory.bad_batch"),
        ({"batch_size": 1.5}, "memory.bad_batch"),
        ({"seq_len": 0}, "memory.bad_seq_len"),
        ({"seq_len": "512"}, "memory.bad_seq_len"),
        ({"batch_size": 4096, "seq_len": 8192}, "memory.too_many_tokens"),
        ({"precision": "fp8"}, "memory.bad_precision"),
        ({"optimizer": "lion"}, "memory.bad_optimizer"),
        ({"device": "tpu"}, "memory.bad_device"),
    ],
)
def test_bad_settings(kwargs: dict, key: str) -> None:
    with pytest.raises(LensError) as info:
        MemorySettings(**kwargs)
    assert info.value.key == key and "{" not in info.value.message("en") and "{" not in info.value.message("ko")


def test_seq_longer_than_model_and_unknown_gpu(catalog_1b) -> None:
    with pytest.raises(LensError) as info:
        _est(catalog_1b, seq_len=200_000)
    assert info.value.key == "memory.seq_too_long" and "131,072" in info.value.message("en")
    with pytest.raises(LensError, match="Unknown GPU"):
        _est(catalog_1b).fits("V100")


def test_cli_json_and_errors(capsys) -> None:
    from core.cli.main import main

    assert main(["memory", "llama-3.2-1b", "--target", "q_proj", "v_proj", "--precision", "nf4",
                 "--batch", "2", "--seq-len", "256", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data["components"]) == set(COMPONENTS) and data["total"] == sum(data["components"].values())
    assert set(data["fits"]) == set(GPUS)
    assert data["assumptions"] == {"attention": "sdpa", "kernel": "flash", "attention_saves": "lse", "saved_dtype": "bf16",
                                   "checkpointing": False, "checkpointing_flavour": None, "device": "cuda",
                                   "method": "traced"}
    for argv in (["memory", "llama-3.2-1b", "--batch", "0"],
                 ["memory", "llama-3.2-1b", "--target", "q_proj", ".*v_proj"],
                 ["memory", "llama-3.2-1b", "--layers", "0,x"],
                 ["memory", "llama-3.2-1b", "--precision", "fp8"]):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's own refusals (choices, types)
            code = exc.code
        assert code == 2
        err = capsys.readouterr().err
        assert err.startswith("error:") and err.count("\n") == 1 and "Traceback" not in err


def test_plan_from_args_targets() -> None:
    import argparse

    from core.cli.options import add_budget_options, plan_from_args

    parser = argparse.ArgumentParser()
    add_budget_options(parser)
    plan = plan_from_args(parser.parse_args(["--target", "q_proj", "v_proj", "--layers", "2,0", "--alpha", "32"]),
                          "causal-lm")
    assert plan.targets == ("q_proj", "v_proj") and plan.layers == (0, 2) and plan.lora_alpha == 32
    assert plan_from_args(parser.parse_args(["--target", r".*\.(q|v)_proj"]), "causal-lm").target_regex
    assert plan_from_args(parser.parse_args([]), "causal-lm").target_regex == "all-linear"


@pytest.mark.parametrize(("cls", "config"), [
    (LlamaForCausalLM, LlamaConfig(vocab_size=VOCAB, hidden_size=64, num_hidden_layers=1, num_attention_heads=4)),
    (GPT2LMHeadModel, GPT2Config(vocab_size=VOCAB, n_embd=64, n_layer=1, n_head=4)),
])
def test_attention_kind_is_what_transformers_resolved(cls, config) -> None:
    from transformers import BloomConfig, BloomForCausalLM

    from core.planning.attention import resolve_attention

    for model in (cls(config), BloomForCausalLM(BloomConfig(vocab_size=VOCAB, hidden_size=64, n_layer=1, n_head=4))):
        kind = resolve_attention(model, "cuda", "bf16", 0.0)
        assert kind.implementation == model.config._attn_implementation  # transformers' own choice
        assert kind.fused == (model.config._attn_implementation == "sdpa")
    sdpa = cls(config)
    assert resolve_attention(sdpa, "cuda", "bf16", 0.0).kernel == "flash"
    assert resolve_attention(sdpa, "cuda", "fp32", 0.0).kernel == "efficient"
    assert resolve_attention(sdpa, "cpu", "fp32", 0.1).saves == "scores"  # CPU flash has no dropout: math path


def test_eager_attention_keeps_the_scores() -> None:
    """Same model, eager vs sdpa: eager saves the s×s probabilities (heads × s² per example) on top."""
    plan = LoraPlan(targets=("q_proj", "v_proj"), lora_dropout=0.0)
    ests = {}
    for impl in ("eager", "sdpa"):
        model = LlamaForCausalLM(LlamaConfig(vocab_size=VOCAB, hidden_size=64, intermediate_size=160,
                                             num_hidden_layers=2, num_attention_heads=4, attn_implementation=impl))
        inv = list_adaptable_layers(model)
        ests[impl] = estimate_training_memory(inv, compute_budget(inv, plan), MemorySettings("fp32", 1, 128,
                                              device="cpu"), plan=plan)
        assert ests[impl].assumptions.attention.implementation == impl
        peft_model = get_peft_model(model, to_lora_config(plan))
        peft_model.train()
        measured = _saved_bytes(peft_model, _batch(peft_model, plan, 1, 128))
        assert abs(ests[impl]["activations"] - measured) / measured < 0.05, (impl, ests[impl]["activations"], measured)
    assert ests["eager"]["activations"] - ests["sdpa"]["activations"] > 4 * 128 * 128 * 4  # ≥ one s² per head


def test_without_a_model_the_formula_answers_and_says_so(catalog_1b) -> None:
    from dataclasses import replace

    inv, budget, plan = catalog_1b
    est = estimate_training_memory(replace(inv, model=None), budget, MemorySettings(), plan=plan)
    assert est.assumptions.method == "rough" and ("memory.note_rough", {}) in est.notes
    assert est["activations"] > 0 and est.to_json()["assumptions"]["method"] == "rough"


def test_configure_and_compare_panels_say_the_attention_kind() -> None:
    from streamlit.testing.v1 import AppTest

    from core.models.spec import ModelSpec

    at = AppTest.from_file(str(__import__("pathlib").Path(__file__).parents[1] / "app.py"), default_timeout=120)
    at.session_state["app.model_spec"] = ModelSpec("catalog", "gpt2")
    at.run()
    at.switch_page("pages/configure.py").run()
    assert not at.exception
    assert any("`sdpa` attention (`flash` kernel on `cuda`" in c.value for c in at.caption), [c.value for c in at.caption]
    at.toggle(key="memory.w.ckpt").set_value(True).run()  # the flavour the Trainer runs, named
    assert any("checkpointing on, non-reentrant (`use_reentrant=False`" in c.value for c in at.caption)
    at.text_input(key="configure.save_name").set_value("qv").run()
    at.button(key="configure.save_btn").click().run()
    at.switch_page("pages/compare.py").run()
    assert not at.exception
    assert any("`sdpa` attention" in c.value for c in at.caption), [c.value for c in at.caption]


def test_an_estimate_never_puts_another_threads_new_weights_on_the_meta_device():
    """The trace wraps its meta copy with PEFT on this thread's default device only: a training run that builds or
    wraps a model in another thread meanwhile gets real weights (PEFT's low_cpu_mem_usage patched every thread's
    ``register_parameter``, so they came out on meta or raised)."""
    import threading

    from core.models.meta import build_meta_model
    from core.models.sources import load_config
    from core.models.spec import ModelSpec

    meta = build_meta_model(load_config(ModelSpec("embedded", "smollm2", "causal-lm")))
    inv = list_adaptable_layers(meta)
    plan = LoraPlan(target_regex="all-linear", r=8)
    budget, done, devices = compute_budget(inv, plan), threading.Event(), set()

    def estimate() -> None:
        for batch in range(1, 9):  # a new key each time: no cached answer
            estimate_training_memory(inv, budget, MemorySettings("fp32", batch, 16, device="cpu"), plan=plan)
        done.set()

    worker = threading.Thread(target=estimate)
    worker.start()
    while not done.is_set():
        devices.add(torch.nn.Linear(8, 8).weight.device.type)
    worker.join()
    assert devices == {"cpu"}
