"""Training throughput: LoRA Lens's engine against fair baselines, in one process.

Every side trains the same model, rows, LoRA plan (``to_lora_config``), steps, batch, learning
rate, warm-up and seed, and counts only real (non-pad) tokens with Trainer's own counter
(``include_num_input_tokens_seen="non_padding"``), timed from train begin to the last step:

  (a) dynamic    transformers Trainer + PEFT, rows padded per batch (DataCollatorForSeq2Seq /
                 DataCollatorWithPadding), prompt tokens masked: what a competent user writes
  (b) trl-sft    TRL's SFTTrainer with its defaults on prompt/completion rows (completion-only loss)
  (c) max-len    the tutorial script, every row padded to max_length: a labelled reference only
  plain          the engine with its speed switches off (must match (a))
  lora-lens      the engine as the app and CLI run it (SFT: padding-free batches, DataCollatorWithFlattening
                 + position_ids, and the LM head on labels only; classification: packed rows with a
                 block-diagonal mask, recipe.pack_rows, and the last layer run only at each row's first
                 token, the one the head reads)

Sides run interleaved, ``--repeats`` times each, after one untimed warm-up run (the first run in a process
pays one-time costs); the median counts. Each side reports real tokens per wall-clock second and per second
of this process's CPU time: on a shared machine wall-clock swings with other processes, CPU time much less
(with ``--threads 1`` it is one thread's work, no thread waiting on another).

    python bench/train.py                        # both embedded models, CPU-sized
    python bench/train.py --model smollm2 --repeats 3 --json out.json
    python bench/train.py --model minilm --batch 16 --threads 1   # CPU time of one thread: steady under load
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import datasets
import torch

from core.data.bundled import load_bundled
from core.data.dataset import TextDataset
from core.data.splits import sample
from core.models.embedded import weights_folder
from core.models.spec import ModelSpec
from core.planning.plan import LoraPlan, to_lora_config
from core.training import recipe
from core.training.encode import jsonl_rows
from core.training.engine import fit, prepare
from core.training.run_state import RunState
from core.training.settings import TrainSettings

CASES = {
    "smollm2": ("causal-lm", "chatterbot-ko", LoraPlan(targets=("q_proj", "v_proj"), task="causal-lm")),
    "minilm": ("seq-cls", "rotten-tomatoes", LoraPlan(targets=("query", "value"), task="seq-cls")),
}
OFF = {"padding_free": False, "labels_only_head": False, "group_by_length": False}
# Dense bf16 tensor-core peaks from NVIDIA's datasheets (TFLOP/s), for MFU; --peak-tflops overrides.
PEAK_BF16_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "L4": 121.0, "A10G": 70.0}


@dataclass
class Run:
    """One side's run: real tokens per second and its per-step training losses."""

    tokens_per_s: float
    cpu_tokens_per_s: float
    losses: list[float] = field(default_factory=list)
    peak_gpu_bytes: int | None = None


def _timer() -> object:
    """Times the training loop exactly as the engine's ``ProgressCallback`` does (train begin -> last step)."""
    from transformers import TrainerCallback

    class Timer(TrainerCallback):
        start = end = cpu_start = cpu_end = 0.0

        def on_train_begin(self, args, state, control, **kwargs):  # noqa: ANN001, ANN003
            if torch.cuda.is_available():
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            self.start, self.cpu_start = time.monotonic(), time.process_time()

        def on_step_end(self, args, state, control, **kwargs):  # noqa: ANN001, ANN003
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            self.end, self.cpu_end = time.monotonic(), time.process_time()

    return Timer()


def _run_trainer(trainer: object, timer: object) -> Run:
    from transformers import PrinterCallback

    trainer.remove_callback(PrinterCallback)  # type: ignore[attr-defined]  # as the engine: no log lines on stdout
    trainer.train()  # type: ignore[attr-defined]
    state = trainer.state  # type: ignore[attr-defined]
    losses = [row["loss"] for row in state.log_history if "loss" in row]
    peak = torch.cuda.max_memory_allocated() if torch.cuda.is_available() else None
    tokens = state.num_input_tokens_seen
    return Run(tokens / (timer.end - timer.start), tokens / (timer.cpu_end - timer.cpu_start), losses, peak)  # type: ignore[attr-defined]


def _args(cls: type, work: str, task: str, s: TrainSettings, **extra: object) -> object:
    """The same optimiser schedule on every side: lr, linear warm-up, seed, one log per step."""
    return cls(
        output_dir=work, max_steps=s.max_steps, per_device_train_batch_size=s.batch_size,
        learning_rate=s.lr_for(task), warmup_steps=min(s.warmup_steps, s.max_steps), lr_scheduler_type="linear",
        logging_steps=1, report_to="none", save_strategy="no", seed=s.seed, data_seed=s.seed, disable_tqdm=True,
        use_cpu=not torch.cuda.is_available(), bf16=recipe.resolve_precision("auto") == "bf16",
        include_num_input_tokens_seen="non_padding", remove_unused_columns=False, **extra,
    )  # fmt: skip


def _peft_model(folder: str, plan: LoraPlan, labels: tuple[str, ...], pad_id: int | None, seed: int) -> object:
    from peft import get_peft_model
    from transformers import set_seed

    set_seed(seed)
    return get_peft_model(recipe.load_model(folder, plan.task, labels, pad_id), to_lora_config(plan))


def _maxlen_rows(tok: object, data: TextDataset, task: str, seq_len: int, labels: tuple[str, ...]) -> list[dict]:
    """The tutorial's rows: chat text padded to ``max_length``, loss on every real token (prompt included)."""
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


def trainer_side(folder: str, plan: LoraPlan, data: TextDataset, s: TrainSettings, max_length: bool) -> Run:
    """(a) Trainer + PEFT with transformers' padding collators, or (c) the max_length tutorial script."""
    from transformers import Trainer, TrainingArguments, default_data_collator

    task, tok = plan.task, recipe.load_tokenizer(folder)
    labels = tuple(sorted({str(ex.label) for ex in data.examples})) if task == "seq-cls" else ()
    if max_length:
        rows, collator = _maxlen_rows(tok, data, task, s.seq_len_for(task), labels), default_data_collator
    else:
        rows = recipe.encode_rows(tok, jsonl_rows(data, task), task, s.seq_len_for(task), labels)
        collator = recipe.make_collator(tok, task)
    model = _peft_model(folder, plan, labels, tok.pad_token_id, s.seed)
    with tempfile.TemporaryDirectory() as work:
        timer = _timer()
        trainer = Trainer(model=model, args=_args(TrainingArguments, work, task, s), train_dataset=rows,
                          data_collator=collator, callbacks=[timer])  # fmt: skip
        return _run_trainer(trainer, timer)


def trl_side(folder: str, plan: LoraPlan, data: TextDataset, s: TrainSettings) -> Run:
    """(b) TRL's ``SFTTrainer`` with its defaults on prompt/completion chat rows (completion-only loss)."""
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    tok = recipe.load_tokenizer(folder)
    rows = [
        {"prompt": [{"role": "user", "content": ex.text}], "completion": [{"role": "assistant", "content": ex.response}]}
        for ex in data.examples
    ]
    model = _peft_model(folder, plan, (), tok.pad_token_id, s.seed)
    with tempfile.TemporaryDirectory() as work:
        timer = _timer()
        args = _args(SFTConfig, work, "causal-lm", s, max_length=s.seq_len_for("causal-lm"))
        trainer = SFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(rows), processing_class=tok,
                             callbacks=[timer])  # fmt: skip
        return _run_trainer(trainer, timer)


class CpuTimedState(RunState):
    """The engine's own run state, also noting this process's CPU time from train begin to the last step."""

    cpu_start = cpu_end = 0.0

    def start(self, total_steps: int) -> None:
        self.cpu_start = time.process_time()
        super().start(total_steps)

    def step(self, step: int, tokens: int, gpu_mem_bytes: int | None = None) -> None:
        self.cpu_end = time.process_time()
        super().step(step, tokens, gpu_mem_bytes)


def engine_side(name: str, plan: LoraPlan, data: TextDataset, s: TrainSettings) -> Run:
    """The engine exactly as the app's job queue and the CLI call it."""
    session = prepare(ModelSpec("embedded", name), plan, data, data, s)
    state = CpuTimedState()
    with tempfile.TemporaryDirectory() as work:
        fit(session, Path(work), state)
    snap = state.snapshot()
    assert snap.status == "done", snap.error_key
    cpu = snap.tokens / (state.cpu_end - state.cpu_start)
    return Run(float(snap.tokens_per_s or 0.0), cpu, [row["loss"] for row in snap.losses], snap.gpu_mem_bytes)


def sides(name: str, plan: LoraPlan, data: TextDataset, s: TrainSettings) -> dict[str, Callable[[], Run]]:
    folder = str(weights_folder(name))
    table = {
        "(a) dynamic": lambda: trainer_side(folder, plan, data, s, max_length=False),
        "(b) trl-sft": lambda: trl_side(folder, plan, data, s),
        "(c) max-len": lambda: trainer_side(folder, plan, data, s, max_length=True),
        "plain": lambda: engine_side(name, plan, data, s.with_changes(**OFF)),
        "lora-lens": lambda: engine_side(name, plan, data, s),
    }
    if plan.task != "causal-lm":
        del table["(b) trl-sft"]
    return table


def bench_model(name: str, args: argparse.Namespace) -> dict:
    task, dataset, plan = CASES[name]
    full = load_bundled(dataset, task)
    data = sample(full, min(args.rows, len(full)), seed=0)
    s = TrainSettings(max_steps=args.steps, batch_size=args.batch, max_seq_len=args.seq_len,
                      eval_every=10**5, max_eval_examples=8)  # fmt: skip
    table, runs = sides(name, plan, data, s), {}
    sides(name, plan, data, s.with_changes(max_steps=2))["(a) dynamic"]()  # warm-up, not counted
    for _ in range(args.repeats):
        for side, run in table.items():
            runs.setdefault(side, []).append(run())
    return {side: _summary(rs) for side, rs in runs.items()}


def _summary(runs: list[Run]) -> dict:
    return {
        "tokens_per_s": statistics.median(r.tokens_per_s for r in runs),
        "all_tokens_per_s": [round(r.tokens_per_s, 1) for r in runs],
        "cpu_tokens_per_s": statistics.median(r.cpu_tokens_per_s for r in runs),
        "all_cpu_tokens_per_s": [round(r.cpu_tokens_per_s, 1) for r in runs],
        "losses": [round(x, 4) for x in runs[0].losses],
        "peak_gpu_bytes": runs[0].peak_gpu_bytes,
    }


def flops_per_token(name: str, task: str) -> float:
    """Model FLOPs of one LoRA training token: 2N forward + 2N for the input gradients backward, N the
    weights of every Linear layer (LM head included); frozen weights get no weight gradient."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForSequenceClassification

    config = AutoConfig.from_pretrained(str(weights_folder(name)))
    cls = AutoModelForCausalLM if task == "causal-lm" else AutoModelForSequenceClassification
    with torch.device("meta"):
        model = cls.from_config(config)
    return 4.0 * sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))


def peak_flops(device: str, override: float | None) -> float | None:
    if override:
        return override * 1e12
    return next((tf * 1e12 for chip, tf in PEAK_BF16_TFLOPS.items() if chip in device), None)


def add_mfu(result: dict, name: str, peak: float | None) -> None:
    """MFU of each side against the chip's bf16 peak (GPU only: a CPU has no such peak here)."""
    if peak is None or not torch.cuda.is_available():
        return
    per_token = flops_per_token(name, CASES[name][0])
    for r in result.values():
        r["mfu"] = r["tokens_per_s"] * per_token / peak


def report(name: str, result: dict) -> None:
    """Prints real tokens per wall second and per CPU second, the engine's ratio to each side on both, and how
    far each loss curve is from (a)'s."""
    ours, ref = result["lora-lens"], result["(a) dynamic"]["losses"]
    for side, r in result.items():
        gap = max((abs(x - y) for x, y in zip(r["losses"], ref, strict=False)), default=0.0)
        mfu = f"  MFU {r['mfu']:.1%}" if "mfu" in r else ""
        print(f"{name:8s} {side:12s} {r['tokens_per_s']:8.1f} tok/s  lora-lens x{ours['tokens_per_s'] / r['tokens_per_s']:.2f}"
              f"  | {r['cpu_tokens_per_s']:8.1f} tok/CPU-s  lora-lens x{ours['cpu_tokens_per_s'] / r['cpu_tokens_per_s']:.2f}"
              f"  | max |loss - (a)| {gap:.4f}  last loss {r['losses'][-1]:.4f}{mfu}"
              f"  | runs {r['all_tokens_per_s']} {r['all_cpu_tokens_per_s']}")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", choices=sorted(CASES), nargs="+", default=sorted(CASES, reverse=True))
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--rows", type=int, default=400)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, help="CPU threads for every side (default: torch's, every core)")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--peak-tflops", type=float, help="the chip's dense bf16 peak, for MFU (default: known chips)")
    args = ap.parse_args()
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    datasets.disable_progress_bars()  # TRL's tokenizing passes
    if args.threads:  # the engine sets its own count from this variable (engine.cpu_threads)
        torch.set_num_threads(args.threads)
        os.environ["LORA_LENS_CPU_THREADS"] = str(args.threads)
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"CPU x{torch.get_num_threads()}"
    print(f"device: {device}; steps {args.steps}, batch {args.batch}, max_seq_len {args.seq_len}, "
          f"repeats {args.repeats}")  # fmt: skip
    results = {"device": device, "args": vars(args), "models": {}}
    for name in args.model:
        results["models"][name] = bench_model(name, args)
        add_mfu(results["models"][name], name, peak_flops(device, args.peak_tflops))
        report(name, results["models"][name])
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
