"""Tables (pandas) and charts (plotly) for the inventory and budgets: pure builders, no streamlit."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.anatomy.groups import key_label
from core.anatomy.inventory import Inventory
from core.charts.colors import group_color
from core.charts.layout import horizontal_y_title
from core.format import exact, ratio, spread
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


def display_columns(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The same frame with its data column names (``in_features``, ``delta_norm``…) in the visitor's language;
    downloads keep the English names, which scripts read."""
    return frame.rename(columns={c: t(f"col.{c}", lang) for c in frame.columns if f"col.{c}" != t(f"col.{c}", lang)})


def groups_frame(inv: Inventory, lang: str) -> pd.DataFrame:
    """One row per module group (core.anatomy.groups): tower and attention kind where the model has them, count,
    blocks, shapes, parameters (exact, with separators) and what the modules do. Shown as a static table, so the
    role text wraps instead of being cut."""
    from core.anatomy.groups import attention_text, format_blocks, has_cross_attention, list_groups, tower_label
    from core.anatomy.roles import describe_group, role_text

    kinds = has_cross_attention(inv)
    rows = []
    for group in list_groups(inv):
        role = describe_group(inv, group)
        text = role_text(role, lang)
        if role.inferred:
            text = f"{t('ui.inferred', lang)} · {text}"
        if group.attention:
            text = f"{attention_text(group.attention, group.tower, lang)} {text}"
        shapes = [f"{a}→{b}" for a, b in group.shapes]
        row = {t("ui.col_tower", lang): tower_label(group.tower, lang)} if inv.towers else {}
        if kinds:
            row[t("ui.col_attention", lang)] = t(f"attn.{group.attention}", lang) if group.attention else ""
        row |= {
            t("ui.col_group", lang): group.short_name,
            t("ui.col_count", lang): exact(group.count),
            t("ui.col_blocks", lang): format_blocks(group.blocks),
            t("ui.col_shape", lang): ", ".join(shapes[:3]) + (" …" if len(shapes) > 3 else ""),
        }
        if inv.towers:
            row[t("ui.col_hidden", lang)] = exact(group.hidden_size) if group.hidden_size else ""
        row |= {t("ui.col_params", lang): exact(group.params), t("ui.col_role", lang): text}
        rows.append(row)
    return pd.DataFrame(rows)


def towers_frame(inv: Inventory, lang: str) -> pd.DataFrame:
    """One row per tower: where it lives, its blocks and hidden size, and what it is (empty without towers)."""
    from core.anatomy.groups import tower_label, tower_text

    return pd.DataFrame(
        [
            {
                t("ui.col_tower", lang): tower_label(tower.name, lang),
                t("ui.col_where", lang): tower.prefix,
                t("ui.col_blocks", lang): exact(tower.num_blocks),
                t("ui.col_hidden", lang): exact(tower.hidden_size) if tower.hidden_size else "",
                t("ui.col_about", lang): tower_text(tower.name, lang),
            }
            for tower in inv.towers
        ]
    )


def _block_label(block: int | None, lang: str) -> str:
    return t("ui.outside_blocks", lang) if block is None else str(block)


def params_by_block_figure(inv: Inventory, lang: str) -> go.Figure:
    """Where the adaptable parameters live: stacked bars per block, one colour per module group, and the
    layers outside the blocks (embeddings, head) in their own panel with their own axis, so a vocabulary-sized
    embedding does not flatten the blocks. Towers keep their own blocks ("Vision 0" is not "Text 0")."""
    from core.anatomy.groups import group_label, list_groups, tower_label

    outside = any(layer.block is None for layer in inv.layers)
    fig = make_subplots(rows=1, cols=2 if outside else 1, column_widths=[0.8, 0.2] if outside else None,
                        horizontal_spacing=0.08)
    unit = t("ui.params_unit", lang)
    towers = [tower.name for tower in inv.towers]
    order: dict[str, tuple[int, int]] = {}  # block label -> (tower, block): towers in model order, blocks by number
    for group in list_groups(inv):
        sums: dict[str | None, int] = {}
        for name in group.names:
            layer = inv.layer(name)
            block = None if layer.block is None else _block_label(layer.block, lang)
            if block is not None and towers:
                block = f"{tower_label(group.tower, lang)} {block}"
            if block is not None:
                order[block] = (towers.index(group.tower) if group.tower in towers else -1, layer.block)
            sums[block] = sums.get(block, 0) + layer.params
        label = group_label(group, lang)
        for col, keys in ((1, [b for b in sums if b is not None]), (2, [b for b in sums if b is None])):
            if not keys:
                continue
            fig.add_bar(name=label, legendgroup=group.key, showlegend=col == 1 or all(b is None for b in sums),
                        x=[b or t("ui.outside_blocks", lang) for b in keys], y=[sums[b] for b in keys],
                        customdata=[exact(sums[b]) for b in keys], marker_color=group_color(group.short_name),
                        hovertemplate="%{x}: %{customdata} " + unit + f"<extra>{label}</extra>", row=1, col=col)
    fig.update_xaxes(type="category", row=1, col=1, title_text=t("ui.axis_block", lang),
                     categoryorder="array", categoryarray=sorted(order, key=order.get))
    if outside:
        fig.update_xaxes(type="category", row=1, col=2, title_text=t("ui.outside_blocks", lang), showticklabels=False)
    fig.update_yaxes(tickformat=".2s")
    fig.update_layout(barmode="stack", legend={"title": t("ui.col_group", lang)},
                      margin={"t": 50, "b": 40, "l": 50, "r": 10}, height=400)
    return horizontal_y_title(fig, t("ui.axis_params", lang))


def budget_groups_frame(budget: Budget, lang: str) -> pd.DataFrame:
    """One row per module group: modules, the rank(s) and scaling(s) PEFT gives them, trainable parameters."""
    rows = [{t("ui.col_group", lang): key_label(g.key, lang), "n": g.modules, "r": spread(g.ranks, str),
             "scaling": spread(g.scalings, ratio), "p": g.params} for g in budget.groups()]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["share"] = frame["p"] / max(budget.trainable_params, 1)
    return frame.rename(columns={"n": t("ui.col_count", lang), "scaling": t("ui.col_scaling", lang),
                                 "p": t("ui.col_trainable", lang), "share": t("ui.col_share", lang)})


def budget_by_block_figure(budget: Budget, lang: str) -> go.Figure:
    """Trainable LoRA parameters per block, stacked by module group (one pass over the modules)."""
    sums: dict[str, dict[str, int]] = {}
    for m in budget.modules:
        per_block = sums.setdefault(m.group or m.short_name, {})
        key = _block_label(m.block, lang)
        per_block[key] = per_block.get(key, 0) + m.lora_params + m.bias_params
    unit = t("ui.params_unit", lang)
    traces = [
        {"type": "bar", "name": key_label(key, lang), "x": list(blocks), "y": list(blocks.values()),
         "marker": {"color": group_color(key)}, "customdata": [exact(v) for v in blocks.values()],
         "hovertemplate": "%{x}: %{customdata} " + unit + f"<extra>{key_label(key, lang)}</extra>"}
        for key, blocks in sums.items()
    ]
    # Built on every rerun of Configure: skip plotly's per-property validation (~7x faster for 126 blocks).
    return go.Figure(
        _validate=False,
        data=traces,
        layout={
            "barmode": "stack",
            "xaxis": {"title": {"text": t("ui.axis_block", lang)}, "type": "category"},
            "yaxis": {"tickformat": ".2s"},
            "margin": {"t": 50, "b": 40, "l": 50, "r": 10},
            "height": 340,
            "annotations": [_y_title(t("ui.axis_trainable", lang))],
        },
    )


def _y_title(text: str) -> dict:
    """``layout.horizontal_y_title``'s annotation as a plain dict, for figures built without validation."""
    return {"text": text, "xref": "paper", "yref": "paper", "x": 0, "y": 1, "xanchor": "left", "yanchor": "bottom",
            "yshift": 6, "showarrow": False, "font": {"size": 13}, "name": "y-title"}
