"""Training with per-module rank/alpha, exclusions and PiSSA/OLoRA/MiCA init on the embedded models (a few CPU
steps): the count is the budget's, and the saved adapter reloads in PEFT on the ORIGINAL base with the logits of
the model that trained. PiSSA and OLoRA move the base weights, so the adapter is saved converted
(``path_initial_model_for_weight_conversion``) and the live model becomes the original base with it."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
import torch

from core.data.bundled import load_bundled
from core.data.splits import sample
from core.models.spec import ModelSpec
from core.planning.plan import LoraPlan
from core.training import engine
from core.training.engine import fit, prepare
from core.training.loader import load_model
from core.training.run_state import RunState
from core.training.settings import TrainSettings
from core.training.sweep import SweepPlan
from core.training.sweep_run import budget_params

pytestmark = pytest.mark.usefixtures("one_cpu_thread")

SFT = TrainSettings(max_steps=3, batch_size=2, max_seq_len=32, learning_rate=5e-3, eval_every=3, max_eval_examples=2)
CLS = TrainSettings(max_steps=3, batch_size=4, max_seq_len=32, learning_rate=5e-3, eval_every=3, max_eval_examples=4)
TEXTS = ["A sharp, funny film.", "Hello there, how are you?"]

# (embedded model, dataset, plan, settings)
CASES = {
    "smollm-patterns": ("smollm2", "chatterbot-en", LoraPlan(
        targets=("q_proj", "v_proj", "o_proj"), r=4, rank_pattern=(("q_proj", 8), (r"layers\.1\..*o_proj", 2)),
        alpha_pattern=(("v_proj", 32),), exclude_modules=("layers.0.self_attn.q_proj",), task="causal-lm"), SFT),
    "smollm-pissa": ("smollm2", "chatterbot-en", LoraPlan(
        targets=("q_proj", "v_proj"), r=4, init_lora_weights="pissa", task="causal-lm"), SFT),
    "minilm-olora": ("minilm", "rotten-tomatoes", LoraPlan(
        targets=("query", "value"), r=4, init_lora_weights="olora", use_dora=True, task="seq-cls"), CLS),
    "minilm-pissa-patterns": ("minilm", "rotten-tomatoes", LoraPlan(
        targets=("query", "value"), r=4, rank_pattern=(("value", 2),), alpha_pattern=(("query", 16),),
        init_lora_weights="pissa", task="seq-cls"), CLS),
    "minilm-mica": ("minilm", "rotten-tomatoes", LoraPlan(
        targets=("query", "value", "dense"), r=4, init_lora_weights="mica", exclude_modules=("output.dense",),
        task="seq-cls"), CLS),
}  # fmt: skip


def _train(case: str, tmp_path: Path, monkeypatch) -> tuple:
    """Train; return the result, the trained model's logits on TEXTS (before any conversion) and the batch."""
    name, dataset, plan, settings = CASES[case]
    session = prepare(ModelSpec("embedded", name), plan, sample(load_bundled(dataset, plan.task), 16, seed=4),
                      None, settings)  # fmt: skip
    batch = session.result.tokenizer(TEXTS, padding=True, return_tensors="pt")
    trained: dict = {}
    reload = engine.original_base_with_adapter

    def logits_then_reload(r):  # the model that trained, on the residual base PiSSA/OLoRA left
        r.model.eval()
        with torch.no_grad():
            trained["logits"] = r.model(**batch).logits
        return reload(r)

    monkeypatch.setattr(engine, "original_base_with_adapter", logits_then_reload)
    state = RunState()
    result = fit(session, tmp_path / "run", state)
    snap = state.snapshot()
    assert result is not None and snap.status == "done" and snap.step == settings.max_steps, snap.error_key
    if not trained:
        with torch.no_grad():
            trained["logits"] = result.model(**batch).logits
    return result, trained["logits"], batch


@pytest.mark.parametrize("case", sorted(CASES))
def test_saved_adapter_reloads_on_the_original_base_with_the_trained_logits(case, tmp_path, monkeypatch):
    from peft import PeftModel
    from transformers import set_seed

    _, _, plan, settings = CASES[case]
    result, trained, batch = _train(case, tmp_path, monkeypatch)
    spec = ModelSpec("embedded", CASES[case][0])
    assert result.trainable_params == budget_params(spec, (SweepPlan("p", plan),), len(result.labels))["p"]
    set_seed(settings.seed)  # the same untrained classification head the run started from
    base = load_model(result.source.location, plan.task, result.labels, result.tokenizer.pad_token_id).eval()
    with torch.no_grad():
        original = base(**batch).logits
        reloaded = PeftModel.from_pretrained(base, str(result.adapter_dir)).eval()
        assert torch.allclose(reloaded(**batch).logits, trained, atol=2e-4)
        assert not torch.allclose(reloaded(**batch).logits, original, atol=1e-4)  # it learned something
        with result.model.disable_adapter():  # the playground's "base" answer is the original base
            assert torch.allclose(result.model(**batch).logits, original, atol=1e-5)
    config = json.loads((result.adapter_dir / "adapter_config.json").read_text())
    factor = 2 if plan.init_lora_weights in ("pissa", "olora") else 1
    assert config["r"] == factor * plan.r and config["rank_pattern"] == {k: factor * v for k, v in plan.rank_pattern}
    assert config["init_lora_weights"] == (True if factor == 2 or plan.init_lora_weights == "default"
                                           else plan.init_lora_weights)
    assert set(config["exclude_modules"] or ()) == set(plan.exclude_modules)
    card = (result.adapter_dir / "README.md").read_text()
    assert f"init_lora_weights: {plan.init_lora_weights}" in card
    assert ("converted on save" in card) == (factor == 2)
    assert all(f"{k} → {v}" in card for k, v in plan.rank_pattern)
    assert not (tmp_path / "run" / "initial_adapter").exists()


def test_exported_script_carries_the_new_fields_and_converts_pissa(tmp_path, monkeypatch):
    """train_lora.py's config.json has the patterns and the init; the script saves the converted adapter, which
    PEFT loads on the original base with the app's trained logits."""
    import subprocess
    import sys
    import threading
    from types import SimpleNamespace

    from peft import PeftModel

    from core.adapters.export import training_bundle_zip
    from core.adapters.zip_io import safe_extract

    result, trained, batch = _train("minilm-pissa-patterns", tmp_path, monkeypatch)
    _, dataset, plan, settings = CASES["minilm-pissa-patterns"]
    job = SimpleNamespace(result=result, train=sample(load_bundled(dataset, plan.task), 16, seed=4), val=None,
                          settings=settings, lock=threading.RLock())  # fmt: skip
    bundle = training_bundle_zip(job)
    lora = json.loads(zipfile.ZipFile(io.BytesIO(bundle)).read("config.json"))["lora"]
    assert lora["rank_pattern"] == {"value": 2} and lora["alpha_pattern"] == {"query": 16}
    assert lora["init_lora_weights"] == "pissa"
    folder, out = safe_extract(bundle, tmp_path / "bundle"), tmp_path / "script-out"
    proc = subprocess.run([sys.executable, "train_lora.py", "--config", "config.json", "--model",
                           result.source.location, "--output-dir", str(out)], cwd=folder, capture_output=True,
                          text=True, timeout=300, env={**__import__("os").environ, "CUDA_VISIBLE_DEVICES": ""})
    assert proc.returncode == 0, proc.stderr[-3000:]
    config = json.loads((out / "adapter_config.json").read_text())
    assert config["r"] == 8 and config["rank_pattern"] == {"value": 4} and config["init_lora_weights"] is True
    assert not (out / "initial_adapter").exists()
    from transformers import set_seed

    set_seed(settings.seed)
    base = load_model(result.source.location, plan.task, result.labels, result.tokenizer.pad_token_id)
    with torch.no_grad():  # the script trains as the app does: the same converted adapter
        assert torch.allclose(PeftModel.from_pretrained(base, str(out)).eval()(**batch).logits, trained, atol=2e-4)


def test_cli_train_takes_the_new_options_and_saves_the_converted_adapter(tmp_path, capsys):
    import argparse

    from core.cli.train import register

    parser = argparse.ArgumentParser(prog="lora-lens")
    register(parser.add_subparsers())
    out = tmp_path / "adapter"
    args = parser.parse_args(["train", "minilm", "--task", "seq-cls", "--data", "rotten-tomatoes", "--steps", "2",
                              "--batch", "4", "--seq-len", "32", "--target", "query", "value", "--r", "4",
                              "--rank-pattern", "value=2", "--alpha-pattern", "query=16", "--init", "pissa",
                              "--exclude", "layer.0.attention.self.query", "--out", str(out)])  # fmt: skip
    assert args.func(args) == 0, capsys.readouterr().err
    config = json.loads((out / "adapter_config.json").read_text())
    assert (config["r"], config["rank_pattern"], config["alpha_pattern"]) == (8, {"value": 4}, {"query": 32})
    assert config["exclude_modules"] == ["layer.0.attention.self.query"] and config["init_lora_weights"] is True
    settings = json.loads((out / "training_settings.json").read_text())
    assert settings["plan"]["init_lora_weights"] == "pissa" and settings["plan"]["rank_pattern"] == {"value": 2}
    assert not list(tmp_path.glob("**/initial_adapter"))
