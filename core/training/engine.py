"""Train a LoRA adapter with transformers ``Trainer`` + PEFT, reporting into a ``RunState``.

``prepare`` loads a fresh model, tokenizes and wraps it with PEFT (raising
``LensError`` on bad input); ``fit`` trains, evaluates and saves the adapter,
recording failures (out of memory, divergence) in the state instead of raising.
"""

from __future__ import annotations

import gc
import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.atomic import write_folder
from core.data.dataset import TextDataset
from core.data.splits import eval_subset, train_val_split
from core.errors import LensError
from core.models.loader import WeightsSource, count_params, load_model, load_tokenizer, weights_source
from core.models.spec import TRAINABLE_TASKS, ModelSpec
from core.planning.plan import LoraPlan, to_lora_config
from core.training.callback import ProgressCallback
from core.training.encode import ListDataset, PadCollator, encode, label_names
from core.training.run_state import FINAL_METRICS, RunState
from core.training.settings import TrainSettings, resolve_precision, validate_settings

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


@dataclass
class TrainSession:
    """Everything ``fit`` needs, built by ``prepare``."""

    result: TrainResult
    train_rows: list
    val_rows: list


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
) -> TrainSession:
    """Load a fresh model, tokenize, and wrap it with ``get_peft_model(model, to_lora_config(plan))``."""
    from transformers import set_seed

    task = check_inputs(spec, plan, train, settings)
    precision = resolve_precision(settings.precision)
    if val is None or len(val) == 0:
        train, val = train_val_split(train, settings.val_fraction, settings.seed)
    source = weights_source(spec)
    tok = load_tokenizer(source.location)
    labels = label_names(train, val) if task == "seq-cls" else ()
    seq_len = settings.seq_len_for(task)
    train_rows = encode(tok, train, task, seq_len, labels)
    val_rows = encode(tok, eval_subset(val, settings.max_eval_examples), task, seq_len, labels)
    if not train_rows:
        raise LensError("train.too_few_rows", count=0)
    set_seed(settings.seed)
    model = load_model(source.location, task, labels, tok.pad_token_id)
    base_params = count_params(model)
    peft_model = _wrap(model, plan, settings)
    result = TrainResult(
        model=peft_model, tokenizer=tok, task=task, labels=labels, source=source, spec=spec, plan=plan,
        settings=settings, precision=precision, dataset_name=train.name.removesuffix("/train"),
        train_rows=len(train_rows), val_rows=len(val_rows), base_params=base_params,
    )  # fmt: skip
    return TrainSession(result=result, train_rows=train_rows, val_rows=val_rows)


def _wrap(model: Any, plan: LoraPlan, settings: TrainSettings) -> Any:
    from peft import get_peft_model

    if settings.gradient_checkpointing:
        model.enable_input_require_grads()
    config = to_lora_config(plan)
    try:
        return get_peft_model(model, config)
    except (ValueError, TypeError, KeyError) as exc:
        raise LensError("train.peft_failed", detail=str(exc)[:300]) from exc


def _checkpoint_arg() -> str:
    from transformers import TrainingArguments

    fields = TrainingArguments.__dataclass_fields__
    return "activation_checkpointing" if "activation_checkpointing" in fields else "gradient_checkpointing"


def _args(session: TrainSession, workdir: Path) -> Any:
    from transformers import TrainingArguments

    r = session.result
    s = r.settings
    ckpt = _checkpoint_arg()
    has_val = bool(session.val_rows)
    return TrainingArguments(
        output_dir=str(workdir / "trainer"),
        max_steps=s.max_steps,
        per_device_train_batch_size=s.batch_size,
        per_device_eval_batch_size=s.batch_size * 2,
        gradient_accumulation_steps=s.grad_accum,
        learning_rate=s.lr_for(r.task),
        warmup_steps=min(s.warmup_steps, s.max_steps),
        weight_decay=s.weight_decay,
        lr_scheduler_type="linear",
        logging_steps=1,
        logging_nan_inf_filter=False,
        eval_strategy="steps" if has_val else "no",
        eval_steps=s.eval_every,
        # A validation point before the first step: the curve then shows how far the run moved.
        eval_on_start=has_val and s.eval_every <= s.max_steps,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        seed=s.seed,
        data_seed=s.seed,
        bf16=r.precision == "bf16",
        fp16=r.precision == "fp16",
        use_cpu=not torch.cuda.is_available(),
        **{ckpt: s.gradient_checkpointing},
        remove_unused_columns=False,
        label_names=["labels"],
        prediction_loss_only=r.task == "causal-lm",
        dataloader_num_workers=0,
        ddp_find_unused_parameters=False,
    )


def classification_metrics(pred: Any) -> dict[str, float]:
    """Accuracy and macro F1 from an ``EvalPrediction``."""
    logits = pred.predictions[0] if isinstance(pred.predictions, tuple) else pred.predictions
    y_pred = np.asarray(logits).argmax(-1)
    y_true = np.asarray(pred.label_ids)
    f1s = []
    for c in np.union1d(y_true, y_pred):
        tp = float(np.sum((y_pred == c) & (y_true == c)))
        denom = float(np.sum(y_pred == c) + np.sum(y_true == c))
        f1s.append(2 * tp / denom if denom else 0.0)
    return {"accuracy": float(np.mean(y_pred == y_true)), "f1_macro": float(np.mean(f1s))}


def _trainer(session: TrainSession, workdir: Path, callback: ProgressCallback, collator: PadCollator) -> Any:
    from transformers import PrinterCallback, Trainer

    r = session.result
    trainer = Trainer(
        model=r.model,
        args=_args(session, workdir),
        data_collator=collator,
        train_dataset=ListDataset(session.train_rows),
        eval_dataset=ListDataset(session.val_rows) if session.val_rows else None,
        compute_metrics=classification_metrics if r.task == "seq-cls" else None,
        callbacks=[callback],
    )
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
        keep["perplexity"] = math.exp(min(keep["eval_loss"], 50.0))
    return keep


def cpu_threads() -> None:
    """CPU training threads: ``LORA_LENS_CPU_THREADS`` when the operator sets it, else every core."""
    if torch.cuda.is_available():
        return
    wanted = os.environ.get("LORA_LENS_CPU_THREADS", "").strip()
    n = int(wanted) if wanted.isdigit() and int(wanted) > 0 else (os.cpu_count() or 1)
    torch.set_num_threads(n)


def fit(session: TrainSession, workdir: Path, state: RunState) -> TrainResult | None:
    """Train, evaluate, save. Returns the result, or ``None`` when the run failed (see ``state``)."""
    r = session.result
    pad_multiple = 8 if torch.cuda.is_available() else None
    collator = PadCollator(r.tokenizer.pad_token_id, pad_multiple)
    callback = ProgressCallback(state, collator)
    trainer = _trainer(session, workdir, callback, collator)
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
    state.finish("stopped" if state.stop_requested else "done", r.metrics, result=r)
    return r


def save_adapter(result: TrainResult, target: Path) -> Path:
    """Write adapter weights + config, README.md and training_settings.json atomically."""
    from core.adapters.model_card import model_card, training_settings_json

    def save(folder: Path) -> None:
        result.model.save_pretrained(str(folder), safe_serialization=True)
        (folder / "README.md").write_text(model_card(result), encoding="utf-8")
        (folder / "training_settings.json").write_text(training_settings_json(result), encoding="utf-8")

    return write_folder(target, save)


def run_training(
    spec: ModelSpec,
    plan: LoraPlan,
    train: TextDataset,
    val: TextDataset | None,
    settings: TrainSettings,
    workdir: Path,
    state: RunState,
) -> TrainResult | None:
    """``prepare`` + ``fit`` for a background job: every failure ends up in ``state``."""
    try:
        session = prepare(spec, plan, train, val, settings)
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
