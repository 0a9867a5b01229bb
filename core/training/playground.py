"""Try a trained adapter: the base model and the adapted model side by side on one input."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch

from core.errors import LensError
from core.training.encode import prompt_text
from core.training.engine import TrainResult
from core.training.loader import load_model, load_tokenizer

MAX_NEW_TOKENS = 256
MAX_INPUT_CHARS = 4000


@dataclass(frozen=True)
class LabelScore:
    label: str
    base: float
    adapted: float


def finished_result(job: Any) -> TrainResult:
    """The job's result with its PeftModel in memory, reloading it from disk if it was evicted."""
    result = job.result
    if result is None or result.adapter_dir is None:
        raise LensError("train.not_finished")
    if result.tokenizer is None:  # a restored run whose weights could not be found at restore
        result.tokenizer = load_tokenizer(result.source.location)
    if result.model is None:
        from peft import PeftModel

        base = load_model(result.source.location, result.task, result.labels, result.tokenizer.pad_token_id)
        result.model = PeftModel.from_pretrained(base, str(result.adapter_dir)).eval()
    if getattr(job, "on_model_used", None) is not None:
        job.on_model_used()  # the job manager keeps the most recently used few in memory
    return result


@contextmanager
def _finished(job: Any, task: str) -> Iterator[TrainResult]:
    """The job's finished result for ``task``, with the job's lock held while it is used."""
    with job.lock:
        r = finished_result(job)
        if r.task != task:
            raise LensError("train.wrong_playground", task=r.task)
        yield r


def _check_text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise LensError("train.empty_prompt")
    if len(text) > MAX_INPUT_CHARS:
        raise LensError("train.prompt_too_long", limit=MAX_INPUT_CHARS)
    return text


def _generate(model: Any, tok: Any, inputs: dict, max_new_tokens: int) -> str:
    out = model.generate(
        **inputs,
        max_new_tokens=max_new_tokens,
        do_sample=False,
        pad_token_id=tok.pad_token_id,
    )
    new = out[0, inputs["input_ids"].shape[1] :]
    return tok.decode(new, skip_special_tokens=True).strip()


def generate_side_by_side(job: Any, prompt: str, max_new_tokens: int = 64) -> tuple[str, str]:
    """Greedy answers of (base, adapted) to ``prompt``, formatted as in training."""
    prompt = _check_text(prompt)
    max_new_tokens = max(1, min(int(max_new_tokens), MAX_NEW_TOKENS))
    with _finished(job, "causal-lm") as r:
        model, tok = r.model, r.tokenizer
        device = next(model.parameters()).device
        enc = tok(prompt_text(tok, prompt), add_special_tokens=False, return_tensors="pt")
        inputs = {k: v.to(device) for k, v in enc.items() if k in ("input_ids", "attention_mask")}
        with torch.inference_mode():
            with model.disable_adapter():
                base = _generate(model, tok, inputs, max_new_tokens)
            adapted = _generate(model, tok, inputs, max_new_tokens)
    return base, adapted


def classify_side_by_side(job: Any, text: str) -> list[LabelScore]:
    """Class probabilities of the base model (its untrained head) and of the adapted model."""
    text = _check_text(text)
    with _finished(job, "seq-cls") as r:
        model, tok = r.model, r.tokenizer
        device = next(model.parameters()).device
        enc = tok(text, truncation=True, max_length=r.settings.seq_len_for(r.task), return_tensors="pt")
        enc = {k: v.to(device) for k, v in enc.items()}
        with torch.inference_mode():
            with model.disable_adapter():
                base = torch.softmax(model(**enc).logits.float(), -1)[0].tolist()
            adapted = torch.softmax(model(**enc).logits.float(), -1)[0].tolist()
    return [LabelScore(label, b, a) for label, b, a in zip(r.labels, base, adapted, strict=True)]
