"""Pure plotly figures for the ΔW anatomy (``core.analysis.delta`` rows in, ``go.Figure`` out).

Every module group keeps its colour from ``core.charts.colors.group_color``; the
heatmap, which needs a continuous scale, colours its group tick labels instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import plotly.graph_objects as go

from core.analysis.delta import DeltaRow
from core.charts.colors import group_color
from core.charts.layout import horizontal_y_title
from core.i18n import t

LOG_SPAN = 100.0  # colour by log10 once the largest cell is this many times the smallest


def _groups(rows: Sequence[DeltaRow]) -> list[str]:
    """Module groups in the order they first appear (model order, not alphabetical)."""
    return list(dict.fromkeys(row.group for row in rows))


def _layout(fig: go.Figure, title: str, y_title: str | None = None) -> go.Figure:
    """A full title (a second line when given ``<br>``) and, above the y axis, a horizontal y title."""
    top = 40 + 22 * (title.count("<br>") + 1) + (30 if y_title else 0)
    title_box = {"text": title, "yref": "container", "y": 1, "yanchor": "top", "pad": {"t": 12}}  # every line inside
    fig.update_layout(title=title_box, margin={"l": 10, "r": 10, "t": top, "b": 10})
    return horizontal_y_title(fig, y_title) if y_title else fig


def _log_scale(values: list[float]) -> bool:
    positive = [v for v in values if v and v > 0]
    return bool(positive) and max(positive) / min(positive) >= LOG_SPAN


def ratio_heatmap(rows: Sequence[DeltaRow], lang: str = "en") -> go.Figure:
    """‖ΔW‖/‖W‖ over blocks (rows) × module groups (columns); modules outside blocks on top."""
    groups = _groups(rows)
    blocks = sorted({row.block for row in rows if row.block is not None})
    has_outside = any(row.block is None for row in rows)
    y_keys: list[int | None] = ([None] if has_outside else []) + list(blocks)
    cells: dict[tuple[int | None, str], DeltaRow] = {}
    for row in rows:
        key = (row.block, row.group)
        if key not in cells or row.ratio > cells[key].ratio:
            cells[key] = row
    raw = [[cells[(b, g)].ratio if (b, g) in cells else None for g in groups] for b in y_keys]
    log = _log_scale([v for row in raw for v in row if v is not None])
    z = [[(math.log10(v) if v > 0 else None) if log and v is not None else v for v in row] for row in raw]
    hover = [[f"{cells[(b, g)].module}<br>‖ΔW‖/‖W‖ = {cells[(b, g)].ratio:.3g}" if (b, g) in cells else ""
              for g in groups] for b in y_keys]
    y_labels = [t("analysis.chart.outside_blocks", lang) if b is None else str(b) for b in y_keys]
    tick_text = [f"<span style='color:{group_color(g)}'><b>{g}</b></span>" for g in groups]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=groups,
            y=y_labels,
            customdata=hover,
            colorscale="Viridis",
            colorbar=_log_colorbar(z) if log else {"title": {"text": "‖ΔW‖/‖W‖"}},
            hovertemplate="%{customdata}<extra></extra>",
            hoverongaps=False,
        )
    )
    fig.update_xaxes(title=t("analysis.chart.module_group", lang), tickvals=groups, ticktext=tick_text, type="category")
    fig.update_yaxes(type="category", autorange="reversed")
    return _layout(fig, t("analysis.chart.heatmap_title", lang), t("analysis.chart.block", lang))


def _log_colorbar(z: list[list[float | None]]) -> dict:
    """Ticks at whole decades of the log10 colour, labelled with the ratio itself."""
    values = [v for row in z for v in row if v is not None]
    decades = list(range(math.floor(min(values)), math.ceil(max(values)) + 1))
    return {"title": {"text": "‖ΔW‖/‖W‖ (log)"}, "tickvals": decades, "ticktext": [f"{10.0**d:.0e}" for d in decades]}


def spectrum_figure(row: DeltaRow, lang: str = "en") -> go.Figure:
    """Singular values of one module's ΔW, largest first, with the energy they hold."""
    sv = list(row.singular_values)
    energy = sum(s * s for s in sv) or 1.0
    running, shares = 0.0, []
    for s in sv:
        running += s * s
        shares.append(running / energy)
    index = list(range(1, len(sv) + 1))
    fig = go.Figure(
        go.Bar(
            x=index,
            y=sv,
            marker_color=group_color(row.group),
            customdata=shares,
            name=row.group,
            hovertemplate="σ%{x} = %{y:.4g}<br>" + t("analysis.chart.energy", lang) + " %{customdata:.1%}<extra></extra>",
        )
    )
    fig.update_xaxes(title=t("analysis.chart.singular_index", lang), dtick=1)
    fig.update_yaxes(rangemode="tozero")
    title = t("analysis.chart.spectrum_title", lang, module=row.module, erank=f"{row.effective_rank:.2f}", r=row.r)
    return _layout(fig, title, t("analysis.chart.singular_value", lang))


def effective_rank_figure(rows: Sequence[DeltaRow], lang: str = "en") -> go.Figure:
    """Mean effective rank per module group (bars, min–max whiskers) against the rank r."""
    fig = go.Figure()
    for group in _groups(rows):
        ranks = [row.effective_rank for row in rows if row.group == group]
        mean = sum(ranks) / len(ranks)
        fig.add_trace(
            go.Bar(
                x=[group],
                y=[mean],
                name=group,
                marker_color=group_color(group),
                error_y={"type": "data", "symmetric": False, "array": [max(ranks) - mean], "arrayminus": [mean - min(ranks)]},
                hovertemplate=f"{group}<br>" + t("analysis.chart.effective_rank", lang) + " %{y:.2f}<extra></extra>",
            )
        )
    top_r = max((row.r for row in rows), default=0)
    if top_r:
        fig.add_hline(y=top_r, line_dash="dash", line_color="#8C96A8", annotation_text=f"r = {top_r}")
    fig.update_xaxes(title=t("analysis.chart.module_group", lang), type="category")
    fig.update_yaxes(rangemode="tozero")
    fig.update_layout(showlegend=False)
    return _layout(fig, t("analysis.chart.erank_title", lang), t("analysis.chart.effective_rank", lang))
