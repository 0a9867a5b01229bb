"""Where a model comes from and its config: catalog, Hub id, local folder or embedded model."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from core.errors import LensError
from core.models import embedded
from core.models.catalog import find_entry
from core.models.hub import fetch_hub_config
from core.models.spec import TASKS, ModelSpec

TRUST_REMOTE_CODE_ENV = "LORA_LENS_TRUST_REMOTE_CODE"
MAX_CONFIG_BYTES = 1 << 20


@dataclass(frozen=True)
class ModelConfig:
    """A loaded config plus what we resolved about it."""

    spec: ModelSpec
    config: object  # transformers.PretrainedConfig
    task: str
    display_name: str
    weights_dir: Path | None  # a folder with real weights, if the source has them


def remote_code_allowed() -> bool:
    """The operator, not the visitor, decides whether repository code may run."""
    return os.environ.get(TRUST_REMOTE_CODE_ENV, "").strip().lower() in {"1", "true", "yes"}


def guess_spec(text: str, task: str | None = None) -> ModelSpec:
    """Read a CLI ``MODEL`` argument: embedded name, catalog name, local folder, else Hub id."""
    text = text.strip()
    if text in embedded.EMBEDDED or text.removeprefix("embedded:") in embedded.EMBEDDED:
        return ModelSpec("embedded", text.removeprefix("embedded:"), task)
    if find_entry(text) is not None:
        return ModelSpec("catalog", text, task)
    if text.startswith((".", "/", "~")) or Path(text).expanduser().is_dir():
        return ModelSpec("local", text, task)
    return ModelSpec("hub", text, task)


def load_config(spec: ModelSpec, token: str | None = None) -> ModelConfig:
    """Resolve ``spec`` to a config without reading any weights."""
    if spec.task is not None and spec.task not in TASKS:
        raise LensError("model.bad_task", task=spec.task, tasks=", ".join(TASKS))
    if spec.source == "catalog":
        entry = find_entry(spec.ref)
        if entry is None:
            raise LensError("model.unknown_catalog", name=spec.ref)
        config = _config_from_folder(entry.path)
        return _finish(spec, config, entry.name, None)
    if spec.source == "embedded":
        folder, name = embedded.config_folder(spec.ref)
        config = _config_from_folder(folder)
        return _finish(spec, config, name, None)
    if spec.source == "local":
        folder = Path(spec.ref).expanduser()
        if not folder.is_dir():
            raise LensError("model.no_folder", path=spec.ref)
        if not (folder / "config.json").is_file():
            raise LensError("model.no_config_json", path=spec.ref)
        config = _config_from_folder(folder)
        has_weights = any(folder.glob("*.safetensors"))
        return _finish(spec, config, folder.name, folder if has_weights else None)
    if spec.source == "hub":
        folder = fetch_hub_config(spec.ref, token)
        config = _config_from_folder(folder)
        return _finish(spec, config, spec.ref, None)
    raise LensError("model.bad_source", source=spec.source)


def _finish(spec: ModelSpec, config: object, name: str, weights: Path | None) -> ModelConfig:
    if spec.source == "embedded":
        weights = None  # real weights come from embedded.weights_folder() when training
    task = spec.task or infer_task(config)
    return ModelConfig(spec=spec, config=config, task=task, display_name=name, weights_dir=weights)


def _config_from_folder(folder: Path) -> object:
    from transformers import AutoConfig

    raw = folder / "config.json"
    try:
        import json

        size = raw.stat().st_size
        if size > MAX_CONFIG_BYTES:  # real configs are a few KiB: never parse a stranger's 30 MB one
            raise LensError("model.config_too_big", path=raw.name, mib=f"{size / 2**20:.1f}", max_mib=MAX_CONFIG_BYTES >> 20)
        data = json.loads(raw.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise LensError("model.bad_config_json", path=str(raw), detail=str(exc)[:200]) from exc
    if not isinstance(data, dict):
        raise LensError("model.bad_config_json", path=str(raw), detail="not a JSON object")
    if "auto_map" in data and not remote_code_allowed():
        raise LensError("model.remote_code", env=TRUST_REMOTE_CODE_ENV)
    try:
        return AutoConfig.from_pretrained(str(folder), trust_remote_code=remote_code_allowed())
    except ValueError as exc:
        if "trust_remote_code" in str(exc):
            raise LensError("model.remote_code", env=TRUST_REMOTE_CODE_ENV) from exc
        raise LensError("model.unsupported", model_type=data.get("model_type", "?"), detail=str(exc)[:300]) from exc
    except (KeyError, TypeError, OSError) as exc:
        raise LensError("model.unsupported", model_type=data.get("model_type", "?"), detail=str(exc)[:300]) from exc


def infer_task(config: object) -> str:
    """Read the task from the config's ``architectures``; causal LM when it says nothing."""
    archs = getattr(config, "architectures", None) or []
    name = archs[0] if archs else ""
    if name.endswith("ForSequenceClassification"):
        return "seq-cls"
    if name.endswith("ForCausalLM") or name.endswith("LMHeadModel"):
        return "causal-lm"
    if name.endswith("ForConditionalGeneration"):
        return "seq2seq" if getattr(config, "is_encoder_decoder", False) else "causal-lm"
    if name.endswith("Model") or name.endswith("ForMaskedLM") or name.endswith("ForPreTraining"):
        return "feature"
    return "causal-lm" if not archs else "feature"
