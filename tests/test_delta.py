"""ΔW anatomy: the r×r route against a materialised SVD, both input routes, DoRA, charts."""

from __future__ import annotations

import json
import math

import pytest
import torch
from peft import LoraConfig, PeftModel, get_peft_model
from peft.tuners.lora import LoraLayer
from safetensors.torch import load_file
from transformers import BertConfig, BertModel, GPT2Config, GPT2LMHeadModel

from core.adapters.load import AdapterBundle, check_fits
from core.analysis.delta import (
    delta_from_peft,
    effective_rank,
    module_group,
    singular_values,
    to_frame,
)
from core.charts.colors import PALETTE, group_color, label_colors
from core.charts.delta import effective_rank_figure, ratio_heatmap, spectrum_figure
from core.errors import LensError


def tiny_bert() -> BertModel:
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=48
    )
    return BertModel(config)


def tiny_gpt2() -> GPT2LMHeadModel:
    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=120, n_embd=32, n_layer=2, n_head=2, n_positions=64, bos_token_id=0, eos_token_id=0
    )
    return GPT2LMHeadModel(config)


def lora_layers(model: torch.nn.Module) -> dict[str, LoraLayer]:
    return {
        name.removeprefix("base_model.model."): m
        for name, m in model.named_modules()
        if isinstance(m, LoraLayer)
    }


CASES = [
    # (builder, targets, kinds expected)
    (tiny_bert, ["query", "value", "intermediate.dense", "word_embeddings"], {"linear", "embedding"}),
    (tiny_gpt2, ["c_attn", "c_fc", "wte"], {"conv1d", "embedding"}),
]


@pytest.mark.parametrize(("builder", "targets", "kinds"), CASES)
@pytest.mark.parametrize("rslora", [False, True])
def test_r_by_r_route_matches_full_svd(builder, targets, kinds, rslora):
    model = get_peft_model(
        builder(), LoraConfig(r=4, lora_alpha=12, target_modules=targets, init_lora_weights=False, use_rslora=rslora)
    )
    rows = delta_from_peft(model)
    layers = lora_layers(model)
    assert {row.kind for row in rows} == kinds
    assert {row.module for row in rows} == set(layers)
    for row in rows:
        layer = layers[row.module]
        delta = layer.get_delta_weight("default").detach().double()
        assert delta.shape == layer.get_base_layer().weight.shape  # Conv1D/Embedding oriented as W
        full = torch.linalg.svdvals(delta)[: row.r]
        torch.testing.assert_close(torch.tensor(row.singular_values, dtype=torch.float64), full, rtol=1e-6, atol=1e-9)
        assert row.delta_norm == pytest.approx(float(delta.norm()), rel=1e-6)
        weight_norm = float(layer.get_base_layer().weight.double().norm())
        assert row.ratio == pytest.approx(float(delta.norm()) / weight_norm, rel=1e-6)
        expected_scaling = 12 / (math.sqrt(4) if rslora else 4)
        assert row.scaling == pytest.approx(expected_scaling)
        assert 1.0 <= row.effective_rank <= row.r + 1e-9
        assert row.rank_share == pytest.approx(row.effective_rank / row.r)


def test_singular_values_when_out_dim_is_below_r():
    torch.manual_seed(1)
    a, b = torch.randn(8, 20), torch.randn(5, 8)  # out=5 < r=8
    ours = singular_values(a, b, scaling=-0.5)
    full = torch.linalg.svdvals(-0.5 * (b @ a).double())
    torch.testing.assert_close(ours, full, rtol=1e-6, atol=1e-9)


def test_fresh_adapter_has_zero_delta():
    model = get_peft_model(tiny_gpt2(), LoraConfig(r=4, lora_alpha=8, target_modules=["c_attn", "wte"]))
    for row in delta_from_peft(model):
        assert row.delta_norm == 0.0
        assert row.ratio == 0.0
        assert max(row.singular_values) == 0.0
        assert row.effective_rank == 0.0
        assert row.rank_share == 0.0


def test_saved_adapter_route_equals_live_route(tmp_path):
    config = LoraConfig(
        r=4,
        lora_alpha=8,
        target_modules=["c_attn", "c_fc", "wte"],
        init_lora_weights=False,
        alpha_pattern={"c_fc": 32},
    )
    model = get_peft_model(tiny_gpt2(), config)
    model.save_pretrained(tmp_path)
    state = load_file(tmp_path / "adapter_model.safetensors")
    saved_config = json.loads((tmp_path / "adapter_config.json").read_text())
    live = {row.module: row for row in delta_from_peft(model)}
    reloaded = PeftModel.from_pretrained(tiny_gpt2(), tmp_path)  # what load_adapter does with an upload
    check_fits(AdapterBundle(tmp_path, saved_config, state, "causal-lm"), tiny_gpt2())
    saved = {row.module: row for row in delta_from_peft(reloaded)}
    assert live.keys() == saved.keys()
    for name, row in live.items():
        assert saved[name].scaling == pytest.approx(row.scaling)
        assert saved[name].singular_values == pytest.approx(row.singular_values, rel=1e-6)
        assert saved[name].ratio == pytest.approx(row.ratio, rel=1e-6)
    assert live["transformer.h.0.mlp.c_fc"].scaling == pytest.approx(8.0)  # alpha_pattern 32 / r 4


def test_saved_adapter_on_a_different_base_is_refused(tmp_path):
    model = get_peft_model(tiny_gpt2(), LoraConfig(r=4, target_modules=["c_attn"], init_lora_weights=False))
    model.save_pretrained(tmp_path)
    state = load_file(tmp_path / "adapter_model.safetensors")
    bundle = AdapterBundle(tmp_path, {"lora_alpha": 8}, state, "causal-lm")
    with pytest.raises(LensError) as missing:
        check_fits(bundle, tiny_bert())
    assert missing.value.key == "analysis.wrong_base"
    wider = GPT2LMHeadModel(GPT2Config(vocab_size=120, n_embd=48, n_layer=2, n_head=2, n_positions=64))
    with pytest.raises(LensError) as shape:
        check_fits(bundle, wider)
    assert shape.value.key == "analysis.wrong_base"


def test_dora_reports_lora_part_and_magnitude_shift():
    model = get_peft_model(tiny_bert(), LoraConfig(r=4, lora_alpha=8, target_modules=["query"], use_dora=True))
    rows = delta_from_peft(model)
    assert all(row.dora and row.magnitude_shift == pytest.approx(0.0, abs=1e-6) for row in rows)
    with torch.no_grad():
        for layer in lora_layers(model).values():
            layer.lora_magnitude_vector["default"].weight.mul_(1.1)
    assert all(row.magnitude_shift == pytest.approx(0.1, rel=1e-4) for row in delta_from_peft(model))


def test_effective_rank_definition():
    assert effective_rank([2.0, 2.0, 2.0]) == pytest.approx(3.0)
    assert effective_rank([5.0, 0.0, 0.0]) == pytest.approx(1.0)
    assert effective_rank([0.0, 0.0]) == 0.0
    assert 1.0 < effective_rank([3.0, 1.0]) < 2.0


def test_names_groups_and_frame():
    assert module_group("bert.encoder.layer.3.attention.self.query") == "query"
    assert module_group("bert.encoder.layer.3.attention.output.dense") == "attention.output.dense"
    assert module_group("bert.encoder.layer.3.output.dense") == "output.dense"
    model = get_peft_model(
        tiny_bert(), LoraConfig(r=4, target_modules=["query", "dense", "word_embeddings"], init_lora_weights=False)
    )
    rows = delta_from_peft(model)
    frame = to_frame(rows)
    assert len(frame) == len(rows)
    assert {"module", "short_name", "group", "block", "r", "ratio", "singular_values", "sigma_1"} <= set(frame.columns)
    embed = frame[frame["group"] == "word_embeddings"]
    assert embed["block"].isna().all()
    assert set(frame["block"].dropna()) == {0, 1}


def test_charts_use_group_colours():
    model = get_peft_model(tiny_bert(), LoraConfig(r=4, target_modules=["query", "value", "word_embeddings"], init_lora_weights=False))
    rows = delta_from_peft(model)
    heat = ratio_heatmap(rows, "ko")
    assert len(heat.data[0].z) == 3  # "outside blocks" + 2 blocks
    assert list(heat.data[0].x) == ["word_embeddings", "query", "value"]
    spectrum = spectrum_figure(rows[1])
    assert spectrum.data[0].marker.color == group_color(rows[1].group)
    erank = effective_rank_figure(rows, "en")
    assert [bar.marker.color for bar in erank.data] == [group_color(g) for g in ("word_embeddings", "query", "value")]


def test_group_colours_are_stable_and_shared_across_architectures():
    assert group_color("query") == group_color("q_proj") == group_color("q")
    assert group_color("down_proj") == group_color("output.dense")
    assert group_color("attention.output.dense") == group_color("o_proj")
    assert group_color("attention.output.dense") != group_color("output.dense")
    assert group_color("something_new") == group_color("something_new") in PALETTE
    colours = label_colors(["rotten", "fresh", "fresh"])
    assert list(colours) == ["fresh", "rotten"] and len(set(colours.values())) == 2
