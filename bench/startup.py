"""A Space that starts ready: time to the first page and to a training start, cold vs warmed model cache.

Cold is a fresh ``LORA_LENS_CACHE`` (what a server without the Dockerfile's ``python -m core warm``
step meets); warm is that cache after ``python -m core warm``, the Dockerfile's build step.

  first page       ``streamlit run app.py`` headless -> ``/_stcore/health`` answers -> headless Chromium
                   has the first page rendered (Streamlit's status widget gone)
  training start   a new process asks the engine to train the embedded SmolLM2 (as a job does):
                   process start -> the first optimiser step reported

    python bench/startup.py                   # both, cold then warm
    python bench/startup.py --skip-page       # training start only (no Chromium)
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
TRAIN_START = """
import time, tempfile, threading
from pathlib import Path
from core.data.bundled import load_bundled
from core.models.spec import ModelSpec
from core.planning.plan import LoraPlan
from core.training.engine import run_training
from core.training.run_state import RunState
from core.training.settings import TrainSettings

state = RunState()
settings = TrainSettings.for_task("causal-lm", max_steps=2, eval_every=100)
plan = LoraPlan(targets=("q_proj", "v_proj"), task="causal-lm")
job = threading.Thread(target=run_training, daemon=True, args=(ModelSpec("embedded", "smollm2"), plan,
                       load_bundled("chatterbot-en", "causal-lm"), None, settings, Path(tempfile.mkdtemp()), state))
job.start()
while state.snapshot().step < 1 and state.snapshot().status not in ("failed", "done"):
    time.sleep(0.05)
print(state.snapshot().status, state.snapshot().error_key, flush=True)
import os
os._exit(0)  # the training thread is still running: leave without tearing it down
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(cache: str) -> dict[str, str]:
    return {**os.environ, "LORA_LENS_CACHE": cache, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
            "PYTHONPATH": str(ROOT), "TRANSFORMERS_VERBOSITY": "error"}  # fmt: skip


def _wait_health(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("streamlit did not answer its health check")


def _first_page(url: str, timeout_s: float) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--headless=new"])
        page = browser.new_page()
        page.goto(url, timeout=timeout_s * 1000)
        page.locator('[data-testid="stMain"]').first.wait_for(timeout=timeout_s * 1000)
        status = page.locator('[data-testid="stStatusWidget"]')
        deadline, quiet = time.monotonic() + timeout_s, 0
        while time.monotonic() < deadline and quiet < 3:  # three quiet looks in a row: the script finished
            quiet = quiet + 1 if status.count() == 0 else 0
            page.wait_for_timeout(100)
        browser.close()


def time_first_page(cache: str, timeout_s: float = 300) -> dict[str, float]:
    """Seconds from ``streamlit run`` to its health check, and to the first page rendered in Chromium."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port",
           str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]  # fmt: skip
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(cache), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_health(url, proc, timeout_s)
        health = time.monotonic() - start
        _first_page(url, timeout_s)
        return {"health_s": round(health, 1), "first_page_s": round(time.monotonic() - start, 1)}
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def time_training_start(cache: str) -> float:
    """Seconds from a new process to the engine's first training step on the embedded SmolLM2."""
    start = time.monotonic()
    out = subprocess.run([sys.executable, "-c", TRAIN_START], cwd=ROOT, env=_env(cache), capture_output=True,
                         text=True, timeout=900, check=True)  # fmt: skip
    assert out.stdout.split()[0] in ("running", "done"), out.stdout + out.stderr[-2000:]
    return round(time.monotonic() - start, 1)


def warm(cache: str) -> float:
    start = time.monotonic()
    subprocess.run([sys.executable, "-m", "core", "warm"], cwd=ROOT, env=_env(cache), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    return round(time.monotonic() - start, 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--skip-page", action="store_true", help="only the training start (no browser)")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as cold_page, tempfile.TemporaryDirectory() as cold_train:
        if not args.skip_page:
            results["cold_page"] = time_first_page(cold_page)
        results["cold_training_start_s"] = time_training_start(cold_train)  # converts the GGUF on the way
        with tempfile.TemporaryDirectory() as ready:
            results["warm_build_step_s"] = warm(ready)  # what the Dockerfile's RUN python -m core warm costs
            if not args.skip_page:
                results["warm_page"] = time_first_page(ready)
            results["warm_training_start_s"] = time_training_start(ready)
    print(json.dumps(results, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
