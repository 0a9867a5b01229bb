"""The memory planner, shared by Configure and Compare (one set of settings per visitor)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.charts.memory import memory_figure
from core.errors import LensError
from core.i18n import human_bytes
from core.planning.memory import PRECISIONS, MemoryEstimate, MemorySettings, estimate_training_memory, gpu_fits
from ui.state import bind, lang, peek, tr

K = "memory.w."
SAVES = {"scores": "mempanel.saves.scores", "lse": "mempanel.saves.lse"}
METHODS = {"traced": "mempanel.method.traced", "rough": "mempanel.method.rough"}
CHECKPOINTING = {None: "mempanel.off", "non-reentrant": "mempanel.ckpt.non-reentrant",
                 "reentrant": "mempanel.ckpt.reentrant"}
DEFAULTS = {"precision": "bf16", "batch": 4, "seq": 512, "ckpt": False}


def settings_from_state() -> MemorySettings:
    return MemorySettings(
        precision=peek(K + "precision", DEFAULTS["precision"]),
        batch_size=int(peek(K + "batch", DEFAULTS["batch"])),
        seq_len=int(peek(K + "seq", DEFAULTS["seq"])),
        gradient_checkpointing=bool(peek(K + "ckpt", DEFAULTS["ckpt"])),
    )


def render_settings() -> None:
    for key, value in DEFAULTS.items():
        bind(K + key, value, PRECISIONS if key == "precision" else None)  # kept in the workspace: errors elsewhere,
        # page visits and reloads leave them as the visitor set them
    c1, c2, c3, c4 = st.columns(4)
    c1.selectbox(tr("mempanel.precision"), PRECISIONS, key=K + "precision", help=tr("mempanel.precision_help"))
    c2.number_input(tr("mempanel.batch"), 1, 4096, step=1, key=K + "batch")
    c3.number_input(tr("mempanel.seq"), 1, 1_048_576, step=128, key=K + "seq")
    c4.toggle(tr("mempanel.ckpt"), key=K + "ckpt")


def estimate(inv, budget, mc, plan=None) -> MemoryEstimate:
    return estimate_training_memory(inv, budget, settings_from_state(), config=mc.config, plan=plan)


def assumption_line(est: MemoryEstimate) -> str:
    """One sentence: the attention kind, saved dtype and checkpointing the activation figure assumes."""
    a = est.assumptions
    if a is None:
        return ""
    return tr("mempanel.assumed", attention=a.attention.implementation, kernel=a.attention.kernel, device=a.device,
              saves=tr(SAVES[a.attention.saves]), dtype=a.saved_dtype,
              ckpt=tr(CHECKPOINTING[a.checkpointing_flavour]), method=tr(METHODS[a.method]))


def render_fits(estimates: dict[str, MemoryEstimate]) -> None:
    rows = []
    for fit in gpu_fits(estimates):
        row = {tr("mempanel.gpu"): fit.gpu, tr("mempanel.gpu_memory"): human_bytes(fit.memory)}
        for label, fits in fit.fits.items():
            row[label] = ("✓ " + tr("mempanel.fits")) if fits else ("✗ " + tr("mempanel.no_fit"))
        rows.append(row)
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def render_memory_panel(inv, budget, mc, key: str, plan=None) -> None:
    st.markdown(f"#### {tr('mempanel.title')}")
    render_settings()
    try:
        est = estimate(inv, budget, mc, plan)
    except LensError as exc:
        st.error(exc.message(lang()), icon="⚠️")
        return
    for note_key, params in est.notes:
        st.caption("ℹ️ " + tr(note_key, **params))
    left, right = st.columns([2, 3])
    with left:
        st.metric(tr("mempanel.total"), human_bytes(est.total))
        parts = pd.DataFrame(
            [{tr("mempanel.component"): tr(f"memory.comp.{name}"), tr("mempanel.bytes"): human_bytes(v)} for name, v in est.items()]
        )
        st.dataframe(parts, hide_index=True, width="stretch")
        render_fits({tr("mempanel.this_plan"): est})
    with right:
        st.plotly_chart(memory_figure(est, lang(), gpus=("T4 16 GB", "A100 40 GB")), width="stretch", key=f"{key}.memfig")
    st.caption("🧮 " + assumption_line(est), help=tr("mempanel.assumptions"))


def render_compare_memory(estimates: dict[str, MemoryEstimate], key: str) -> None:
    if not estimates:
        return
    st.markdown(f"##### {tr('compare.chart_memory')}")
    render_settings()
    st.plotly_chart(memory_figure(estimates, lang()), width="stretch", key=f"{key}.memfig")
    render_fits(estimates)
    lines = {assumption_line(est) for est in estimates.values()} - {""}
    for label, est in estimates.items():
        line = assumption_line(est)
        if line:
            st.caption(f"🧮 {line}" if len(lines) == 1 else f"🧮 {label}: {line}")
        if len(lines) == 1:
            break
