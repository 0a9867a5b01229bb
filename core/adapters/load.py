"""Read an uploaded LoRA adapter (zip bytes or a folder) safely, and attach it to its base.

Every input is hostile: zips go through ``core.adapters.zip_io`` (size, members,
inflate ratio, ``..``/absolute paths, drive letters, symlinks), and only
``adapter_config.json`` and the weights file are extracted, flat, into a fresh
per-caller temp dir. Weights are read with safetensors; a ``.bin`` only through
``torch.load(weights_only=True)``. The base model must be one we can load (the
embedded models) and every tensor must fit it, otherwise ``analysis.wrong_base``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Self

import torch
from torch import nn

from core.adapters import zip_io
from core.analysis.delta import PEFT_PREFIX, factors_for_module, split_key
from core.errors import LensError
from core.i18n import human_bytes
from core.models import embedded
from core.models.spec import PEFT_TASK_TYPES
from core.training.loader import EMBEDDED_HUB_IDS, embedded_for_ref, load_feature_model, load_model, load_tokenizer

MAX_CONFIG_BYTES = 2**20
CONFIG_NAME = "adapter_config.json"
SAFETENSORS_NAME = "adapter_model.safetensors"
BIN_NAME = "adapter_model.bin"
# PEFT task_type -> our task name; adapters saved without one are read as plain feature extractors.
TASKS = {**{v: k for k, v in PEFT_TASK_TYPES.items() if k != "seq2seq"}, None: "feature"}
# Lower-cased endings of base_model_name_or_path that mean an embedded model.


@dataclass(eq=False)
class AdapterBundle:
    """A validated adapter in its own temp folder (``adapter_config.json`` +
    ``adapter_model.safetensors``). Call ``cleanup()`` (or use ``with``) when done."""

    folder: Path
    config: dict[str, Any]
    state_dict: dict[str, torch.Tensor] = field(repr=False)
    task: str

    def cleanup(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


@dataclass(eq=False)
class LoadedAdapter:
    """A ``PeftModel`` on its real base weights, ready for ``core.analysis.delta`` and ``core.analysis.embeddings``."""

    model: nn.Module
    tokenizer: Any
    base_name: str  # embedded name ("minilm", "smollm2") or a local folder
    bundle: AdapterBundle


# --- zip -----------------------------------------------------------------------


def _adapter_files(files: list[zipfile.ZipInfo]) -> dict[str, str]:
    """The config and weights of the one folder in the zip that holds ``adapter_config.json``, extracted flat."""
    configs = [f.filename for f in files if PurePosixPath(f.filename).name == CONFIG_NAME]
    if not configs:
        raise LensError("analysis.no_config")
    if len(configs) > 1:
        raise LensError("analysis.many_adapters", count=len(configs))
    parent = str(PurePosixPath(configs[0]).parent)
    root = "" if parent == "." else parent + "/"
    return {root + name: name for name in (CONFIG_NAME, SAFETENSORS_NAME, BIN_NAME)}


def read_adapter_zip(data: bytes, max_bytes: int | None = None) -> AdapterBundle:
    """Validate a zipped adapter (``core.adapters.zip_io``'s checks) and extract it into a fresh temp dir."""
    folder = Path(tempfile.mkdtemp(prefix="lora-lens-adapter-"))
    try:
        zip_io.safe_extract(data, folder, pick=_adapter_files, max_zip_bytes=max_bytes)
        return _bundle(folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def read_adapter_folder(path: str | Path) -> AdapterBundle:
    """Validate an adapter folder; its files are copied into a fresh temp dir."""
    source = Path(path).expanduser()
    if not source.is_dir():
        raise LensError("analysis.no_folder", path=str(path))
    folder = Path(tempfile.mkdtemp(prefix="lora-lens-adapter-"))
    try:
        for name in (CONFIG_NAME, SAFETENSORS_NAME, BIN_NAME):
            if (source / name).is_file():
                if (source / name).stat().st_size > zip_io.MAX_UNPACKED_BYTES:
                    raise LensError("zip.too_large", limit=human_bytes(zip_io.MAX_UNPACKED_BYTES))
                shutil.copyfile(source / name, folder / name)
        return _bundle(folder)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def read_adapter(source: bytes | str | Path) -> AdapterBundle:
    """Zip bytes, a ``.zip`` file, or an adapter folder."""
    if isinstance(source, bytes | bytearray):
        return read_adapter_zip(bytes(source))
    path = Path(source).expanduser()
    if path.is_file() and path.suffix.lower() == ".zip":
        size = path.stat().st_size
        if size > zip_io.MAX_ZIP_BYTES:  # before reading it into memory
            raise LensError("zip.file_too_large", size=human_bytes(size), limit=human_bytes(zip_io.MAX_ZIP_BYTES))
        return read_adapter_zip(path.read_bytes())
    return read_adapter_folder(path)


# --- config and weights ----------------------------------------------------------


def _read_config(folder: Path) -> dict[str, Any]:
    path = folder / CONFIG_NAME
    if not path.is_file():
        raise LensError("analysis.no_config")
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise LensError("analysis.bad_config", detail="file too large")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise LensError("analysis.bad_config", detail=str(exc)[:200]) from exc
    if not isinstance(config, dict):
        raise LensError("analysis.bad_config", detail="not a JSON object")
    peft_type = str(config.get("peft_type", "")).upper()
    if peft_type != "LORA":
        raise LensError("analysis.not_lora", peft_type=config.get("peft_type") or "?")
    if config.get("task_type") not in TASKS:
        raise LensError("analysis.unsupported_task", task=config.get("task_type"))
    return config


def _read_weights(folder: Path) -> dict[str, torch.Tensor]:
    """safetensors first; a .bin only through ``weights_only=True``; rewritten as safetensors."""
    from safetensors import SafetensorError
    from safetensors.torch import load, save_file

    st_path, bin_path = folder / SAFETENSORS_NAME, folder / BIN_NAME
    if st_path.is_file():
        try:
            tensors = load(st_path.read_bytes())
        except (SafetensorError, ValueError, OSError) as exc:
            raise LensError("analysis.bad_safetensors", detail=str(exc)[:200]) from exc
    elif bin_path.is_file():
        try:
            tensors = torch.load(bin_path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise LensError("analysis.bad_bin", detail=str(exc)[:200]) from exc
        if not isinstance(tensors, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in tensors.items()
        ):
            raise LensError("analysis.bad_bin", detail="not a dict of tensors")
        tensors = {k: v.contiguous() for k, v in tensors.items()}
        save_file(tensors, str(st_path))
        bin_path.unlink()
    else:
        raise LensError("analysis.no_weights")
    if not any(split_key(k) for k in tensors):
        raise LensError("analysis.no_lora_modules")
    return tensors


def _bundle(folder: Path) -> AdapterBundle:
    config = _read_config(folder)
    tensors = _read_weights(folder)
    return AdapterBundle(folder=folder, config=config, state_dict=tensors, task=TASKS[config.get("task_type")])


# --- base model -------------------------------------------------------------------


def resolve_base(config: dict[str, Any], allow_local: bool = False) -> str:
    """The embedded model name for ``base_model_name_or_path`` (or, for the operator's
    CLI only, a local folder with real weights); anything else is a clear error."""
    raw = config.get("base_model_name_or_path")
    if not raw or not isinstance(raw, str):
        raise LensError("analysis.no_base")
    name = raw.strip().replace("\\", "/").rstrip("/").lower()
    if name.removeprefix("embedded:") in embedded.EMBEDDED:
        return name.removeprefix("embedded:")
    found = embedded_for_ref(name)  # the public Hub id every adapter the app saves names
    if found is not None:
        return found
    folder = Path(raw).expanduser()
    if allow_local and (folder / "config.json").is_file() and any(folder.glob("*.safetensors")):
        return str(folder)
    raise LensError("analysis.base_unavailable", name=raw[:200], options=", ".join(EMBEDDED_HUB_IDS.values()))


def _num_labels(state_dict: dict[str, torch.Tensor]) -> int:
    for key, tensor in state_dict.items():
        if key.endswith(("classifier.weight", "score.weight", "classifier.out_proj.weight")) and tensor.ndim == 2:
            return int(tensor.shape[0])
    return 2


def load_base_model(base: str, task: str, num_labels: int = 2) -> tuple[nn.Module, Any]:
    """Real weights for ``base`` (embedded name or local folder) with the task's head, through the one loader."""
    folder = embedded.weights_folder(base) if base in embedded.EMBEDDED else Path(base)
    try:
        tokenizer = load_tokenizer(str(folder))
        if task in ("causal-lm", "seq-cls"):
            labels = tuple(f"LABEL_{i}" for i in range(num_labels)) if task == "seq-cls" else ()
            model = load_model(str(folder), task, labels, tokenizer.pad_token_id)
        else:
            model = load_feature_model(str(folder))
    except LensError as exc:
        raise LensError("analysis.base_load_failed", name=base, detail=exc.message("en")[:200]) from exc
    return model, tokenizer


def check_fits(bundle: AdapterBundle, base_model: nn.Module) -> None:
    """Every adapter tensor must land on a base module of the right shape."""
    grouped: dict[str, dict[str, torch.Tensor]] = {}
    for key, tensor in bundle.state_dict.items():
        found = split_key(key)
        if found is None:  # modules_to_save: a full copy of a base tensor
            _check_saved_module(key, tensor, base_model)
        else:
            grouped.setdefault(found[0], {})[found[1]] = tensor
    for module, parts in grouped.items():
        factors_for_module(module, parts, base_model, bundle.config)


def _check_saved_module(key: str, tensor: torch.Tensor, base_model: nn.Module) -> None:
    name = key.removeprefix(PEFT_PREFIX).replace(".base_layer.", ".")  # saved embedding layers
    try:
        target = base_model.get_parameter(name)
    except AttributeError as exc:
        raise LensError("analysis.wrong_base", module=name, detail="no such parameter in the base model") from exc
    if tuple(target.shape) != tuple(tensor.shape):
        detail = f"{tuple(tensor.shape)} vs {tuple(target.shape)}"
        raise LensError("analysis.wrong_base", module=name, detail=detail)


def load_adapter(bundle: AdapterBundle, allow_local_base: bool = False) -> LoadedAdapter:
    """Base model + adapter as a ``PeftModel`` in eval mode, after checking that it fits."""
    from peft import PeftModel

    from core.analysis.delta import delta_from_peft

    base_name = resolve_base(bundle.config, allow_local_base)
    model, tokenizer = load_base_model(base_name, bundle.task, _num_labels(bundle.state_dict))
    check_fits(bundle, model)
    try:
        peft_model = PeftModel.from_pretrained(model, str(bundle.folder), is_trainable=False)
    except (ValueError, TypeError, RuntimeError, KeyError) as exc:
        raise LensError("analysis.bad_config", detail=str(exc)[:200]) from exc
    wanted = {split_key(k)[0] for k in bundle.state_dict if split_key(k)}
    loaded = {row.module for row in delta_from_peft(peft_model)}
    if not wanted <= loaded:
        missing = ", ".join(sorted(wanted - loaded)[:3])
        raise LensError("analysis.config_mismatch", modules=missing)
    peft_model.eval()
    return LoadedAdapter(peft_model, tokenizer, base_name, bundle)
