"""Shared chart layout: y-axis titles written horizontally above the axis, so Korean reads left to right."""

from __future__ import annotations

import plotly.graph_objects as go

TITLE_GAP = 28  # pixels above the plot area for the horizontal y title


def horizontal_y_title(fig: go.Figure, text: str, *, xref: str = "paper", x: float = 0.0) -> go.Figure:
    """Replace the rotated y-axis title with a horizontal annotation at the top of the axis.

    Plotly can only rotate a y title by 90°; CJK glyphs then lie on their side. An annotation just above
    the plot area keeps every language upright and leaves the axis itself untouched.
    """
    fig.update_yaxes(title_text=None)
    fig.add_annotation(text=text, xref=xref, yref="paper", x=x, y=1, xanchor="left", yanchor="bottom",
                       yshift=6, showarrow=False, font={"size": 13}, name="y-title")
    margin = fig.layout.margin
    top = margin.t if margin is not None and margin.t is not None else 40
    fig.update_layout(margin={"t": max(top, TITLE_GAP + 20)})
    return fig


def y_title(fig: go.Figure) -> str | None:
    """The horizontal y title ``horizontal_y_title`` added, if any."""
    for note in fig.layout.annotations or ():
        if note.name == "y-title":
            return note.text
    return None
