"""LoraPlan validation, the PEFT config it makes, and its JSON round trip."""

from __future__ import annotations

import json

import pytest

from core.errors import LensError
from core.planning.plan import ALL_LINEAR, MAX_R, LoraPlan, lora_config_code, to_lora_config, validate_plan

BASE = dict(targets=("q_proj", "v_proj"))

# (plan fields, num_blocks, expected error key)
INVALID = [
    (dict(r=0), None, "plan.bad_r"),
    (dict(r=-8), None, "plan.bad_r"),
    (dict(r=MAX_R + 1), None, "plan.bad_r"),
    (dict(r=10**9), None, "plan.bad_r"),
    (dict(r=8.0), None, "plan.bad_r"),
    (dict(r=True), None, "plan.bad_r"),
    (dict(lora_alpha=0), None, "plan.bad_alpha"),
    (dict(lora_alpha=-16), None, "plan.bad_alpha"),
    (dict(lora_alpha=float("nan")), None, "plan.bad_alpha"),
    (dict(lora_alpha="16"), None, "plan.bad_alpha"),
    (dict(lora_dropout=-0.1), None, "plan.bad_dropout"),
    (dict(lora_dropout=1.0), None, "plan.bad_dropout"),
    (dict(lora_dropout=1.5), None, "plan.bad_dropout"),
    (dict(bias="some"), None, "plan.bad_bias"),
    (dict(bias="None"), None, "plan.bad_bias"),
    (dict(targets=()), None, "plan.no_targets"),
    (dict(targets=(), target_regex=""), None, "plan.no_targets"),
    (dict(targets=(), target_regex="(["), None, "plan.bad_regex"),
    (dict(targets=(), target_regex=r".*\.(q_proj"), None, "plan.bad_regex"),
    (dict(layers=(-1,)), None, "plan.bad_layers"),
    (dict(layers=(0, 12)), 12, "plan.bad_layers"),
    (dict(layers=(200,)), 126, "plan.bad_layers"),
]


@pytest.mark.parametrize(("fields", "num_blocks", "key"), INVALID, ids=[f"{k}-{f}" for f, _, k in INVALID])
def test_invalid_plans_are_rejected(fields: dict, num_blocks: int | None, key: str) -> None:
    plan = LoraPlan(**{**BASE, **fields})
    with pytest.raises(LensError) as info:
        validate_plan(plan, num_blocks)
    assert info.value.key == key
    assert info.value.message("en") and info.value.message("ko")
    assert info.value.message("en") != key  # the key has a translation


VALID = [
    (dict(r=1), None),
    (dict(r=MAX_R), None),
    (dict(lora_alpha=0.5), None),
    (dict(lora_dropout=0.0), None),
    (dict(lora_dropout=0.999), None),
    (dict(bias="all"), None),
    (dict(bias="lora_only", use_dora=True, use_rslora=True), None),
    (dict(targets=(), target_regex=ALL_LINEAR), None),
    (dict(targets=(), target_regex=r".*\.(q_proj|v_proj)"), None),
    (dict(layers=(0, 11)), 12),
    (dict(layers=(125,)), None),  # unknown depth: only negatives are rejected
    (dict(modules_to_save=("lm_head",)), None),
]


@pytest.mark.parametrize(("fields", "num_blocks"), VALID, ids=[str(f) for f, _ in VALID])
def test_valid_plans_pass(fields: dict, num_blocks: int | None) -> None:
    validate_plan(LoraPlan(**{**BASE, **fields}), num_blocks)


def test_lora_config_carries_every_choice() -> None:
    plan = LoraPlan(
        targets=("v_proj", "q_proj"),
        r=16,
        lora_alpha=32,
        lora_dropout=0.1,
        bias="lora_only",
        use_rslora=True,
        use_dora=True,
        layers=(3, 1),
        modules_to_save=("lm_head",),
    )
    config = to_lora_config(plan)
    assert config.r == 16 and config.lora_alpha == 32 and config.lora_dropout == pytest.approx(0.1)
    assert set(config.target_modules) == {"q_proj", "v_proj"}
    assert config.bias == "lora_only" and config.use_rslora and config.use_dora
    assert config.layers_to_transform == [1, 3]
    assert list(config.modules_to_save) == ["lm_head"]
    assert config.task_type == "CAUSAL_LM"
    assert plan.scaling == pytest.approx(32 / 4)


def test_lora_config_code_builds_the_same_config() -> None:
    plan = LoraPlan(targets=(), target_regex=r".*\.(q_proj|v_proj)", r=4, bias="all", layers=(), task="seq-cls")
    namespace: dict = {}
    exec(lora_config_code(plan), namespace)  # noqa: S102 - our own generated code
    assert namespace["config"].to_dict() == to_lora_config(plan).to_dict()


def test_peft_refusal_is_a_lens_error() -> None:
    plan = LoraPlan(targets=(), target_regex=ALL_LINEAR, layers=(0, 1))  # PEFT: layers need a list of targets
    with pytest.raises(LensError) as info:
        to_lora_config(plan)
    assert info.value.key == "plan.peft_refused"


ROUND_TRIP = [
    LoraPlan(**BASE),
    LoraPlan(targets=(), target_regex=ALL_LINEAR, r=64, lora_alpha=128, lora_dropout=0.0, bias="all"),
    LoraPlan(
        targets=("c_attn",), use_dora=True, use_rslora=True, layers=(0, 5, 11), modules_to_save=("lm_head", "wte")
    ),
    LoraPlan(targets=("query", "value"), task="seq-cls", lora_alpha=8.5),
]


@pytest.mark.parametrize("plan", ROUND_TRIP)
def test_json_round_trip(plan: LoraPlan) -> None:
    text = json.dumps(plan.to_json())
    again = LoraPlan.from_json(json.loads(text))
    assert again == plan
    assert again.to_json() == plan.to_json()


MALFORMED = [
    ([], "plan.bad_json"),
    ("q_proj", "plan.bad_json"),
    (None, "plan.bad_json"),
    ({"targets": ["q_proj"], "rank": 8}, "plan.bad_json_keys"),
    ({"targets": 5}, "plan.bad_json_value"),
    ({"targets": ["q_proj"], "layers": ["first"]}, "plan.bad_json_value"),
    ({"targets": ["q_proj"], "r": "8"}, "plan.bad_r"),
    ({"targets": ["q_proj"], "r": 0}, "plan.bad_r"),
    ({"targets": ["q_proj"], "bias": "everything"}, "plan.bad_bias"),
    ({"targets": [], "target_regex": "(["}, "plan.bad_regex"),
    ({}, "plan.no_targets"),
]


@pytest.mark.parametrize(("data", "key"), MALFORMED, ids=[k + "-" + repr(d)[:30] for d, k in MALFORMED])
def test_malformed_json_is_a_clear_error(data: object, key: str) -> None:
    with pytest.raises(LensError) as info:
        LoraPlan.from_json(data)
    assert info.value.key == key
