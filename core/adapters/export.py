"""Take a trained adapter away: zip, merged model, standalone script, or the Hugging Face Hub."""

from __future__ import annotations

import copy
import io
import json
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from core.data.dataset import TextDataset
from core.data.splits import eval_subset, train_val_split
from core.errors import LensError
from core.models.hub import hub_offline, is_repo_id
from core.planning.plan import to_lora_config
from core.training import recipe
from core.training.encode import jsonl_rows
from core.training.engine import TrainResult
from core.training.model_card import portable_config

MAX_MERGE_PARAMS = 1_500_000_000
_DROP_LORA_KEYS = ("peft_version", "auto_mapping", "base_model_name_or_path", "revision", "inference_mode")


def _result(job: Any) -> TrainResult:
    result = job.result
    if result is None or result.adapter_dir is None:
        raise LensError("train.not_finished")
    return result


def _zip_folder(folder: Path, replace: dict[str, str] | None = None, extra: dict[str, str] | None = None) -> bytes:
    """The folder's plain files; ``replace`` gives new text for some of them (by relative name), ``extra``
    adds files the folder does not hold."""
    replace = replace or {}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            name = path.relative_to(folder).as_posix()
            if name in replace:
                zf.writestr(name, replace[name])
            elif path.is_file() and not path.is_symlink() and name not in (extra or {}):
                zf.write(path, name)
        for name, text in (extra or {}).items():
            zf.writestr(name, text)
    return buf.getvalue()


def _zip_files(files: dict[str, bytes | str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def adapter_zip(job: Any) -> bytes:
    """adapter_config.json, adapter_model.safetensors, README.md, training_settings.json, and analysis.py with
    the analysis_sample.jsonl it reads (the Analyze page's default view, reproducible in a notebook); the config
    names the base by its public id even for a folder saved before adapters were made portable."""
    from core.analysis.snippet import analysis_files, own_data

    result = _result(job)
    folder: Path = result.adapter_dir  # type: ignore[assignment]
    config = folder / "adapter_config.json"
    replace = {config.name: portable_config(config.read_text(encoding="utf-8"), result.source.public_ref)}
    extra: dict[str, str] = {}
    train = getattr(job, "train", None)  # a sweep's plan hands over its adapter folder only
    if train is not None:
        try:
            extra = analysis_files(result.task, max(len(result.labels), 2), own_data(train, job.val))
        except LensError:  # a run too small to sample: the adapter still downloads, without the analysis
            extra = {}
    return _zip_folder(folder, replace if config.is_file() else None, extra)


def merged_model_zip(job: Any) -> bytes:
    """Base + adapter merged into plain weights (safetensors, config, tokenizer); small models only."""
    from core.training.playground import finished_result

    with job.lock:
        result = finished_result(job)
        if result.base_params > MAX_MERGE_PARAMS:
            raise LensError("train.merge_too_big", params=result.base_params, limit=MAX_MERGE_PARAMS)
        merged = copy.deepcopy(result.model).merge_and_unload()
    with tempfile.TemporaryDirectory() as tmp:
        merged.save_pretrained(tmp, safe_serialization=True)
        result.tokenizer.save_pretrained(tmp)
        del merged
        return _zip_folder(Path(tmp))


# --- standalone script ----------------------------------------------------------------


def lora_config_json(result: TrainResult) -> dict:
    """``LoraConfig`` kwargs (what differs from PEFT's defaults), from ``to_lora_config``."""
    from peft import LoraConfig

    data = json.loads(json.dumps(to_lora_config(result.plan).to_dict(), default=_jsonable))
    defaults = json.loads(json.dumps(LoraConfig().to_dict(), default=_jsonable))
    always = ("r", "lora_alpha", "lora_dropout", "target_modules", "task_type", "bias")
    return {
        k: v
        for k, v in data.items()
        if k not in _DROP_LORA_KEYS and k != "peft_type" and (k in always or v != defaults.get(k))
    }


def _jsonable(value: object) -> object:
    if isinstance(value, set | frozenset):
        return sorted(value)
    return str(value)


def _splits(job: Any) -> tuple[TextDataset, TextDataset]:
    """The exact rows the run trained and evaluated on: the deterministic split, and its eval subset."""
    train, val = job.train, job.val
    if val is None or not len(val):
        train, val = train_val_split(train, job.settings.val_fraction, job.settings.seed)
    return train, eval_subset(val, job.settings.max_eval_examples)


def dataset_jsonl(ds: TextDataset, task: str) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in jsonl_rows(ds, task))


def training_script(job: Any) -> tuple[str, str]:
    """(train_lora.py, config.json): the recipe module the app trains with, and this run's config."""
    result = _result(job)
    config = {
        "model": result.source.public_ref,
        "task": result.task,
        "labels": list(result.labels),
        "train_file": "train.jsonl",
        "val_file": "val.jsonl",
        "output_dir": "lora-adapter",
        "lora": lora_config_json(result),
        "training": result.settings.recipe_config(result.task),
    }
    return Path(recipe.__file__).read_text(encoding="utf-8"), json.dumps(config, indent=2, ensure_ascii=False)


def training_bundle_zip(job: Any) -> bytes:
    """train_lora.py + config.json + train.jsonl + val.jsonl (exactly the run's rows), ready to run anywhere."""
    script, config = training_script(job)
    train, val = _splits(job)
    task = _result(job).task
    return _zip_files(
        {
            "train_lora.py": script,
            "config.json": config,
            "train.jsonl": dataset_jsonl(train, task),
            "val.jsonl": dataset_jsonl(val, task),
        }
    )


# --- Hugging Face Hub -----------------------------------------------------------------


def push_to_hub(job: Any, repo_id: str, token: str, private: bool = True) -> str:
    """Upload the adapter folder; returns the repo URL. The token is used for this call only."""
    folder = _result(job).adapter_dir
    if not is_repo_id(repo_id or "", namespaced=True):
        raise LensError("train.hub_bad_repo", repo_id=repo_id)
    if not token or not token.strip():
        raise LensError("train.hub_no_token")
    if hub_offline():
        raise LensError("train.hub_offline")
    from huggingface_hub import HfApi

    try:
        api = HfApi(token=token.strip())
        url = api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        api.upload_folder(folder_path=str(folder), repo_id=repo_id, repo_type="model")
    except Exception as exc:  # every Hub failure becomes a sentence without the token
        raise _hub_error(exc, repo_id) from None
    return str(url)  # the Hub's own address of the repo (HF_ENDPOINT's host, not always huggingface.co)


def _hub_error(exc: Exception, repo_id: str) -> LensError:
    from huggingface_hub import errors as hub_errors

    status = getattr(getattr(exc, "response", None), "status_code", None)
    if status in (401, 403) or isinstance(exc, hub_errors.GatedRepoError):
        return LensError("train.hub_unauthorized", repo_id=repo_id)
    if isinstance(exc, hub_errors.HfHubHTTPError) and status is not None:
        return LensError("train.hub_failed", repo_id=repo_id, status=status)
    return LensError("train.hub_offline")
