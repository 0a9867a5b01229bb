"""Where a model comes from and its config: catalog, Hub id, local folder or embedded model."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from core import limits
from core.errors import LensError
from core.limits import MAX_CONFIG_BYTES
from core.models import embedded
from core.models.catalog import find_entry
from core.models.hub import fetch_hub_config, is_repo_id
from core.models.spec import TASKS, ModelSpec

TRUST_REMOTE_CODE_ENV = "LORA_LENS_TRUST_REMOTE_CODE"


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
    limits.check_ref(text)
    if text in embedded.EMBEDDED or text.removeprefix("embedded:") in embedded.EMBEDDED:
        return ModelSpec("embedded", text.removeprefix("embedded:"), task)
    if find_entry(text) is not None:
        return ModelSpec("catalog", text, task)
    if not limits.hosted() and (text.startswith((".", "/", "~")) or _is_dir(Path(text).expanduser())):
        return ModelSpec("local", text, task)
    return ModelSpec("hub", text, task)


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except (OSError, ValueError):  # a name too long for the file system, or with a NUL byte, is no folder
        return False


def load_config(spec: ModelSpec, token: str | None = None) -> ModelConfig:
    """Resolve ``spec`` to a config without reading any weights."""
    if spec.task is not None and spec.task not in TASKS:
        raise LensError("model.bad_task", task=limits.shorten(spec.task), tasks=", ".join(TASKS))
    limits.check_ref(spec.ref)
    if spec.source == "catalog":
        entry = find_entry(spec.ref)
        if entry is None:
            raise LensError("model.unknown_catalog", name=limits.shorten(spec.ref))
        return _finish(spec, _config_from_folder(entry.path, entry.name), entry.name, None)
    if spec.source == "embedded":
        folder, name = embedded.config_folder(spec.ref)
        return _finish(spec, _config_from_folder(folder, name), name, None)
    if spec.source == "local":
        folder = _local_folder(spec.ref)
        has_weights = any(folder.glob("*.safetensors"))
        return _finish(spec, _config_from_folder(folder, folder.name), folder.name, folder if has_weights else None)
    if spec.source == "hub":
        if not is_repo_id(spec.ref):  # before the Hub helper echoes a 10 kB id back
            raise LensError("model.bad_hub_id", repo_id=limits.shorten(spec.ref))
        folder = fetch_hub_config(spec.ref, token)
        return _finish(spec, _config_from_folder(folder, spec.ref), spec.ref, None)
    raise LensError("model.bad_source", source=limits.shorten(spec.source))


def _local_folder(ref: str) -> Path:
    """A local model folder; refused on a hosted app, where a visitor must not learn which server paths exist."""
    if limits.hosted():
        raise LensError("limits.local_off")
    try:
        folder = Path(ref).expanduser()
        if not folder.is_dir():
            raise LensError("model.no_folder", path=limits.shorten(ref, 120))
        if not (folder / "config.json").is_file():
            raise LensError("model.no_config_json", path=limits.shorten(ref, 120))
    except OSError as exc:
        raise limits.os_error(exc) from exc
    except ValueError as exc:  # a NUL byte in the path
        raise LensError("model.no_folder", path=limits.shorten(ref, 120)) from exc
    return folder


def _finish(spec: ModelSpec, config: object, name: str, weights: Path | None) -> ModelConfig:
    if spec.source == "embedded":
        weights = None  # real weights come from embedded.weights_folder() when training
    task = spec.task or infer_task(config)
    return ModelConfig(spec=spec, config=config, task=task, display_name=name, weights_dir=weights)


def _read_config_json(folder: Path, label: str) -> dict:
    """The raw config.json as a dict: size-capped before it is parsed; messages name ``label``, never a server path."""
    import json

    raw = folder / "config.json"
    try:
        size = raw.stat().st_size
        if size > MAX_CONFIG_BYTES:  # real configs are a few KiB: never parse a stranger's 30 MB one
            raise LensError("model.config_too_big", path=f"{label}/config.json", mib=f"{size / 2**20:.1f}",
                            max_mib=MAX_CONFIG_BYTES >> 20)
        data = json.loads(raw.read_text(encoding="utf-8"))
    except OSError as exc:  # unreadable, not invalid: and the path it names is the server's
        raise limits.os_error(exc) from exc
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise LensError("model.bad_config_json", path=f"{label}/config.json", detail=limits.one_line(exc)) from exc
    if not isinstance(data, dict):
        raise LensError("model.bad_config_json", path=f"{label}/config.json", detail="not a JSON object")
    return data


def _config_from_folder(folder: Path, label: str) -> object:
    from transformers import CONFIG_MAPPING, AutoConfig

    data = _read_config_json(folder, label)
    if "auto_map" in data and not remote_code_allowed():
        raise LensError("model.remote_code", env=TRUST_REMOTE_CODE_ENV)
    model_type = data.get("model_type")
    if "auto_map" not in data:
        if model_type is None:
            raise LensError("limits.no_model_type")
        if not isinstance(model_type, str) or model_type not in CONFIG_MAPPING:
            raise LensError("limits.unknown_type", model_type=limits.shorten(model_type, 40))
    limits.check_config_values(data)
    try:
        return AutoConfig.from_pretrained(str(folder), trust_remote_code=remote_code_allowed())
    except LensError:
        raise
    except Exception as exc:  # noqa: BLE001 - a stranger's config can break transformers in any way
        if "trust_remote_code" in str(exc):
            raise LensError("model.remote_code", env=TRUST_REMOTE_CODE_ENV) from exc
        raise _config_error(exc, folder, label) from exc


_FIELD_ERROR = re.compile(r"Validation error for field '([^']+)'")


def _config_error(exc: BaseException, folder: Path, label: str) -> LensError:
    """transformers' refusal of a config, as one sentence naming the field (strict dataclass errors carry it)."""
    detail = limits.one_line(str(exc).replace(str(folder), label), 240)
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    field = _FIELD_ERROR.match(lines[0]) if lines else None
    if field:
        return LensError("limits.config_field", field=field.group(1), detail=detail)
    if lines and lines[0].startswith("Class validation error"):
        return LensError("limits.config_inconsistent", detail=detail.split(": ", 1)[-1])
    return LensError("limits.bad_config", name=limits.shorten(label, 80), detail=detail)


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
