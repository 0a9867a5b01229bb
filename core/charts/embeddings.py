"""Pure plotly scatter plots of embeddings before and after the adapter, side by side."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.charts.colors import OTHER_COLOR, group_tail, label_colors
from core.i18n import t

HOVER_CHARS = 80


def truncate(text: str, limit: int = HOVER_CHARS) -> str:
    """One line, at most ``limit`` characters, HTML-escaped for plotly's hover."""
    flat = " ".join(str(text).split())
    if len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    return html.escape(flat)


def _traces(coords: np.ndarray, texts: Sequence[str], names: Sequence[str], other: str,
            legend: bool) -> list[go.Scattergl]:
    colours = label_colors(n for n in names if n != other)
    if other in names:
        colours[other] = OTHER_COLOR
    traces = []
    for label, colour in colours.items():
        idx = [i for i, name in enumerate(names) if name == label]
        traces.append(
            go.Scattergl(
                x=coords[idx, 0],
                y=coords[idx, 1],
                mode="markers",
                name=label,
                legendgroup=label,
                showlegend=legend,
                marker={"color": colour, "size": 7, "opacity": 0.8},
                customdata=[truncate(texts[i]) for i in idx],
                hovertemplate=f"<b>{html.escape(label)}</b><br>%{{customdata}}<extra></extra>",
            )
        )
    return traces


def scatter_pair(
    before: np.ndarray,
    after: np.ndarray,
    texts: Sequence[str],
    labels: Sequence[Any],
    lang: str = "en",
    method: str = "tsne",
) -> go.Figure:
    """Two panels, 'before' and 'after', coloured by label (same colour on both)."""
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=(t("analysis.chart.before", lang), t("analysis.chart.after", lang)),
        horizontal_spacing=0.06,
    )
    other = t("analysis.chart.other", lang)
    names = group_tail(labels, other)
    for col, coords, legend in ((1, before, True), (2, after, False)):
        for trace in _traces(np.asarray(coords), texts, names, other, legend):
            fig.add_trace(trace, row=1, col=col)
    fig.update_xaxes(showticklabels=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, zeroline=False)
    title = t("analysis.chart.tsne_title" if method == "tsne" else "analysis.chart.pca_title", lang)
    fig.update_layout(title=title, legend_title_text=t("analysis.chart.label", lang), margin={"l": 10, "r": 10, "t": 70, "b": 10})
    return fig
