"""Compare-page builders: the plans table and the groups, blocks and r-sweep charts."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from core.anatomy.groups import key_label
from core.charts.colors import PALETTE, group_color
from core.charts.layout import horizontal_y_title
from core.format import compact, exact, human_bytes, ratio
from core.i18n import t
from core.planning.compare import R_SWEEP, PlanResult
from core.planning.plan import LoraPlan
from core.planning.serving import verdict


def _targets(plan: LoraPlan) -> str:
    """target_modules (a regex, or the names), then target_parameters (MoE experts) after a "+"."""
    modules = plan.target_regex or ", ".join(sorted(plan.targets))
    params = ", ".join(plan.target_parameters)
    return " + ".join(part for part in (modules, params) if part) or "-"


def _blocks(plan: LoraPlan, lang: str) -> str:
    """The block range a plan adapts: every block, or ``lo–hi`` (or the list when it has gaps)."""
    layers = sorted(plan.layers)
    if not layers:
        return t("compare.all_blocks", lang)
    if layers == list(range(layers[0], layers[-1] + 1)):
        return f"{layers[0]}–{layers[-1]}" if len(layers) > 1 else str(layers[0])
    return ", ".join(map(str, layers))


def _patterns(plan: LoraPlan) -> str:
    """PEFT's ``rank_pattern``/``alpha_pattern``/``exclude_modules`` when a plan carries them, else ``-``."""
    found = [f"r[{k}]={v}" for k, v in plan.rank_pattern] + [f"α[{k}]={v:g}" for k, v in plan.alpha_pattern]
    if plan.exclude_modules:
        found.append("exclude=" + ", ".join(plan.exclude_modules))
    if plan.init_lora_weights != "default":
        found.append(f"init={plan.init_lora_weights}")
    return "; ".join(found) or "-"


def compare_frame(results: list[PlanResult], lang: str) -> pd.DataFrame:
    """One row per plan: the exact trainable count (a number, so it sorts) beside its compact form."""
    rows = []
    for res in results:
        b, plan = res.budget, res.plan
        rows.append(
            {
                t("compare.col_plan", lang): res.name,
                t("compare.col_model", lang): res.model_name,
                t("compare.col_targets", lang): _targets(plan),
                "r": plan.r,
                "α": f"{plan.lora_alpha:g}",
                t("compare.col_blocks", lang): _blocks(plan, lang),
                t("compare.col_patterns", lang): _patterns(plan),
                t("compare.col_trainable", lang): b.trainable_params,  # exact; the page adds separators
                t("compare.col_compact", lang): compact(b.trainable_params, lang),
                t("compare.col_share", lang): round(100 * b.share, 6),  # a number in %, so it sorts
                t("compare.col_size", lang): human_bytes(b.adapter_bytes(2)),
                t("compare.col_memory", lang): human_bytes(res.memory_total) if res.memory_total else "-",
                t("compare.col_scaling", lang): ratio(b.scaling),
                t("serving.col_vllm", lang): verdict(res.serving, lang) if res.serving else "-",
            }
        )
    return pd.DataFrame(rows)


def groups_figure(results: list[PlanResult], lang: str) -> go.Figure:
    fig = go.Figure()
    groups = list(dict.fromkeys(g for res in results for g in res.budget.by_group()))
    names = [res.name for res in results]
    for group in groups:
        values = [res.budget.by_group().get(group, 0) for res in results]
        label = key_label(group, lang)
        fig.add_bar(
            name=label, x=names, y=values, marker_color=group_color(group),
            customdata=[f"{compact(v, lang)} ({exact(v)})" for v in values],
            hovertemplate="%{x}<br>%{customdata}<extra>" + label + "</extra>",
        )
    fig.update_layout(barmode="stack", yaxis={"tickformat": ".2s"},
                      height=380, margin={"t": 50, "b": 40, "l": 50, "r": 10})
    return horizontal_y_title(fig, t("ui.axis_trainable", lang))


def blocks_figure(results: list[PlanResult], lang: str) -> go.Figure:
    """Per-block parameters, each plan's row coloured against its own largest block (per-row scale), so one
    r=64 plan does not turn every other row dark; the hover gives the exact count."""
    blocks = sorted({b for res in results for b in res.budget.by_block() if b is not None})
    counts = [[res.budget.by_block().get(b, 0) for b in blocks] for res in results]
    z = [[v / max(max(row), 1) for v in row] for row in counts]
    text = [[exact(v) for v in row] for row in counts]
    fig = go.Figure(
        go.Heatmap(
            z=z, x=[str(b) for b in blocks], y=[res.name for res in results], colorscale="Viridis", zmin=0, zmax=1,
            customdata=text,
            hovertemplate="%{y}<br>" + t("ui.axis_block", lang) + " %{x}: %{customdata} " + t("ui.params_unit", lang)
            + "<extra></extra>",
            colorbar={"title": {"text": t("compare.row_scale", lang)}, "tickformat": ".0%"},
        )
    )
    fig.update_layout(xaxis={"title": t("ui.axis_block", lang), "type": "category"},
                      height=max(240, 80 + 40 * len(results)), margin={"t": 30, "b": 40, "l": 10, "r": 10})
    return fig


def r_curve_figure(curves: dict[str, list[tuple[int, int]]], chosen: dict[str, tuple[int, int]], lang: str) -> go.Figure:
    fig = go.Figure()
    for i, (name, points) in enumerate(curves.items()):
        color = PALETTE[i % len(PALETTE)]
        fig.add_scatter(
            x=[p[0] for p in points], y=[p[1] for p in points], mode="lines", name=name, line={"color": color},
            hovertemplate="r=%{x}: %{y:,}<extra>" + name + "</extra>",
        )
        r, n = chosen[name]
        fig.add_scatter(
            x=[r], y=[n], mode="markers", marker={"size": 12, "color": color, "symbol": "diamond"},
            name=f"{name} · {t('compare.chosen_r', lang)}", showlegend=False,
            hovertemplate=t("compare.chosen_r", lang) + " %{x}: %{y:,}<extra>" + name + "</extra>",
        )
    fig.update_layout(
        xaxis={"title": "r", "type": "log", "tickvals": list(R_SWEEP)},
        yaxis={"type": "log", "tickformat": ".2s"},
        height=380, margin={"t": 50, "b": 40, "l": 50, "r": 10},
    )
    return horizontal_y_title(fig, t("ui.axis_trainable", lang))
