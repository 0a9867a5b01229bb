"""Every cap and time limit on what a visitor controls, in one place; each refusal is one sentence (strings/limits.py).

The caps are generous for every real model (Llama-3.1-405B has 126 blocks, Gemma-3 a 262k vocabulary, Kimi-K2
384 experts) and far below what ties up the server: on the shared 2-core dev box a Llama-3.2-1B config's meta
build plus inventory took 1.8 s at 1,024 blocks and 3.4 s at 2,048 (100,000 blocks: over a minute); the cap is 512
(tests/test_hostile.py::test_layer_cap_is_far_below_slow holds it under 5 s).
The deadline is the backstop the caps should never let anyone reach.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.errors import LensError

HOSTED_ENV = "LORA_LENS_HOSTED"

# --- model references and config.json -------------------------------------------------------
MAX_REF_CHARS = 1024  # a model name, Hub id (huggingface_hub allows 96) or folder path
MAX_CONFIG_BYTES = 1 << 20  # real configs are a few KiB
MAX_LAYERS = 512
MAX_DIM = 1 << 17  # hidden / intermediate / head sizes (405B: 16,384 / 53,248)
MAX_VOCAB = 1 << 21
MAX_POSITIONS = 1 << 25  # Llama-4 Scout: 10M tokens
MAX_EXPERTS = 1024
MAX_HEADS = 1024
MAX_PARAMS = 2 * 10**12  # the meta model's parameter count (Kimi-K2: ~1T)
BUILD_SECONDS = 20.0  # meta build + inventory of one config
_CONFIG_DEPTH = 4  # nested sub-configs checked (text_config, vision_config, encoder ...)

# --- plan values (the numbers themselves: core.planning.plan.number_errors) --------------------
MAX_R = 4096
MAX_REGEX_CHARS = 500

# --- uploaded files (core.data.upload) ---------------------------------------------------------
MAX_UPLOAD_BYTES = 20 * 2**20
MAX_ROWS = 200_000
MAX_COLUMNS = 200
MAX_JSON_DEPTH = 20
MAX_JSON_VALUES = 2_000_000

_HEADS = {"num_attention_heads", "num_key_value_heads", "n_head", "n_heads", "num_heads",
          "encoder_attention_heads", "decoder_attention_heads"}
_DIMS = {"hidden_size", "intermediate_size", "d_model", "n_embd", "d_ff", "n_inner", "ffn_dim", "head_dim", "d_kv",
         "encoder_ffn_dim", "decoder_ffn_dim", "moe_intermediate_size", "shared_expert_intermediate_size"}
_EXPERTS = {"num_local_experts", "num_experts", "n_routed_experts", "moe_num_experts", "n_shared_experts",
            "num_experts_per_tok"}
# key -> (lowest allowed, highest allowed)
_CAPS: dict[str, tuple[int, int]] = {
    **dict.fromkeys(_HEADS, (1, MAX_HEADS)),
    **dict.fromkeys(_DIMS, (1, MAX_DIM)),
    **dict.fromkeys(_EXPERTS, (0, MAX_EXPERTS)),
    "vocab_size": (1, MAX_VOCAB),
    "max_position_embeddings": (1, MAX_POSITIONS),
    "n_positions": (1, MAX_POSITIONS),
}


def hosted() -> bool:
    """A public Space (the Dockerfile sets it): no local folders, no server paths in any message."""
    return os.environ.get(HOSTED_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def shorten(value: object, chars: int = 80) -> str:
    """A visitor's value, fit to be echoed in a sentence: one line, at most ``chars`` characters."""
    text = " ".join(str(value).split())
    return text if len(text) <= chars else text[: chars - 1] + "…"


def check_ref(ref: str) -> None:
    """A model reference of any source: never longer than a path the OS accepts."""
    if len(ref) > MAX_REF_CHARS:
        raise LensError("limits.ref_too_long", n=f"{len(ref):,}", max=f"{MAX_REF_CHARS:,}")


def _cap_for(key: str) -> tuple[int, int] | None:
    if key.endswith("layers") or key == "n_layer":
        return (0, MAX_LAYERS)
    return _CAPS.get(key)


def check_config_values(data: dict, where: str = "", depth: int = 0) -> None:
    """Sizes in a raw config.json: whole numbers inside the caps, before transformers builds anything."""
    for key, value in data.items():
        name = f"{where}{key}"
        if isinstance(value, dict) and depth < _CONFIG_DEPTH:
            check_config_values(value, f"{name}.", depth + 1)
            continue
        cap = _cap_for(str(key))
        if cap is None or value is None or isinstance(value, list):
            continue  # null: transformers' default; a list (layer_types): transformers checks it against the count
        if not isinstance(value, int) or isinstance(value, bool):
            raise LensError("limits.config_type", field=name, value=shorten(repr(value), 40))
        low, high = cap
        if not low <= value <= high:
            raise LensError("limits.config_range", field=name, value=f"{value:,}", low=low, high=f"{high:,}")
    _check_together(data, where)


def _check_together(data: dict, where: str) -> None:
    """What no single value shows: key/value heads that do not divide, class names that are not names."""
    heads, kv = data.get("num_attention_heads"), data.get("num_key_value_heads")
    if isinstance(heads, int) and isinstance(kv, int) and kv > 0 and heads % kv:
        raise LensError("limits.config_inconsistent",
                        detail=f"{where}num_attention_heads ({heads}) is not a multiple of num_key_value_heads ({kv}).")
    archs = data.get("architectures")
    if archs is not None and not (isinstance(archs, list) and all(isinstance(a, str) and a for a in archs)):
        raise LensError("limits.config_names", field=f"{where}architectures", value=shorten(repr(archs), 40))


def check_param_count(total: int) -> None:
    if total > MAX_PARAMS:
        raise LensError("limits.too_many_params", n=f"{total:.3g}", max=f"{MAX_PARAMS:.0e}")


def check_regex(pattern: str) -> None:
    """A target regex PEFT full-matches against every module name: short, and with no nested repetition
    (``(.*)*z`` takes minutes on one 30-character name; Python's ``re`` cannot be interrupted)."""
    from core.compat import regex_has_nested_repeat

    if len(pattern) > MAX_REGEX_CHARS:
        raise LensError("limits.regex_too_long", n=f"{len(pattern):,}", max=MAX_REGEX_CHARS)
    if regex_has_nested_repeat(pattern):
        raise LensError("limits.regex_nested", regex=shorten(pattern, 60))


# --- the deadline -------------------------------------------------------------------------------

_local = threading.local()
_hook_lock = threading.Lock()
_hook_installed = False


def check_deadline() -> None:
    """Raise once the current thread's deadline has passed; a no-op outside ``deadline()``."""
    expires = getattr(_local, "expires", None)
    if expires is not None and time.monotonic() > expires:
        _local.expires = None  # one refusal; the unwinding code may build or walk modules again
        raise LensError("limits.too_slow", seconds=f"{_local.seconds:g}")


def _on_submodule(module: object, name: str, submodule: object) -> None:
    check_deadline()


def _install_hook() -> None:
    """torch calls this for every submodule any model registers: the build itself stops at the deadline."""
    global _hook_installed
    with _hook_lock:
        if not _hook_installed:
            from torch.nn.modules.module import register_module_module_registration_hook

            register_module_module_registration_hook(_on_submodule)
            _hook_installed = True


@contextmanager
def deadline(seconds: float | None = None) -> Iterator[None]:
    """Bound the work inside (this thread only); an outer deadline already running is kept."""
    if getattr(_local, "expires", None) is not None:
        yield
        return
    _install_hook()
    _local.seconds = BUILD_SECONDS if seconds is None else seconds
    _local.expires = time.monotonic() + _local.seconds
    try:
        yield
    finally:
        _local.expires = None


# --- output paths ---------------------------------------------------------------------------------


def check_output_dir(path: Path | str) -> None:
    """An output folder the run can create and write, refused before any work starts."""
    folder = Path(path).expanduser()
    shown = "-" if hosted() else shorten(path, 120)
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is None or not existing.is_dir():
        raise LensError("limits.out_not_folder", path=shown)
    if not os.access(existing, os.W_OK | os.X_OK):
        raise LensError("limits.out_unwritable", path=shown)


def os_error(exc: OSError) -> LensError:
    """An OS error as one sentence; the server path is named only when not hosted."""
    shown = "-" if hosted() else shorten(getattr(exc, "filename", None) or "-", 120)
    if isinstance(exc, PermissionError):
        return LensError("limits.os_permission", path=shown)
    if isinstance(exc, NotADirectoryError | FileExistsError | IsADirectoryError):
        return LensError("limits.out_not_folder", path=shown)
    if exc.errno == errno.ENOSPC:
        return LensError("limits.disk_full")
    if exc.errno == errno.ENAMETOOLONG:
        return LensError("limits.ref_too_long", n="?", max=f"{MAX_REF_CHARS:,}")
    return LensError("limits.os_error", reason=shorten(exc.strerror or type(exc).__name__, 80), path=shown)


def as_lens_error(exc: BaseException) -> LensError:
    """Anything caught at the edge (CLI, page), as one sentence: never a traceback or a library's paragraph."""
    if isinstance(exc, LensError):
        return exc
    if isinstance(exc, OSError):
        return os_error(exc)
    if "disk is full" in str(exc) or "No space left" in str(exc):  # sqlite3 reports ENOSPC in its own class
        return LensError("limits.disk_full")
    if isinstance(exc, RecursionError):
        return LensError("limits.too_slow", seconds=f"{BUILD_SECONDS:g}")
    return LensError("limits.unexpected", kind=type(exc).__name__, detail=one_line(exc))


def one_line(exc: BaseException | str, chars: int = 200) -> str:
    """A library's message in one line: its last non-empty line (where strict validators put the cause)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[-1] if lines else type(exc).__name__
    return shorten(text, chars)
