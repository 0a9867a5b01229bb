"""Fit before download: the planner's estimate against this machine's free memory, and advice that really fits."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import LensError
from core.i18n import human_bytes
from core.models.spec import ModelSpec
from core.planning.plan import LoraPlan
from core.training import preflight
from core.training.settings import TrainSettings

SMOLLM = ModelSpec("embedded", "smollm2", "causal-lm")
SFT_PLAN = LoraPlan(targets=("q_proj", "v_proj"), r=8, task="causal-lm")
MIB = 2**20


def _free(monkeypatch: pytest.MonkeyPatch, device: str, usable: int) -> None:
    """A machine whose usable memory (after the margin) is at most ``usable`` bytes, and within a few bytes of it."""
    free = max(usable + preflight.MIN_MARGIN, int(usable / (1 - preflight.MARGIN)))
    while preflight.usable(free) > usable:
        free -= 1
    monkeypatch.setattr(preflight, "available_memory", lambda: (device, free))


def _needed(settings: TrainSettings, device: str = "cpu") -> int:
    """The memory planner's own estimate of the run (the function the Memory page shows)."""
    from core.anatomy.inventory import list_adaptable_layers
    from core.models.meta import build_meta_model
    from core.models.sources import load_config
    from core.planning.budget import compute_budget
    from core.planning.memory import estimate_training_memory

    mc = load_config(SMOLLM)
    inventory = list_adaptable_layers(build_meta_model(mc))
    ms = preflight.memory_settings("causal-lm", settings, device)
    return estimate_training_memory(inventory, compute_budget(inventory, SFT_PLAN), ms, config=mc.config, plan=SFT_PLAN).total


def test_the_demo_fits_this_machine() -> None:
    fit = preflight.check_fits(SMOLLM, SFT_PLAN, TrainSettings.for_task("causal-lm"))
    assert fit is None or (fit.fits and fit.needed == _needed(TrainSettings.for_task("causal-lm"), fit.device))


def test_a_refusal_names_the_estimate_and_its_advice_fits(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = TrainSettings.for_task("causal-lm", batch_size=16, max_seq_len=256)
    needed = _needed(settings)
    _free(monkeypatch, "cpu", needed - 1)
    with pytest.raises(LensError) as raised:
        preflight.check_fits(SMOLLM, SFT_PLAN, settings)
    error = raised.value
    assert error.key == "train.wont_fit" and human_bytes(needed) in error.message("en")
    assert "\n" not in error.message("ko") and error.params["batch"] <= 16 and error.params["seq_len"] <= 256
    advised = settings.with_changes(gradient_checkpointing=True, batch_size=error.params["batch"],
                                    max_seq_len=error.params["seq_len"])  # fmt: skip
    fit = preflight.check_fits(SMOLLM, SFT_PLAN, advised)
    assert fit is not None and fit.fits and fit.needed < needed


@pytest.mark.parametrize(
    ("device", "mib", "key"),
    [("cpu", 400, "train.wont_fit_model"), ("cuda", 400, "train.wont_fit_model"), ("cuda", 900, "train.wont_fit_model_nf4")],
)
def test_too_big_a_model_is_told_to_shrink_and_nf4_only_on_cuda(monkeypatch, device: str, mib: int, key: str) -> None:
    """fp32 weights of 135M parameters (~540 MB) exceed 400 MiB; on CUDA (+500 MiB context) a 4-bit base needs
    ~660 MiB, so 900 MiB suggests it; on the CPU no 4-bit base exists, so it never does."""
    _free(monkeypatch, device, mib * MIB)
    with pytest.raises(LensError) as raised:
        preflight.check_fits(SMOLLM, SFT_PLAN, TrainSettings.for_task("causal-lm"))
    assert raised.value.key == key, raised.value.message("en")
    assert device.upper() in raised.value.message("en") and "\n" not in raised.value.message("en")


def test_unknown_free_memory_does_not_block(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(preflight, "available_memory", lambda: ("cpu", None))
    assert preflight.check_fits(SMOLLM, SFT_PLAN, TrainSettings()) is None


def test_this_machines_free_memory_is_read() -> None:
    device, free = preflight.available_memory()
    total = next(int(line.split()[1]) * 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                 if line.startswith("MemTotal:"))  # fmt: skip
    assert device in ("cpu", "cuda") and free is not None and 0 < free
    assert device == "cuda" or free <= total
    assert preflight.usable(free) <= free - preflight.MIN_MARGIN or preflight.usable(free) == 0


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"memory.max": "1073741824", "memory.current": "73741824"}, 1_000_000_000),  # cgroup v2
        ({"memory.max": "max", "memory.current": "5"}, None),  # no limit set
        ({"memory/memory.limit_in_bytes": "2000", "memory/memory.usage_in_bytes": "500"}, 1500),  # cgroup v1
        ({}, None),
    ],
)
def test_a_containers_memory_limit_counts(tmp_path: Path, files: dict[str, str], expected: int | None) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text + "\n")
    assert preflight._cgroup_free(tmp_path) == expected


def test_the_train_page_refuses_a_run_that_cannot_fit_next_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """One sentence where the visitor pressed Start; no job queued, no run recorded."""
    from streamlit.testing.v1 import AppTest

    from core.training.jobs import job_manager

    _free(monkeypatch, "cpu", 300 * MIB)
    at = AppTest.from_file(str(Path(__file__).parent.parent / "pages" / "train.py"), default_timeout=120)
    at.session_state["app.visitor"] = "f" * 32
    at.run()
    at.button(key="train.start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "pick a smaller model" in errors[0] and "\n" not in errors[0], errors
    assert job_manager().jobs_of("f" * 32) == []
    assert "train.job" not in at.session_state


def test_the_job_queue_refuses_a_modules_to_save_name_that_matches_nothing(tmp_path: Path, monkeypatch) -> None:
    """The Train page queues through ``submit``: PEFT would train no head for ``score_head`` (SmolLM2 has
    ``lm_head``), so the run is refused in one sentence before anything loads, and nothing is queued — also
    where this machine's free memory is unknown (the memory check is skipped, this one is not)."""
    monkeypatch.setattr(preflight, "available_memory", lambda: ("cpu", None))
    from core.data.bundled import load_bundled
    from core.training.jobs import JobManager

    ran: list[object] = []
    manager = JobManager(root=tmp_path, runner=lambda *a, **k: ran.append(a))
    spec = ModelSpec("embedded", "smollm2", "causal-lm")
    plan = LoraPlan(targets=("q_proj", "v_proj"), modules_to_save=("score_head",), task="causal-lm")
    data = load_bundled("chatterbot-en", "causal-lm")
    with pytest.raises(LensError) as err:
        manager.submit("a" * 32, spec, plan, data, None, TrainSettings.for_task("causal-lm"))
    assert err.value.key == "budget.unknown_saved" and "lm_head" in err.value.message("en")
    assert manager.jobs_of("a" * 32) == [] and ran == [] and not any(tmp_path.iterdir())
