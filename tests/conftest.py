"""Shared test setup: offline, quiet, one cache folder for converted embedded weights."""

from __future__ import annotations

import os
import tempfile

import pytest

# The visitors' workspace (SQLite + run folders) of this test session: never the developer's own.
os.environ.setdefault("LORA_LENS_DATA", tempfile.mkdtemp(prefix="lora-lens-test-data-"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="module")
def one_cpu_thread():
    """One intra-op thread for a module that trains: on a shared 2-core box two spinning OpenMP
    threads run several times slower than one. The engine sets its own count in the training
    thread from ``LORA_LENS_CPU_THREADS``, so that is set too."""
    import torch

    threads, env = torch.get_num_threads(), os.environ.get("LORA_LENS_CPU_THREADS")
    torch.set_num_threads(1)
    os.environ["LORA_LENS_CPU_THREADS"] = "1"
    yield
    torch.set_num_threads(threads)
    if env is None:
        os.environ.pop("LORA_LENS_CPU_THREADS", None)
    else:
        os.environ["LORA_LENS_CPU_THREADS"] = env
