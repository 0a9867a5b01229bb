"""Pure plotly builders for the Sweep page: quality against exact cost with the frontier, loss curves, costs."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.charts.colors import PALETTE
from core.i18n import t
from core.training.sweep import QUALITY, PlanResult, PlanSummary

_MARGIN = {"t": 30, "b": 50, "l": 60, "r": 10}
FRONTIER_COLOR = PALETTE[3]


def plan_color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def quality_figure(rows: Sequence[PlanSummary], task: str, lang: str = "en") -> go.Figure:
    """Quality (mean over seeds, seed spread as error bars) against trainable parameters on a log axis;
    every point labelled with its plan, the Pareto frontier drawn through its plans."""
    metric, _ = QUALITY.get(task, QUALITY["causal-lm"])
    fig = go.Figure()
    fig.add_scatter(
        x=[r.trainable_params for r in rows], y=[r.quality for r in rows], mode="markers+text",
        text=[r.name for r in rows], textposition="top center", name=t("sweepchart.plans", lang),
        error_y={"type": "data", "array": [r.spread for r in rows], "visible": True},
        marker={"size": 12, "color": [plan_color(i) for i in range(len(rows))],
                "line": {"width": [3 if r.on_frontier else 0 for r in rows], "color": FRONTIER_COLOR}},
        customdata=[[r.seeds] for r in rows],
        hovertemplate="%{text}<br>%{x:,} params<br>%{y:.4f} (n=%{customdata[0]})<extra></extra>",
    )  # fmt: skip
    front = sorted((r for r in rows if r.on_frontier), key=lambda r: r.trainable_params)
    if front:
        fig.add_scatter(x=[r.trainable_params for r in front], y=[r.quality for r in front], mode="lines",
                        name=t("sweepchart.frontier", lang), line={"color": FRONTIER_COLOR, "dash": "dot"})
    fig.update_layout(
        xaxis={"type": "log", "title": t("sweepchart.params", lang)}, yaxis_title=t(f"sweepchart.{metric}", lang),
        height=380, margin=_MARGIN, legend={"orientation": "h", "y": -0.25},
    )
    return fig


def curves_figure(
    results: Sequence[PlanResult], running: PlanResult | Sequence[PlanResult] | None = None, lang: str = "en",
) -> go.Figure:
    """Every run's training loss overlaid, one colour per plan; those training now (one, or one a lane) thickest."""
    live = [running] if isinstance(running, PlanResult) else list(running or ())
    fig = go.Figure()
    names = list(dict.fromkeys([r.name for r in results] + [r.name for r in live]))
    for r in [*results, *live]:
        if not r.losses:
            continue
        now = any(r is x for x in live)
        fig.add_scatter(
            x=[p["step"] for p in r.losses], y=[p["loss"] for p in r.losses], mode="lines",
            name=f"{r.name} · seed {r.seed}", line={"color": plan_color(names.index(r.name)), "width": 4 if now else 1.5},
            opacity=1.0 if now else 0.7,
        )  # fmt: skip
    fig.update_layout(xaxis_title=t("sweepchart.step", lang), yaxis_title=t("sweepchart.loss", lang), height=320,
                      margin=_MARGIN)  # fmt: skip
    return fig


def cost_figure(rows: Sequence[PlanSummary], lang: str = "en") -> go.Figure:
    """Wall time, tokens/s and peak memory per plan, side by side."""
    keys = ("seconds", "tps", "mem")
    fig = make_subplots(rows=1, cols=3, subplot_titles=[t(f"sweepchart.{k}", lang) for k in keys])
    names = [r.name for r in rows]
    colors = [plan_color(i) for i in range(len(rows))]
    values = (
        [r.seconds for r in rows],
        [r.tokens_per_second or 0.0 for r in rows],
        [(r.peak_memory_bytes or 0) / 2**20 for r in rows],
    )
    for col, ys in enumerate(values, start=1):
        fig.add_bar(x=names, y=ys, marker_color=colors, showlegend=False, row=1, col=col)
    fig.update_layout(height=300, margin=_MARGIN)
    return fig
