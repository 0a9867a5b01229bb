"""The memory chart: stacked components per estimate, with GPU sizes as dashed lines."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go

from core.charts.layout import horizontal_y_title
from core.i18n import t
from core.planning.memory import COMPONENTS, GIB, GPUS, MIB, MemoryEstimate


def memory_figure(estimates: MemoryEstimate | Mapping[str, MemoryEstimate], lang: str = "en",
                  gpus: Sequence[str] = ()) -> go.Figure:
    """Stacked bars (GiB) of the components, one bar per estimate; dashed lines for ``gpus``."""
    if isinstance(estimates, MemoryEstimate):
        estimates = {t("memory.chart.estimate", lang): estimates}
    labels = list(estimates)
    fig = go.Figure()
    for comp in COMPONENTS:
        values = [estimates[label].get(comp, 0) for label in labels]
        text = [f"{v / MIB:,.0f} MiB ({v / GIB:,.2f} GiB)" for v in values]
        fig.add_bar(x=labels, y=[v / GIB for v in values], name=t(f"memory.comp.{comp}", lang), customdata=text,
                    hovertemplate="%{fullData.name}: %{customdata}<extra></extra>")
    for gpu in gpus:
        fig.add_hline(y=GPUS[gpu] / GIB, line_dash="dash", annotation_text=gpu)
    fig.update_layout(barmode="stack", title=t("memory.chart.title", lang), margin={"l": 10, "r": 10, "t": 80, "b": 10})
    return horizontal_y_title(fig, "GiB")
