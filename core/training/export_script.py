"""The standalone training script a user downloads: Trainer + PEFT, no LoRA Lens needed.

It reads ``config.json`` (written by ``core.adapters.export.training_script``) and the
exported JSONL data, and runs unchanged with ``python train_lora.py`` or
``accelerate launch train_lora.py`` on several GPUs (Trainer handles DDP).
"""

SCRIPT = r'''#!/usr/bin/env python
"""Reproduce a LoRA Lens run with transformers Trainer + PEFT.

    pip install torch transformers peft accelerate safetensors
    python train_lora.py --config config.json
    accelerate launch train_lora.py --config config.json      # several GPUs (DDP)
"""

import argparse
import json
import math
from pathlib import Path

import numpy as np
import torch
from peft import LoraConfig, get_peft_model
from transformers import (
    AutoModelForCausalLM,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    Trainer,
    TrainingArguments,
    set_seed,
)

IGNORE = -100


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def prompt_text(tok, prompt):
    if tok.chat_template:
        msgs = [{"role": "user", "content": prompt}]
        return tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    return prompt + "\n"


def full_text(tok, prompt, response):
    if tok.chat_template:
        msgs = [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]
        return tok.apply_chat_template(msgs, tokenize=False)
    return prompt + "\n" + response + (tok.eos_token or "")


def ids(tok, text):
    return list(tok(text, add_special_tokens=False)["input_ids"])


def bos(tok):
    if tok.bos_token_id is None or tok.chat_template or not getattr(tok, "add_bos_token", False):
        return []
    return [tok.bos_token_id]


def encode_sft(tok, row, max_len):
    head, full = prompt_text(tok, row["text"]), full_text(tok, row["text"], row["response"])
    prompt_ids = bos(tok) + ids(tok, head)
    if full.startswith(head):
        response_ids = ids(tok, full[len(head):])
    else:
        response_ids = (bos(tok) + ids(tok, full))[len(prompt_ids):]
    prompt_ids = prompt_ids[-max(max_len - len(response_ids), max_len // 2):]
    response_ids = response_ids[: max_len - len(prompt_ids)]
    input_ids = prompt_ids + response_ids
    labels = [IGNORE] * len(prompt_ids) + response_ids
    return {"input_ids": input_ids, "attention_mask": [1] * len(input_ids), "labels": labels}


def encode_cls(tok, row, max_len, label2id):
    enc = tok(row["text"], truncation=True, max_length=max_len)
    return {"input_ids": list(enc["input_ids"]), "attention_mask": list(enc["attention_mask"]),
            "labels": label2id[row["label"]]}


class Rows(torch.utils.data.Dataset):
    def __init__(self, rows):
        self.rows = rows

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        return self.rows[i]


def make_collator(pad_id, multiple_of):
    def pad(seqs, length, value):
        out = torch.full((len(seqs), length), value, dtype=torch.long)
        for i, seq in enumerate(seqs):
            out[i, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        return out

    def collate(rows):
        n = max(len(r["input_ids"]) for r in rows)
        if multiple_of:
            n = -(-n // multiple_of) * multiple_of
        batch = {"input_ids": pad([r["input_ids"] for r in rows], n, pad_id),
                 "attention_mask": pad([r["attention_mask"] for r in rows], n, 0)}
        if isinstance(rows[0]["labels"], list):
            batch["labels"] = pad([r["labels"] for r in rows], n, IGNORE)
        else:
            batch["labels"] = torch.tensor([r["labels"] for r in rows], dtype=torch.long)
        return batch

    return collate


def cls_metrics(pred):
    logits = pred.predictions[0] if isinstance(pred.predictions, tuple) else pred.predictions
    y_pred, y_true = np.asarray(logits).argmax(-1), np.asarray(pred.label_ids)
    f1 = []
    for c in np.union1d(y_true, y_pred):
        tp = np.sum((y_pred == c) & (y_true == c))
        denom = np.sum(y_pred == c) + np.sum(y_true == c)
        f1.append(2 * tp / denom if denom else 0.0)
    return {"accuracy": float(np.mean(y_pred == y_true)), "f1_macro": float(np.mean(f1))}


def precision_flags(name):
    cuda = torch.cuda.is_available()
    if name == "auto":
        name = ("bf16" if torch.cuda.is_bf16_supported() else "fp16") if cuda else "fp32"
    return {"bf16": name == "bf16", "fp16": name == "fp16"}


def load_model(cfg, model_ref, tok):
    labels = cfg["labels"]
    if cfg["task"] == "seq-cls":
        model = AutoModelForSequenceClassification.from_pretrained(
            model_ref, num_labels=len(labels), id2label=dict(enumerate(labels)),
            label2id={name: i for i, name in enumerate(labels)})
    else:
        model = AutoModelForCausalLM.from_pretrained(model_ref)
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tok.pad_token_id
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", default="config.json")
    ap.add_argument("--model", help="override the base model (a local folder or a Hub id)")
    ap.add_argument("--output-dir", help="where the adapter is saved")
    ap.add_argument("--max-steps", type=int, help="override the number of optimizer steps")
    args = ap.parse_args()

    cfg_path = Path(args.config)
    cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    here, t = cfg_path.parent, cfg["training"]
    model_ref = args.model or cfg["model"]
    out = Path(args.output_dir or here / cfg.get("output_dir", "lora-adapter"))

    set_seed(t["seed"])
    tok = AutoTokenizer.from_pretrained(model_ref)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token or tok.unk_token
    label2id = {name: i for i, name in enumerate(cfg["labels"])}

    def encode(path):
        rows = read_jsonl(here / path)
        if cfg["task"] == "seq-cls":
            return [encode_cls(tok, r, t["max_seq_len"], label2id) for r in rows]
        return [encode_sft(tok, r, t["max_seq_len"]) for r in rows]

    train_rows = encode(cfg["train_file"])
    val_rows = encode(cfg["val_file"])[: t["max_eval_examples"]] if cfg.get("val_file") else []

    model = load_model(cfg, model_ref, tok)
    if t["gradient_checkpointing"]:
        model.enable_input_require_grads()
    model = get_peft_model(model, LoraConfig(**cfg["lora"]))
    model.print_trainable_parameters()

    fields = TrainingArguments.__dataclass_fields__
    ckpt = "activation_checkpointing" if "activation_checkpointing" in fields else "gradient_checkpointing"
    targs = TrainingArguments(
        output_dir=str(out / "checkpoints"), max_steps=args.max_steps or t["max_steps"],
        per_device_train_batch_size=t["batch_size"], per_device_eval_batch_size=t["batch_size"] * 2,
        gradient_accumulation_steps=t["grad_accum"], learning_rate=t["learning_rate"],
        warmup_steps=t["warmup_steps"], weight_decay=t["weight_decay"], lr_scheduler_type="linear",
        logging_steps=1, eval_strategy="steps" if val_rows else "no", eval_steps=t["eval_every"],
        save_strategy="no", report_to="none", seed=t["seed"], data_seed=t["seed"],
        remove_unused_columns=False, **{ckpt: t["gradient_checkpointing"]},
        label_names=["labels"], prediction_loss_only=cfg["task"] != "seq-cls",
        ddp_find_unused_parameters=False, **precision_flags(t["precision"]))
    trainer = Trainer(
        model=model, args=targs, train_dataset=Rows(train_rows),
        eval_dataset=Rows(val_rows) if val_rows else None,
        data_collator=make_collator(tok.pad_token_id, 8 if torch.cuda.is_available() else None),
        compute_metrics=cls_metrics if cfg["task"] == "seq-cls" else None)
    trainer.train()
    metrics = trainer.evaluate() if val_rows else {}
    if "eval_loss" in metrics and cfg["task"] != "seq-cls":
        metrics["perplexity"] = math.exp(min(metrics["eval_loss"], 50.0))
    trainer.save_model(str(out))
    tok.save_pretrained(str(out))
    if trainer.is_world_process_zero():
        print(json.dumps({"output_dir": str(out), **{k: float(v) for k, v in metrics.items()}}))


if __name__ == "__main__":
    main()
'''
