"""Examples -> token ids for training, and a collator that pads only to the batch's longest row.

SFT rows use the tokenizer's chat template when it has one (user = prompt,
assistant = response) and put the loss on the response tokens only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from core.data.dataset import Example, TextDataset
from core.errors import LensError

IGNORE = -100
Features = dict[str, list[int] | int]


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


def encode_sft(tok: Any, ex: Example, max_len: int) -> Features:
    """Prompt + response ids with labels masked (-100) on the prompt; long rows are cut,
    keeping the end of the prompt (the assistant header) and the start of the response."""
    head = prompt_text(tok, ex.text)
    full = _full_text(tok, ex.text, ex.response or "")
    if full.startswith(head):
        prompt_ids = _bos(tok) + _ids(tok, head)
        response_ids = _ids(tok, full[len(head) :])
    else:  # a template that rewrites the prompt: split on token ids instead
        prompt_ids = _bos(tok) + _ids(tok, head)
        response_ids = (_bos(tok) + _ids(tok, full))[len(prompt_ids) :]
    budget = max(max_len - len(response_ids), max_len // 2)
    prompt_ids = prompt_ids[-budget:]
    response_ids = response_ids[: max_len - len(prompt_ids)]
    ids = prompt_ids + response_ids
    labels = [IGNORE] * len(prompt_ids) + response_ids
    return {"input_ids": ids, "attention_mask": [1] * len(ids), "labels": labels}


def encode_cls(tok: Any, ex: Example, max_len: int, label2id: dict[str, int]) -> Features:
    enc = tok(ex.text, truncation=True, max_length=max_len)
    return {
        "input_ids": list(enc["input_ids"]),
        "attention_mask": list(enc["attention_mask"]),
        "labels": label2id[str(ex.label)],
    }


def label_names(*datasets: TextDataset) -> tuple[str, ...]:
    """The class list for a classifier head: every label seen in any part, sorted."""
    labels = sorted({str(ex.label) for ds in datasets for ex in ds.examples if ex.label is not None})
    if len(labels) < 2:
        raise LensError("train.need_two_labels", count=len(labels))
    return tuple(labels)


def encode(tok: Any, ds: TextDataset, task: str, max_len: int, labels: Sequence[str] = ()) -> list[Features]:
    """Tokenize a whole dataset for ``task``; rows that cannot train are refused clearly."""
    if task == "causal-lm":
        if any(not ex.response for ex in ds.examples):
            raise LensError("train.missing_response", name=ds.name)
        rows = [encode_sft(tok, ex, max_len) for ex in ds.examples]
        return [r for r in rows if any(v != IGNORE for v in r["labels"])]  # type: ignore[union-attr]
    if any(ex.label is None for ex in ds.examples):
        raise LensError("train.missing_label", name=ds.name)
    label2id = {name: i for i, name in enumerate(labels)}
    return [encode_cls(tok, ex, max_len, label2id) for ex in ds.examples]


class ListDataset(torch.utils.data.Dataset):
    """Pre-tokenized rows; Trainer only needs ``len`` and indexing."""

    def __init__(self, rows: list[Features]) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int) -> Features:
        return self.rows[i]


class PadCollator:
    """Pads to the longest row in the batch (optionally a multiple of 8 for tensor cores)
    and counts the real (non-pad) tokens it has handed out, for tokens/s."""

    def __init__(self, pad_id: int, multiple_of: int | None = None) -> None:
        self.pad_id = pad_id
        self.multiple_of = multiple_of
        self.tokens = 0

    def __call__(self, rows: list[Features]) -> dict[str, torch.Tensor]:
        longest = max(len(r["input_ids"]) for r in rows)  # type: ignore[arg-type]
        if self.multiple_of:
            longest = -(-longest // self.multiple_of) * self.multiple_of
        batch = {
            "input_ids": self._pad([r["input_ids"] for r in rows], longest, self.pad_id),
            "attention_mask": self._pad([r["attention_mask"] for r in rows], longest, 0),
        }
        first = rows[0]["labels"]
        if isinstance(first, list):
            batch["labels"] = self._pad([r["labels"] for r in rows], longest, IGNORE)
        else:
            batch["labels"] = torch.tensor([r["labels"] for r in rows], dtype=torch.long)
        self.tokens += int(batch["attention_mask"].sum())
        return batch

    @staticmethod
    def _pad(seqs: list, length: int, value: int) -> torch.Tensor:
        out = torch.full((len(seqs), length), value, dtype=torch.long)
        for i, seq in enumerate(seqs):
            out[i, : len(seq)] = torch.tensor(seq, dtype=torch.long)
        return out
