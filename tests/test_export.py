"""Export: adapter zip round trip, merged model, standalone script, Hub push errors, safe zips."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import threading
import zipfile
from types import SimpleNamespace

import pytest
import torch

from core.adapters.export import adapter_zip, merged_model_zip, push_to_hub, training_bundle_zip, training_script
from core.adapters.zip_io import check_zip, safe_extract
from core.data.bundled import load_bundled
from core.data.dataset import TextDataset
from core.data.splits import sample
from core.errors import LensError
from core.models.embedded import weights_folder
from core.models.spec import ModelSpec
from core.planning.plan import LoraPlan
from core.training.engine import TrainResult
from core.training.jobs import JobManager
from core.training.loader import WeightsSource
from core.training.settings import TrainSettings

OWNER = "owner-1"
CLS_PLAN = LoraPlan(targets=("query", "value"), r=4, task="seq-cls")


pytestmark = pytest.mark.usefixtures("one_cpu_thread")


@pytest.fixture(scope="module")
def cls_job(tmp_path_factory):
    manager = JobManager(root=tmp_path_factory.mktemp("runs"))
    data = sample(load_bundled("rotten-tomatoes", "seq-cls"), 80, seed=2)
    settings = TrainSettings(max_steps=4, batch_size=4, eval_every=4, max_eval_examples=8)
    job_id = manager.submit(OWNER, ModelSpec("embedded", "minilm"), CLS_PLAN, data, None, settings)
    job = manager.get(OWNER, job_id)
    assert job.state.wait(120)
    assert job.state.status == "done", job.state.snapshot().error_key
    return job


def _batch(job):
    tok = job.result.tokenizer
    return tok(["A sharp, funny film.", "Dull and far too long."], padding=True, return_tensors="pt")


def _fresh_cls_base(job):
    from transformers import AutoModelForSequenceClassification

    labels = job.result.labels
    return AutoModelForSequenceClassification.from_pretrained(
        str(weights_folder("minilm")),
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={name: i for i, name in enumerate(labels)},
    )


def test_adapter_zip_round_trip_gives_identical_logits(cls_job, tmp_path):
    from peft import PeftModel

    data = adapter_zip(cls_job)
    names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    assert {"adapter_config.json", "adapter_model.safetensors", "README.md", "training_settings.json"} <= names
    folder = safe_extract(data, tmp_path / "adapter")
    loaded = PeftModel.from_pretrained(_fresh_cls_base(cls_job), str(folder)).eval()
    batch = _batch(cls_job)
    with torch.no_grad():
        expected = cls_job.result.model(**batch).logits
        got = loaded(**batch).logits
    assert torch.allclose(got, expected, atol=1e-5)


def test_model_card_and_settings_json(cls_job):
    files = zipfile.ZipFile(io.BytesIO(adapter_zip(cls_job)))
    card = files.read("README.md").decode()
    assert "sentence-transformers/all-MiniLM-L6-v2" in card and "PeftModel.from_pretrained" in card
    assert "rotten-tomatoes" in card and "accuracy" in card and "r = 4" in card
    settings = json.loads(files.read("training_settings.json"))
    assert settings["plan"]["r"] == 4 and settings["settings"]["max_steps"] == 4
    assert settings["labels"] == ["fresh", "rotten"] and "eval_loss" in settings["metrics"]


def test_merged_model_matches_adapter(cls_job, tmp_path):
    from transformers import AutoModelForSequenceClassification

    folder = safe_extract(merged_model_zip(cls_job), tmp_path / "merged")
    assert (folder / "model.safetensors").is_file() and (folder / "config.json").is_file()
    merged = AutoModelForSequenceClassification.from_pretrained(str(folder)).eval()
    batch = _batch(cls_job)
    with torch.no_grad():
        assert torch.allclose(merged(**batch).logits, cls_job.result.model(**batch).logits, atol=1e-4)
    assert any(True for _ in cls_job.result.model.named_modules() if "lora_A" in _[0])  # original untouched


def test_merge_refuses_huge_models(cls_job, monkeypatch):
    monkeypatch.setattr(cls_job.result, "base_params", 8_000_000_000)
    with pytest.raises(LensError) as err:
        merged_model_zip(cls_job)
    assert err.value.key == "train.merge_too_big"


def _run_script(bundle: bytes, tmp_path, model_dir: str) -> dict:
    folder = safe_extract(bundle, tmp_path / "bundle")
    out = tmp_path / "out"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": ""}
    cmd = [sys.executable, "train_lora.py", "--config", "config.json", "--model", model_dir]
    proc = subprocess.run(
        [*cmd, "--max-steps", "2", "--output-dir", str(out)],
        cwd=folder, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (out / "adapter_model.safetensors").is_file() and (out / "adapter_config.json").is_file()
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_standalone_script_runs_seq_cls(cls_job, tmp_path):
    script, config = training_script(cls_job)
    cfg = json.loads(config)
    assert cfg["lora"]["r"] == 4 and cfg["lora"]["task_type"] == "SEQ_CLS" and cfg["labels"] == ["fresh", "rotten"]
    compile(script, "train_lora.py", "exec")
    metrics = _run_script(training_bundle_zip(cls_job), tmp_path, str(weights_folder("minilm")))
    assert "eval_accuracy" in metrics


def _sft_job(tmp_path) -> SimpleNamespace:
    """A finished-looking SFT job; the script needs only its recipe, not its weights."""
    data = TextDataset("chat", sample(load_bundled("chatterbot-en", "causal-lm"), 12, seed=0).examples)
    settings = TrainSettings(max_steps=2, batch_size=2, max_seq_len=48, max_eval_examples=2)
    plan = LoraPlan(targets=("q_proj", "v_proj"), r=4, task="causal-lm")
    spec = ModelSpec("embedded", "smollm2")
    source = WeightsSource(str(weights_folder("smollm2")), "HuggingFaceTB/SmolLM2-135M-Instruct", False)
    result = TrainResult(None, None, "causal-lm", (), source, spec, plan, settings, "fp32", "chat", 10, 2, 1,
                         adapter_dir=tmp_path)  # fmt: skip
    return SimpleNamespace(result=result, train=data, val=None, settings=settings, lock=threading.RLock())


def test_standalone_script_runs_sft(tmp_path):
    job = _sft_job(tmp_path)
    bundle = training_bundle_zip(job)
    files = zipfile.ZipFile(io.BytesIO(bundle))
    rows = files.read("train.jsonl").decode().splitlines()
    val = files.read("val.jsonl").decode().splitlines()
    assert (len(rows), len(val)) == (11, 1) and set(json.loads(rows[0])) == {"text", "response"}
    metrics = _run_script(bundle, tmp_path, str(weights_folder("smollm2")))
    assert "perplexity" in metrics


# --- Hub --------------------------------------------------------------------------------


def test_push_to_hub_refuses_a_bad_id_and_offline_before_any_request(cls_job, monkeypatch):
    secret = "hf_SECRETSECRETSECRET"
    with pytest.raises(LensError) as err:
        push_to_hub(cls_job, "../evil", secret)
    assert err.value.key == "train.hub_bad_repo"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(LensError) as err:
        push_to_hub(cls_job, "me/adapter", secret)
    assert err.value.key == "train.hub_offline"
    # A refused token and a real upload go over the Hub's protocol: tests/test_hub_loopback.py.


# --- safe zip reading ---------------------------------------------------------------------


def _zip(entries: dict[str, bytes], symlink: str | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return buf.getvalue()


@pytest.mark.parametrize(
    ("data", "key"),
    [
        (_zip({"../evil.txt": b"x"}), "zip.unsafe_path"),
        (_zip({"a/../../evil.txt": b"x"}), "zip.unsafe_path"),
        (_zip({"/etc/evil": b"x"}), "zip.unsafe_path"),
        (_zip({"C:/evil": b"x"}), "zip.unsafe_path"),
        (_zip({"ok.txt": b"x"}, symlink="link"), "zip.symlink"),
        (b"not a zip", "zip.bad_zip"),
    ],
)
def test_unsafe_zips_are_refused(data, key, tmp_path):
    with pytest.raises(LensError) as err:
        safe_extract(data, tmp_path / "out")
    assert err.value.key == key
    assert not (tmp_path / "evil.txt").exists()


def test_zip_size_and_count_limits(tmp_path):
    with pytest.raises(LensError) as err:
        check_zip(_zip({"big.bin": b"0" * 5000}), max_bytes=1000)
    assert err.value.key == "zip.too_large"
    with pytest.raises(LensError) as err:
        check_zip(_zip({f"f{i}": b"" for i in range(5)}), max_entries=3)
    assert err.value.key == "zip.too_many_entries"
    out = safe_extract(_zip({"dir/a.txt": b"hello"}), tmp_path / "ok")
    assert (out / "dir" / "a.txt").read_bytes() == b"hello"
