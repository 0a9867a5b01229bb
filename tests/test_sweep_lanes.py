"""A CPU sweep trains plans side by side, each in a process of its own (``core.training.lanes``): the numbers equal
one-at-a-time training, a dead child fails only its plan, and Stop reaches the plans training in their lanes."""

from __future__ import annotations

import os
import signal
import time

import pytest
import torch

from core.data.bundled import load_bundled
from core.data.splits import sample
from core.errors import LensError
from core.models.spec import ModelSpec
from core.planning.plan import LoraPlan
from core.training import lanes
from core.training.jobs import JobManager
from core.training.settings import TrainSettings
from core.training.sweep import Sweep, SweepPlan
from core.training.sweep_run import SweepRun, run_sweep

MINILM = ModelSpec("embedded", "minilm", "seq-cls")
OWNER = "session-lanes"
PLANS = (
    SweepPlan("qv r=4", LoraPlan(targets=("query", "value"), r=4, lora_alpha=8, task="seq-cls")),
    SweepPlan("all-linear r=8", LoraPlan(target_regex="all-linear", r=8, task="seq-cls"), learning_rate=1e-2),
    SweepPlan("ffn r=2", LoraPlan(targets=("intermediate.dense",), r=2, task="seq-cls")),
)
SETTINGS = TrainSettings.for_task("seq-cls", max_steps=3, batch_size=4, max_seq_len=32, max_eval_examples=8)
REVIEWS = ["A sharp, funny film.", "Dull."]


def _sweep(plans=PLANS, settings=SETTINGS) -> Sweep:
    return Sweep(MINILM, "rotten-tomatoes", tuple(plans), settings, (1,))


def _data():
    return sample(load_bundled("rotten-tomatoes", "seq-cls"), 40, seed=1)


def _logits(adapter_dir: str) -> torch.Tensor:
    """The saved adapter, loaded in PEFT on a fresh base (seed 1 draws the run's head again)."""
    from peft import PeftModel
    from transformers import AutoTokenizer, set_seed

    from core.training.loader import load_model, weights_source

    location = weights_source(MINILM).location
    set_seed(1)
    base = load_model(location, "seq-cls", ("fresh", "rotten"), 0)
    model = PeftModel.from_pretrained(base, adapter_dir).eval()
    tok = AutoTokenizer.from_pretrained(location)
    with torch.no_grad():
        return model(**tok(REVIEWS, padding=True, return_tensors="pt")).logits


def test_plans_trained_side_by_side_get_the_numbers_of_one_at_a_time(tmp_path):
    one = run_sweep(_sweep(), _data(), None, tmp_path / "one", lanes=1)
    two = run_sweep(_sweep(), _data(), None, tmp_path / "two", lanes=2)
    assert [r.name for r in two] == [p.name for p in PLANS]  # the sweep's order, whichever lane ended first
    assert [r.side_by_side for r in two] == [2, 2, 2] and [r.side_by_side for r in one] == [1, 1, 1]
    for a, b in zip(one, two, strict=True):
        assert b.status == "done" and b.trainable_params == b.budget_params == a.trainable_params > 0
        # Same seed, head, LoRA init, batches and dropout: equal up to the rounding of 1 thread against 2.
        assert b.metrics["eval_loss"] == pytest.approx(a.metrics["eval_loss"], abs=1e-5)
        assert [x["loss"] for x in b.losses] == pytest.approx([x["loss"] for x in a.losses], abs=1e-4)
        assert b.evals[0]["step"] == 0 and b.peak_memory_bytes and b.tokens_per_second
        torch.testing.assert_close(_logits(b.adapter_dir), _logits(a.adapter_dir), atol=1e-4, rtol=1e-4)


def test_a_lane_that_dies_fails_its_plan_and_the_sweep_goes_on(tmp_path, monkeypatch):
    def kill_the_second(process, job) -> None:
        if job.item.name == PLANS[1].name:
            os.kill(process.pid, signal.SIGKILL)  # what the kernel's OOM killer does

    monkeypatch.setattr(lanes.SideBySide, "on_start", staticmethod(kill_the_second))
    results = run_sweep(_sweep(), _data(), None, tmp_path, lanes=2)
    assert [r.status for r in results] == ["done", "failed", "done"]
    dead = results[1]
    assert dead.error_key == "sweep.lane_died" and dead.adapter_dir is None and dead.budget_params > 0
    for lang in ("en", "ko"):
        message = LensError(dead.error_key, **dead.error_params).message(lang)
        assert "-9" in message and "\n" not in message and "{" not in message


def _wait_for(cond, timeout: float = 180.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def test_stop_reaches_every_plan_training_in_a_lane_and_keeps_what_they_trained(tmp_path):
    manager = JobManager(root=tmp_path)
    run = SweepRun(_sweep(settings=SETTINGS.with_changes(max_steps=400, eval_every=1000)), _data(), None, tmp_path)
    ids = run.submit(manager, OWNER, lanes=2)
    assert run.lanes == 2
    _wait_for(lambda: len(run.running_all()) == 2)  # the worker's plan and one taken beside it
    assert [item.name for item, _, _ in run.running_all()] == [PLANS[0].name, PLANS[1].name]
    assert manager.queue_position(ids[2]) == 1  # the third waits for a free lane
    _wait_for(lambda: all(manager.get(OWNER, i).snapshot.step >= 2 for i in ids[:2]))  # mirrored from the children
    run.stop()
    _wait_for(lambda: run.finished)
    assert [manager.get(OWNER, i).snapshot.status for i in ids] == ["stopped", "stopped", "stopped"]
    kept = sorted(run.results, key=lambda r: r.name)
    assert [r.name for r in kept] == sorted(p.name for p in PLANS[:2])
    assert all(r.status == "stopped" and r.adapter_dir and r.trainable_params == r.budget_params for r in kept)
    assert all(2 <= manager.get(OWNER, i).snapshot.step < 400 for i in ids[:2])
    assert manager.get(OWNER, ids[0]).result.adapter_dir is not None  # the job's record: its adapter on disk
    _wait_for(lambda: run._beside == 0)  # the lane thread ends just after its plan
    assert run._side is None


def test_the_live_chart_draws_every_plan_training_now_thickest():
    from core.charts.sweep import curves_figure
    from core.training.sweep import PlanResult

    curve = [{"step": 1, "loss": 2.0, "lr": 1e-3}, {"step": 2, "loss": 1.5, "lr": 1e-3}]
    done = PlanResult("a", 1, "done", losses=curve)
    now = [PlanResult("b", 1, "running", losses=curve), PlanResult("c", 1, "running", losses=curve)]
    fig = curves_figure([done], now)
    assert [(tr.name, tr.line.width) for tr in fig.data] == [("a · seed 1", 1.5), ("b · seed 1", 4), ("c · seed 1", 4)]
    assert len({tr.line.color for tr in fig.data}) == 3
    assert [tr.line.width for tr in curves_figure([done], now[0]).data] == [1.5, 4]  # one plan at a time
