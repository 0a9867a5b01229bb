"""The exported analysis.py, run on its own in a subprocess, gets the app's silhouette and k-NN figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile

import pytest

from core.adapters.export import adapter_zip
from core.adapters.zip_io import safe_extract
from core.analysis.pipeline import embedding_report
from core.analysis.snippet import SAMPLE_FILE, SCRIPT_FILE, SILHOUETTE_TOLERANCE, default_options, own_data
from core.data.bundled import load_bundled
from core.data.splits import sample
from core.models.embedded import weights_folder
from core.models.spec import ModelSpec
from core.planning.plan import LoraPlan
from core.training.jobs import JobManager
from core.training.settings import TrainSettings

pytestmark = pytest.mark.usefixtures("one_cpu_thread")


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    manager = JobManager(root=tmp_path_factory.mktemp("runs"))
    data = sample(load_bundled("rotten-tomatoes", "seq-cls"), 120, seed=3)
    settings = TrainSettings(max_steps=6, batch_size=8, learning_rate=5e-3, eval_every=6, max_eval_examples=8)
    plan = LoraPlan(targets=("query", "value"), r=4, task="seq-cls")
    job_id = manager.submit("owner-a", ModelSpec("embedded", "minilm"), plan, data, None, settings)
    job = manager.get("owner-a", job_id)
    assert job.state.wait(180)
    assert job.state.status == "done", job.state.snapshot().error_key
    return job


def test_exported_analysis_script_reproduces_the_app_scores(job, tmp_path):
    data = adapter_zip(job)
    assert {SCRIPT_FILE, SAMPLE_FILE} <= set(zipfile.ZipFile(__import__("io").BytesIO(data)).namelist())
    folder = safe_extract(data, tmp_path / "adapter")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "", "HF_HUB_OFFLINE": "1",
           "BASE_MODEL": str(weights_folder("minilm"))}
    proc = subprocess.run([sys.executable, SCRIPT_FILE], cwd=folder, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    theirs = json.loads((folder / "analysis_scores.json").read_text())
    assert (folder / "tsne_after.html").is_file()

    ds = own_data(job.train, job.val)
    report = embedding_report(job.result.model, job.result.tokenizer, ds, default_options(ds), model_id="t")
    sample_rows = [json.loads(line) for line in (folder / SAMPLE_FILE).read_text().splitlines()]
    assert [r["text"] for r in sample_rows] == report.texts()  # the very sample the app embedded
    n = len(sample_rows)
    for side in ("before", "after"):
        ours = report.scores[side]
        print(f"{side}: app silhouette {ours.silhouette:.6f} k-NN {ours.knn_accuracy:.4f} | analysis.py "
              f"{theirs[side]['silhouette']:.6f} {theirs[side]['knn_accuracy']:.4f} (n={n})")
        assert abs(theirs[side]["silhouette"] - ours.silhouette) <= SILHOUETTE_TOLERANCE, (side, theirs, ours)
        assert abs(theirs[side]["knn_accuracy"] - ours.knn_accuracy) <= 1 / n + 1e-9, (side, theirs, ours)
        assert theirs[side]["k"] == ours.k
    # The adapter changed the embeddings, so the check above compares two different spaces, not one twice.
    assert report.scores["before"].silhouette != report.scores["after"].silhouette
