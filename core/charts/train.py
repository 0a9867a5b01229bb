"""Pure plotly builders for the Train page: the loss curve and base-vs-adapted label probabilities."""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go

from core.charts.colors import BASE_COLOR, EVAL_COLOR, TRAIN_COLOR
from core.charts.layout import horizontal_y_title
from core.i18n import t

_MARGIN = {"t": 50, "b": 40, "l": 50, "r": 10}


def loss_figure(
    steps: Sequence[int],
    losses: Sequence[float],
    smoothed: Sequence[float],
    eval_steps: Sequence[int],
    eval_losses: Sequence[float],
    total_steps: int,
    lang: str = "en",
) -> go.Figure:
    """Raw training loss (faint), its smoothed curve and the eval loss, on an x-axis spanning the whole run."""
    fig = go.Figure()
    if len(steps):
        fig.add_scatter(x=list(steps), y=list(losses), mode="lines+markers", name=t("trainpage.loss", lang),
                        opacity=0.35, line={"color": TRAIN_COLOR, "width": 1}, marker={"size": 4})
        fig.add_scatter(x=list(steps), y=list(smoothed), mode="lines", name=t("trainpage.loss_smoothed", lang),
                        line={"color": TRAIN_COLOR, "width": 3})
    if len(eval_steps):
        fig.add_scatter(x=list(eval_steps), y=list(eval_losses), mode="lines+markers",
                        name=t("trainpage.eval_loss", lang), line={"color": EVAL_COLOR, "dash": "dash"})
    fig.update_layout(xaxis_title=t("ui.axis_step", lang), height=340, margin=_MARGIN,
                      xaxis={"range": [0, max(total_steps, 1)]})
    return horizontal_y_title(fig, t("trainpage.chart_loss", lang))


def label_probability_figure(
    labels: Sequence[str], base: Sequence[float], adapted: Sequence[float], lang: str = "en"
) -> go.Figure:
    """Each class's probability under the base model and the adapted one, as grouped bars on a 0-100% axis."""
    fig = go.Figure()
    fig.add_bar(x=list(labels), y=list(base), name=t("trainpage.base", lang), marker_color=BASE_COLOR)
    fig.add_bar(x=list(labels), y=list(adapted), name=t("trainpage.adapted", lang), marker_color=TRAIN_COLOR)
    fig.update_layout(barmode="group", height=300, yaxis={"range": [0, 1], "tickformat": ".0%"}, margin=_MARGIN)
    return horizontal_y_title(fig, t("trainpage.probability", lang))
