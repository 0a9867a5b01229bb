"""Compare-page builders: the plans table and the groups, blocks and r-sweep charts."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from core.charts.colors import PALETTE, group_color
from core.i18n import human_bytes, human_count, t
from core.planning.compare import R_SWEEP, PlanResult


def compare_frame(results: list[PlanResult], lang: str) -> pd.DataFrame:
    rows = []
    for res in results:
        b = res.budget
        rows.append(
            {
                t("compare.col_plan", lang): res.name,
                t("compare.col_model", lang): res.model_name,
                "r": res.plan.r,
                t("compare.col_trainable", lang): b.trainable_params,
                t("compare.col_share", lang): round(100 * b.share, 4),
                t("compare.col_size", lang): human_bytes(b.adapter_bytes(2)),
                t("compare.col_memory", lang): human_bytes(res.memory_total) if res.memory_total else "-",
                t("compare.col_scaling", lang): round(b.scaling, 4),
            }
        )
    return pd.DataFrame(rows)


def groups_figure(results: list[PlanResult], lang: str) -> go.Figure:
    fig = go.Figure()
    groups = list(dict.fromkeys(g for res in results for g in res.budget.by_group()))
    names = [res.name for res in results]
    for group in groups:
        values = [res.budget.by_group().get(group, 0) for res in results]
        fig.add_bar(
            name=group, x=names, y=values, marker_color=group_color(group),
            customdata=[human_count(v, lang) for v in values],
            hovertemplate="%{x}<br>%{customdata}<extra>" + group + "</extra>",
        )
    fig.update_layout(barmode="stack", yaxis={"title": t("ui.axis_trainable", lang), "tickformat": ".2s"},
                      height=380, margin={"t": 30, "b": 40, "l": 50, "r": 10})
    return fig


def blocks_figure(results: list[PlanResult], lang: str) -> go.Figure:
    blocks = sorted({b for res in results for b in res.budget.by_block() if b is not None})
    z = [[res.budget.by_block().get(b, 0) for b in blocks] for res in results]
    fig = go.Figure(
        go.Heatmap(
            z=z, x=[str(b) for b in blocks], y=[res.name for res in results], colorscale="Viridis",
            hovertemplate="%{y}<br>" + t("ui.axis_block", lang) + " %{x}: %{z:,}<extra></extra>",
            colorbar={"title": t("ui.params_unit", lang)},
        )
    )
    fig.update_layout(xaxis={"title": t("ui.axis_block", lang), "type": "category"},
                      height=max(220, 60 + 40 * len(results)), margin={"t": 30, "b": 40, "l": 10, "r": 10})
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
        yaxis={"title": t("ui.axis_trainable", lang), "type": "log", "tickformat": ".2s"},
        height=380, margin={"t": 30, "b": 40, "l": 50, "r": 10},
    )
    return fig
