"""Train a LoRA adapter with transformers ``Trainer`` + PEFT, reporting into a ``RunState``.

``prepare`` loads a fresh model, tokenizes and wraps it with PEFT (raising
``LensError`` on bad input); ``fit`` trains, evaluates and saves the adapter,
recording failures (out of memory, divergence) in the state instead of raising.
"""

from __future__ import annotations

import gc
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from core.atomic import write_folder
from core.data.dataset import TextDataset
from core.data.splits import train_val_split
from core.errors import LensError
from core.models.spec import TRAINABLE_TASKS, ModelSpec
from core.planning.plan import LoraPlan, to_lora_config
from core.training import recipe
from core.training.callback import ProgressCallback
from core.training.loader import WeightsSource, count_params, load_model
from core.training.run_state import FINAL_METRICS, RunState
from core.training.settings import TrainSettings, resolve_precision, validate_settings
from core.training.shared_base import SharedBase, load_base

__all__ = ["RunState", "TrainResult", "TrainSession", "TrainSettings", "fit", "prepare", "run_training"]


@dataclass
class TrainResult:
    """A finished (or stopped) run: the live PeftModel for a playground, and its saved folder."""

    model: Any  # peft.PeftModel, None once evicted from memory
    tokenizer: Any
    task: str
    labels: tuple[str, ...]
    source: WeightsSource
    spec: ModelSpec
    plan: LoraPlan
    settings: TrainSettings
    precision: str
    dataset_name: str
    train_rows: int
    val_rows: int
    base_params: int
    steps_done: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    adapter_dir: Path | None = None
    trainable_params: int = 0  # PEFT's count while it trained (a reloaded model trains nothing)
    initial_adapter: str | None = None  # PiSSA/OLoRA: the adapter as initialized, until the converted one is saved


@dataclass
class TrainSession:
    """Everything ``fit`` needs, built by ``prepare``."""

    result: TrainResult
    train_rows: list
    val_rows: list
    shared: SharedBase | None = None  # a sweep's shared base: its step-0 evaluations and packing probe


def check_inputs(spec: ModelSpec, plan: LoraPlan, train: TextDataset, settings: TrainSettings) -> str:
    """Cheap checks before anything loads; returns the task."""
    validate_settings(settings)
    task = plan.task
    if task not in TRAINABLE_TASKS:
        raise LensError("train.task_unsupported", task=task)
    if spec.task is not None and spec.task != task:
        raise LensError("train.task_mismatch", model_task=spec.task, task=task)
    if spec.source == "catalog":
        raise LensError("train.no_weights", name=spec.ref)
    if len(train) < 2:
        raise LensError("train.too_few_rows", count=len(train))
    return task


def prepare(
    spec: ModelSpec,
    plan: LoraPlan,
    train: TextDataset,
    val: TextDataset | None,
    settings: TrainSettings,
    shared: SharedBase | None = None,
) -> TrainSession:
    """Load a fresh model, tokenize, and wrap it with ``get_peft_model(model, to_lora_config(plan))``;
    with ``shared``, its rows and its base, bare again, instead (nothing is loaded or tokenized again)."""
    from transformers import set_seed

    task = check_inputs(spec, plan, train, settings)
    precision = resolve_precision(settings.precision)
    if shared is not None:
        model = shared.bare()  # the previous run's adapter taken off
        set_seed(settings.seed)
        fresh_head(model, task)  # this run's seed draws its head, as loading the base for this run would
        base_params = count_params(model)
        result = TrainResult(
            model=_wrap(model, plan, settings), tokenizer=shared.tokenizer, task=task, labels=shared.labels,
            source=shared.source, spec=spec, plan=plan, settings=settings, precision=precision,
            dataset_name=shared.dataset_name, train_rows=len(shared.train_rows), val_rows=len(shared.val_rows),
            base_params=base_params,
        )  # fmt: skip
        shared.lend(result)
        return TrainSession(result, shared.train_rows, shared.val_rows, shared)
    if val is None or len(val) == 0:
        train, val = train_val_split(train, settings.val_fraction, settings.seed)
    base = load_base(spec, task, train, val, settings)
    source, tok, labels, train_rows, val_rows, model = (
        base.source, base.tokenizer, base.labels, base.train_rows, base.val_rows, base.model)
    base_params = count_params(model)
    peft_model = _wrap(model, plan, settings)
    result = TrainResult(
        model=peft_model, tokenizer=tok, task=task, labels=labels, source=source, spec=spec, plan=plan,
        settings=settings, precision=precision, dataset_name=train.name.removesuffix("/train"),
        train_rows=len(train_rows), val_rows=len(val_rows), base_params=base_params,
    )  # fmt: skip
    return TrainSession(result=result, train_rows=train_rows, val_rows=val_rows)


# The names PEFT treats as a classification head (``PeftModelForSequenceClassification``'s own list).
HEAD_NAMES = ("classifier", "score")


def fresh_head(model: Any, task: str) -> None:
    """A copied seq-cls model's head drawn anew from the global RNG, as ``from_pretrained`` draws a head that the
    checkpoint lacks: after ``set_seed(s)`` it equals the head of a base loaded for seed ``s``."""
    from core.compat import init_fresh_weights

    if task != "seq-cls":
        return
    for name, module in model.named_children():
        if name in HEAD_NAMES:
            init_fresh_weights(model, module)


def _wrap(model: Any, plan: LoraPlan, settings: TrainSettings) -> Any:
    try:
        return recipe.wrap_model(model, to_lora_config(plan), settings.gradient_checkpointing)
    except (ValueError, TypeError, KeyError) as exc:
        raise LensError("train.peft_failed", detail=str(exc)[:300]) from exc


def _trainer(session: TrainSession, workdir: Path, callback: ProgressCallback) -> Any:
    """The recipe's Trainer; the app adds only its progress callback (and drops stdout printing)."""
    from transformers import PrinterCallback

    r = session.result
    has_val = bool(session.val_rows)
    args = recipe.training_arguments(
        r.settings.recipe_config(r.task), str(workdir / "trainer"), r.task, has_val, r.precision
    )
    start, shared, packs = None, session.shared, None
    if shared is not None:
        from core.training.start_eval import StartEval, start_key

        start = StartEval(shared.start_evals, start_key(r.plan, r.task, r.settings.seed), callback)
        start.replaces = args.eval_on_start and start.shared
        args.eval_on_start = args.eval_on_start and not start.replaces  # measured once for the sweep
        if r.settings.padding_free and shared.packs is None:  # a property of the base: probed once
            shared.packs = recipe.packing_keeps_rows_apart(r.model, r.tokenizer, r.task)
        packs = shared.packs
    trainer = recipe.build_trainer(
        r.model, r.tokenizer, args, r.task, session.train_rows, session.val_rows,
        padding_free=r.settings.padding_free, labels_only_head=r.settings.labels_only_head, packs=packs,
    )  # fmt: skip
    trainer.add_callback(callback)
    if start is not None:
        trainer.add_callback(start)  # after ``callback``: it reports into a state already started
    trainer.remove_callback(PrinterCallback)  # progress goes to the RunState, not stdout
    return trainer


def _is_oom(exc: BaseException) -> bool:
    return isinstance(exc, torch.OutOfMemoryError) or "out of memory" in str(exc).lower()


def free_memory() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _final_metrics(trainer: Any, callback: ProgressCallback, session: TrainSession) -> dict[str, float]:
    metrics = dict(callback.last_eval)
    if session.val_rows and callback.last_eval_step != trainer.state.global_step:
        metrics = {k.removeprefix("eval_"): float(v) for k, v in trainer.evaluate().items()}
        metrics = {("eval_loss" if k == "loss" else k): v for k, v in metrics.items()}
    keep = {k: v for k, v in metrics.items() if k in FINAL_METRICS and k != "perplexity"}
    if session.result.task == "causal-lm" and "eval_loss" in keep:
        keep["perplexity"] = recipe.perplexity(keep["eval_loss"])
    return keep


def cpu_thread_count() -> int:
    """CPU training threads: ``LORA_LENS_CPU_THREADS`` when the operator sets it, else every core."""
    wanted = os.environ.get("LORA_LENS_CPU_THREADS", "").strip()
    return int(wanted) if wanted.isdigit() and int(wanted) > 0 else (os.cpu_count() or 1)


def cpu_threads() -> None:
    """Set this process's CPU training threads (``cpu_thread_count``); a GPU run leaves them."""
    if not torch.cuda.is_available():
        torch.set_num_threads(cpu_thread_count())


def fit(session: TrainSession, workdir: Path, state: RunState) -> TrainResult | None:
    """Train, evaluate, save. Returns the result, or ``None`` when the run failed (see ``state``)."""
    r = session.result
    r.trainable_params = int(r.model.get_nb_trainable_parameters()[0])
    r.initial_adapter = recipe.save_initial_adapter(r.model, workdir / "initial_adapter")
    callback = ProgressCallback(state)
    trainer = _trainer(session, workdir, callback)
    cpu_threads()
    oom = False
    try:
        trainer.train()
    except RuntimeError as exc:
        if not _is_oom(exc):
            raise
        oom = True
    if oom:
        trainer = r.model = session.result.model = None
        free_memory()
        state.fail("train.oom", batch=r.settings.batch_size, seq_len=r.settings.seq_len_for(r.task), r=r.plan.r)
        return None
    if callback.diverged:
        state.fail("train.diverged", step=callback.diverged_step)
        r.model = None
        free_memory()
        return None
    r.steps_done = trainer.state.global_step
    r.metrics = _final_metrics(trainer, callback, session)
    r.model.eval()
    r.adapter_dir = save_adapter(r, workdir / "adapter")
    shutil.rmtree(workdir / "trainer", ignore_errors=True)
    if r.initial_adapter is not None:
        r.model = original_base_with_adapter(r)
        shutil.rmtree(r.initial_adapter, ignore_errors=True)
        r.initial_adapter = None
    state.finish("stopped" if state.stop_requested else "done", r.metrics, result=r)
    return r


def save_adapter(result: TrainResult, target: Path) -> Path:
    """Write adapter weights + config, README.md and training_settings.json atomically; the config
    names the base by its public id (``source.public_ref``), so the folder loads on another machine."""
    from core.training.model_card import model_card, portable_config, training_settings_json

    def save(folder: Path) -> None:
        # PEFT saves with the server path (its embedding-layer check reads that folder's config.json,
        # where a Hub id would cost a network call); the written config then gets the public id.
        recipe.save_adapter(result.model, folder, result.initial_adapter)
        config = folder / "adapter_config.json"
        config.write_text(portable_config(config.read_text(encoding="utf-8"), result.source.public_ref), "utf-8")
        (folder / "README.md").write_text(model_card(result), encoding="utf-8")
        (folder / "training_settings.json").write_text(training_settings_json(result), encoding="utf-8")

    return write_folder(target, save)


def original_base_with_adapter(r: TrainResult) -> Any:
    """After PiSSA/OLoRA the live model computes the residual base (W - B0·A0) plus its adapter: right together,
    wrong for everything that turns the adapter off (the playground's base answer, embeddings before/after, ΔW).
    The live model becomes the original base (reloaded; the seed redraws the same untrained head) with the saved,
    converted adapter: exactly what anyone who downloads it gets."""
    from peft import PeftModel
    from transformers import set_seed

    device = next(r.model.parameters()).device
    r.model = None
    free_memory()
    set_seed(r.settings.seed)
    base = load_model(r.source.location, r.task, r.labels, r.tokenizer.pad_token_id)
    return PeftModel.from_pretrained(base, str(r.adapter_dir)).to(device).eval()


def run_training(
    spec: ModelSpec,
    plan: LoraPlan,
    train: TextDataset,
    val: TextDataset | None,
    settings: TrainSettings,
    workdir: Path,
    state: RunState,
    shared: SharedBase | None = None,
) -> TrainResult | None:
    """``prepare`` + ``fit`` for a background job: every failure ends up in ``state``."""
    try:
        session = prepare(spec, plan, train, val, settings, shared)
        if state.stop_requested:
            state.finish("stopped")
            return None
        return fit(session, workdir, state)
    except LensError as exc:
        state.fail(exc.key, **exc.params)
    except RuntimeError as exc:
        if not _is_oom(exc):
            state.fail("err.unexpected", detail=str(exc)[:300])
        else:
            state.fail("train.oom", batch=settings.batch_size, seq_len=settings.seq_len_for(plan.task), r=plan.r)
    except Exception as exc:  # a background thread must never die silently
        state.fail("err.unexpected", detail=f"{type(exc).__name__}: {str(exc)[:300]}")
    finally:
        if state.status == "failed":
            free_memory()
    return None
