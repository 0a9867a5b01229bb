"""Train-page figure builders: pure data in, plotly figure out, labelled in the visitor's language."""

from __future__ import annotations

import re
from functools import cache

import numpy as np
import pytest
import torch
from peft import get_peft_model

from core.analysis.delta import delta_from_peft
from core.anatomy.inventory import list_adaptable_layers
from core.charts.colors import BASE_COLOR, TRAIN_COLOR, label_colors
from core.charts.compare import blocks_figure, compare_frame, groups_figure, r_curve_figure
from core.charts.delta import effective_rank_figure, ratio_heatmap, spectrum_figure
from core.charts.embeddings import scatter_pair
from core.charts.layout import y_title
from core.charts.tables import budget_by_block_figure, params_by_block_figure
from core.charts.train import label_probability_figure, loss_figure
from core.i18n import t
from core.models.meta import build_meta_model
from core.models.sources import ModelSpec, load_config
from core.planning.budget import compute_budget
from core.planning.compare import compare_plans
from core.planning.memory import MemorySettings
from core.planning.plan import LoraPlan, to_lora_config

HANGUL = re.compile(r"[\uac00-\ud7a3]")


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_loss_figure_has_raw_smoothed_and_eval_curves(lang):
    fig = loss_figure([1, 2, 3], [3.0, 2.0, 2.5], [3.0, 2.6, 2.56], [2], [2.2], total_steps=10, lang=lang)
    names = [trace.name for trace in fig.data]
    assert names == [t("trainpage.loss", lang), t("trainpage.loss_smoothed", lang), t("trainpage.eval_loss", lang)]
    assert list(fig.data[1].y) == [3.0, 2.6, 2.56] and list(fig.data[2].x) == [2]
    assert fig.data[0].opacity < 1 and fig.data[0].line.color == fig.data[1].line.color == TRAIN_COLOR
    assert tuple(fig.layout.xaxis.range) == (0, 10)  # the whole run, so progress reads left to right
    assert y_title(fig) == t("trainpage.chart_loss", lang) and fig.layout.yaxis.title.text is None


def test_loss_figure_before_the_first_log():
    fig = loss_figure([], [], [], [], [], total_steps=0)
    assert len(fig.data) == 0 and tuple(fig.layout.xaxis.range) == (0, 1)


def test_label_probability_figure_groups_base_and_adapted():
    fig = label_probability_figure(["fresh", "rotten"], [0.5, 0.5], [0.9, 0.1], lang="ko")
    assert [trace.type for trace in fig.data] == ["bar", "bar"] and fig.layout.barmode == "group"
    base, adapted = fig.data
    assert base.name == t("trainpage.base", "ko") and adapted.name == t("trainpage.adapted", "ko")
    assert list(adapted.x) == ["fresh", "rotten"] and list(adapted.y) == [0.9, 0.1]
    assert base.marker.color == BASE_COLOR != adapted.marker.color
    assert tuple(fig.layout.yaxis.range) == (0, 1) and fig.layout.yaxis.tickformat == ".0%"


# --- charts that tell the truth (issue 16) ---------------------------------------------------------


@cache
def _smollm2():
    mc = load_config(ModelSpec("embedded", "smollm2"))
    return mc, list_adaptable_layers(build_meta_model(mc))


def _comparison(plans: dict[str, LoraPlan]):
    mc, inv = _smollm2()
    return compare_plans({k: (ModelSpec("embedded", "smollm2"), p) for k, p in plans.items()}, lambda s: (mc, inv),
                         MemorySettings())


@cache
def _delta_rows():
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    base = BertModel(BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                                vocab_size=50))
    model = get_peft_model(base, to_lora_config(LoraPlan(targets=("query", "value"), r=4, task="feature")))
    for name, p in model.named_parameters():
        if "lora_B" in name:  # PEFT starts B at zero; give every module a different, non-zero update
            torch.nn.init.normal_(p, std=0.1 if "layer.0" in name else 10.0)
    return delta_from_peft(model)


def _figures(lang: str):
    mc, inv = _smollm2()
    plan = LoraPlan(targets=("q_proj", "v_proj"), r=8)
    comp = _comparison({"a": plan})
    rows = _delta_rows()
    return [
        loss_figure([1, 2], [2.0, 1.0], [2.0, 1.5], [], [], 4, lang),
        label_probability_figure(["neg", "pos"], [0.5, 0.5], [0.2, 0.8], lang),
        params_by_block_figure(inv, lang), budget_by_block_figure(compute_budget(inv, plan), lang),
        groups_figure(list(comp.results), lang), r_curve_figure(comp.curves(), comp.chosen(), lang),
        ratio_heatmap(rows, lang), spectrum_figure(rows[0], lang), effective_rank_figure(rows, lang),
    ]


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_no_chart_has_a_rotated_y_title(lang):
    """Plotly can only write a y title sideways; every chart puts it above the axis, horizontally, instead."""
    for fig in _figures(lang):
        titles = [axis.title.text for name, axis in fig.layout.to_plotly_json().items() if name.startswith("yaxis")
                  for axis in [fig.layout[name]]]
        assert all(not text for text in titles), (fig.layout.title.text, titles)
        assert y_title(fig), fig.layout.title.text
        if lang == "ko":
            assert HANGUL.search(y_title(fig)) or y_title(fig) in ("GiB",), y_title(fig)


def test_loss_chart_step_axis_is_translated():
    assert loss_figure([1], [1.0], [1.0], [], [], 2, "ko").layout.xaxis.title.text == "스텝"


def test_per_block_heatmap_scales_each_plan_to_its_own_maximum():
    """One r=64 plan must not turn every other row dark: each row's largest block is full colour."""
    comp = _comparison({"small": LoraPlan(targets=("q_proj",), r=1), "big": LoraPlan(targets=("q_proj", "v_proj"),
                                                                                     r=64)})
    fig = blocks_figure(list(comp.results), "en")
    z = np.asarray(fig.data[0].z, dtype=float)
    assert np.allclose(z.max(axis=1), 1.0)
    by_block = comp.results[1].budget.by_block()
    assert fig.data[0].customdata[1][0] == f"{by_block[0]:,}"  # the exact count is on hover


def test_twenty_labels_get_twenty_distinct_colours_and_the_tail_is_grouped():
    labels = [f"topic-{i:02d}" for i in range(20)]
    assert len(set(label_colors(labels).values())) == 20
    many = [f"topic-{i:02d}" for i in range(26) for _ in range(i + 1)]
    fig = scatter_pair(np.zeros((len(many), 2)), np.zeros((len(many), 2)), many, many, "ko")
    legend = [trace.name for trace in fig.data if trace.showlegend]
    colours = [trace.marker.color for trace in fig.data if trace.showlegend]
    assert len(legend) == 20 and "기타" in legend and len(set(colours)) == 20
    assert "topic-25" in legend and "topic-00" not in legend  # the most frequent labels keep a colour


def test_parameter_map_puts_outside_block_layers_on_their_own_axis():
    """SmolLM2's tied 28M-parameter embedding would dwarf every 1M-parameter block on one axis."""
    _, inv = _smollm2()
    fig = params_by_block_figure(inv, "en")
    axes = {trace.xaxis for trace in fig.data}
    assert axes == {"x", "x2"}
    outside = [trace for trace in fig.data if trace.xaxis == "x2"]
    assert outside and all(list(trace.x) == [t("ui.outside_blocks", "en")] for trace in outside)
    assert all(t("ui.outside_blocks", "en") not in list(trace.x) for trace in fig.data if trace.xaxis == "x")


def test_spectrum_title_keeps_the_whole_module_name():
    row = _delta_rows()[0]
    fig = spectrum_figure(row, "en")
    assert row.module in fig.layout.title.text and fig.layout.margin.t >= 90


def test_delta_heatmap_uses_a_log_scale_when_ratios_span_decades():
    rows = _delta_rows()
    ratios = [row.ratio for row in rows]
    assert max(ratios) / min(ratios) > 100
    fig = ratio_heatmap(rows, "en")
    z = [v for row in fig.data[0].z for v in row if v is not None]
    assert np.isclose(max(z), np.log10(max(ratios))) and "log" in fig.data[0].colorbar.title.text


def test_compare_table_has_targets_alpha_blocks_patterns_and_percent_share():
    plan = LoraPlan(targets=("v_proj", "q_proj"), r=8, lora_alpha=32, layers=(0, 1, 2, 3))
    comp = _comparison({"mine": plan})
    row = compare_frame(list(comp.results), "en").iloc[0]
    budget = comp.results[0].budget
    assert row["Targets"] == "q_proj, v_proj" and row["α"] == "32" and row["Blocks"] == "0–3"
    assert row["Rank/α patterns"] == "-"
    assert row["Share"] == round(100 * budget.share, 6) and row["Trainable"] == budget.trainable_params  # sortable
