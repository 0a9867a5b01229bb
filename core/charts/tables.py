"""Tables (pandas) and charts (plotly) for the inventory and budgets: pure builders, no streamlit."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from core.anatomy.inventory import Inventory
from core.charts.colors import group_color
from core.i18n import t
from core.planning.budget import Budget


def layers_frame(inv: Inventory) -> pd.DataFrame:
    """Every adaptable module, one row each (column names stay English: they are data)."""
    rows = [
        {
            "name": layer.name,
            "short_name": layer.short_name,
            "block": layer.block,
            "kind": layer.kind,
            "class": layer.class_name,
            "in_features": layer.in_features,
            "out_features": layer.out_features,
            "bias": layer.has_bias,
            "params": layer.params,
        }
        for layer in inv.layers
    ]
    return pd.DataFrame(rows).astype({"block": "Int64"}) if rows else pd.DataFrame()


def groups_frame(inv: Inventory, lang: str) -> pd.DataFrame:
    """One row per short name: count, shape, parameters and what the module does."""
    from core.anatomy.roles import describe_module, role_text

    rows = []
    for short in inv.short_names():
        members = [layer for layer in inv.layers if layer.short_name == short]
        first = members[0]
        role = describe_module(short, first, inv)
        text = role_text(role, lang)
        if role.inferred:
            text = f"{t('ui.inferred', lang)} · {text}"
        shapes = sorted({f"{m.in_features}→{m.out_features}" for m in members})
        rows.append(
            {
                t("ui.col_group", lang): short,
                t("ui.col_count", lang): len(members),
                t("ui.col_shape", lang): ", ".join(shapes[:3]) + (" …" if len(shapes) > 3 else ""),
                t("ui.col_params", lang): sum(m.params for m in members),
                t("ui.col_role", lang): text,
            }
        )
    return pd.DataFrame(rows)


def _block_label(block: int | None, lang: str) -> str:
    return t("ui.outside_blocks", lang) if block is None else str(block)


def params_by_block_figure(inv: Inventory, lang: str) -> go.Figure:
    """Where the adaptable parameters live: stacked bars, one colour per module group."""
    fig = go.Figure()
    blocks = sorted({layer.block for layer in inv.layers if layer.block is not None})
    order = [_block_label(b, lang) for b in blocks]
    if any(layer.block is None for layer in inv.layers):
        order.append(_block_label(None, lang))
    for short in inv.short_names():
        sums: dict[str, int] = {}
        for layer in inv.layers:
            if layer.short_name == short:
                key = _block_label(layer.block, lang)
                sums[key] = sums.get(key, 0) + layer.params
        fig.add_bar(
            name=short,
            x=list(sums),
            y=list(sums.values()),
            marker_color=group_color(short),
            hovertemplate="%{x}: %{y:.4s} " + t("ui.params_unit", lang) + f"<extra>{short}</extra>",
        )
    fig.update_layout(
        barmode="stack",
        xaxis={"title": t("ui.axis_block", lang), "type": "category", "categoryorder": "array", "categoryarray": order},
        yaxis={"title": t("ui.axis_params", lang), "tickformat": ".2s"},
        legend={"title": t("ui.col_group", lang)},
        margin={"t": 30, "b": 40, "l": 50, "r": 10},
        height=380,
    )
    return fig


def budget_groups_frame(budget: Budget, lang: str) -> pd.DataFrame:
    rows: dict[str, dict] = {}
    for m in budget.modules:
        row = rows.setdefault(m.short_name, {t("ui.col_group", lang): m.short_name, "n": 0, "p": 0})
        row["n"] += 1
        row["p"] += m.lora_params + m.bias_params
    frame = pd.DataFrame(list(rows.values()))
    if frame.empty:
        return frame
    frame["share"] = frame["p"] / max(budget.trainable_params, 1)
    return frame.rename(
        columns={"n": t("ui.col_count", lang), "p": t("ui.col_trainable", lang), "share": t("ui.col_share", lang)}
    )


def budget_by_block_figure(budget: Budget, lang: str) -> go.Figure:
    """Trainable LoRA parameters per block, stacked by module group (one pass over the modules)."""
    sums: dict[str, dict[str, int]] = {}
    for m in budget.modules:
        per_block = sums.setdefault(m.short_name, {})
        key = _block_label(m.block, lang)
        per_block[key] = per_block.get(key, 0) + m.lora_params + m.bias_params
    unit = t("ui.params_unit", lang)
    traces = [
        {"type": "bar", "name": short, "x": list(blocks), "y": list(blocks.values()),
         "marker": {"color": group_color(short)}, "hovertemplate": "%{x}: %{y:,} " + unit + f"<extra>{short}</extra>"}
        for short, blocks in sums.items()
    ]
    # Built on every rerun of Configure: skip plotly's per-property validation (~7x faster for 126 blocks).
    return go.Figure(
        _validate=False,
        data=traces,
        layout={
            "barmode": "stack",
            "xaxis": {"title": {"text": t("ui.axis_block", lang)}, "type": "category"},
            "yaxis": {"title": {"text": t("ui.axis_trainable", lang)}, "tickformat": ".2s"},
            "margin": {"t": 30, "b": 40, "l": 50, "r": 10},
            "height": 320,
        },
    )
