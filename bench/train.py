"""Training throughput: LoRA Lens's engine vs a minimal reference Trainer + PEFT script, and vs TRL's SFTTrainer.

Same model, data, LoRA plan (``to_lora_config``), steps, batch, learning rate and
seed, in one process. The reference does what naive scripts do: pad every row to
``max_length`` and use the default collator. The TRL baseline (chat SFT only) is
``SFTTrainer`` with prompt/completion rows and completion-only loss, the same fp32
model from our loader. All count only real (non-pad) training tokens, so tokens/s
measures useful work.

    python bench/train.py                     # both embedded models, CPU-sized
    python bench/train.py --model smollm2 --steps 30 --batch 16
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch

from core.data.bundled import load_bundled  # noqa: E402
from core.data.dataset import TextDataset  # noqa: E402
from core.data.splits import sample  # noqa: E402
from core.models.spec import ModelSpec  # noqa: E402
from core.planning.plan import LoraPlan, to_lora_config  # noqa: E402
from core.training.engine import fit, prepare  # noqa: E402
from core.training.run_state import RunState  # noqa: E402
from core.training.settings import TrainSettings  # noqa: E402

CASES = {
    "smollm2": ("causal-lm", "chatterbot-en", LoraPlan(targets=("q_proj", "v_proj"), task="causal-lm")),
    "minilm": ("seq-cls", "rotten-tomatoes", LoraPlan(targets=("query", "value"), task="seq-cls")),
}


def ours(spec: ModelSpec, plan: LoraPlan, data: TextDataset, settings: TrainSettings) -> float:
    session = prepare(spec, plan, data, data, settings)
    state = RunState()
    with tempfile.TemporaryDirectory() as work:
        fit(session, Path(work), state)
    snap = state.snapshot()
    assert snap.status == "done", snap.error_key
    return float(snap.tokens_per_s or 0.0)


def _timer() -> object:
    """Times the training loop exactly as our ``ProgressCallback`` does (train begin -> last step)."""
    from transformers import TrainerCallback

    class Timer(TrainerCallback):
        start = end = 0.0

        def on_train_begin(self, args, state, control, **kwargs):  # noqa: ANN001, ANN003
            self.start = time.monotonic()

        def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001, ANN003
            self.end = time.monotonic()

    return Timer()


class _Counting:
    """The default collator, counting real tokens like our engine does."""

    def __init__(self) -> None:
        from transformers import default_data_collator

        self.collate = default_data_collator
        self.tokens = 0

    def __call__(self, rows: list) -> dict:
        batch = self.collate(rows)
        self.tokens += int(batch["attention_mask"].sum())
        return batch


def _reference_rows(tok: object, data: TextDataset, task: str, seq_len: int, labels: list[str]) -> list[dict]:
    rows = []
    for ex in data.examples:
        if task == "causal-lm":
            messages = [{"role": "user", "content": ex.text}, {"role": "assistant", "content": ex.response}]
            text = tok.apply_chat_template(messages, tokenize=False)  # type: ignore[attr-defined]
        else:
            text = ex.text
        enc = tok(text, padding="max_length", truncation=True, max_length=seq_len)  # type: ignore[operator]
        row = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
        if task == "causal-lm":
            row["labels"] = [i if m else -100 for i, m in zip(enc["input_ids"], enc["attention_mask"], strict=True)]
        else:
            row["labels"] = labels.index(str(ex.label))
        rows.append(row)
    return rows


def reference(folder: str, plan: LoraPlan, data: TextDataset, settings: TrainSettings) -> float:
    """What a typical tutorial script does: Trainer + get_peft_model, max_length padding."""
    from peft import get_peft_model
    from transformers import (
        AutoModelForCausalLM,
        AutoModelForSequenceClassification,
        AutoTokenizer,
        Trainer,
        TrainingArguments,
        set_seed,
    )

    task = plan.task
    tok = AutoTokenizer.from_pretrained(folder)
    tok.pad_token = tok.pad_token or tok.eos_token
    labels = data.labels()
    rows = _reference_rows(tok, data, task, settings.seq_len_for(task), labels)
    set_seed(settings.seed)
    if task == "causal-lm":
        model = AutoModelForCausalLM.from_pretrained(folder)
    else:
        model = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=len(labels))
    model = get_peft_model(model, to_lora_config(plan))
    collator = _Counting()
    with tempfile.TemporaryDirectory() as work:
        args = TrainingArguments(
            output_dir=work, max_steps=settings.max_steps, per_device_train_batch_size=settings.batch_size,
            learning_rate=settings.lr_for(task), report_to="none", save_strategy="no", seed=settings.seed,
            disable_tqdm=True, use_cpu=not torch.cuda.is_available(), bf16=torch.cuda.is_available(),
        )  # fmt: skip
        timer = _timer()
        trainer = Trainer(model=model, args=args, train_dataset=rows, data_collator=collator, callbacks=[timer])
        trainer.train()
    return collator.tokens / (timer.end - timer.start)  # type: ignore[attr-defined]


def trl_sft(folder: str, plan: LoraPlan, data: TextDataset, settings: TrainSettings) -> float:
    """TRL's ``SFTTrainer`` on prompt/completion chat rows, loss on the completion only."""
    from datasets import Dataset
    from peft import get_peft_model
    from transformers import set_seed
    from trl import SFTConfig, SFTTrainer

    from core.training.loader import load_model, load_tokenizer

    tok = load_tokenizer(folder)
    rows = [
        {"prompt": [{"role": "user", "content": ex.text}], "completion": [{"role": "assistant", "content": ex.response}]}
        for ex in data.examples
    ]
    set_seed(settings.seed)
    model = get_peft_model(load_model(folder, "causal-lm", (), tok.pad_token_id), to_lora_config(plan))
    with tempfile.TemporaryDirectory() as work:
        args = SFTConfig(
            output_dir=work, max_steps=settings.max_steps, per_device_train_batch_size=settings.batch_size,
            learning_rate=settings.lr_for("causal-lm"), warmup_steps=min(settings.warmup_steps, settings.max_steps),
            lr_scheduler_type="linear", max_length=settings.seq_len_for("causal-lm"), completion_only_loss=True,
            report_to="none", save_strategy="no", seed=settings.seed, data_seed=settings.seed, disable_tqdm=True,
            use_cpu=not torch.cuda.is_available(), bf16=torch.cuda.is_available(),
            include_num_input_tokens_seen="non_padding", logging_steps=1,
        )  # fmt: skip
        timer = _timer()
        trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows), processing_class=tok,
                             callbacks=[timer])  # fmt: skip
        trainer.train()
    return trainer.state.num_input_tokens_seen / (timer.end - timer.start)  # type: ignore[attr-defined]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=sorted(CASES), nargs="+", default=sorted(CASES, reverse=True))
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--rows", type=int, default=400)
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)  # the reference script's count
        os.environ["LORA_LENS_CPU_THREADS"] = str(args.threads)  # and our engine's, set in its own thread
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU x{torch.get_num_threads()}"
    print(f"device: {device}; steps {args.steps}, batch {args.batch}, max_seq_len {args.seq_len}")
    for name in args.model:
        task, dataset, plan = CASES[name]
        data = sample(load_bundled(dataset, task), min(args.rows, len(load_bundled(dataset, task))), seed=0)
        settings = TrainSettings(
            max_steps=args.steps, batch_size=args.batch, max_seq_len=args.seq_len,
            eval_every=10**5, max_eval_examples=8,
        )  # fmt: skip
        from core.models.embedded import weights_folder

        ref = reference(str(weights_folder(name)), plan, data, settings)
        eng = ours(ModelSpec("embedded", name), plan, data, settings)
        print(f"{name:8s} {task:9s} reference {ref:9.0f} tok/s | lora-lens {eng:9.0f} tok/s | x{eng / ref:.2f}")
        if task == "causal-lm":
            sft = trl_sft(str(weights_folder(name)), plan, data, settings)
            print(f"{name:8s} {task:9s} trl-sft   {sft:9.0f} tok/s | lora-lens {eng:9.0f} tok/s | x{eng / sft:.2f}")


if __name__ == "__main__":
    main()
