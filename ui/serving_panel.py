"""Will it serve? The vLLM checklist under a plan's budget: one line per rule, what to change, the command to copy."""

from __future__ import annotations

import streamlit as st

from core.planning.serving import RULES, Finding, ServingCheck, check_vllm, declared_architecture, served_model_id
from ui.state import tr
from ui.widgets import verbatim


def _sentence(finding: Finding, suffix: str = "") -> str:
    # Names come from the model and the visitor: shown as code, never read as markdown.
    params = {k: verbatim(v) if isinstance(v, str) else v for k, v in finding.params.items()}
    return tr(finding.key + suffix, **params)


def render_plan_serving(plan, budget, inv, mc) -> ServingCheck:
    """Check ``plan`` (with its budget on ``inv``, the model ``mc``) and show the checklist."""
    check = check_vllm(plan, budget, inv, declared=declared_architecture(mc.config))
    render_serving_panel(check, served_model_id(mc.spec))
    return check


def render_serving_panel(check: ServingCheck, model_id: str, key: str = "configure.serving") -> None:
    """The checklist for one plan."""
    with st.container(border=True, key=key):
        st.markdown(f"**{tr('serving.title', version=check.version)}**")
        if check.ok:
            st.success(tr("serving.ok", version=check.version, max=check.max_lora_rank), icon="✅")
        else:
            n = len(check.problems)
            st.warning(tr("serving.not_ok_one" if n == 1 else "serving.not_ok_other", version=check.version, n=n),
                       icon="⚠️")  # fmt: skip
        for finding in check.problems:  # what fails first, with what to change
            change = tr("serving.change", fix=_sentence(finding, "_fix"))
            st.markdown(f"❌ **{tr(f'serving.rule.{finding.rule}')}**  \n{_sentence(finding)} **{change}**")
        failed = {f.rule for f in check.problems}
        passed = [f"✅ {tr(f'serving.rule.{rule.id}')}" for rule in RULES if rule.id not in failed]
        half = (len(passed) + 1) // 2
        for column, lines in zip(st.columns(2), (passed[:half], passed[half:]), strict=True):
            column.markdown("  \n".join(lines))
        for note in check.notes:
            st.caption("ℹ️ " + _sentence(note))
        st.caption(tr("serving.command"))
        st.code(check.command(model_id), language="bash")
        st.caption(tr("serving.source", version=check.version))
