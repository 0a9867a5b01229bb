#!/usr/bin/env python
"""The training recipe of LoRA Lens (transformers Trainer + PEFT); the app runs it and exports it as train_lora.py.

    pip install torch transformers peft accelerate safetensors scikit-learn
    python train_lora.py --config config.json
    accelerate launch train_lora.py --config config.json      # several GPUs (DDP)

This file depends on no other LoRA Lens module: the app imports these functions, and the
download is this very file, so the script trains exactly as the app does.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
from pathlib import Path
from typing import Any

import torch

IGNORE = -100  # label id the loss skips (prompt tokens, padding)
Row = dict[str, Any]  # one JSONL row: {"text", "response"} (SFT) or {"text", "label"} (classification)


# --- 1. tokenizer and model -------------------------------------------------------------


class NoPadTokenError(ValueError):
    """The tokenizer has no token that could pad a batch."""


def load_tokenizer(location: str, trust_remote_code: bool = False) -> Any:
    """The tokenizer, with a pad token: its own, else EOS, UNK or SEP (ValueError if none)."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(location, trust_remote_code=trust_remote_code)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token or tok.unk_token or tok.sep_token
    if tok.pad_token is None:
        raise NoPadTokenError(f"{location}: the tokenizer has no pad, EOS, UNK or SEP token")
    return tok


def load_model(
    location: str, task: str, labels: tuple[str, ...] | list[str], pad_token_id: int | None,
    trust_remote_code: bool = False,
) -> Any:  # fmt: skip
    """A new fp32 model for ``task``; seq-cls gets a head sized and named from ``labels``."""
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    # fp32 explicitly: transformers' default "auto" would load a bf16 checkpoint in bf16 (and switch
    # torch's process-wide default dtype to bf16 while loading, under other threads).
    if task == "seq-cls":
        names = dict(enumerate(labels))
        model = AutoModelForSequenceClassification.from_pretrained(
            location, num_labels=len(labels), id2label=names, label2id={v: k for k, v in names.items()},
            trust_remote_code=trust_remote_code, dtype=torch.float32,
        )  # fmt: skip
    elif task == "causal-lm":
        model = AutoModelForCausalLM.from_pretrained(location, trust_remote_code=trust_remote_code, dtype=torch.float32)
    else:
        raise ValueError(f"unsupported task {task!r}")
    if pad_token_id is not None and getattr(model.config, "pad_token_id", None) is None:
        model.config.pad_token_id = pad_token_id
    return model


def wrap_model(model: Any, lora_config: Any, gradient_checkpointing: bool) -> Any:
    """``get_peft_model`` (which changes ``model`` in place: never pass a shared one)."""
    from peft import get_peft_model

    if gradient_checkpointing:
        model.enable_input_require_grads()
    return get_peft_model(model, lora_config)


def mutates_base(lora_config: Any) -> bool:
    """PiSSA and OLoRA (like CorDA, LoRA-GA) start from the base weight's own components and subtract them from it:
    the trained adapter only fits that changed base until it is converted (``save_adapter``)."""
    init = str(getattr(lora_config, "init_lora_weights", True)).lower()
    return init.startswith(("pissa", "olora", "corda", "lora_ga"))


def save_initial_adapter(model: Any, folder: Path) -> str | None:
    """Before training: the adapter as initialized, which PEFT's documented PiSSA/OLoRA -> LoRA conversion
    compares the trained one with; None for inits that leave the base weights alone."""
    config = model.peft_config["default"]
    if not mutates_base(config):
        return None
    init, config.init_lora_weights = config.init_lora_weights, True  # as PEFT's example: never applied twice
    try:
        model.save_pretrained(str(folder))
    finally:
        config.init_lora_weights = init
    return str(folder)


def save_adapter(model: Any, out: Path, initial: str | None) -> None:
    """Save the adapter. After PiSSA/OLoRA, as PEFT converts it: a plain LoRA adapter (rank 2r, [A | A0] and
    [B | -B0]) for the ORIGINAL base weights, so it loads on the base everyone has."""
    if initial is None:
        model.save_pretrained(str(out), safe_serialization=True)
        return
    model.save_pretrained(str(out), safe_serialization=True, path_initial_model_for_weight_conversion=initial)
    _restore_dropped_tensors(model, Path(out) / "adapter_model.safetensors")


def _restore_dropped_tensors(model: Any, file: Path) -> None:
    """PEFT 0.21.2's conversion (``subtract_mutated_init``) writes back only lora_A/lora_B: a modules_to_save copy
    (a classifier head), trained biases and DoRA magnitudes would be lost, and the adapter would not load. None of
    them depends on the moved base weights, so they are written back as trained."""
    from peft import get_peft_model_state_dict
    from safetensors.torch import load_file, save_file

    saved = load_file(str(file))
    dropped = {k: v.detach().cpu().contiguous().clone() for k, v in get_peft_model_state_dict(model).items()
               if not any(part in k for part in (".lora_A.", ".lora_B.", ".lora_embedding_")) and k not in saved}
    if dropped:
        save_file({**saved, **dropped}, str(file), metadata={"format": "pt"})


# --- 2. encoding ------------------------------------------------------------------------


def has_chat_template(tok: Any) -> bool:
    return bool(getattr(tok, "chat_template", None))


def prompt_text(tok: Any, prompt: str) -> str:
    """What the model sees before its answer, at training and at generation time."""
    if has_chat_template(tok):
        messages = [{"role": "user", "content": prompt}]
        return tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return f"{prompt}\n"


def _full_text(tok: Any, prompt: str, response: str) -> str:
    if has_chat_template(tok):
        messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]
        return tok.apply_chat_template(messages, tokenize=False)
    return f"{prompt}\n{response}{tok.eos_token or ''}"


def _ids(tok: Any, text: str) -> list[int]:
    return list(tok(text, add_special_tokens=False)["input_ids"])


def _bos(tok: Any) -> list[int]:
    """A BOS id when the tokenizer adds one and the chat template does not already."""
    bos = getattr(tok, "bos_token_id", None)
    if bos is None or has_chat_template(tok) or not getattr(tok, "add_bos_token", False):
        return []
    return [bos]


def encode_sft(tok: Any, prompt: str, response: str, max_len: int) -> Row:
    """Prompt + response ids with labels masked (-100) on the prompt; long rows are cut,
    keeping the end of the prompt (the assistant header) and the start of the response."""
    head, full = prompt_text(tok, prompt), _full_text(tok, prompt, response)
    prompt_ids = _bos(tok) + _ids(tok, head)
    if full.startswith(head):
        response_ids = _ids(tok, full[len(head) :])
    else:  # a template that rewrites the prompt: split on token ids instead
        response_ids = (_bos(tok) + _ids(tok, full))[len(prompt_ids) :]
    budget = max(max_len - len(response_ids), max_len // 2)
    prompt_ids = prompt_ids[-budget:]
    response_ids = response_ids[: max_len - len(prompt_ids)]
    ids = prompt_ids + response_ids
    return {"input_ids": ids, "attention_mask": [1] * len(ids), "labels": [IGNORE] * len(prompt_ids) + response_ids}


def encode_cls(tok: Any, text: str, label_id: int, max_len: int) -> Row:
    enc = tok(text, truncation=True, max_length=max_len)
    return {"input_ids": list(enc["input_ids"]), "attention_mask": list(enc["attention_mask"]), "labels": label_id}


def encode_rows(tok: Any, rows: list[Row], task: str, max_len: int, labels: tuple[str, ...] | list[str]) -> list[Row]:
    """Tokenize JSONL-shaped rows for ``task``; SFT rows left with no response token are dropped."""
    if task == "seq-cls":
        label2id = {name: i for i, name in enumerate(labels)}
        return [encode_cls(tok, r["text"], label2id[str(r["label"])], max_len) for r in rows]
    encoded = [encode_sft(tok, r["text"], r["response"], max_len) for r in rows]
    return [r for r in encoded if any(v != IGNORE for v in r["labels"])]


def make_collator(tok: Any, task: str, padding_free: bool = False) -> Any:
    """transformers' collators. Padding-free (SFT): the batch's rows joined into one sequence whose
    ``position_ids`` restart at each row, so no compute is spent on padding; classification: ``pack_rows``. Else padded to the batch's
    longest row (a multiple of 8 on CUDA), SFT labels padded with -100 so padding never counts in the loss."""
    from transformers import DataCollatorForSeq2Seq, DataCollatorWithFlattening, DataCollatorWithPadding

    multiple = 8 if torch.cuda.is_available() else None
    if task == "seq-cls" and padding_free:
        return lambda rows: pack_rows(rows, tok.pad_token_id)
    if task == "seq-cls":
        return DataCollatorWithPadding(tok, pad_to_multiple_of=multiple, return_tensors="pt")
    if padding_free:  # row bounds as cu_seq_lens_* too: segment_attention runs each row on its own
        flatten = DataCollatorWithFlattening(return_position_ids=True, separator_id=IGNORE, return_tensors="pt",
                                             return_flash_attn_kwargs=True)  # fmt: skip
        # No KV cache: with one, transformers' mask no longer follows position_ids (rows would see each other).
        return lambda rows: {**flatten(rows), "use_cache": False}
    return DataCollatorForSeq2Seq(tok, label_pad_token_id=IGNORE, pad_to_multiple_of=multiple, return_tensors="pt")


SEGMENTS = "lens_sdpa_segments"  # transformers' SDPA, run on each packed row alone (segment_attention)
# The last row bounds read to the host: every layer of a step gets the same tensor, so it is read (a device sync on
# a GPU) once a step, not once a layer. One tuple, swapped whole: a run in another thread never sees half of it.
_last_edges: tuple[Any, list[int]] = (None, [])


def segment_attention(module: Any, query: Any, key: Any, value: Any, attention_mask: Any, **kwargs: Any) -> Any:
    """transformers' SDPA attention, run on each row of a padding-free batch alone (the row bounds
    ``cu_seq_lens_q`` that ``DataCollatorWithFlattening`` passes) instead of on the whole packed sequence under a
    block-diagonal mask: the same scores for the same rows, without the work on pairs of rows the mask discards.
    Anything else (no bounds, a sliding window, a KV cache) is transformers' SDPA with its own mask."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    bounds = kwargs.pop("cu_seq_lens_q", None)
    for name in ("cu_seq_lens_k", "max_length_q", "max_length_k"):
        kwargs.pop(name, None)
    whole = query.shape[0] != 1 or key.shape[2] != query.shape[2] or kwargs.get("sliding_window")
    if bounds is None or whole or kwargs.get("position_bias") is not None:
        return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)
    global _last_edges
    cached = _last_edges
    if cached[0] is not bounds:
        cached = _last_edges = (bounds, bounds.tolist())
    edges = cached[1]
    rows = [sdpa_attention_forward(module, query[:, :, a:b], key[:, :, a:b], value[:, :, a:b], None, **kwargs)[0]
            for a, b in zip(edges[:-1], edges[1:], strict=False) if b > a]  # fmt: skip
    return torch.cat(rows, dim=1), None


def use_segment_attention(model: Any, on: bool = True) -> bool:
    """Switch a model that runs SDPA to ``segment_attention`` (or back, ``on=False``); whether it now runs it."""
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, sdpa_mask

    AttentionInterface.register(SEGMENTS, segment_attention)
    ALL_MASK_ATTENTION_FUNCTIONS.register(SEGMENTS, sdpa_mask)  # padded batches and generation: SDPA's own mask
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    now = getattr(base.config, "_attn_implementation", None)
    if now == ("sdpa" if on else SEGMENTS):
        try:
            base.set_attn_implementation(SEGMENTS if on else "sdpa")
        except (ValueError, TypeError, AttributeError):
            return False
    return getattr(base.config, "_attn_implementation", None) == SEGMENTS


def packing_is_exact(model: Any) -> bool:
    """Whether ``model`` keeps rows joined by ``position_ids`` apart (its attention mask follows them, or
    ``segment_attention`` runs each row alone): the second of two packed rows must get the logits it gets alone,
    with the same inputs the padding-free collator gives. Models that do not fall back to padding."""
    first, second = torch.arange(1, 6), torch.arange(7, 13)
    device = next(model.parameters()).device
    packed = torch.cat([first, second])[None].to(device)
    positions = torch.cat([torch.arange(len(first)), torch.arange(len(second))])[None].to(device)
    bounds = torch.tensor([0, len(first), len(first) + len(second)], dtype=torch.int32, device=device)
    rows = {"cu_seq_lens_q": bounds, "cu_seq_lens_k": bounds, "max_length_q": len(second), "max_length_k": len(second)}
    training, _ = model.training, model.eval()  # no dropout in the comparison
    try:
        with torch.no_grad():
            together = model(input_ids=packed, position_ids=positions, use_cache=False, **rows).logits[0, len(first) :]
            alone = model(input_ids=second[None].to(device), use_cache=False).logits[0]
    except (TypeError, ValueError, RuntimeError):
        return False
    finally:
        model.train(training)
    return bool(torch.allclose(together.float(), alone.float(), atol=1e-3, rtol=1e-3))


# Tokens per packed classification sequence; None: the batch's longest row, so a packed batch is never wider
# (attention's cost) nor longer than the padded one (bench/cls_step.py --width: the best or within noise of it).
PACK_WIDTH: int | None = None


def pack_rows(rows: list[Row], pad_id: int) -> dict:
    """Classification rows joined into sequences of ``PACK_WIDTH`` tokens, first fit, longest row first (fewer
    sequences than in order): ``position_ids`` restart at each row,
    ``segments`` says which row a token belongs to (-1: padding), ``first_token`` where each row starts (in the
    rows' order); ``attention_mask`` marks the real tokens (Trainer's token counter reads it)."""
    width = max(PACK_WIDTH or 0, *(len(r["input_ids"]) for r in rows))
    bins: list[list[int]] = []
    room: list[int] = []
    for i in sorted(range(len(rows)), key=lambda i: -len(rows[i]["input_ids"])):
        n = len(rows[i]["input_ids"])
        b = next((b for b, free in enumerate(room) if free >= n), len(bins))
        if b == len(bins):
            bins.append([]), room.append(width)
        bins[b].append(i)
        room[b] -= n
    shape = (len(bins), width)
    ids, positions = torch.full(shape, pad_id), torch.zeros(shape, dtype=torch.long)
    segments, first = torch.full(shape, -1), torch.zeros((len(rows), 2), dtype=torch.long)
    for b, members in enumerate(bins):
        at = 0
        for i in members:
            n = len(rows[i]["input_ids"])
            ids[b, at : at + n], positions[b, at : at + n] = torch.tensor(rows[i]["input_ids"]), torch.arange(n)
            segments[b, at : at + n], first[i] = i, torch.tensor([b, at])
            at += n
    labels = torch.tensor([r["labels"] for r in rows])
    return {"input_ids": ids, "attention_mask": (segments >= 0).long(), "position_ids": positions,
            "segments": segments, "first_token": first, "labels": labels}  # fmt: skip


def packed_forward(model: Any, inputs: dict, first_token_layer: bool = False) -> Any:
    """A packed classification batch through ``model``: a block-diagonal mask keeps rows apart (padding
    attends only to padding), and the encoder hands the head each row's first token, as a padded batch would.
    ``first_token_layer``: the last layer is computed only there (``first_token_forward``)."""
    segments, first = inputs["segments"], inputs["first_token"]
    mask = (segments[:, :, None] == segments[:, None, :])[:, None]
    rest = {k: v for k, v in inputs.items() if k not in ("segments", "first_token", "attention_mask")}
    body = _body(model)
    if hasattr(body.embeddings, "create_position_ids_from_input_ids"):  # RoBERTa: positions from padding_idx + 1
        rest["position_ids"] = rest["position_ids"] + body.embeddings.padding_idx + 1

    def first_tokens(_module: Any, _args: Any, out: Any) -> Any:
        out.last_hidden_state = out.last_hidden_state[first[:, 0], first[:, 1]][:, None]
        return out

    encoder = getattr(body, "encoder", None) or body.transformer  # DistilBERT: transformer
    last = encoder.layer[-1] if first_token_layer else None
    # Under activation checkpointing the layer's backward reruns its own forward, after this call: not here.
    if last is not None and not (getattr(last, "gradient_checkpointing", False) and last.training):
        last.forward = first_token_forward(last, segments, first)  # this call only: removed below
        undo = lambda: delattr(last, "forward")  # noqa: E731
    else:
        undo = encoder.register_forward_hook(first_tokens).remove
    try:
        return model(**rest, attention_mask=mask)
    finally:
        undo()


def _body(model: Any) -> Any:
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return base.base_model


def first_token_forward(layer: Any, segments: Any, first: Any) -> Any:
    """An encoder layer's forward computed only at each row's first token, the one position the head reads
    from the last layer: keys and values still come from all of the row's tokens, so the output there, and
    every gradient, are the full layer's; the other positions' query, attention, output projection and
    feed-forward are skipped. BERT-style layers (BERT, MiniLM, RoBERTa) and DistilBERT's; ``(rows, 1, hidden)``."""
    attn, bins = getattr(layer.attention, "self", layer.attention), first[:, 0]
    query, key, value = (getattr(attn, n, None) or getattr(attn, f"{n[0]}_lin") for n in ("query", "key", "value"))
    size = attn.attention_head_size
    own = segments[bins] == torch.arange(len(first), device=segments.device)[:, None]  # a row's keys: its tokens

    def finish(context: Any, rows: Any) -> Any:  # the attention output projection, residuals, norms, feed-forward
        if hasattr(layer.attention, "self"):
            attended = layer.attention.output(context, rows)
            return layer.output(layer.intermediate(attended), attended)
        attended = layer.sa_layer_norm(attn.out_lin(context) + rows)
        return layer.output_layer_norm(layer.ffn(attended) + attended)

    def forward(hidden_states: Any, *_args: Any, **_kwargs: Any) -> Any:
        def split(x: Any) -> Any:  # (n, tokens, hidden) -> (n, heads, tokens, head size)
            return x.view(x.shape[0], x.shape[1], -1, size).transpose(1, 2)

        rows = hidden_states[bins, first[:, 1]][:, None]
        context = torch.nn.functional.scaled_dot_product_attention(
            split(query(rows)), split(key(hidden_states))[bins], split(value(hidden_states))[bins],
            attn_mask=own[:, None, None], dropout_p=attn.dropout.p if attn.training else 0.0,
            scale=getattr(attn, "scaling", size**-0.5),
        )  # fmt: skip
        return finish(context.transpose(1, 2).reshape(len(first), 1, -1), rows)

    return forward


def cls_packing_is_exact(model: Any, pad_id: int, first_token_layer: bool = False) -> bool:
    """Whether packed classification rows (``packed_forward``) get the logits, the loss and the gradients of
    the trainable weights that they get in a padded batch (three-row probe, two rows sharing a sequence);
    models whose encoder, layers or head this does not fit fall back to padding."""
    ids = [i for i in range(2, 18) if i != pad_id]  # never the pad id: RoBERTa counts positions past it
    rows = [{"input_ids": ids[:7], "labels": 0}, {"input_ids": ids[7:11], "labels": 1},
            {"input_ids": ids[11:14], "labels": 0}]  # fmt: skip
    device = next(model.parameters()).device
    padded = [torch.tensor(r["input_ids"] + [pad_id] * (7 - len(r["input_ids"]))) for r in rows]
    attention = (torch.arange(7)[None] < torch.tensor([[7], [4], [3]])).long()
    labels = torch.tensor([r["labels"] for r in rows], device=device)
    training, _ = model.training, model.eval()  # no dropout in the comparison
    trained = [p for p in model.parameters() if p.requires_grad]
    try:
        with torch.enable_grad():
            alone = model(input_ids=torch.stack(padded).to(device), attention_mask=attention.to(device), labels=labels)
            packed = {k: v.to(device) for k, v in pack_rows(rows, pad_id).items()}
            together = packed_forward(model, packed, first_token_layer=first_token_layer)
            grads = [torch.autograd.grad(out.loss, trained, allow_unused=True) for out in (alone, together)]
    except (AttributeError, TypeError, ValueError, RuntimeError, IndexError):
        return False
    finally:
        model.train(training)
    return (together.logits.shape == alone.logits.shape and packed["input_ids"].shape[0] < len(rows)
            and bool(torch.allclose(together.logits, alone.logits, atol=1e-4, rtol=1e-4))
            and all(_same_gradient(a, b) for a, b in zip(*grads, strict=True)))  # fmt: skip


def _same_gradient(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return bool(torch.allclose(a, b, atol=1e-5, rtol=1e-3))


def labels_only_loss(model: Any, inputs: dict, num_items_in_batch: Any = None) -> tuple[Any, Any]:
    """The causal-LM loss with the LM head run only where a label follows (transformers' ``logits_to_keep``
    as a boolean mask): the model's own shifted cross-entropy, without vocabulary logits for prompt and
    padding positions. Normalised like the model's loss: by ``num_items_in_batch`` when given, else a mean."""
    labels = inputs["labels"]
    targets = labels[..., 1:]
    keep = torch.zeros_like(labels, dtype=torch.bool)
    keep[..., :-1] = targets != IGNORE
    outputs = model(**{k: v for k, v in inputs.items() if k != "labels"}, logits_to_keep=keep)
    total = torch.nn.functional.cross_entropy(outputs.logits.float(), targets[targets != IGNORE], reduction="sum")
    count = num_items_in_batch if num_items_in_batch is not None else keep.sum().clamp(min=1)
    return total / count, outputs


def accepts_logits_to_keep(model: Any) -> bool:
    import inspect

    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return "logits_to_keep" in inspect.signature(base.forward).parameters


# --- 3. metrics -------------------------------------------------------------------------


def classification_metrics(pred: Any) -> dict[str, float]:
    """Accuracy and macro F1 (scikit-learn) from an ``EvalPrediction``."""
    import numpy as np
    from sklearn.metrics import accuracy_score, f1_score

    logits = pred.predictions[0] if isinstance(pred.predictions, tuple) else pred.predictions
    y_pred, y_true = np.asarray(logits).argmax(-1), np.asarray(pred.label_ids)
    accuracy, f1_macro = accuracy_score(y_true, y_pred), f1_score(y_true, y_pred, average="macro")
    return {"accuracy": float(accuracy), "f1_macro": float(f1_macro)}


def perplexity(eval_loss: float) -> float:
    return math.exp(min(eval_loss, 50.0))  # capped: exp of a diverged loss is inf, not information


# --- 4. trainer -------------------------------------------------------------------------


def resolve_precision(name: str) -> str:
    """"auto": bf16 on a CUDA GPU that supports it, fp16 on other CUDA GPUs, fp32 on CPU."""
    if name != "auto":
        return name
    if not torch.cuda.is_available():
        return "fp32"
    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


def training_arguments(t: dict, output_dir: str, task: str, has_val: bool, precision: str) -> Any:
    """TrainingArguments from the ``training`` part of config.json; ``precision`` is resolved."""
    from transformers import TrainingArguments

    fields = TrainingArguments.__dataclass_fields__
    ckpt = "activation_checkpointing" if "activation_checkpointing" in fields else "gradient_checkpointing"
    return TrainingArguments(
        output_dir=output_dir, max_steps=t["max_steps"], per_device_train_batch_size=t["batch_size"],
        per_device_eval_batch_size=t["batch_size"] * 2, gradient_accumulation_steps=t["grad_accum"],
        learning_rate=t["learning_rate"], warmup_steps=min(t["warmup_steps"], t["max_steps"]),
        weight_decay=t["weight_decay"], lr_scheduler_type="linear", logging_steps=1, logging_nan_inf_filter=False,
        eval_strategy="steps" if has_val else "no", eval_steps=t["eval_every"],
        # A validation point before the first step: the curve then shows how far the run moved.
        eval_on_start=has_val and t["eval_every"] <= t["max_steps"],
        save_strategy="no", report_to="none", disable_tqdm=True, seed=t["seed"], data_seed=t["seed"],
        bf16=precision == "bf16", fp16=precision == "fp16", use_cpu=not torch.cuda.is_available(),
        remove_unused_columns=False, label_names=["labels"], prediction_loss_only=task == "causal-lm",
        include_num_input_tokens_seen="non_padding", dataloader_num_workers=0, ddp_find_unused_parameters=False,
        # Rows of similar length batched together: less padding (the order of rows changes, not the rows).
        train_sampling_strategy="group_by_length" if t.get("group_by_length") else "random",
        **{ckpt: t["gradient_checkpointing"]},
    )  # fmt: skip


def packing_keeps_rows_apart(model: Any, tok: Any, task: str) -> tuple[bool, bool]:
    """Whether ``model`` may train on packed rows (``packing_is_exact`` for SFT, ``cls_packing_is_exact`` for
    classification), and whether the exact shortcut on top of packing holds too: SFT, each row's attention run on
    its own (``segment_attention``); classification, the last layer run at the first tokens only."""
    if task == "causal-lm":
        if use_segment_attention(model) and packing_is_exact(model):
            return True, True
        use_segment_attention(model, on=False)  # perhaps the model's own mask keeps packed rows apart
        return packing_is_exact(model), False
    if task != "seq-cls" or not cls_packing_is_exact(model, tok.pad_token_id):
        return False, False
    return True, cls_packing_is_exact(model, tok.pad_token_id, first_token_layer=True)


def build_trainer(
    model: Any, tok: Any, args: Any, task: str, train_rows: list[Row], val_rows: list[Row],
    padding_free: bool = False, labels_only_head: bool = False, packs: tuple[bool, bool] | None = None,
) -> Any:  # fmt: skip
    """A ``Trainer`` over pre-tokenized rows (a plain list is a dataset: Trainer needs len and indexing).
    Speed options: ``padding_free`` batches when ``packing_keeps_rows_apart`` (``packs`` is its answer when the
    caller already has it), with its exact shortcut where the probe passed (SFT: ``segment_attention``;
    classification: the last layer at the first tokens only), and, for SFT, the LM head on labels only."""
    from transformers import Trainer

    sft = task == "causal-lm"
    head_on_labels = sft and labels_only_head and accepts_logits_to_keep(model)

    class RecipeTrainer(Trainer):
        def compute_loss(self, model: Any, inputs: dict, return_outputs: bool = False, num_items_in_batch: Any = None):  # noqa: ANN202
            if "segments" in inputs:  # a packed classification batch: the model's own loss on its own logits
                outputs = packed_forward(model, inputs, first_token_layer=first_layer)
                return (outputs.loss, outputs) if return_outputs else outputs.loss
            if not head_on_labels:
                return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
            # Divided by the whole accumulated batch's label count when Trainer passes it: do not divide again.
            self.loss_is_scaled_for_ga = num_items_in_batch is not None
            loss, outputs = labels_only_loss(model, inputs, num_items_in_batch)
            return (loss, outputs) if return_outputs else loss

        def evaluate(self, *args: Any, **kwargs: Any) -> dict[str, float]:
            # Evaluating never moves the random numbers training draws (its data loader takes a seed from them):
            # a run trains alike however often it is evaluated, or when a sweep measures its start only once.
            devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
            with torch.random.fork_rng(devices=devices):
                return super().evaluate(*args, **kwargs)

    if padding_free:
        packed, shortcut = packing_keeps_rows_apart(model, tok, task) if packs is None else packs
    else:
        packed, shortcut = False, False
    first_layer = packed and shortcut and task == "seq-cls"
    if packed and sft:  # a padding-free batch has no attention mask and no padding: every token is real
        args.include_num_input_tokens_seen = "all"
    use_segment_attention(model, on=packed and sft and shortcut)  # a shared base comes back with its own attention
    collator = make_collator(tok, task, padding_free=packed)
    return RecipeTrainer(
        model=model, args=args, data_collator=collator, train_dataset=train_rows, eval_dataset=val_rows or None,
        compute_metrics=classification_metrics if task == "seq-cls" else None,
    )  # fmt: skip


# --- 5. the script ----------------------------------------------------------------------


def read_jsonl(path: Path) -> list[Row]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="config.json")
    ap.add_argument("--model", help="override the base model (a local folder or a Hub id)")
    ap.add_argument("--output-dir", help="where the adapter is saved")
    ap.add_argument("--max-steps", type=int, help="override the number of optimizer steps")
    ap.add_argument("--trust-remote-code", action="store_true", help="let the model repository run its own code")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Train as config.json says; saves the adapter, tokenizer and log_history.json, prints the metrics."""
    from peft import LoraConfig
    from transformers import set_seed

    args = _parse_args(argv)
    cfg_path = Path(args.config)
    cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    here, t, task, labels = cfg_path.parent, dict(cfg["training"]), cfg["task"], tuple(cfg["labels"])
    t["max_steps"] = args.max_steps or t["max_steps"]
    model_ref = args.model or cfg["model"]
    out = Path(args.output_dir or here / cfg.get("output_dir", "lora-adapter"))
    tok = load_tokenizer(model_ref, trust_remote_code=args.trust_remote_code)
    train_rows = encode_rows(tok, read_jsonl(here / cfg["train_file"]), task, t["max_seq_len"], labels)
    val_file = cfg.get("val_file")
    val_rows = encode_rows(tok, read_jsonl(here / val_file), task, t["max_seq_len"], labels) if val_file else []
    set_seed(t["seed"])
    model = load_model(model_ref, task, labels, tok.pad_token_id, trust_remote_code=args.trust_remote_code)
    model = wrap_model(model, LoraConfig(**cfg["lora"]), t["gradient_checkpointing"])
    model.print_trainable_parameters()
    initial = None
    if mutates_base(model.peft_config["default"]):  # every process computes the same init; one keeps it
        from accelerate import PartialState

        initial = save_initial_adapter(model, out / "initial_adapter") if PartialState().is_main_process else None
    targs = training_arguments(t, str(out / "checkpoints"), task, bool(val_rows), resolve_precision(t["precision"]))
    trainer = build_trainer(model, tok, targs, task, train_rows, val_rows, t.get("padding_free", False),
                            t.get("labels_only_head", False))  # fmt: skip
    trainer.train()
    metrics = {k: float(v) for k, v in trainer.evaluate().items()} if val_rows else {}
    if "eval_loss" in metrics and task == "causal-lm":
        metrics["perplexity"] = perplexity(metrics["eval_loss"])
    if initial is None:
        trainer.save_model(str(out))
    elif trainer.is_world_process_zero():
        save_adapter(model, out, initial)  # converted for the original base weights
        shutil.rmtree(initial, ignore_errors=True)
    if trainer.is_world_process_zero():
        tok.save_pretrained(str(out))
        (out / "log_history.json").write_text(json.dumps(trainer.state.log_history, indent=1), encoding="utf-8")
        print(json.dumps({"output_dir": str(out), **metrics}))
    return metrics


if __name__ == "__main__":
    main()
