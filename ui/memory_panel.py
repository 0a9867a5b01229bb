"""The memory planner, shared by Configure and Compare (one set of settings per visitor)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from core.charts.memory import memory_figure
from core.errors import LensError
from core.i18n import human_bytes
from core.planning.memory import PRECISIONS, MemoryEstimate, MemorySettings, estimate_training_memory, gpu_fits
from core.planning.sequence import SequenceDefault, adapted_tower, common_default, default_sequence
from ui.state import bind, lang, peek, tr

K = "memory.w."
TYPED = K + "seq_typed"  # the visitor chose the sequence length: the model's default no longer replaces it
SAVES = {"scores": "mempanel.saves.scores", "lse": "mempanel.saves.lse"}
METHODS = {"traced": "mempanel.method.traced", "rough": "mempanel.method.rough"}
DEFAULTS = {"precision": "bf16", "batch": 4, "ckpt": False}  # the sequence length comes from the model
_OLD_SEQ = 512  # the fixed default before it came from the model
CHECKPOINTING = {None: "mempanel.off", "non-reentrant": "mempanel.ckpt.non-reentrant",
                 "reentrant": "mempanel.ckpt.reentrant"}


def seq_typed() -> bool:
    """Whether the visitor chose the sequence length. A value stored before this flag existed counts as chosen
    unless it is the old fixed default (which the visitor may not have chosen, and which broke CLIP)."""
    typed = peek(TYPED, None)
    return bool(typed) if typed is not None else int(peek(K + "seq", _OLD_SEQ)) != _OLD_SEQ


def _mark_typed() -> None:
    st.session_state[TYPED] = True


def settings_from_state(default_seq: int) -> MemorySettings:
    """The panel's settings; the sequence length is ``default_seq`` (the model's) until the visitor types one."""
    return MemorySettings(
        precision=peek(K + "precision", DEFAULTS["precision"]),
        batch_size=int(peek(K + "batch", DEFAULTS["batch"])),
        seq_len=int(peek(K + "seq", default_seq)) if seq_typed() else default_seq,
        gradient_checkpointing=bool(peek(K + "ckpt", DEFAULTS["ckpt"])),
    )


def render_settings(seq: SequenceDefault) -> bool:
    """The four fields; False (with a sentence under the field) when the sequence is longer than the model takes."""
    for key, value in DEFAULTS.items():
        bind(K + key, value, PRECISIONS if key == "precision" else None)  # kept in the workspace: errors elsewhere,
        # page visits and reloads leave them as the visitor set them
    if not bind(TYPED, seq_typed()):
        st.session_state[K + "seq"] = seq.seq_len  # follows the model until the visitor types a value
    bind(K + "seq", seq.seq_len)
    c1, c2, c3, c4 = st.columns(4)
    c1.selectbox(tr("mempanel.precision"), PRECISIONS, key=K + "precision", help=tr("mempanel.precision_help"))
    c2.number_input(tr("mempanel.batch"), 1, 4096, step=1, key=K + "batch")
    c3.number_input(tr("mempanel.seq"), 1, 1_048_576, step=128, key=K + "seq", on_change=_mark_typed,
                    help=tr(f"mempanel.seq_from_{seq.source}", n=f"{seq.seq_len:,}"))
    c4.toggle(tr("mempanel.ckpt"), key=K + "ckpt")
    value = int(st.session_state[K + "seq"])
    if seq.out_of_range(value):
        c3.error(LensError("memory.seq_too_long", seq_len=value, max=seq.maximum).message(lang()), icon="⚠️")
        return False
    return True


def model_sequence(inv, budget, mc) -> SequenceDefault:
    """The model's default sequence, for the tower the plan adapts when it adapts only one."""
    return default_sequence(inv, mc.config, adapted_tower(inv, [m.name for m in budget.modules]))


def models_sequence(loaded) -> SequenceDefault:
    """One default for several (config, inventory) pairs (Compare)."""
    return common_default([default_sequence(inv, mc.config) for mc, inv in loaded])


def estimate(inv, budget, mc, plan=None) -> MemoryEstimate:
    seq = model_sequence(inv, budget, mc)
    return estimate_training_memory(inv, budget, settings_from_state(seq.seq_len), config=mc.config, plan=plan)


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
    if not render_settings(model_sequence(inv, budget, mc)):
        return  # the sentence under the field says why
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


def render_compare_memory(estimates: dict[str, MemoryEstimate], key: str, seq: SequenceDefault) -> None:
    st.markdown(f"##### {tr('compare.chart_memory')}")
    render_settings(seq)  # a length one model cannot take is said under the field; the others are still shown
    if not estimates:
        return
    st.plotly_chart(memory_figure(estimates, lang()), width="stretch", key=f"{key}.memfig")
    render_fits(estimates)
    lines = {assumption_line(est) for est in estimates.values()} - {""}
    for label, est in estimates.items():
        line = assumption_line(est)
        if line:
            st.caption(f"🧮 {line}" if len(lines) == 1 else f"🧮 {label}: {line}")
        if len(lines) == 1:
            break
