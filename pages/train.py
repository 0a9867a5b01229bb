"""Train: a short real LoRA fine-tune in the background, live progress, playground, downloads."""

from __future__ import annotations

import streamlit as st

from core.errors import LensError
from core.models.embedded import EMBEDDED
from core.models.spec import ModelSpec
from core.planning.plan import LoraPlan
from core.planning.presets import default_plan
from core.training.jobs import job_manager
from core.training.settings import TrainSettings
from ui import resources
from ui.runs import VisitorRun, delete_run, submit_run, visitor_runs
from ui.state import bind, current_plan, lang, model_spec, show_model, token, tr, visitor
from ui.train_panels import render_data_picker, render_preview, render_snapshot
from ui.train_results import render_results
from ui.widgets import guarded

CURRENT = "__current__"
PRECISIONS = ("auto", "fp32", "bf16", "fp16")


def pick_model() -> tuple[ModelSpec, str] | None:
    current = model_spec()
    options = list(EMBEDDED)
    if current.source in ("local", "hub"):
        options.append(CURRENT)
    bind("train.model", options[0], options)  # the Inspect page's model may have changed since
    c1, c2 = st.columns([3, 2])
    choice = c1.selectbox(
        tr("trainpage.model"), options, key="train.model",
        format_func=lambda n: tr("trainpage.current", name=current.ref) if n == CURRENT else EMBEDDED[n].display_name,
    )
    tasks = ("causal-lm", "seq-cls")
    bind(f"train.task.{choice}", "causal-lm" if choice != "minilm" else "seq-cls", tasks)
    task = c2.selectbox(tr("trainpage.task"), tasks, key=f"train.task.{choice}",
                        format_func=lambda x: tr(f"trainpage.task_{x}"))
    spec = current if choice == CURRENT else ModelSpec("embedded", choice)
    show_model(ModelSpec(spec.source, spec.ref, task))  # the sidebar names the model trained here
    return ModelSpec(spec.source, spec.ref, task), task


def pick_plan(spec: ModelSpec, task: str, num_labels: int) -> LoraPlan | None:
    configured = current_plan()
    same_model = (model_spec().source, model_spec().ref) == (spec.source, spec.ref)
    if configured is not None and same_model:
        st.caption(tr("trainpage.plan_configured", targets=_targets(configured), r=configured.r))
        return configured.with_changes(task=task)
    inv = guarded(lambda: resources.inventory(ModelSpec(spec.source, spec.ref, task, num_labels), token()))
    if inv is None:
        return None
    plan = default_plan(inv, task)
    st.caption(tr("trainpage.plan_default", targets=_targets(plan), r=plan.r))
    return plan


def _targets(plan: LoraPlan) -> str:
    return plan.target_regex or ", ".join(plan.targets)


def settings_form(task: str) -> TrainSettings:
    """Defaults are the task's demo size; steps and batch keep a value per task."""
    d = TrainSettings.for_task(task)
    seeds = {f"train.steps.{task}": d.max_steps, "train.lr": 0.0, f"train.batch.{task}": d.batch_size,
             "train.accum": d.grad_accum, "train.seq": 0, "train.warmup": d.warmup_steps, "train.seed": d.seed,
             "train.precision": "auto", "train.ckpt": False, "train.val": d.val_fraction}  # fmt: skip
    for key, value in seeds.items():
        bind(key, value, PRECISIONS if key == "train.precision" else None)
    with st.expander(tr("trainpage.settings")):
        c = st.columns(4)
        steps = c[0].number_input(tr("trainpage.steps"), 1, 100_000, key=f"train.steps.{task}")
        lr = c[1].number_input(tr("trainpage.lr"), 0.0, 1.0, format="%.2e", key="train.lr", help=tr("trainpage.lr_help"))
        batch = c[2].number_input(tr("trainpage.batch"), 1, 1024, key=f"train.batch.{task}")
        accum = c[3].number_input(tr("trainpage.accum"), 1, 1024, key="train.accum")
        c = st.columns(4)
        seq = c[0].number_input(tr("trainpage.seq"), 0, 8192, key="train.seq")
        warmup = c[1].number_input(tr("trainpage.warmup"), 0, 10_000, key="train.warmup")
        seed = c[2].number_input(tr("trainpage.seed"), 0, 2**31 - 1, key="train.seed")
        precision = c[3].selectbox(tr("trainpage.precision"), PRECISIONS, key="train.precision")
        c = st.columns(4)
        ckpt = c[0].toggle(tr("trainpage.ckpt"), key="train.ckpt")
        val = c[1].slider(tr("trainpage.val"), 0.05, 0.5, key="train.val")
    return TrainSettings.for_task(
        task, max_steps=int(steps), learning_rate=float(lr) or None, batch_size=int(batch), grad_accum=int(accum),
        max_seq_len=int(seq) or None, warmup_steps=int(warmup), seed=int(seed), precision=precision,
        gradient_checkpointing=bool(ckpt), val_fraction=float(val),
    )


def render_setup(runs: list[VisitorRun]) -> None:
    picked = pick_model()
    if picked is None:
        return
    spec, task = picked
    ds = render_data_picker(task)
    if ds is None:
        return
    settings = settings_form(task)
    parts = render_preview(ds, settings.val_fraction, settings.seed)
    if parts is None:
        return
    train, val = parts
    num_labels = max(len(ds.labels()), 2) if task == "seq-cls" else 2
    spec = ModelSpec(spec.source, spec.ref, task, num_labels)
    plan = pick_plan(spec, task, num_labels)
    if plan is None:
        return
    busy = any(run.job is not None and not run.job.snapshot.finished for run in runs)
    if st.button(tr("trainpage.start"), type="primary", key="train.start", disabled=busy):
        record = guarded(lambda: submit_run(spec, plan, train, val, settings))
        if record:
            st.session_state["train.job"] = record.job_id
            st.session_state["train.pick"] = record.job_id  # show the new run, not the one picked before
            st.rerun()


@st.fragment(run_every=1.0)
def live(job_id: str) -> None:
    """Polls the background run once a second; only this fragment reruns."""
    try:
        job = job_manager().get(visitor(), job_id)
    except LensError:
        return
    snap = job.snapshot
    render_snapshot(snap, job_manager().queue_position(job_id), key="train.live")
    if not snap.finished:
        if st.button(tr("trainpage.stop"), key="train.stop"):
            guarded(lambda: job_manager().stop(visitor(), job_id))
    elif st.session_state.get("train.shown_done") != job_id:
        st.session_state["train.shown_done"] = job_id
        st.rerun(scope="app")  # show the playground and downloads


def render_runs(runs: list[VisitorRun]) -> None:
    if not runs:
        return
    st.divider()
    st.markdown(f"#### {tr('trainpage.runs')}")
    by_id = {run.record.job_id: run for run in runs}
    ids = list(by_id)
    picked = st.session_state.get("train.pick")
    if picked not in by_id:  # a new run, or the picked one was deleted: show the newest
        wanted = st.session_state.get("train.job")
        st.session_state["train.pick"] = wanted if wanted in by_id else ids[-1]
    job_id = st.selectbox(tr("trainpage.pick_run"), ids, format_func=lambda i: by_id[i].label, key="train.pick")
    run = by_id[job_id]
    if run.job is None:
        st.warning(tr("runs.unavailable", n=run.record.number, reason=run.error.message(lang())))
    elif run.job.snapshot.finished:
        render_snapshot(run.job.snapshot, None, key="train.final")
        render_results(run.job)
    else:
        live(job_id)
    if (run.job is None or run.job.snapshot.finished) and st.button(tr("runs.delete"), key="train.delete"):
        if guarded(lambda: delete_run(run)):
            st.session_state.pop("train.pick", None)
            st.session_state.pop("train.job", None)
            st.rerun()


def main() -> None:
    st.title(tr("trainpage.title"))
    st.caption(tr("trainpage.intro"))
    runs = visitor_runs()  # once per rerun: each one is a workspace read and a restore per run
    render_setup(runs)
    render_runs(runs)


main()
