"""Will vLLM serve it: each rule's verdict on real model classes, as vLLM 0.33.0's code decides it.

The expected verdicts come from reading vLLM's source (the file in each rule of core.planning.serving.RULES):
PEFTHelper.validate_legal / _validate_features for the adapter_config fields, the model classes' SupportsLoRA,
embedding_modules and is_3d_moe_weight, and the LoRA model manager for what it drops.
"""

from __future__ import annotations

import functools
import json

import pytest
import torch
import transformers
from peft import get_peft_model

from core.anatomy.inventory import Inventory, list_adaptable_layers
from core.i18n import t
from core.models.meta import build_meta_model
from core.models.sources import ModelSpec, load_config
from core.planning.budget import compute_budget
from core.planning.plan import LoraPlan, to_lora_config
from core.planning.serving import RULES, check_vllm, declared_architecture, vllm_facts

pytestmark = pytest.mark.filterwarnings("ignore")


def _tiny(name: str):
    """Small configs of classes the catalog lacks: a 2D-MoE, a 3D-MoE and a vision-language model of vLLM."""
    text = dict(num_hidden_layers=2, hidden_size=32, intermediate_size=64, num_attention_heads=4,
                num_key_value_heads=2, vocab_size=64, head_dim=8)  # fmt: skip
    if name == "qwen3-moe":
        return transformers.Qwen3MoeForCausalLM, transformers.Qwen3MoeConfig(
            **text, moe_intermediate_size=16, num_experts=4, num_experts_per_tok=2)
    if name == "gpt-oss":
        return transformers.GptOssForCausalLM, transformers.GptOssConfig(
            **{**text, "intermediate_size": 16}, num_local_experts=4, num_experts_per_tok=2)
    vision = dict(model_type="pixtral", num_hidden_layers=1, hidden_size=32, intermediate_size=64,
                  num_attention_heads=4, image_size=32, patch_size=8, head_dim=8)  # fmt: skip
    return transformers.Mistral3ForConditionalGeneration, transformers.Mistral3Config(
        text_config=dict(model_type="mistral", **text), vision_config=vision)


@functools.cache
def _model(ref: str, task: str | None) -> tuple[Inventory, str | None, str]:
    """(inventory, the config's declared class, task) of a catalog/embedded model or a tiny config."""
    if ref in ("qwen3-moe", "gpt-oss", "mistral3"):
        cls, config = _tiny(ref)
        with torch.device("meta"):
            model = cls._from_config(config, dtype=None)
        return list_adaptable_layers(model), None, "causal-lm"
    mc = load_config(ModelSpec("embedded" if ref == "smollm2" else "catalog", ref, task))
    return list_adaptable_layers(build_meta_model(mc)), declared_architecture(mc.config), mc.task


def _check(ref: str, task: str | None, **plan_kwargs):
    inv, declared, task = _model(ref, task)
    plan = LoraPlan(task=task, **plan_kwargs)
    return check_vllm(plan, compute_budget(inv, plan), inv, declared=declared)


QV = dict(targets=("q_proj", "v_proj"))
EXPERTS = ("experts.gate_up_proj", "experts.down_proj")
# (model, task, plan, ok, rule ids of the problems, --max-lora-rank, flags the command must carry)
CASES = [
    ("smollm2", None, QV, True, set(), 8, ()),  # a plain q/v plan on Llama
    ("smollm2", None, {**QV, "r": 9}, True, set(), 16, ()),  # allowed: 1, 8, 16, 32, 64, 128, 256, 320, 512
    ("smollm2", None, {**QV, "r": 300}, True, set(), 320, ()),
    ("smollm2", None, {**QV, "r": 512}, True, set(), 512, ()),
    ("smollm2", None, {**QV, "r": 513}, False, {"rank"}, 512, ()),
    ("smollm2", None, {**QV, "rank_pattern": (("v_proj", 64),)}, True, set(), 64, ()),
    ("smollm2", None, {**QV, "rank_pattern": (("matches_nothing", 600),)}, False, {"rank"}, 512, ()),
    ("smollm2", None, {**QV, "use_rslora": True, "alpha_pattern": (("q_proj", 4.0),)}, True, set(), 8, ()),
    ("smollm2", None, {**QV, "use_dora": True}, False, {"dora"}, 8, ()),
    ("smollm2", None, {**QV, "bias": "lora_only"}, False, {"bias"}, 8, ()),
    ("smollm2", None, {**QV, "bias": "all"}, False, {"bias"}, 8, ()),
    ("smollm2", None, {**QV, "init_lora_weights": "pissa"}, False, {"init"}, 8, ()),
    ("smollm2", None, {**QV, "init_lora_weights": "olora"}, False, {"init"}, 8, ()),
    ("smollm2", None, {**QV, "init_lora_weights": "gaussian"}, True, set(), 8, ()),
    ("smollm2", None, {**QV, "init_lora_weights": "orthogonal"}, True, set(), 8, ()),
    ("smollm2", None, {**QV, "modules_to_save": ("lm_head",)}, False, {"modules_to_save"}, 8, ()),
    ("smollm2", None, {**QV, "exclude_modules": ("model.layers.0.self_attn.q_proj",)}, True, set(), 8, ()),
    # LoRA on embeddings / lm_head: only where the vLLM class lists them in embedding_modules
    ("smollm2", None, dict(targets=("q_proj", "embed_tokens", "lm_head")), True, set(), 8, ()),
    ("mistral-7b-v0.3", None, dict(targets=("q_proj", "lm_head")), False, {"embedding"}, 8, ()),
    ("qwen2.5-0.5b", None, dict(targets=("q_proj", "embed_tokens")), False, {"embedding"}, 8, ()),
    ("llama-3.1-8b", None, dict(targets=("q_proj", "lm_head")), True, set(), 8, ()),
    # classes vLLM has without LoRA, or not at all
    ("gpt2", None, dict(targets=("c_attn",)), False, {"architecture"}, 8, ()),
    ("clip-vit-b-32", None, QV, False, {"architecture"}, 8, ()),
    ("t5-base", None, dict(targets=("q", "v")), False, {"architecture"}, 8, ()),
    # classification heads travel as modules_to_save: one linear classifier/score only
    ("bert-base", "seq-cls", dict(targets=("query", "value")), True, set(), 8, ("--hf-overrides",)),
    ("roberta-base", "seq-cls", dict(targets=("query", "value")), False, {"head"}, 8, ("--hf-overrides",)),
    ("whisper-small", None, QV, True, set(), 8, ()),
    ("whisper-small", None, dict(targets=("q_proj", "conv1")), False, {"conv"}, 8, ()),
    # fused MoE experts (target_parameters)
    ("qwen3-moe", None, dict(targets=("q_proj",), target_parameters=EXPERTS, lora_dropout=0.0), True, set(), 8,
     ("--enable-mixed-moe-lora-format",)),
    ("qwen3-moe", None, dict(targets=("q_proj",), target_parameters=EXPERTS[:1], lora_dropout=0.0), False,
     {"experts"}, 8, ("--enable-mixed-moe-lora-format",)),
    ("gpt-oss", None, dict(targets=("q_proj",), target_parameters=EXPERTS, lora_dropout=0.0), True, set(), 8, ()),
    ("mixtral-8x7b", None, dict(targets=("q_proj",), target_parameters=EXPERTS, lora_dropout=0.0), False,
     {"renamed"}, 8, ()),
    ("mixtral-8x7b", None, QV, True, set(), 8, ()),
    # vision-language models: the tower is adapted only with the flag, where the vLLM class allows it
    ("gemma-3-4b", None, QV, True, set(), 8, ("--enable-tower-connector-lora",)),
    ("mistral3", None, QV, False, {"tower"}, 8, ()),
    ("mistral3", None, dict(target_regex=r"model\.language_model\..*\.(q_proj|v_proj)"), True, set(), 8, ()),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{'-'.join(sorted(c[4])) or 'ok'}-{c[5]}")
def test_verdicts_follow_vllm(case) -> None:
    ref, task, kwargs, ok, rules, max_rank, flags = case
    check = _check(ref, task, **kwargs)
    assert {f.rule for f in check.problems} == rules
    assert check.ok is ok
    assert check.max_lora_rank == max_rank
    command = check.command("some/model")
    assert command.startswith("vllm serve some/model --enable-lora --lora-modules ")
    assert f"--max-lora-rank {max_rank}" in command
    for flag in flags:
        assert flag in command
    assert ("is_3d_lora_weight" in command) is ("--enable-mixed-moe-lora-format" in flags)
    for finding in check.problems:  # each says what is wrong and what to change, in both languages
        for lang in ("en", "ko"):
            assert "{" not in t(finding.key, lang, **finding.params)
            assert t(finding.key + "_fix", lang, **finding.params) != finding.key + "_fix"


def test_every_rule_is_exercised_and_has_a_label() -> None:
    exercised = set().union(*(case[4] for case in CASES))
    assert exercised == {rule.id for rule in RULES}
    assert all(t(f"serving.rule.{rule.id}", "ko") != f"serving.rule.{rule.id}" for rule in RULES)


@pytest.mark.parametrize(
    "ref, kwargs",
    [
        ("smollm2", dict(r=8, targets=("q_proj", "v_proj"), rank_pattern=(("v_proj", 24), ("nothing", 40)))),
        ("mixtral-8x7b", dict(r=4, targets=("w1", "w3"), lora_dropout=0.0)),  # PEFT fuses w1+w3: rank 2r
        ("mixtral-8x7b", dict(r=4, targets=("w1", "w2", "w3", "q_proj"), lora_dropout=0.0)),
        ("qwen3-moe", dict(r=4, targets=("q_proj",), target_parameters=EXPERTS, lora_dropout=0.0)),
    ],
)
def test_adapter_rank_is_what_vllm_reads_from_the_adapter_config_peft_writes(ref: str, kwargs: dict) -> None:
    """vLLM compares max(r, *rank_pattern.values()) of adapter_config.json; PEFT rewrites MoE targets first."""
    inv, declared, task = _model(ref, None)
    plan = LoraPlan(task=task, **kwargs)
    config = to_lora_config(plan)
    if ref == "qwen3-moe":
        cls, tiny = _tiny(ref)
        with torch.device("meta"):
            model = cls._from_config(tiny, dtype=None)
    else:
        model = build_meta_model(load_config(ModelSpec("embedded" if ref == "smollm2" else "catalog", ref, None)))
    saved = get_peft_model(model, config).peft_config["default"]
    expected = max([saved.r, *(saved.rank_pattern or {}).values()])
    assert check_vllm(plan, compute_budget(inv, plan), inv, declared=declared).adapter_rank == expected


def test_facts_come_from_the_vllm_version_the_rules_name() -> None:
    facts = vllm_facts()
    assert facts["vllm"] == "0.33.0"
    llama = facts["architectures"]["LlamaForCausalLM"]
    assert llama["supports_lora"] and llama["embedding_modules"] == ["embed_tokens", "lm_head"]
    assert _check("smollm2", None, **QV).version == "0.33.0"


@pytest.mark.parametrize(
    "argv, ok, ids, max_rank",
    [
        (["smollm2", "--target", "q_proj", "v_proj", "--r", "12"], True, [], 16),
        (["smollm2", "--target", "q_proj", "v_proj", "--dora", "--bias", "lora_only"], False, ["dora", "bias"], 8),
        (["gpt2", "--target", "c_attn"], False, ["architecture"], 8),
    ],
)
def test_budget_json_says_whether_vllm_serves_it(capsys, argv, ok, ids, max_rank) -> None:
    from core.cli.main import main

    assert main(["budget", *argv, "--json"]) == 0
    vllm = json.loads(capsys.readouterr().out)["serving"]["vllm"]
    assert vllm["ok"] is ok and vllm["max_lora_rank"] == max_rank
    assert [p["id"] for p in vllm["problems"]] == ids
    assert all(p["message"] and p["fix"] and p["effect"] == "refused" for p in vllm["problems"])
    if ok:
        assert vllm["command"] == ("vllm serve HuggingFaceTB/SmolLM2-135M-Instruct --enable-lora "
                                   f"--lora-modules adapter=./adapter --max-lora-rank {max_rank}")  # fmt: skip
    assert main(["budget", *argv]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("vLLM 0.33.0: serves it (vllm serve" if ok else "vLLM 0.33.0: will not serve it:")
