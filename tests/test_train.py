"""Training: real short runs of the embedded models, jobs, failures, playground and the CLI."""

from __future__ import annotations

import argparse
import json
import math
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from core.data.bundled import load_bundled
from core.data.dataset import TextDataset
from core.data.splits import sample
from core.errors import LensError
from core.i18n import t
from core.models.spec import ModelSpec
from core.planning.plan import LoraPlan
from core.training.encode import IGNORE, encode, encode_sft
from core.training.engine import fit, prepare
from core.training.jobs import JobManager
from core.training.loader import load_tokenizer
from core.training.playground import classify_side_by_side, generate_side_by_side
from core.training.recipe import make_collator
from core.training.run_state import RunState, smoothed
from core.training.settings import EVALS_PER_RUN, TrainSettings, resolve_precision, validate_settings

MINILM = ModelSpec("embedded", "minilm")
SMOLLM = ModelSpec("embedded", "smollm2")
CLS_PLAN = LoraPlan(targets=("query", "value"), task="seq-cls")
SFT_PLAN = LoraPlan(targets=("q_proj", "v_proj"), r=8, lora_alpha=16, task="causal-lm")
OWNER = "session-a"


pytestmark = pytest.mark.usefixtures("one_cpu_thread")


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs)


def _losses(state: RunState) -> list[float]:
    return [row["loss"] for row in state.snapshot().losses]


def _rt(n: int = 400) -> TextDataset:
    return sample(load_bundled("rotten-tomatoes", "seq-cls"), n, seed=1)


@pytest.fixture(scope="module")
def cls_run(tmp_path_factory):
    # The app's batch of 16: at batch 8, 40 steps of this demo are dropout noise for some seeds (the loss of the
    # last 8 steps above the first 8's, with or without packing); at 16 the loss falls for every seed tried.
    settings = TrainSettings(max_steps=40, batch_size=16, eval_every=20, max_eval_examples=32)
    session = prepare(MINILM, CLS_PLAN, _rt(), None, settings)
    state = RunState()
    result = fit(session, tmp_path_factory.mktemp("cls"), state)
    return result, state


@pytest.fixture(scope="module")
def sft_run(tmp_path_factory):
    """Overfit 4 fixed Korean chat pairs: the loss must fall quickly and surely."""
    ds = sample(load_bundled("chatterbot-ko", "causal-lm"), 8, seed=3)
    train = TextDataset("ko/train", ds.examples[:4])
    val = TextDataset("ko/val", ds.examples[4:6])
    settings = TrainSettings(
        max_steps=8, batch_size=4, max_seq_len=64, learning_rate=2e-3, warmup_steps=0, eval_every=8
    )
    session = prepare(SMOLLM, SFT_PLAN, train, val, settings)
    state = RunState()
    result = fit(session, tmp_path_factory.mktemp("sft"), state)
    return result, state


# --- real runs --------------------------------------------------------------------------


def test_seq_cls_run_learns_and_reports(cls_run):
    result, state = cls_run
    snap = state.snapshot()
    losses = _losses(state)
    assert snap.status == "done" and snap.step == 40 and len(losses) == 40
    assert all(math.isfinite(x) for x in losses)
    assert _mean(losses[-8:]) < _mean(losses[:8])
    assert {"eval_loss", "accuracy", "f1_macro"} <= set(snap.metrics)
    assert [e["step"] for e in snap.evals] == [0, 20, 40]  # a baseline before the first step
    assert snap.evals[-1]["eval_loss"] < snap.evals[0]["eval_loss"]
    assert snap.tokens_per_s and snap.tokens_per_s > 0 and snap.eta_s == 0
    assert result.labels == ("fresh", "rotten")
    assert result.model.config.id2label == {0: "fresh", 1: "rotten"}
    names = {p.name for p in result.adapter_dir.iterdir()}
    assert {"adapter_config.json", "adapter_model.safetensors", "README.md", "training_settings.json"} <= names


def test_sft_run_learns_and_reports(sft_run):
    result, state = sft_run
    snap = state.snapshot()
    losses = _losses(state)
    assert snap.status == "done" and all(math.isfinite(x) for x in losses)
    assert losses[-1] < losses[0]
    assert {"eval_loss", "perplexity"} <= set(snap.metrics)
    # torch's own cross-entropy of the trained model on the validation rows, next-token, answer tokens only
    val = TextDataset("ko/val", sample(load_bundled("chatterbot-ko", "causal-lm"), 8, seed=3).examples[4:6])
    batch = make_collator(result.tokenizer, "causal-lm")(encode(result.tokenizer, val, "causal-lm", 64))
    with torch.no_grad():
        logits = result.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    ce = torch.nn.CrossEntropyLoss(ignore_index=IGNORE)(logits[:, :-1].flatten(0, 1), batch["labels"][:, 1:].flatten())
    assert snap.metrics["eval_loss"] == pytest.approx(float(ce), rel=1e-4)
    assert snap.metrics["perplexity"] == pytest.approx(float(torch.exp(ce)), rel=1e-4)


def test_sft_playground_side_by_side(sft_run):
    result, _ = sft_run
    job = _FinishedJob(result)
    base, adapted = generate_side_by_side(job, "안녕하세요", max_new_tokens=6)
    assert isinstance(base, str) and isinstance(adapted, str)
    with pytest.raises(LensError) as err:
        classify_side_by_side(job, "x")
    assert err.value.key == "train.wrong_playground"


def test_classify_side_by_side(cls_run):
    result, _ = cls_run
    scores = classify_side_by_side(_FinishedJob(result), "A delightful, moving film.")
    assert [s.label for s in scores] == ["fresh", "rotten"]
    assert sum(s.base for s in scores) == pytest.approx(1) and sum(s.adapted for s in scores) == pytest.approx(1)


class _FinishedJob:
    def __init__(self, result):
        self.result = result
        self.lock = threading.RLock()


# --- tokenization -----------------------------------------------------------------------


def test_sft_labels_cover_only_the_response():
    from core.models.embedded import weights_folder

    tok = load_tokenizer(str(weights_folder("smollm2")))
    row = encode_sft(tok, "What is AI?", "A field of science.", 128)
    answer = [i for i, lab in zip(row["input_ids"], row["labels"], strict=True) if lab != IGNORE]
    assert tok.decode(answer).startswith("A field of science.")
    assert row["labels"][0] == IGNORE
    short = encode_sft(tok, "word " * 200, "yes", 32)
    assert len(short["input_ids"]) == 32 and any(x != IGNORE for x in short["labels"])


# --- settings and refusals ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"max_steps": 0}, "train.bad_setting"),
        ({"batch_size": 2.5}, "train.bad_setting"),
        ({"learning_rate": -1.0}, "train.bad_lr"),
        ({"precision": "fp8"}, "train.bad_precision"),
        ({"val_fraction": 1.0}, "train.bad_setting"),
    ],
)
def test_bad_settings_are_refused(changes, key):
    with pytest.raises(LensError) as err:
        validate_settings(TrainSettings(**changes))
    assert err.value.key == key and t(key) != key


def test_task_defaults():
    sft, cls = TrainSettings.for_task("causal-lm"), TrainSettings.for_task("seq-cls")
    assert (sft.max_steps, sft.batch_size) == (TrainSettings().max_steps, TrainSettings().batch_size)
    assert cls.max_steps > sft.max_steps and cls.batch_size > sft.batch_size
    for s in (sft, cls):
        validate_settings(s)
    longer = TrainSettings.for_task("seq-cls", max_steps=600)
    assert longer.batch_size == cls.batch_size
    assert TrainSettings.for_task("seq-cls", eval_every=7).eval_every == 7


@pytest.mark.parametrize(
    ("spec", "plan", "dataset", "changes"),
    [
        (SMOLLM, SFT_PLAN, "chatterbot-en", {"max_steps": 4, "batch_size": 1, "max_seq_len": 24, "max_eval_examples": 1}),
        (MINILM, CLS_PLAN, "rotten-tomatoes", {"max_steps": 6, "batch_size": 2, "max_eval_examples": 2}),
    ],
)
def test_a_real_run_evaluates_evals_per_run_times(spec, plan, dataset, changes, tmp_path):
    """The evaluations Trainer actually ran: one baseline before step 1, then EVALS_PER_RUN, the last at the end."""
    settings = TrainSettings.for_task(plan.task, **changes)
    data = sample(load_bundled(dataset, plan.task), 12, seed=0)
    state = RunState()
    assert fit(prepare(spec, plan, data, None, settings), tmp_path, state) is not None
    steps = [e["step"] for e in state.snapshot().evals]
    assert steps[0] == 0 and len(steps[1:]) == EVALS_PER_RUN[plan.task] and steps[-1] == changes["max_steps"]


def test_loss_smoothing_follows_the_trend_without_start_up_bias():
    assert smoothed([]) == []
    assert smoothed([2.0, 2.0, 2.0]) == pytest.approx([2.0, 2.0, 2.0])  # no pull towards zero
    assert smoothed([1.0, 5.0], weight=0.0) == [1.0, 5.0]
    noisy = [3.0 - 0.05 * i + (0.4 if i % 2 else -0.4) for i in range(40)]
    smooth = smoothed(noisy)
    assert smooth[0] == pytest.approx(noisy[0]) and len(smooth) == len(noisy)
    jumps = lambda xs: max(abs(a - b) for a, b in zip(xs, xs[1:], strict=False))  # noqa: E731
    assert jumps(smooth[5:]) < jumps(noisy) / 3
    assert smooth[-1] < smooth[5]
    with pytest.raises(ValueError):
        smoothed([1.0], weight=1.0)


@pytest.mark.parametrize("weight", [0.0, 0.3, 0.6, 0.9])
def test_loss_smoothing_is_the_weighted_average_of_the_past(weight):
    """Point t is the average of points 0..t weighted weight**age (numpy's average, not our recursion)."""
    values = list(np.random.default_rng(1).normal(2.0, 0.5, size=25))
    expected = [np.average(values[: t + 1], weights=weight ** np.arange(t, -1, -1.0)) for t in range(len(values))]
    assert smoothed(values, weight) == pytest.approx(expected, rel=1e-9)


def test_precision_auto_is_fp32_on_cpu():
    if torch.cuda.is_available():
        pytest.skip("CPU-only check")
    assert resolve_precision("auto") == "fp32"
    with pytest.raises(LensError, match="CUDA"):
        resolve_precision("bf16")


def test_catalog_model_is_refused(tmp_path):
    manager = JobManager(root=tmp_path)
    with pytest.raises(LensError) as err:
        manager.submit(OWNER, ModelSpec("catalog", "llama-3.1-8b"), SFT_PLAN, _rt(20), None, TrainSettings())
    assert err.value.key == "train.no_weights" and "llama-3.1-8b" in err.value.message()
    assert manager.jobs_of(OWNER) == []


def test_local_folder_without_weights_is_refused(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(LensError) as err:
        prepare(ModelSpec("local", str(tmp_path)), CLS_PLAN, _rt(20), None, TrainSettings())
    assert err.value.key == "train.no_weights"


# --- jobs: queue, owners, stop, failures --------------------------------------------------


def _blocking_runner(gate: threading.Event, order: list[str]):
    def runner(spec, plan, train, val, settings, workdir, state):
        state.start(1)
        order.append(workdir.name)
        gate.wait(10)
        state.finish("done")

    return runner


def test_queue_is_fifo_and_owners_are_isolated(tmp_path):
    gate, order = threading.Event(), []
    manager = JobManager(root=tmp_path, runner=_blocking_runner(gate, order))
    a = manager.submit("alice", MINILM, CLS_PLAN, _rt(20), None, TrainSettings())
    b = manager.submit("bob", MINILM, CLS_PLAN, _rt(20), None, TrainSettings())
    c = manager.submit("alice", MINILM, CLS_PLAN, _rt(20), None, TrainSettings())
    _wait_for(lambda: manager.queue_position(a) == 0)
    assert (manager.queue_position(b), manager.queue_position(c)) == (1, 2)
    assert [j.id for j in manager.jobs_of("alice")] == [a, c] and [j.id for j in manager.jobs_of("bob")] == [b]
    with pytest.raises(LensError) as err:
        manager.get("alice", b)
    assert err.value.key == "train.no_job"
    with pytest.raises(LensError):
        manager.stop("alice", b)
    assert len(a) == 32 and a != b and manager.get("alice", a).workdir == tmp_path / a
    manager.stop("bob", b)  # still queued: dropped
    assert manager.get("bob", b).state.status == "stopped" and manager.queue_position(b) is None
    gate.set()
    assert manager.get("alice", c).state.wait(10)
    assert order == [a, c]


def _wait_for(cond, timeout: float = 60.0) -> None:
    import time

    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def test_stop_mid_run_keeps_the_adapter(tmp_path):
    manager = JobManager(root=tmp_path)
    settings = TrainSettings(max_steps=500, batch_size=4, eval_every=1000)
    job_id = manager.submit(OWNER, MINILM, CLS_PLAN, _rt(200), None, settings)
    job = manager.get(OWNER, job_id)
    _wait_for(lambda: job.state.snapshot().step >= 2)
    manager.stop(OWNER, job_id)
    assert job.state.wait(60)
    snap = job.state.snapshot()
    assert snap.status == "stopped" and 2 <= snap.step < 500
    assert (job.adapter_dir / "adapter_model.safetensors").is_file()
    assert job.result.steps_done == snap.step and "eval_loss" in snap.metrics


def _hooked_loader(monkeypatch, hook):
    import core.training.shared_base as train_module  # the one loader of a run's base

    real = train_module.load_model

    def load(*args, **kwargs):
        model = real(*args, **kwargs)
        model.register_forward_hook(hook)
        return model

    monkeypatch.setattr(train_module, "load_model", load)


def test_out_of_memory_fails_cleanly_and_the_worker_goes_on(tmp_path, monkeypatch):
    def oom(module, inputs, output):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    _hooked_loader(monkeypatch, oom)
    manager = JobManager(root=tmp_path)
    bad = manager.submit(OWNER, MINILM, CLS_PLAN, _rt(40), None, TrainSettings(max_steps=3, batch_size=4))
    assert manager.get(OWNER, bad).state.wait(60)
    snap = manager.get(OWNER, bad).state.snapshot()
    assert snap.status == "failed" and snap.error_key == "train.oom"
    message = t(snap.error_key, **snap.error_params)
    assert "batch" in message and "4" in message
    monkeypatch.undo()
    good = manager.submit(OWNER, MINILM, CLS_PLAN, _rt(40), None, TrainSettings(max_steps=2, batch_size=4))
    assert manager.get(OWNER, good).state.wait(60)
    assert manager.get(OWNER, good).state.status == "done"


def test_nan_loss_is_reported_as_divergence(tmp_path, monkeypatch):
    def poison(module, inputs, output):
        if output.loss is not None:
            output.loss = output.loss * float("nan")
        return output

    _hooked_loader(monkeypatch, poison)
    manager = JobManager(root=tmp_path)
    job_id = manager.submit(OWNER, MINILM, CLS_PLAN, _rt(40), None, TrainSettings(max_steps=20, batch_size=4))
    job = manager.get(OWNER, job_id)
    assert job.state.wait(60)
    snap = job.state.snapshot()
    assert snap.status == "failed" and snap.error_key == "train.diverged" and snap.step == 1
    assert "NaN" in t(snap.error_key, **snap.error_params)


# --- CLI ----------------------------------------------------------------------------------


def _cli(argv: list[str]) -> int:
    from core.cli.train import register

    parser = argparse.ArgumentParser(prog="lora-lens")
    register(parser.add_subparsers())
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code)
    return args.func(args)


def test_cli_json_contract(tmp_path, capsys):
    out = tmp_path / "adapter"
    data = tmp_path / "reviews.csv"
    rows = [f"{ex.text.replace(',', ' ')},{ex.label}" for ex in _rt(60).examples]
    data.write_text("text,label\n" + "\n".join(rows), encoding="utf-8")
    code = _cli(["train", "minilm", "--task", "seq-cls", "--data", str(data), "--steps", "3", "--batch", "4"]
                + ["--r", "4", "--target", "query", "value", "--out", str(out), "--json"])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    lines = captured.out.strip().splitlines()
    assert lines[0].startswith("step 1/3")
    summary = json.loads(lines[-1])
    for key in ("train_loss_first", "train_loss_last", "eval_loss", "accuracy", "f1_macro", "seconds"):
        assert math.isfinite(summary[key])
    assert summary["tokens_per_second"] > 0
    assert {"adapter_config.json", "adapter_model.safetensors", "README.md", "training_settings.json"} <= {
        p.name for p in Path(out).iterdir()
    }
    assert json.loads((out / "adapter_config.json").read_text())["r"] == 4


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "llama-3.1-8b", "--data", "chatterbot-en"],
        ["train", "minilm", "--task", "seq-cls", "--data", "no-such-data"],
        ["train", "minilm", "--task", "seq-cls", "--data", "rotten-tomatoes", "--steps", "0"],
        ["train", "minilm", "--task", "seq-cls", "--data", "rotten-tomatoes", "--bias", "weird"],
        ["train", "minilm", "--task", "seq-cls", "--data", "rotten-tomatoes", "--layers", "a,b"],
        ["train", "minilm", "--task", "seq-cls", "--data", "rotten-tomatoes", "--r", "0"],
        ["train", "minilm", "--task", "causal-lm", "--data", "rotten-tomatoes"],
    ],
)
def test_cli_bad_input_exits_2_with_one_line(argv, capsys):
    assert _cli(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and len(err.splitlines()) == 1 and "Traceback" not in err


def test_every_training_error_key_has_both_languages():
    import re

    from core.i18n import table

    root = Path(__file__).resolve().parents[1] / "core"
    files = [*(root / "training").rglob("*.py"), *(root / "adapters").rglob("*.py"), *(root / "models").rglob("*.py")]
    files += [root / "cli" / "train.py"]
    keys = {k for f in files for k in re.findall(r'"((?:train|zip)\.[a-z_0-9.]+)"', f.read_text())}
    assert len(keys) > 30
    missing = sorted(k for k in keys - {"train.jsonl"} if k not in table())
    assert not missing
    assert all(en and ko and en != ko for k, (en, ko) in table().items() if k.startswith(("train.", "zip.")))


# --- other architectures from a local folder -------------------------------------------------


def _tiny_folder(kind: str, folder: Path) -> tuple[ModelSpec, LoraPlan, TextDataset]:
    """A tiny randomly initialised model of another family, with an embedded model's tokenizer."""
    import transformers as tf

    from core.models.embedded import weights_folder

    if kind in ("gpt2", "qwen2"):
        tok = tf.AutoTokenizer.from_pretrained(weights_folder("smollm2"))
        if kind == "gpt2":  # Conv1D layers and no chat template: the plain prompt/response format
            tok.chat_template = None
            model = tf.GPT2LMHeadModel(tf.GPT2Config(vocab_size=len(tok), n_embd=32, n_layer=2, n_head=2))
            targets = ("c_attn",)
        else:
            cfg = tf.Qwen2Config(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                 num_attention_heads=4, num_key_value_heads=2)  # fmt: skip
            model, targets = tf.Qwen2ForCausalLM(cfg), ("q_proj", "k_proj", "v_proj", "o_proj")
        data = sample(load_bundled("chatterbot-en", "causal-lm"), 24, seed=0)
        task = "causal-lm"
    else:
        tok = tf.AutoTokenizer.from_pretrained(weights_folder("minilm"))
        if kind == "distilbert":
            cfg = tf.DistilBertConfig(vocab_size=len(tok), dim=32, hidden_dim=64, n_layers=2, n_heads=2)
            model, targets = tf.DistilBertForSequenceClassification(cfg), ("q_lin", "v_lin")
        else:
            cfg = tf.RobertaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                   num_attention_heads=2, max_position_embeddings=300)  # fmt: skip
            model, targets = tf.RobertaForSequenceClassification(cfg), ("query", "value")
        data, task = _rt(40), "seq-cls"
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    if kind == "gpt2":
        for name in ("chat_template.jinja", "chat_template.json"):
            (folder / name).unlink(missing_ok=True)
    return ModelSpec("local", str(folder), task), LoraPlan(targets=targets, r=4, lora_alpha=8, task=task), data


@pytest.mark.parametrize("kind", ["gpt2", "qwen2", "distilbert", "roberta"])
def test_other_architectures_train_and_reload_identically(kind, tmp_path):
    from peft import PeftModel

    from core.training.loader import load_model

    spec, plan, data = _tiny_folder(kind, tmp_path / "model")
    settings = TrainSettings.for_task(plan.task, max_steps=3, batch_size=4, max_seq_len=48, learning_rate=1e-2)
    state = RunState()
    result = fit(prepare(spec, plan, data, None, settings), tmp_path / "run", state)
    snap = state.snapshot()
    assert snap.status == "done" and snap.step == 3, snap.error_key
    assert all(math.isfinite(x) for x in _losses(state)) and "eval_loss" in snap.metrics
    tok = result.tokenizer
    if plan.task == "causal-lm":  # gpt2 takes the plain prompt/response path, qwen2 the chat template
        assert (tok.chat_template is None) is (kind == "gpt2")
    batch = tok(["A sharp, funny film.", "Hello there"], padding=True, return_tensors="pt")
    base = load_model(str(tmp_path / "model"), plan.task, result.labels, tok.pad_token_id)
    reloaded = PeftModel.from_pretrained(base, str(result.adapter_dir)).eval()
    with torch.no_grad():
        assert torch.allclose(reloaded(**batch).logits, result.model(**batch).logits, atol=1e-5)
