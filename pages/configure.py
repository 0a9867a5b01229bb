"""Configure: choose targets and hyper-parameters; see the exact budget instantly."""

from __future__ import annotations

import streamlit as st

from core.anatomy.inventory import Inventory
from core.charts.tables import budget_by_block_figure, budget_groups_frame
from core.format import count_phrase, human_bytes, percent, ratio, spread
from core.planning.budget import Budget, compute_budget
from core.planning.matching import match_modules
from core.planning.plan import ALL_LINEAR, BIAS_MODES, INIT_METHODS, LoraPlan, lora_config_code, number_errors
from core.planning.presets import PRESETS, default_plan, preset_targets
from core.planning.targeting import target_groups
from ui import resources
from ui.plans import render_save_plan
from ui.serving_panel import render_plan_serving
from ui.state import bind, forget, lang, model_spec, token, tr
from ui.target_table import (
    GROUPS,
    adapted_groups,
    init_table,
    keys_for,
    override_errors,
    overrides_for,
    refuse_empty,
    render_table,
)
from ui.widgets import count, exact, guarded, number_columns, show_warnings

W = "configure.w."  # widget keys
FLASH = "configure.flash"  # a sentence for the next run (a preset that found nothing)

FIELDS = ("preset", "groups", "ranks", "alphas", "regex", "mts", "restrict", "blocks", "r", "alpha", "dropout",
          "bias", "rslora", "dora", "init", "exclude")  # fmt: skip


def init_widgets(inv: Inventory, task: str, model_key: str) -> None:
    """Every widget starts from what this visitor last set (kept in their workspace); a new model starts
    from that model's default plan."""
    if bind("configure.model_key", model_key) != model_key:
        forget(*(W + f for f in FIELDS))
        st.session_state["configure.model_key"] = model_key
    plan = default_plan(inv, task)
    bind(W + "preset", _preset_of(inv, plan), (*PRESETS, None))
    init_table(inv, plan)
    bind(W + "init", plan.init_lora_weights, INIT_METHODS)
    bind(W + "exclude", list(plan.exclude_modules))
    st.session_state.setdefault("configure.preset_last", st.session_state[W + "preset"])
    bind(W + "regex", plan.target_regex if plan.target_regex not in (None, ALL_LINEAR) else "")
    bind(W + "mts", [])
    bind(W + "restrict", False)
    bind(W + "blocks", (0, max(inv.num_blocks - 1, 0)))
    for key, value in (("r", plan.r), ("alpha", plan.lora_alpha), ("dropout", plan.lora_dropout), ("bias", plan.bias),
                       ("rslora", plan.use_rslora), ("dora", plan.use_dora)):  # fmt: skip
        bind(W + key, value)


def _preset_of(inv: Inventory, plan: LoraPlan) -> str:
    """The preset pill that shows ``plan``'s targets."""
    if plan.target_regex:
        return "all-linear" if plan.target_regex == ALL_LINEAR else "regex"
    return "qv" if set(plan.targets) == set(preset_targets(inv, "qv")[0]) else "custom"


def on_preset(inv: Inventory) -> None:
    """A preset ticks its groups (per-group r and α stay); one that finds nothing says so and changes nothing."""
    s = st.session_state
    preset = s[W + "preset"]
    if preset in ("qv", "attention", "mlp"):
        targets, _ = preset_targets(inv, preset)
        keys = keys_for(inv, list(targets))
        if not keys:
            s[FLASH] = tr("configure.preset_empty_kept", preset=tr(f"configure.preset_{preset}"))
            s[W + "preset"] = s.get("configure.preset_last")
            return
        s[GROUPS] = keys
    s["configure.preset_last"] = s[W + "preset"]


def render_controls(inv: Inventory, task: str) -> None:
    s = st.session_state
    st.pills(
        tr("configure.preset"), PRESETS, key=W + "preset", format_func=lambda p: tr(f"configure.preset_{p}"),
        on_change=on_preset, args=(inv,),
    )
    if s.get(FLASH):
        st.info(s.pop(FLASH))
    preset = s.get(W + "preset") or "custom"
    if preset == "regex":
        st.text_input(tr("configure.regex"), key=W + "regex", placeholder=r".*\.(q_proj|v_proj)")
    # No min/max on the numbers: an out-of-range value is said in a sentence under its field (number_errors),
    # never clamped or silently replaced by the last valid one.
    errors = number_errors(st.session_state[W + "r"], st.session_state[W + "alpha"], st.session_state[W + "dropout"])
    c1, c2, c3, c4 = st.columns(4)
    c1.number_input(tr("configure.r"), step=1, key=W + "r", help=tr("configure.help_r"))
    c2.number_input(tr("configure.alpha"), step=1.0, key=W + "alpha", help=tr("configure.help_alpha"))
    c3.number_input(tr("configure.dropout"), step=0.05, key=W + "dropout")
    for column, field in ((c1, "r"), (c2, "lora_alpha"), (c3, "lora_dropout")):
        if field in errors:
            column.error(errors[field].message(lang()))
    c4.selectbox(tr("configure.bias"), BIAS_MODES, key=W + "bias", help=tr("configure.help_bias"))
    c1, c2, c3 = st.columns(3)
    c1.toggle(tr("configure.rslora"), key=W + "rslora")
    c2.toggle(tr("configure.dora"), key=W + "dora")
    if inv.num_blocks > 1:
        c3.toggle(tr("configure.restrict"), key=W + "restrict")
        if st.session_state.get(W + "restrict"):
            st.slider(tr("configure.blocks"), 0, inv.num_blocks - 1, key=W + "blocks")
    st.markdown(f"##### {tr('targets.title')}")
    render_table(inv, _derived_groups(inv, guarded(lambda: base_plan(task), show=False)))
    outside = sorted({layer.short_name for layer in inv.layers if layer.block is None})
    st.session_state[W + "mts"] = [m for m in st.session_state[W + "mts"] if m in outside]
    lo, hi = st.session_state[W + "blocks"]
    st.session_state[W + "blocks"] = (max(0, min(lo, inv.num_blocks - 1)), max(0, min(hi, inv.num_blocks - 1)))
    st.multiselect(tr("configure.mts"), outside, key=W + "mts", placeholder=tr("ui.choose"))
    with st.expander(tr("configure.advanced")):
        c1, c2 = st.columns(2)
        c1.selectbox(tr("configure.init"), INIT_METHODS, key=W + "init", help=tr("configure.help_init"),
                     format_func=lambda m: tr(f"configure.init_{m}"))  # fmt: skip
        c2.multiselect(tr("configure.exclude"), inv.short_names(), key=W + "exclude", accept_new_options=True,
                       help=tr("configure.help_exclude"), placeholder=tr("ui.choose"))  # fmt: skip


def _derived_groups(inv: Inventory, plan: LoraPlan | None) -> set[str] | None:
    """For a regex or all-linear plan, the groups it adapts (the table's ticks then follow the plan)."""
    if plan is None or not plan.target_regex:
        return None
    matched = guarded(lambda: match_modules(inv, plan.with_changes(rank_pattern=(), alpha_pattern=())), show=False)
    if matched is None:
        return set()
    return set(adapted_groups(inv, (*matched.modules, *(p.name for p in matched.params))))


def base_plan(task: str) -> LoraPlan:
    """Everything but the targets and patterns, straight from the widgets."""
    s = st.session_state
    preset = s.get(W + "preset") or "custom"
    regex = ALL_LINEAR if preset == "all-linear" else (s.get(W + "regex") or None if preset == "regex" else None)
    layers: tuple[int, ...] = ()
    if s.get(W + "restrict"):
        lo, hi = s[W + "blocks"]
        layers = tuple(range(lo, hi + 1))
    return LoraPlan(
        target_regex=regex,
        r=s[W + "r"],
        lora_alpha=s[W + "alpha"],
        lora_dropout=s[W + "dropout"],
        bias=s[W + "bias"],
        use_rslora=bool(s[W + "rslora"]),
        use_dora=bool(s[W + "dora"]),
        layers=layers,
        modules_to_save=tuple(s.get(W + "mts", [])),
        task=task,
        init_lora_weights=s.get(W + "init") or "default",
        exclude_modules=tuple(str(x) for x in s.get(W + "exclude", [])),
    )


def plan_from_widgets(inv: Inventory, task: str) -> LoraPlan:
    """The plan the widgets describe: the table's groups (or the regex / all-linear) with per-group r and α
    expressed in PEFT's terms by ``target_groups`` (exact names, a full-name regex, rank/alpha patterns)."""
    base = base_plan(task)
    if base.target_regex:
        adapted = sorted(_derived_groups(inv, base) or ())
        ranks, alphas = overrides_for(adapted)
        if not ranks and not alphas:
            return base
        found = target_groups(inv, adapted, ranks, alphas)
        return base.with_changes(rank_pattern=found.rank_pattern, alpha_pattern=found.alpha_pattern)
    adapted = list(st.session_state[GROUPS])
    refuse_empty(adapted)
    ranks, alphas = overrides_for(adapted)
    return target_groups(inv, adapted, ranks, alphas, base.layers).apply(base)


def render_budget(plan: LoraPlan, budget: Budget) -> None:
    m1, m2, m3, m4, m5 = st.columns(5)
    m1.metric(tr("configure.trainable"), count(budget.trainable_params), help=exact(budget.trainable_params))
    m2.metric(tr("configure.share"), percent(budget.share), help=f"{budget.trainable_params:,} / {budget.total_params:,}")
    m3.metric(tr("configure.size_fp32"), human_bytes(budget.adapter_bytes(4)))
    m4.metric(tr("configure.size_bf16"), human_bytes(budget.adapter_bytes(2)))
    key = "configure.scaling_help_rs" if plan.use_rslora else "configure.scaling_help"
    scalings = tuple(sorted({m.scaling for m in budget.modules})) or (budget.scaling,)
    help_text = tr(key, a=f"{plan.lora_alpha:g}", r=plan.r) + (tr("configure.scaling_mixed") if len(scalings) > 1 else "")
    m5.metric(tr("configure.scaling"), spread(scalings, ratio), help=help_text)
    st.caption(count_phrase("fmt.modules_adapted", len(budget.modules), lang()))
    show_warnings(budget.warnings)
    left, right = st.columns([2, 3])
    with left:
        st.markdown(f"##### {tr('configure.by_group')}")
        frame = budget_groups_frame(budget, lang())
        st.dataframe(frame, hide_index=True, width="stretch", column_config=_share_column())
    with right:
        st.markdown(f"##### {tr('configure.by_block')}")
        st.plotly_chart(budget_by_block_figure(budget, lang()), width="stretch", key="configure.block_chart")
    st.markdown(f"##### {tr('configure.code')}")
    st.code(lora_config_code(plan), language="python")


def _share_column() -> dict:
    counts = number_columns(**{tr("ui.col_count"): "count", tr("ui.col_trainable"): "count"})
    return {**counts, tr("ui.col_share"): st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1)}


def main() -> None:
    st.title(tr("configure.title"))
    st.caption(tr("configure.intro"))
    spec = model_spec()
    mc = guarded(lambda: resources.model_config(spec, token()))
    inv = guarded(lambda: resources.inventory(spec, token())) if mc else None
    if mc is None or inv is None:
        st.info(tr("ui.no_model"))
        return
    st.caption(f"**{mc.display_name}** · `{mc.task}`")
    init_widgets(inv, mc.task, spec.key)
    render_controls(inv, mc.task)
    s = st.session_state
    if number_errors(s[W + "r"], s[W + "alpha"], s[W + "dropout"]) or override_errors(inv):
        s["configure.plan"] = None  # Train must not pick up a plan the visitor is still fixing
        st.warning(tr("configure.not_computed"))
        return
    plan = guarded(lambda: plan_from_widgets(inv, mc.task))
    budget = guarded(lambda: compute_budget(inv, plan)) if plan is not None else None
    if budget is None:
        s["configure.plan"] = None
        st.warning(tr("configure.not_computed"))
        return
    s["configure.plan"] = plan
    render_budget(plan, budget)
    render_plan_serving(plan, budget, inv, mc)
    render_save_plan(plan, spec, s.get(W + "preset"), inv.num_blocks)
    from ui.memory_panel import render_memory_panel

    render_memory_panel(inv, budget, mc, key="configure", plan=plan)


main()
