"""The exported script is the app's recipe: same rows, same losses; the recipe's library parts."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from core.adapters.export import training_bundle_zip
from core.adapters.zip_io import safe_extract
from core.data.bundled import load_bundled
from core.data.splits import eval_subset, sample, train_val_split
from core.models.embedded import weights_folder
from core.models.spec import ModelSpec
from core.planning.plan import LoraPlan
from core.training import recipe
from core.training.engine import fit, prepare
from core.training.loader import load_tokenizer
from core.training.run_state import RunState
from core.training.settings import TrainSettings

pytestmark = pytest.mark.usefixtures("one_cpu_thread")

CASES = {
    "sft": ("smollm2", "chatterbot-en", LoraPlan(targets=("q_proj", "v_proj"), r=4, task="causal-lm"),
            TrainSettings(max_steps=4, batch_size=2, max_seq_len=40, eval_every=2, max_eval_examples=3)),
    "cls": ("minilm", "rotten-tomatoes", LoraPlan(targets=("query", "value"), r=4, task="seq-cls"),
            TrainSettings(max_steps=4, batch_size=4, eval_every=2, max_eval_examples=6)),
}  # fmt: skip


def _app_run(case: str, tmp_path: Path) -> tuple[SimpleNamespace, RunState]:
    name, dataset, plan, settings = CASES[case]
    data = sample(load_bundled(dataset, plan.task), 24, seed=4)
    session = prepare(ModelSpec("embedded", name), plan, data, None, settings)
    state = RunState()
    result = fit(session, tmp_path / "app", state)
    assert result is not None, state.snapshot().error_key
    job = SimpleNamespace(result=result, train=data, val=None, settings=settings, lock=threading.RLock())
    return job, state


def _script_run(bundle: bytes, tmp_path: Path, model_dir: str) -> tuple[list[dict], dict]:
    folder = safe_extract(bundle, tmp_path / "bundle")
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run(
        [sys.executable, "train_lora.py", "--config", "config.json", "--model", model_dir, "--output-dir", str(out)],
        cwd=folder, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / "adapter_model.safetensors").is_file()
    history = json.loads((out / "log_history.json").read_text(encoding="utf-8"))
    return history, json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("case", sorted(CASES))
def test_exported_script_trains_exactly_as_the_app(case, tmp_path):
    job, state = _app_run(case, tmp_path)
    bundle = training_bundle_zip(job)
    assert zipfile.ZipFile(io.BytesIO(bundle)).read("train_lora.py").decode() == Path(recipe.__file__).read_text()
    history, metrics = _script_run(bundle, tmp_path, job.result.source.location)
    script_losses = {row["step"]: row["loss"] for row in history if "loss" in row}
    app_losses = {row["step"]: row["loss"] for row in state.snapshot().losses}
    assert sorted(app_losses) == sorted(script_losses) == [1, 2, 3, 4]
    for step, loss in app_losses.items():
        assert script_losses[step] == pytest.approx(loss, rel=1e-4), step
    app_evals = {row["step"]: row["eval_loss"] for row in state.snapshot().evals}
    script_evals = {row["step"]: row["eval_loss"] for row in history if "eval_loss" in row}
    assert set(app_evals) == set(script_evals) == {0, 2, 4}
    assert script_evals == pytest.approx(app_evals, rel=1e-4)
    assert metrics["eval_loss"] == pytest.approx(state.snapshot().metrics["eval_loss"], rel=1e-4)


def test_exported_validation_rows_are_the_apps_eval_subset(tmp_path):
    """The val file holds exactly the class-balanced subset the app evaluated on, not the first rows."""
    data = sample(load_bundled("rotten-tomatoes", "seq-cls"), 200, seed=1)  # its val part starts with 4 "rotten"
    settings = TrainSettings(max_eval_examples=4)
    result = SimpleNamespace(adapter_dir=tmp_path, task="seq-cls", labels=("fresh", "rotten"), settings=settings,
                             source=SimpleNamespace(public_ref="m"), plan=CASES["cls"][2])  # fmt: skip
    job = SimpleNamespace(result=result, train=data, val=None, settings=settings, lock=threading.RLock())
    files = zipfile.ZipFile(io.BytesIO(training_bundle_zip(job)))
    val = [json.loads(line) for line in files.read("val.jsonl").decode().splitlines()]
    expected = eval_subset(train_val_split(data, settings.val_fraction, settings.seed)[1], 4)
    assert [(r["text"], r["label"]) for r in val] == [(ex.text, ex.label) for ex in expected.examples]
    assert sorted(r["label"] for r in val) == ["fresh", "fresh", "rotten", "rotten"]


def test_sft_collator_pads_labels_so_torch_loss_ignores_padding():
    """A padded batch from the recipe's collator has the same loss as each row alone (torch's CE)."""
    tok = load_tokenizer(str(weights_folder("smollm2")))
    rows = [
        recipe.encode_sft(tok, "Hi?", "Hello there, friend.", 64),
        recipe.encode_sft(tok, "A much longer question here, with many more words?", "Yes.", 64),
    ]
    batch = recipe.make_collator(tok, "causal-lm")(rows)
    assert batch["input_ids"].shape[1] == max(len(r["input_ids"]) for r in rows)
    short = min(range(2), key=lambda i: len(rows[i]["labels"]))
    n = len(rows[short]["labels"])
    assert n < batch["labels"].shape[1]
    assert (batch["labels"][short, n:] == -100).all() and (batch["attention_mask"][short, n:] == 0).all()
    vocab = 11
    logits = torch.randn(*batch["labels"].shape, vocab, generator=torch.Generator().manual_seed(0))
    labels = batch["labels"].clamp(max=vocab - 1).where(batch["labels"] != -100, -100)
    ce = torch.nn.CrossEntropyLoss(ignore_index=-100, reduction="sum")
    padded = ce(logits.flatten(0, 1), labels.flatten())
    alone = sum(ce(logits[i, : len(r["labels"])], labels[i, : len(r["labels"])]) for i, r in enumerate(rows))
    assert padded == pytest.approx(float(alone), rel=1e-6)


def test_classification_metrics_are_sklearns():
    from sklearn.metrics import accuracy_score, f1_score
    from transformers import EvalPrediction

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(50, 3))
    y_true = rng.integers(0, 3, size=50)
    got = recipe.classification_metrics(EvalPrediction(predictions=logits, label_ids=y_true))
    y_pred = logits.argmax(-1)
    assert got["accuracy"] == pytest.approx(accuracy_score(y_true, y_pred))
    assert got["f1_macro"] == pytest.approx(f1_score(y_true, y_pred, average="macro"))
    assert got["f1_macro"] != pytest.approx(f1_score(y_true, y_pred, average="micro"))


def test_tokenizer_without_pad_token_falls_back_to_eos(tmp_path):
    tok = load_tokenizer(str(weights_folder("smollm2")))
    tok.pad_token = None
    tok.save_pretrained(tmp_path)
    again = recipe.load_tokenizer(str(tmp_path))
    assert again.pad_token == tok.eos_token and again.pad_token_id == tok.eos_token_id

