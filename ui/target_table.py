"""Configure's per-group table: which module groups LoRA adapts, each with its own r and α (PEFT's patterns).

The visitor's choices live in three bound widget values (stable ids, kept in the workspace): the adapted group
keys, and the per-group r and α overrides. The table itself is drawn from them and its edits are folded back
in ``_apply_edits``; a new editor key (a generation counter) then starts from the folded state.
"""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from core.anatomy.groups import ModuleGroup, format_blocks, group_label, list_groups
from core.anatomy.inventory import Inventory
from core.errors import LensError
from core.limits import MAX_R
from core.planning.plan import LoraPlan
from ui.state import bind, lang, tr

W = "configure.w."
GROUPS = W + "groups"  # adapted group keys (a decoder-only model's keys are its short names)
RANKS = W + "ranks"  # {group key: r}
ALPHAS = W + "alphas"  # {group key: alpha}
GEN = "configure.table_gen"
COLUMNS = ("adapt", "group", "shape", "count", "blocks", "r", "alpha")
# Fixed widths in pixels, the table as wide as they add up to (a browser test finds a cell by them; a stretched
# table spreads the spare width over the columns unevenly); every row shown, none scrolled out of view.
WIDTHS = {"adapt": 70, "group": 250, "shape": 150, "count": 70, "blocks": 80, "r": 110, "alpha": 110}
HEADER_PX, ROW_PX = 36, 35


def keys_for(inv: Inventory, names: tuple[str, ...] | list[str]) -> list[str]:
    """Group keys for a list of keys or short names (a preset's names, a value stored before towers existed)."""
    groups = list_groups(inv)
    known = {g.key for g in groups}
    keys: list[str] = []
    for name in names:
        found = [name] if name in known else [g.key for g in groups if g.short_name == name]
        keys += [k for k in found if k not in keys]
    return keys


def init_table(inv: Inventory, plan: LoraPlan) -> None:
    """Bind the three values, starting from ``plan``'s targets; keys that no longer exist are dropped."""
    bind(GROUPS, keys_for(inv, [*plan.targets, *plan.target_parameters]))
    bind(RANKS, {})
    bind(ALPHAS, {})
    s = st.session_state
    s[GROUPS] = keys_for(inv, s[GROUPS])
    known = {g.key for g in list_groups(inv)}
    for key in (RANKS, ALPHAS):
        if not isinstance(s[key], dict):
            s[key] = {}
        s[key] = {k: v for k, v in s[key].items() if k in known}
    s.setdefault(GEN, 0)


def _shape(group: ModuleGroup) -> str:
    return ", ".join(f"{a:,}→{b:,}" for a, b in group.shapes[:3]) + (" …" if len(group.shapes) > 3 else "")


def _labels() -> dict[str, str]:
    """Column id -> header in the visitor's language (the frame's own column names, as every table here)."""
    return {column: tr(f"targets.col_{column}") for column in COLUMNS}


def _frame(inv: Inventory, adapted: set[str]) -> pd.DataFrame:
    s = st.session_state
    groups = list_groups(inv)
    frame = pd.DataFrame(
        {
            "adapt": [g.key in adapted for g in groups],
            "group": [group_label(g, lang()) for g in groups],
            "shape": [_shape(g) for g in groups],
            "count": [g.count for g in groups],
            "blocks": [format_blocks(g.blocks) if g.blocks else "-" for g in groups],
            "r": [s[RANKS].get(g.key) for g in groups],
            "alpha": [s[ALPHAS].get(g.key) for g in groups],
        }
    )
    return frame.rename(columns=_labels())


def render_table(inv: Inventory, derived: set[str] | None) -> None:
    """The table. ``derived``: the groups a regex or all-linear adapts (its tick column is then read-only)."""
    s = st.session_state
    adapted = derived if derived is not None else set(s[GROUPS])
    keys = [g.key for g in list_groups(inv)]
    # A new key per language and per folded edit: the editor then starts from the bound values.
    editor = f"{W}table.{lang()}.{s[GEN]}"
    label = _labels()
    config = {
        label["adapt"]: st.column_config.CheckboxColumn(help=tr("targets.help_adapt"), width=WIDTHS["adapt"]),
        label["group"]: st.column_config.TextColumn(width=WIDTHS["group"]),
        label["shape"]: st.column_config.TextColumn(width=WIDTHS["shape"]),
        label["count"]: st.column_config.NumberColumn(format="%d", width=WIDTHS["count"]),
        label["blocks"]: st.column_config.TextColumn(width=WIDTHS["blocks"]),
        label["r"]: st.column_config.NumberColumn(help=tr("targets.help_r"), step=1, width=WIDTHS["r"]),
        label["alpha"]: st.column_config.NumberColumn(help=tr("targets.help_alpha"), width=WIDTHS["alpha"]),
    }
    disabled = [label[c] for c in ("group", "shape", "count", "blocks")] + ([label["adapt"]] if derived is not None else [])
    st.container(key="configure.targets").data_editor(
        _frame(inv, adapted), key=editor, hide_index=True, width="content", column_config=config,
        height=HEADER_PX + ROW_PX * len(keys) + 2, row_height=ROW_PX,
        disabled=disabled, on_change=_apply_edits, args=(keys, editor, {v: k for k, v in label.items()}),
    )  # fmt: skip
    st.caption(tr("targets.caption"))
    for sentence in override_errors(inv):
        st.error(sentence, icon="⚠️")


def _apply_edits(keys: list[str], editor: str, column_ids: dict[str, str]) -> None:
    """Fold the editor's changed cells into the bound values (a blank r or α means: the global one)."""
    s = st.session_state
    edits = (s.get(editor) or {}).get("edited_rows", {})
    groups, ranks, alphas = list(s[GROUPS]), dict(s[RANKS]), dict(s[ALPHAS])
    for row, named in edits.items():
        key = keys[int(row)]
        cells = {column_ids.get(name, name): value for name, value in named.items()}
        if "adapt" in cells:
            groups = [k for k in groups if k != key] + ([key] if cells["adapt"] else [])
            s[W + "preset"] = "custom"
        for column, table in (("r", ranks), ("alpha", alphas)):
            if column in cells:
                value = cells[column]
                if value is None or (isinstance(value, float) and math.isnan(value)):
                    table.pop(key, None)
                else:
                    table[key] = int(value) if isinstance(value, float) and value.is_integer() else value
    s[GROUPS] = [k for k in keys if k in groups]  # model order
    s[RANKS], s[ALPHAS] = ranks, alphas
    s[GEN] = s.get(GEN, 0) + 1


def override_errors(inv: Inventory) -> list[str]:
    """One sentence per bad per-group r or α, naming the group (the plan is not computed while any is left)."""
    s = st.session_state
    labels = {g.key: group_label(g, lang()) for g in list_groups(inv)}
    found = []
    for key, r in s[RANKS].items():
        if not isinstance(r, int) or isinstance(r, bool) or not 1 <= r <= MAX_R:
            found.append(tr("targets.bad_r", group=labels.get(key, key), r=r, max=MAX_R))
    for key, alpha in s[ALPHAS].items():
        if not isinstance(alpha, int | float) or isinstance(alpha, bool) or not 0 < alpha < math.inf:
            found.append(tr("targets.bad_alpha", group=labels.get(key, key), alpha=alpha))
    return found


def overrides_for(adapted: list[str]) -> tuple[dict[str, int], dict[str, float]]:
    """The per-group r and α of the adapted groups (overrides of groups left out stay stored for later)."""
    s = st.session_state
    return ({k: v for k, v in s[RANKS].items() if k in adapted}, {k: v for k, v in s[ALPHAS].items() if k in adapted})


def adapted_groups(inv: Inventory, names: tuple[str, ...]) -> list[str]:
    """The keys of the groups that hold any of the module names ``names`` (what a regex or all-linear hit)."""
    hit = set(names)
    return [g.key for g in list_groups(inv) if hit.intersection(g.names)]


def refuse_empty(adapted: list[str]) -> None:
    if not adapted:
        raise LensError("plan.no_targets")
