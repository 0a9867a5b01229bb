"""A run survives a restart: a new JobManager rebuilds it from its folder, playable and downloadable."""

from __future__ import annotations

import io
import json
import math
import shutil
import threading
import time
import zipfile

import pytest
import torch

from core.adapters.export import adapter_zip, merged_model_zip, training_bundle_zip
from core.adapters.zip_io import safe_extract
from core.data.bundled import load_bundled
from core.data.dataset import Example, TextDataset
from core.data.splits import sample, train_val_split
from core.errors import LensError
from core.i18n import t
from core.models.embedded import weights_folder
from core.models.spec import ModelSpec
from core.planning.plan import LoraPlan
from core.training import persist
from core.training.jobs import JobManager
from core.training.playground import classify_side_by_side
from core.training.settings import TrainSettings

OWNER, STRANGER = "visitor-a", "visitor-b"
CLS_PLAN = LoraPlan(targets=("query", "value"), r=4, task="seq-cls")
MINILM = ModelSpec("embedded", "minilm")
SFT_PLAN = LoraPlan(targets=("q_proj", "v_proj"), r=8, task="causal-lm")
SMOLLM = ModelSpec("embedded", "smollm2")

pytestmark = pytest.mark.usefixtures("one_cpu_thread")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A real two-step MiniLM run whose folder the caller chose, as the workspace does."""
    root = tmp_path_factory.mktemp("data")
    manager = JobManager(root=root / "default")
    train, val = train_val_split(sample(load_bundled("rotten-tomatoes", "seq-cls"), 40, seed=3), 0.25, 0)
    settings = TrainSettings(max_steps=2, batch_size=4, eval_every=2, max_eval_examples=8, max_seq_len=32)
    workdir = root / "visitors" / "k" / "runs" / "1"
    job_id = manager.submit(OWNER, MINILM, CLS_PLAN, train, val, settings, workdir=workdir)
    job = manager.get(OWNER, job_id)
    assert job.state.wait(180)  # run.json is written before wait returns
    assert job.state.status == "done", job.snapshot.error_key
    return manager, job


@pytest.fixture(scope="module")
def restored(trained):
    _, job = trained
    return JobManager(root=job.workdir.parent / "elsewhere").restore(OWNER, job.id, job.workdir)


def _batch(job):
    tok = job.result.tokenizer
    return tok(["A sharp, funny film.", "Dull and far too long."], padding=True, return_tensors="pt")


def test_the_run_writes_into_the_folder_the_caller_chose(trained):
    _, job = trained
    assert job.workdir.name == "1" and job.adapter_dir == job.workdir / "adapter"
    assert {p.name for p in job.workdir.iterdir()} >= {"job.json", "run.json", "train.jsonl", "val.jsonl", "adapter"}
    assert not list(job.workdir.glob(".*"))  # no temporary file left behind


def test_a_restart_restores_the_curve_metrics_and_rows(trained, restored):
    _, job = trained
    assert restored.snapshot == job.snapshot and restored.snapshot.status == "done"
    assert len(restored.snapshot.losses) == 2 and restored.snapshot.evals
    r, o = restored.result, job.result
    assert r.model is None and r.metrics == o.metrics and "accuracy" in r.metrics
    assert (r.labels, r.steps_done, r.base_params, r.train_rows, r.val_rows) == (
        o.labels, o.steps_done, o.base_params, o.train_rows, o.val_rows)  # fmt: skip
    assert (r.plan, r.settings, r.spec, r.source) == (o.plan, o.settings, o.spec, o.source)
    assert restored.train == job.train and restored.val == job.val and restored.train.name == job.train.name
    assert restored.created == job.created and restored.adapter_dir == job.adapter_dir


def test_the_restored_adapter_zip_gives_the_original_logits(trained, restored, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification

    _, job = trained
    labels = restored.result.labels
    base = AutoModelForSequenceClassification.from_pretrained(
        str(weights_folder("minilm")), num_labels=len(labels), id2label=dict(enumerate(labels)),
        label2id={name: i for i, name in enumerate(labels)},
    )  # fmt: skip
    loaded = PeftModel.from_pretrained(base, str(safe_extract(adapter_zip(restored), tmp_path / "a"))).eval()
    with torch.no_grad():
        assert torch.allclose(loaded(**_batch(restored)).logits, job.result.model(**_batch(job)).logits, atol=1e-5)


def test_the_restored_playground_answers_as_the_original(trained, restored):
    _, job = trained
    text = "A moving, funny film."
    got, expected = classify_side_by_side(restored, text), classify_side_by_side(job, text)
    assert restored.result.model is not None  # reloaded from the adapter folder
    assert [s.label for s in got] == [s.label for s in expected]
    assert all(math.isclose(g.adapted, e.adapted, abs_tol=1e-5) for g, e in zip(got, expected, strict=True))


def test_the_restored_bundle_and_merged_model(trained, restored):
    _, job = trained

    def files(data: bytes) -> dict[str, bytes]:
        zf = zipfile.ZipFile(io.BytesIO(data))
        return {name: zf.read(name) for name in zf.namelist()}

    got, expected = files(training_bundle_zip(restored)), files(training_bundle_zip(job))
    assert got == expected and got["val.jsonl"].count(b"\n") == min(len(job.val), 8)
    assert "model.safetensors" in files(merged_model_zip(restored))


def test_the_base_weights_are_found_again_never_read_from_the_files(trained, restored):
    _, job = trained
    assert restored.result.source.location == str(weights_folder("minilm"))
    assert str(weights_folder("minilm")) not in (job.workdir / "run.json").read_text()


def test_a_tokenizer_missing_at_restore_loads_when_the_playground_needs_it(trained, monkeypatch):
    _, job = trained

    def unavailable(location):
        raise LensError("train.no_tokenizer", name=location, detail="not now")

    monkeypatch.setattr(persist, "load_tokenizer", unavailable)
    back = JobManager(root=job.workdir.parent).restore(OWNER, job.id, job.workdir)
    assert back.result.tokenizer is None
    monkeypatch.undo()
    assert len(classify_side_by_side(back, "Fine.")) == len(job.result.labels)
    assert back.result.tokenizer is not None


def test_models_reloaded_by_playgrounds_stay_bounded(trained, tmp_path):
    """Restored runs reload their model when played; the manager keeps only the newest in memory."""
    _, job = trained
    manager, jobs = JobManager(root=tmp_path, keep_models=1), []
    for n in range(2):
        folder = shutil.copytree(job.workdir, tmp_path / str(n))
        new_id = f"{n:032x}"
        for name in ("run.json", "job.json"):
            _edit(folder / name, lambda d, new_id=new_id: d.update(id=new_id))
        jobs.append(manager.restore(OWNER, new_id, folder))
    classify_side_by_side(jobs[0], "Fine.")
    assert jobs[0].result.model is not None
    classify_side_by_side(jobs[1], "Fine.")
    assert jobs[0].result.model is None and jobs[1].result.model is not None
    held, release = threading.Event(), threading.Event()

    def use_model() -> None:  # another visitor's playground holds run 1's lock
        with jobs[1].lock:
            held.set()
            release.wait(30)

    other = threading.Thread(target=use_model)
    other.start()
    assert held.wait(10)
    try:
        classify_side_by_side(jobs[0], "Fine.")  # neither waits for the other nor takes its model
        assert jobs[1].result.model is not None
    finally:
        release.set()
        other.join(10)
    classify_side_by_side(jobs[1], "Fine.")
    assert jobs[0].result.model is None


def test_restore_returns_the_job_in_memory_and_only_to_its_owner(trained):
    manager, job = trained
    assert manager.restore(OWNER, job.id, job.workdir) is job
    with pytest.raises(LensError) as err:
        manager.restore(STRANGER, job.id, job.workdir)
    assert err.value.key == "train.no_job"
    with pytest.raises(LensError) as err:
        JobManager(root=job.workdir.parent).restore(STRANGER, job.id, job.workdir)
    assert err.value.key == "train.no_job"
    files = (job.workdir / "run.json").read_text() + (job.workdir / "job.json").read_text()
    assert OWNER not in files  # the files name the owner by a hash only


def test_forget_and_remove_work_for_restored_jobs(trained, tmp_path):
    _, job = trained
    folder = shutil.copytree(job.workdir, tmp_path / "copy")
    manager = JobManager(root=tmp_path)
    first = manager.restore(OWNER, job.id, folder)
    manager.forget(OWNER, job.id)
    with pytest.raises(LensError):
        manager.get(OWNER, job.id)
    again = manager.restore(OWNER, job.id, folder)  # the folder was kept
    assert again is not first and again.snapshot == first.snapshot and manager.jobs_of(OWNER) == [again]
    manager.remove(OWNER, job.id)
    assert not folder.exists() and manager.jobs_of(OWNER) == []


# --- runs that ended badly, or never ended -------------------------------------------------------


def _tiny(n: int = 4) -> TextDataset:
    return TextDataset("tiny", tuple(Example(f"q{i}", f"a{i}", "c") for i in range(n)))


def _runner(outcome: str):
    def run(spec, plan, train, val, settings, workdir, state):
        state.start(settings.max_steps)
        state.step(1, 10)
        state.log_loss(1, float("nan") if outcome == "diverged" else 2.0, 1e-4)
        if outcome == "raises":
            raise RuntimeError("boom")
        if outcome == "oom":
            state.fail("train.oom", batch=settings.batch_size, seq_len=96, r=plan.r)
        elif outcome == "diverged":
            state.fail("train.diverged", step=1)

    return run


@pytest.mark.parametrize(("outcome", "key"), [("oom", "train.oom"), ("diverged", "train.diverged"),
                                              ("raises", "err.unexpected")])  # fmt: skip
def test_every_failure_is_saved_and_restored(outcome, key, tmp_path):
    manager = JobManager(root=tmp_path, runner=_runner(outcome))
    job = manager.get(OWNER, manager.submit(OWNER, SMOLLM, SFT_PLAN, _tiny(), None, TrainSettings()))
    assert job.state.wait(10)
    back = JobManager(root=tmp_path).restore(OWNER, job.id, job.workdir)
    snap = back.snapshot
    assert (snap.status, snap.error_key, snap.error_params) == ("failed", key, job.snapshot.error_params)
    assert back.result is None and back.val is None and back.train == _tiny()
    assert math.isnan(snap.losses[0]["loss"]) == (outcome == "diverged")


def _blocking(release: threading.Event):
    def run(spec, plan, train, val, settings, workdir, state):
        state.start(settings.max_steps)
        release.wait(30)
        state.finish("stopped")

    return run


def test_a_run_lost_mid_way_restores_as_failed_with_a_sentence(tmp_path):
    release = threading.Event()
    manager = JobManager(root=tmp_path, runner=_blocking(release))
    running = manager.submit(OWNER, SMOLLM, SFT_PLAN, _tiny(), _tiny(2), TrainSettings())
    queued = manager.submit(OWNER, SMOLLM, SFT_PLAN, _tiny(3), None, TrainSettings())
    try:
        after_restart = JobManager(root=tmp_path)  # the server died: no run.json yet
        lost = after_restart.restore(OWNER, running, tmp_path / running)
        assert lost.snapshot.finished and lost.snapshot.status == "failed" and lost.result is None
        assert lost.snapshot.error_key == "train.interrupted" and lost.val == _tiny(2)
        assert "restarted" in t(lost.snapshot.error_key, "en") and "다시 시작" in t(lost.snapshot.error_key, "ko")
        manager.stop(OWNER, queued)  # a queued run stopped is saved at once
        assert (tmp_path / queued / "run.json").is_file()
        assert after_restart.restore(OWNER, queued, tmp_path / queued).snapshot.status == "stopped"
    finally:
        release.set()
    assert manager.get(OWNER, running).state.wait(10)
    assert JobManager(root=tmp_path).restore(OWNER, running, tmp_path / running).snapshot.status == "stopped"


def test_a_folder_with_nothing_in_it_says_the_run_was_interrupted(tmp_path):
    with pytest.raises(LensError) as err:
        JobManager(root=tmp_path).restore(OWNER, "0" * 32, tmp_path)
    assert err.value.key == "train.interrupted"


def _edit(path, change):
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


TAMPERED = {
    "not json": lambda f: (f / "run.json").write_text("{not json"),
    "huge": lambda f: (f / "run.json").write_text((f / "run.json").read_text() + " " * persist.MAX_RUN_JSON_BYTES),
    "a list": lambda f: (f / "run.json").write_text("[1, 2]"),
    "step a string": lambda f: _edit(f / "run.json", lambda d: d["snapshot"].update(step="two")),
    "losses a string": lambda f: _edit(f / "run.json", lambda d: d["snapshot"].update(losses="x")),
    "still running": lambda f: _edit(f / "run.json", lambda d: d["snapshot"].update(status="running")),
    "plan a number": lambda f: _edit(f / "run.json", lambda d: d.update(plan=5)),
    "bad settings": lambda f: _edit(f / "run.json", lambda d: d["settings"].update(max_steps=-1)),
    "rows a string": lambda f: _edit(f / "run.json", lambda d: d["result"].update(train_rows="x")),
    "adapter outside": lambda f: _edit(f / "run.json", lambda d: d["result"].update(adapter="../../x")),
    "metric a string": lambda f: _edit(f / "run.json", lambda d: d["result"].update(metrics={"accuracy": "1"})),
    "rows cut": lambda f: (f / "val.jsonl").write_text('{"text": "only one"}\n'),
    "row not an object": lambda f: (f / "train.jsonl").write_text("[1]\n"),
}


@pytest.mark.parametrize("damage", list(TAMPERED))
def test_a_tampered_run_folder_is_a_clear_error_in_seconds(trained, tmp_path, damage):
    _, job = trained
    folder = shutil.copytree(job.workdir, tmp_path / "copy")
    TAMPERED[damage](folder)
    start = time.monotonic()
    with pytest.raises(LensError) as err:
        JobManager(root=tmp_path).restore(OWNER, job.id, folder)
    assert err.value.key == "train.bad_run_file" and time.monotonic() - start < 5
    assert "Traceback" not in err.value.message("ko")
