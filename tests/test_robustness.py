"""Bad inputs and injected faults: every one ends in a clear message, and nothing the visitor had is lost.

A catalogue of hostile inputs is pushed through every page (AppTest, with saved plans and
finished training runs preset in the session) and through the CLI (``python -m core``,
in-process, plus one real subprocess). Then faults are injected into background
training: a runner that raises ``torch.OutOfMemoryError``, a stop mid-run with a second
job queued, a disk that fills up while the adapter is saved. At the end the counts are
printed: inputs tried, faults injected, anything lost (must be 0).
"""

from __future__ import annotations

import copy
import errno
import json
import os
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

import core.training.engine
import core.training.jobs
from core.data.dataset import Example, TextDataset
from core.errors import LensError
from core.i18n import t
from core.models.spec import ModelSpec
from core.planning.plan import LoraPlan
from core.training.engine import TrainResult, run_training, save_adapter
from core.training.jobs import JobManager
from core.training.loader import EMBEDDED_HUB_IDS, WeightsSource
from core.training.run_state import RunState
from core.training.settings import TrainSettings
from tests.visitors import plans_of, reset_visitor, seed_plans, submit_recorded
from tests.zips import zip_of

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
TIMEOUT = 120
SID = "0123456789abcdef0123456789abcdef"  # the visitor whose plans and runs must survive
PAGE_SID = "1" * 32  # the Train-page tests' visitor: starts with no runs of its own
SMOLLM = ModelSpec("embedded", "smollm2")
PLANS = {
    "qv r=8": {"model": SMOLLM, "plan": LoraPlan(targets=("q_proj", "v_proj"), r=8, lora_alpha=16, task="causal-lm")},
    "gpt2 c_attn r=4": {
        "model": ModelSpec("catalog", "gpt2"),
        "plan": LoraPlan(targets=("c_attn",), r=4, lora_alpha=8, task="causal-lm"),
    },
}
TALLY = {"inputs": 0, "faults": 0, "lost": 0}


# --- session-wide: no network, and the printed counts -----------------------------------------


@pytest.fixture(scope="module", autouse=True)
def _no_network():
    """Any attempt to open an internet socket fails loudly (the Hub is never contacted)."""
    real_connect = socket.socket.connect

    def refuse(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise OSError(errno.ENETUNREACH, "network disabled in tests")
        return real_connect(self, address)

    socket.socket.connect = refuse
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    yield
    socket.socket.connect = real_connect


@pytest.fixture(scope="session", autouse=True)
def _report(request):
    yield
    if not TALLY["inputs"] and not TALLY["faults"]:
        return
    line = (f"robustness: inputs tried={TALLY['inputs']}, faults injected={TALLY['faults']}, "
            f"anything lost={TALLY['lost']}")
    capman = request.config.pluginmanager.getplugin("capturemanager")
    if capman is not None:
        with capman.global_and_fixture_disabled():
            print("\n" + line)
    else:
        print(line)


# --- fake training runs (instant) ------------------------------------------------------------


def _dataset(n: int = 6, name: str = "tiny") -> TextDataset:
    return TextDataset(name, tuple(Example(text=f"question {i}?", response=f"answer {i}.") for i in range(n)))


def _fake_adapter(folder: Path) -> None:
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 8}), encoding="utf-8")
    save_file({"base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight": torch.zeros(8, 4)},
              str(folder / "adapter_model.safetensors"))


def _result(spec: ModelSpec, plan: LoraPlan, train: TextDataset, val, settings: TrainSettings, adapter: Path | None):
    return TrainResult(
        model=None, tokenizer=None, task=plan.task, labels=(),
        source=WeightsSource("/nowhere", EMBEDDED_HUB_IDS["smollm2"], False), spec=spec, plan=plan,
        settings=settings, precision="fp32", dataset_name=train.name, train_rows=len(train),
        val_rows=len(val or ()), base_params=134_515_008, steps_done=2,
        metrics={"eval_loss": 1.5, "perplexity": 4.48}, adapter_dir=adapter,
    )  # fmt: skip


def fake_runner(spec, plan, train, val, settings, workdir, state: RunState):
    """Two instant steps; r == 13 means 'ran out of memory', anything else saves a small adapter."""
    state.start(settings.max_steps)
    for step in (1, 2):
        state.step(step, 100 * step)
        state.log_loss(step, 2.0 / step, 1e-4)
    if plan.r == 13:
        state.fail("train.oom", batch=settings.batch_size, seq_len=settings.seq_len_for(plan.task), r=plan.r)
        return None
    _fake_adapter(workdir / "adapter")
    result = _result(spec, plan, train, val, settings, workdir / "adapter")
    state.finish("done", result.metrics, result=result)
    return result


SFT_PLAN = LoraPlan(targets=("q_proj", "v_proj"), r=8, lora_alpha=16, task="causal-lm")


@pytest.fixture(scope="module")
def manager(tmp_path_factory) -> JobManager:
    """A job manager holding the visitor's finished runs: one failed (out of memory), one done."""
    mgr = JobManager(root=tmp_path_factory.mktemp("runs"), runner=fake_runner)
    for r in (13, 8):
        job_id = submit_recorded(SID, mgr, SMOLLM, SFT_PLAN.with_changes(r=r), _dataset(), _dataset(2, "tiny/val"),
                                 TrainSettings())
        assert mgr.get(SID, job_id).state.wait(10)
    return mgr


def _jobs_view(mgr: JobManager, owner: str = SID) -> list[tuple]:
    """What must survive: each run's id, status, error and adapter files."""
    out = []
    for job in mgr.jobs_of(owner):
        snap = job.snapshot
        files = sorted(p.name for p in job.adapter_dir.iterdir()) if job.adapter_dir and job.adapter_dir.is_dir() else []
        out.append((job.id, snap.status, snap.error_key, snap.step, tuple(files)))
    return out


def _plans_view(plans: dict) -> dict:
    return {name: (item["model"], item["plan"]) for name, item in plans.items()}


# --- hostile files ------------------------------------------------------------------------------


def _lora_config(**changes) -> bytes:
    config = {"peft_type": "LORA", "task_type": "SEQ_CLS", "r": 4, "lora_alpha": 8,
              "target_modules": ["query", "value"], "base_model_name_or_path": "sentence-transformers/all-MiniLM-L6-v2"}
    config.update(changes)
    return json.dumps(config).encode()


def _lora_weights() -> bytes:
    from safetensors.torch import save

    key = "base_model.model.bert.encoder.layer.0.attention.self.query"
    return save({f"{key}.lora_A.weight": torch.zeros(4, 384), f"{key}.lora_B.weight": torch.zeros(384, 4)})


ZIPS = {
    "dotdot": zip_of({"adapter_config.json": _lora_config(), "../../evil.sh": b"rm -rf /"}),
    "symlink": zip_of({"adapter_config.json": _lora_config()}, links=("adapter_model.safetensors",)),
    "prefix": zip_of({"adapter_config.json": _lora_config(peft_type="PREFIX_TUNING", num_virtual_tokens=20),
                      "adapter_model.safetensors": _lora_weights()}),
    "corrupt": zip_of({"adapter_config.json": _lora_config(),
                       "adapter_model.safetensors": b"\x08\x00\x00\x00\x00\x00\x00\x00{broken" + os.urandom(64)}),
    "notzip": b"PK\x03\x04 this is not really a zip",
}
DEEP_JSON = b"[" * 200_000 + b"]" * 200_000
HUGE_LINE = b'{"format": "lora-lens-plans", "version": 1, "pad": "' + b"x" * (10 * 2**20) + b'"}'
PLANS_OK = {"format": "lora-lens-plans", "version": 1}
CSV_ONE_CLASS = b"text,label\n" + b"".join(b"review %d,fresh\n" % i for i in range(8))
CSV_OK = b"text,response\n" + b"".join(b"hello %d,hi %d\n" % (i, i) for i in range(8))
JSONL_BROKEN = b'{"text": "a", "response": "b"}\n{"text": "c", "response": \n{"text": "e", "response": "f"}\n'


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, str]:
    """Local model folders and files that are wrong in one way each."""
    base = tmp_path_factory.mktemp("bad")
    (base / "noconf").mkdir()
    (base / "noconf" / "model.safetensors").write_bytes(b"")
    (base / "badconf").mkdir()
    (base / "badconf" / "config.json").write_text("{not json", encoding="utf-8")
    (base / "binconf").mkdir()
    (base / "binconf" / "config.json").write_bytes(b"\xff\xfe\x00\x01" + os.urandom(32))
    (base / "listconf").mkdir()
    (base / "listconf" / "config.json").write_text("[1, 2, 3]", encoding="utf-8")
    (base / "unknownarch").mkdir()
    (base / "unknownarch" / "config.json").write_text('{"model_type": "no-such-architecture"}', encoding="utf-8")
    remote = base / "remote"
    remote.mkdir()
    (remote / "config.json").write_text(json.dumps(
        {"model_type": "evil", "auto_map": {"AutoConfig": "configuration_evil.EvilConfig"}}), encoding="utf-8")
    (remote / "configuration_evil.py").write_text(
        f"open({str(base / 'PWNED')!r}, 'w').write('remote code ran')\n", encoding="utf-8")
    (base / "a_file.txt").write_text("not a folder", encoding="utf-8")
    files = {
        "binary.csv": b"\x00\x01\x02\x03" * 64,
        "latin1.csv": "text,label\ncafé,bon\n".encode("latin-1"),
        "broken.jsonl": JSONL_BROKEN,
        "oneclass.csv": CSV_ONE_CLASS,
        "huge.csv": b"text,response\n" + b"a,b\n" * (21 * 2**20 // 4),
    }
    for name, data in files.items():
        (base / name).write_bytes(data)
    for name, data in ZIPS.items():
        (base / f"{name}.zip").write_bytes(data)
    prefix = base / "prefix_adapter"
    prefix.mkdir()
    (prefix / "adapter_config.json").write_bytes(_lora_config(peft_type="PREFIX_TUNING"))
    (prefix / "adapter_model.safetensors").write_bytes(_lora_weights())
    out = {p.name: str(p) for p in base.iterdir()}
    out["root"] = str(base)
    return out


# --- checking a message -------------------------------------------------------------------------


def _fill(text: str, folders: dict) -> str:
    """Put the fixture paths into ``{name}`` slots (names may contain dots, so no str.format)."""
    return re.sub(r"\{([^{}]+)\}", lambda m: folders[m.group(1)], text)


def _fragment(key: str, lang: str = "en") -> str:
    """The longest placeholder-free piece of a translated message: what the screen must contain."""
    pieces = re.split(r"\{[^}]*\}", t(key, lang))
    return max((p.strip(" .:'“”\"()") for p in pieces), key=len)


def _assert_message(texts: list[str], key: str, lang: str = "en") -> None:
    assert key in __import__("core.i18n", fromlist=["table"]).table(), key
    fragment = _fragment(key, lang)
    assert any(fragment in text for text in texts), (key, fragment, texts)


# --- pages ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageCase:
    id: str
    page: str  # "app.py" (Inspect, the default page) or "pages/x.py"
    key: str | None  # the LensError key whose message must show; None: the input is accepted
    steps: Callable[[AppTest, dict], None] = lambda at, f: None
    state: Callable[[dict], dict] = lambda f: {}


def _inspect_form(source: str, ref: str | None) -> Callable[[AppTest, dict], None]:
    """Pick a source in the form, submit, type the reference, submit again (what a visitor does)."""

    def steps(at: AppTest, f: dict) -> None:
        at.radio(key="inspect.source").set_value(source)
        at.button[0].click().run()
        if ref is not None:
            widget = {"hub": "inspect.hub", "local": "inspect.local"}[source]
            at.text_input(key=widget).input(_fill(ref, f))
            at.button[0].click().run()

    return steps


def _spec(source: str, ref: str) -> Callable[[dict], dict]:
    return lambda f: {"app.model_spec": ModelSpec(source, _fill(ref, f))}


def _configure(preset: str, regex: str | None = None, groups: list[str] | None = None):
    def steps(at: AppTest, f: dict) -> None:
        at.button_group(key="configure.w.preset").set_value(preset).run()
        if regex is not None:
            at.text_input(key="configure.w.regex").input(regex).run()
        if groups is not None:
            at.session_state["configure.w.groups"] = groups  # the per-group table's ticks (a canvas: no AppTest API)
            at.run()

    return steps


def _upload(key: str, name: str, data: bytes, mime: str, before: Callable[[AppTest], None] | None = None):
    def steps(at: AppTest, f: dict) -> None:
        if before is not None:
            before(at)
        at.file_uploader(key=key).set_value((name, data, mime)).run()

    return steps


def _train_upload(model: str = "smollm2"):
    def before(at: AppTest) -> None:
        at.selectbox(key="train.model").set_value(model).run()
        task = "seq-cls" if model == "minilm" else "causal-lm"
        at.selectbox(key=f"train.data.{task}").set_value("__upload__").run()

    return before


def _analyze_upload(at: AppTest) -> None:
    at.radio(key="analyze.source").set_value("upload").run()


def _plans_file(**doc) -> bytes:
    return json.dumps({**PLANS_OK, **doc}).encode()


_ITEM = {"name": "x", "model": {"source": "catalog", "ref": "gpt2"}, "plan": {"targets": ["c_attn"], "r": 8}}
C, TR, AN = "pages/compare.py", "pages/train.py", "pages/analyze.py"
PAGE_CASES = [
    # Inspect: model sources
    PageCase("inspect-unknown-catalog", "app.py", "model.unknown_catalog", state=_spec("catalog", "no-such-model")),
    PageCase("inspect-malformed-hub-id", "app.py", "model.bad_hub_id", _inspect_form("hub", "not a valid id!!")),
    PageCase("inspect-hub-path-traversal", "app.py", "model.bad_hub_id", state=_spec("hub", "../../etc/passwd")),
    PageCase("inspect-hub-unreachable", "app.py", "model.hub_unreachable", _inspect_form("hub", "some-org/some-model")),
    PageCase("inspect-empty-input", "app.py", "inspect.empty_input", _inspect_form("local", None)),
    PageCase("inspect-missing-folder", "app.py", "model.no_folder", _inspect_form("local", "{root}/nope")),
    PageCase("inspect-file-not-folder", "app.py", "model.no_folder", state=_spec("local", "{a_file.txt}")),
    PageCase("inspect-no-config-json", "app.py", "model.no_config_json", _inspect_form("local", "{noconf}")),
    PageCase("inspect-invalid-config-json", "app.py", "model.bad_config_json", state=_spec("local", "{badconf}")),
    PageCase("inspect-binary-config-json", "app.py", "model.bad_config_json", state=_spec("local", "{binconf}")),
    PageCase("inspect-config-not-object", "app.py", "model.bad_config_json", state=_spec("local", "{listconf}")),
    PageCase("inspect-unknown-architecture", "app.py", "limits.unknown_type", state=_spec("local", "{unknownarch}")),
    PageCase("inspect-needs-remote-code", "app.py", "model.remote_code", state=_spec("local", "{remote}")),
    # Configure: targets
    PageCase("configure-regex-matches-nothing", "pages/configure.py", "budget.no_match",
             _configure("regex", r".*\.nothing_here")),
    PageCase("configure-regex-unsupported-container", "pages/configure.py", "budget.unsupported_module",
             _configure("regex", r".*\.mlp")),
    PageCase("configure-regex-invalid", "pages/configure.py", "plan.bad_regex", _configure("regex", "(")),
    PageCase("configure-no-targets", "pages/configure.py", "plan.no_targets", _configure("custom", groups=[])),
    PageCase("configure-unknown-model", "pages/configure.py", "model.unknown_catalog",
             state=_spec("catalog", "no-such-model")),
    # Compare: plans files
    PageCase("plans-foreign-json", C, "plans.foreign", _upload("compare.upload", "p.json", b'{"a": 1}', "application/json")),
    PageCase("plans-truncated", C, "plans.not_json",
             _upload("compare.upload", "p.json", _plans_file(plans=[_ITEM])[:-7], "application/json")),
    PageCase("plans-binary", C, "plans.not_json",
             _upload("compare.upload", "p.json", b"\x00\x01\xff\xfe" + os.urandom(256), "application/json")),
    PageCase("plans-non-utf8", C, "plans.not_json",
             _upload("compare.upload", "p.json", '{"format": "é"}'.encode("latin-1"), "application/json")),
    PageCase("plans-json-bomb-deep-nesting", C, "plans.not_json",
             _upload("compare.upload", "p.json", DEEP_JSON, "application/json")),
    PageCase("plans-10mb-single-line", C, "plans.too_big",
             _upload("compare.upload", "p.json", HUGE_LINE, "application/json")),
    PageCase("plans-bad-rank-inside", C, "plans.bad_item",
             _upload("compare.upload", "p.json", _plans_file(plans=[{**_ITEM, "plan": {"targets": ["c_attn"], "r": 0}}]),
                     "application/json")),
    PageCase("plans-too-many", C, "plans.too_many",
             _upload("compare.upload", "p.json", _plans_file(plans=[_ITEM] * 51), "application/json")),
    PageCase("plans-wrong-version", C, "plans.bad_version",
             _upload("compare.upload", "p.json", json.dumps({**PLANS_OK, "version": 99}).encode(), "application/json")),
    PageCase("compare-saved-plan-on-missing-model", C, "model.unknown_catalog",
             state=lambda f: {"compare.plans": {**copy.deepcopy(PLANS), "ghost": {
                 "model": ModelSpec("catalog", "no-such-model"), "plan": PLANS["qv r=8"]["plan"]}}}),
    # Train: uploaded data
    PageCase("upload-binary-csv", TR, "data.binary",
             _upload("train.upload", "data.csv", b"\x00\x01\x02\x03" * 64, "text/csv", _train_upload())),
    PageCase("upload-non-utf8-csv", TR, "data.not_utf8",
             _upload("train.upload", "data.csv", "text,response\ncafé,oui\n".encode("cp949", "replace") + b"\xff\xfe",
                     "text/csv", _train_upload())),
    PageCase("upload-oversized-csv", TR, "data.too_large",
             _upload("train.upload", "big.csv", b"text,response\n" + b"a,b\n" * (21 * 2**20 // 4), "text/csv",
                     _train_upload())),
    PageCase("upload-broken-jsonl-line", TR, "data.jsonl_bad_line",
             _upload("train.upload", "data.jsonl", JSONL_BROKEN, "application/jsonl", _train_upload())),
    PageCase("upload-name-with-path-separators", TR, None,
             _upload("train.upload", "../../../etc/cron.d/evil.csv", CSV_OK, "text/csv", _train_upload())),
    PageCase("upload-name-with-backslashes", TR, None,
             _upload("train.upload", "..\\..\\windows\\system32\\evil.csv", CSV_OK, "text/csv", _train_upload())),
    PageCase("upload-single-class-for-classification", TR, "data.single_class",
             _upload("train.upload", "one.csv", CSV_ONE_CLASS, "text/csv", _train_upload("minilm"))),
    # Analyze: uploaded adapters
    PageCase("adapter-zip-dotdot-path", AN, "zip.unsafe_path",
             _upload("analyze.upload", "a.zip", ZIPS["dotdot"], "application/zip", _analyze_upload)),
    PageCase("adapter-zip-symlink", AN, "zip.symlink",
             _upload("analyze.upload", "a.zip", ZIPS["symlink"], "application/zip", _analyze_upload)),
    PageCase("adapter-prefix-tuning", AN, "analysis.not_lora",
             _upload("analyze.upload", "a.zip", ZIPS["prefix"], "application/zip", _analyze_upload)),
    PageCase("adapter-corrupted-safetensors", AN, "analysis.bad_safetensors",
             _upload("analyze.upload", "a.zip", ZIPS["corrupt"], "application/zip", _analyze_upload)),
    PageCase("adapter-not-a-zip", AN, "zip.bad_zip",
             _upload("analyze.upload", "a.zip", ZIPS["notzip"], "application/zip", _analyze_upload)),
]


def _screen(at: AppTest) -> list[str]:
    return [e.value for e in (*at.error, *at.warning, *at.info)]


@pytest.mark.parametrize("case", PAGE_CASES, ids=[c.id for c in PAGE_CASES])
def test_page_bad_input_shows_message_and_keeps_state(case: PageCase, folders, manager, monkeypatch):
    monkeypatch.setattr(core.training.jobs, "_MANAGER", manager)
    jobs_before = _jobs_view(manager)
    at = AppTest.from_file(str(ROOT / case.page), default_timeout=TIMEOUT)
    at.session_state["app.visitor"] = SID
    state = case.state(folders)
    seed_plans(SID, state.pop("compare.plans", copy.deepcopy(PLANS)))
    for key, value in state.items():
        at.session_state[key] = value
    plans_before = _plans_view(plans_of(SID))
    at.run()
    case.steps(at, folders)
    TALLY["inputs"] += 1
    assert not at.exception, [e.value for e in at.exception]
    texts = _screen(at)
    if case.key is None:
        assert not at.error, [e.value for e in at.error]
        preview = t("trainpage.preview", "en", n=8, train=7, val=1)
        assert any(e.label == preview for e in at.expander), [e.label for e in at.expander]
    else:
        _assert_message(texts, case.key)
    assert not any("Traceback" in text for text in texts)
    plans_after = _plans_view(plans_of(SID))
    jobs_after = _jobs_view(manager)
    lost = (plans_after != plans_before) + (jobs_after != jobs_before)
    TALLY["lost"] += lost
    assert plans_after == plans_before
    assert jobs_after == jobs_before
    assert not Path(folders["root"], "PWNED").exists(), "repository code ran"


@pytest.mark.parametrize("elsewhere", ["app.py", "pages/compare.py", "pages/train.py", "pages/analyze.py"])
def test_configure_choices_survive_a_visit_to_another_page(elsewhere, manager, monkeypatch):
    """Streamlit drops a widget's value after a run that does not draw it; the pages keep them."""
    monkeypatch.setattr(core.training.jobs, "_MANAGER", manager)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    reset_visitor(SID)
    at.session_state["app.visitor"] = SID
    at.session_state["app.model_spec"] = ModelSpec("catalog", "gpt2")
    at.run()
    at.switch_page("pages/configure.py")
    at.run()
    at.number_input(key="configure.w.r").set_value(4).run()
    at.session_state["configure.w.groups"] = ["c_attn", "c_fc"]  # the per-group table's ticks
    at.run()
    at.number_input(key="memory.w.batch").set_value(2).run()
    before = at.session_state["configure.plan"]
    at.switch_page("pages/inspect.py" if elsewhere == "app.py" else elsewhere)
    at.run()
    at.switch_page("pages/configure.py")
    at.run()
    TALLY["inputs"] += 1
    assert not at.exception and not at.error, [e.value for e in at.error]
    after = at.session_state["configure.plan"]
    lost = (after.targets, after.r) != (before.targets, before.r) or at.number_input(key="memory.w.batch").value != 2
    TALLY["lost"] += lost
    assert (after.targets, after.r) == (("c_attn", "c_fc"), 4)
    assert at.number_input(key="configure.w.r").value == 4
    assert at.number_input(key="memory.w.batch").value == 2


def test_uploaded_file_name_is_never_used_as_a_path(folders):
    """A name full of separators only lends its extension; nothing is written anywhere."""
    from core.data.upload import parse_upload

    TALLY["inputs"] += 1
    before = set(os.listdir(folders["root"]))
    frame = parse_upload("../../../../tmp/evil.csv", CSV_OK)
    assert list(frame.columns) == ["text", "response"]
    assert set(os.listdir(folders["root"])) == before
    assert not Path("/tmp/evil.csv").exists() or Path("/tmp/evil.csv").read_bytes() != CSV_OK
    for name, key in (("dir/evil", "data.no_extension"), ("..\\..\\evil.exe", "data.unsupported_type"),
                      ("evil.csv/", "data.no_extension")):
        TALLY["inputs"] += 1
        with pytest.raises(LensError) as info:
            parse_upload(name, CSV_OK)
        assert info.value.key == key


# --- the CLI ----------------------------------------------------------------------------------------

CLI_CASES = [
    ("layers-unknown-catalog-name", ["layers", "no-such-model-xyz"], "model.hub_unreachable"),
    ("layers-malformed-hub-id", ["layers", "bad id!!"], "model.bad_hub_id"),
    ("layers-hub-unreachable", ["layers", "some-org/some-model"], "model.hub_unreachable"),
    ("layers-no-config-json", ["layers", "{noconf}"], "model.no_config_json"),
    ("layers-invalid-config-json", ["layers", "{badconf}"], "model.bad_config_json"),
    ("layers-needs-remote-code", ["layers", "{remote}"], "model.remote_code"),
    ("layers-bad-task", ["layers", "gpt2", "--task", "dance"], None),
    ("budget-r-zero", ["budget", "gpt2", "--r", "0"], "plan.bad_r"),
    ("budget-r-huge", ["budget", "gpt2", "--r", "1000000"], "plan.bad_r"),
    ("budget-r-not-a-number", ["budget", "gpt2", "--r", "abc"], None),
    ("budget-alpha-zero", ["budget", "gpt2", "--alpha", "0"], "plan.bad_alpha"),
    ("budget-alpha-negative", ["budget", "gpt2", "--alpha", "-2"], "plan.bad_alpha"),
    ("budget-alpha-nan", ["budget", "gpt2", "--alpha", "nan"], "plan.bad_alpha"),
    ("budget-dropout-1.5", ["budget", "gpt2", "--dropout", "1.5"], "plan.bad_dropout"),
    ("budget-blocks-out-of-range", ["budget", "gpt2", "--layers", "99"], "plan.bad_layers"),
    ("budget-blocks-negative", ["budget", "gpt2", "--layers=-1"], "plan.bad_layers"),
    ("budget-blocks-not-numbers", ["budget", "gpt2", "--layers", "a,b"], "memory.cli.bad_layers"),
    ("budget-target-matches-nothing", ["budget", "gpt2", "--target", "nothing_here"], "budget.no_match"),
    ("budget-regex-unsupported-container", ["budget", "gpt2", "--target", r".*\.mlp"], "budget.unsupported_module"),
    ("budget-regex-invalid", ["budget", "gpt2", "--target", "("], "plan.bad_regex"),
    ("memory-batch-zero", ["memory", "gpt2", "--batch", "0"], "memory.bad_batch"),
    ("memory-seq-len-negative", ["memory", "gpt2", "--seq-len", "-5"], "memory.bad_seq_len"),
    ("memory-bad-precision", ["memory", "gpt2", "--precision", "fp7"], None),
    ("train-catalog-model-has-no-weights", ["train", "gpt2", "--data", "chatterbot-en"], "train.no_weights"),
    ("train-missing-data-file", ["train", "smollm2", "--data", "{root}/missing.csv"], "train.no_data_file"),
    ("train-binary-csv", ["train", "smollm2", "--data", "{binary.csv}"], "data.binary"),
    ("train-non-utf8-csv", ["train", "smollm2", "--data", "{latin1.csv}"], "data.not_utf8"),
    ("train-oversized-csv", ["train", "smollm2", "--data", "{huge.csv}"], "data.too_large"),
    ("train-broken-jsonl-line", ["train", "smollm2", "--data", "{broken.jsonl}"], "data.jsonl_bad_line"),
    ("train-single-class", ["train", "minilm", "--task", "seq-cls", "--data", "{oneclass.csv}"], "data.single_class"),
    ("train-dropout-1.5", ["train", "smollm2", "--data", "chatterbot-en", "--dropout", "1.5", "--steps", "1"],
     "plan.bad_dropout"),
    ("train-steps-zero", ["train", "smollm2", "--data", "chatterbot-en", "--steps", "0"], "train.bad_setting"),
    ("analyze-zip-dotdot", ["analyze", "{dotdot.zip}"], "zip.unsafe_path"),
    ("analyze-zip-symlink", ["analyze", "{symlink.zip}"], "zip.symlink"),
    ("analyze-prefix-tuning-folder", ["analyze", "{prefix_adapter}"], "analysis.not_lora"),
    ("analyze-corrupted-safetensors", ["analyze", "{corrupt.zip}"], "analysis.bad_safetensors"),
    ("analyze-not-a-zip", ["analyze", "{notzip.zip}"], "zip.bad_zip"),
    ("analyze-missing-folder", ["analyze", "{root}/nope"], "analysis.no_folder"),
]


@pytest.mark.parametrize("argv,key", [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES])
def test_cli_bad_input_exits_2_with_one_line(argv, key, folders, capsys):
    from core.cli.main import main

    argv = [_fill(a, folders) for a in argv]
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse errors
        code = exc.code
    out, err = capsys.readouterr()
    TALLY["inputs"] += 1
    assert code == 2, (code, err)
    assert "Traceback" not in err + out
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    if key is not None:
        _assert_message([err], key)
    assert not Path(folders["root"], "PWNED").exists()


def test_cli_in_a_real_process_prints_no_traceback(folders):
    """The same promise at the process boundary: ``python -m core`` exits 2 with one line."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "core", "analyze", folders["dotdot.zip"]],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
    )
    TALLY["inputs"] += 1
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert len(proc.stderr.strip().splitlines()) == 1
    _assert_message([proc.stderr], "zip.unsafe_path")


# --- the core API (what pages cannot even offer) -------------------------------------------------


def test_catalog_model_cannot_be_submitted_for_training(manager):
    before = _jobs_view(manager)
    TALLY["inputs"] += 1
    with pytest.raises(LensError) as info:
        manager.submit(SID, ModelSpec("catalog", "gpt2", "causal-lm"), SFT_PLAN.with_changes(targets=("c_attn",)),
                       _dataset(), None, TrainSettings())
    assert info.value.key == "train.no_weights"
    assert _jobs_view(manager) == before


@pytest.mark.parametrize("settings,key", [
    (TrainSettings(batch_size=0), "train.bad_setting"),
    (TrainSettings(max_seq_len=10**9), "train.bad_setting"),
    (TrainSettings(learning_rate=5.0), "train.bad_lr"),
    (TrainSettings(precision="fp8"), "train.bad_precision"),
], ids=["batch-0", "seq-len-huge", "lr-5", "precision-fp8"])
def test_bad_training_settings_are_refused_before_queueing(manager, settings, key):
    before = _jobs_view(manager)
    TALLY["inputs"] += 1
    with pytest.raises(LensError) as info:
        manager.submit(SID, SMOLLM, SFT_PLAN, _dataset(), None, settings)
    assert info.value.key == key
    assert _jobs_view(manager) == before


@pytest.mark.parametrize("batch,seq,key", [
    (0, 512, "memory.bad_batch"), (4, 0, "memory.bad_seq_len"), (-1, 512, "memory.bad_batch"),
    (4, 1.5, "memory.bad_seq_len"), (4096, 1_048_576, "memory.too_many_tokens"),
], ids=["batch-0", "seq-0", "batch-negative", "seq-fraction", "tokens-huge"])
def test_bad_memory_settings(batch, seq, key):
    from core.planning.memory import MemorySettings

    TALLY["inputs"] += 1
    with pytest.raises(LensError) as info:
        MemorySettings("bf16", batch, seq, False)
    assert info.value.key == key


def test_inspecting_a_bf16_model_never_touches_torchs_global_dtype(monkeypatch):
    """Sessions are threads of one process: building a bf16 catalog model must not switch torch's
    process-wide default dtype, or a training run in another thread gets bf16 tensors mid-load."""
    from core.models.meta import build_meta_model
    from core.models.sources import load_config

    calls = []
    real = torch.set_default_dtype
    monkeypatch.setattr(torch, "set_default_dtype", lambda dtype: (calls.append(dtype), real(dtype))[1])
    TALLY["inputs"] += 1
    for slug in ("llama-3.2-1b", "gemma-3-4b", "falcon-7b"):
        build_meta_model(load_config(ModelSpec("catalog", slug)))
    assert calls == [] and torch.get_default_dtype() == torch.float32


def test_training_loads_weights_in_fp32(monkeypatch):
    import transformers

    from core.training.loader import load_model

    seen = []

    def spy(*args, **kwargs):
        seen.append(kwargs.get("dtype"))
        raise OSError("stop")

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", spy)
    with pytest.raises(LensError):
        load_model("/nowhere", "causal-lm", (), 0)
    assert seen == [torch.float32]


# --- faults in background training ----------------------------------------------------------------


def _submit(mgr: JobManager, owner: str = SID, r: int = 8) -> str:
    return mgr.submit(owner, SMOLLM, SFT_PLAN.with_changes(r=r), _dataset(), None, TrainSettings())


def test_runner_out_of_memory_fails_the_run_and_the_manager_survives(tmp_path):
    def runner(spec, plan, train, val, settings, workdir, state):
        if plan.r == 16:
            state.start(settings.max_steps)
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return fake_runner(spec, plan, train, val, settings, workdir, state)

    mgr = JobManager(root=tmp_path, runner=runner)
    first = _submit(mgr)
    assert mgr.get(SID, first).state.wait(10)
    before = _jobs_view(mgr)
    oom = _submit(mgr, r=16)
    TALLY["faults"] += 1
    assert mgr.get(SID, oom).state.wait(10)
    snap = mgr.get(SID, oom).snapshot
    assert snap.status == "failed" and snap.error_key in ("train.oom", "err.unexpected")
    message = t(snap.error_key, "en", **snap.error_params)
    assert "memory" in message.lower() and "Traceback" not in message
    after = _submit(mgr)  # the worker thread is alive and takes the next run
    assert mgr.get(SID, after).state.wait(10)
    assert mgr.get(SID, after).snapshot.status == "done"
    lost = _jobs_view(mgr)[: len(before)] != before
    TALLY["lost"] += lost
    assert not lost


def test_out_of_memory_inside_training_maps_to_a_clear_message(tmp_path, monkeypatch):
    """The real ``run_training`` path: an OOM raised while preparing becomes ``train.oom``."""

    def prepare(*args, **kwargs):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(core.training.engine, "prepare", prepare)
    mgr = JobManager(root=tmp_path, runner=run_training)
    job_id = mgr.submit(SID, SMOLLM, SFT_PLAN, _dataset(), None, TrainSettings(batch_size=64))
    TALLY["faults"] += 1
    assert mgr.get(SID, job_id).state.wait(10)
    snap = mgr.get(SID, job_id).snapshot
    assert (snap.status, snap.error_key) == ("failed", "train.oom")
    assert snap.error_params["batch"] == 64
    assert "64" in t("train.oom", "ko", **snap.error_params)


def test_stop_mid_run_keeps_the_partial_adapter_and_the_queue_holds(tmp_path):
    started, release = threading.Event(), threading.Event()

    def slow(spec, plan, train, val, settings, workdir, state):
        if plan.r != 4:
            return fake_runner(spec, plan, train, val, settings, workdir, state)
        state.start(100)
        step = 0
        while not state.stop_requested:
            step += 1
            state.step(step, step * 10)
            state.log_loss(step, 1.0, 1e-4)
            started.set()
            release.wait(0.01)
        _fake_adapter(workdir / "adapter")
        result = _result(spec, plan, train, val, settings, workdir / "adapter")
        state.finish("stopped", result=result)
        return result

    mgr = JobManager(root=tmp_path, runner=slow)
    running = _submit(mgr, r=4)
    assert started.wait(10)
    waiting = _submit(mgr)
    dropped = _submit(mgr, owner="someone-else")
    assert mgr.queue_position(running) == 0
    assert mgr.queue_position(waiting) == 1 and mgr.queue_position(dropped) == 2
    assert mgr.get(SID, waiting).snapshot.status == "queued"
    mgr.stop("someone-else", dropped)  # a queued run is dropped without running
    assert mgr.get("someone-else", dropped).snapshot.status == "stopped"
    mgr.stop(SID, running)
    TALLY["faults"] += 1
    assert mgr.get(SID, running).state.wait(10)
    job = mgr.get(SID, running)
    assert job.snapshot.status == "stopped" and job.snapshot.step >= 1
    assert sorted(p.name for p in job.adapter_dir.iterdir()) == ["adapter_config.json", "adapter_model.safetensors"]
    assert mgr.get(SID, waiting).state.wait(10)
    assert mgr.get(SID, waiting).snapshot.status == "done"
    assert mgr.get("someone-else", dropped).snapshot.step == 0  # never ran


class _DiskFull:
    """A model whose ``save_pretrained`` writes half a file and then finds the disk full."""

    def save_pretrained(self, folder: str, **kwargs) -> None:
        Path(folder, "adapter_model.safetensors").write_bytes(b"\x00" * 1024)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


def test_full_disk_on_adapter_save_keeps_the_previous_adapter(tmp_path):
    """Atomic save: the old adapter stays whole, and no half-written folder remains."""
    target = tmp_path / "adapter"
    _fake_adapter(target)
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    result = _result(SMOLLM, SFT_PLAN, _dataset(), None, TrainSettings(), None)
    result.model = _DiskFull()
    TALLY["faults"] += 1
    with pytest.raises(OSError) as info:
        save_adapter(result, target)
    assert info.value.errno == errno.ENOSPC
    after = {p.name: p.read_bytes() for p in target.iterdir()}
    lost = after != before
    TALLY["lost"] += lost
    assert not lost
    assert _leftovers(tmp_path) == []
    result.model = type("Fine", (), {"save_pretrained": lambda self, folder, **k: _fake_adapter(Path(folder))})()
    save_adapter(result, tmp_path / "fresh")
    assert (tmp_path / "fresh" / "README.md").is_file() and _leftovers(tmp_path) == []


def test_full_disk_during_a_background_run(tmp_path, monkeypatch, manager):
    """Through the job manager: the run fails with a sentence, leaves no folder, the next run works."""

    def prepare(spec, plan, train, val, settings, shared=None):
        return _result(spec, plan, train, val, settings, None)

    def fit(result, workdir, state):
        state.start(2)
        result.model = _DiskFull()
        save_adapter(result, workdir / "adapter")

    monkeypatch.setattr(core.training.engine, "prepare", prepare)
    monkeypatch.setattr(core.training.engine, "fit", fit)
    mgr = JobManager(root=tmp_path, runner=run_training)
    job_id = _submit(mgr)
    TALLY["faults"] += 1
    assert mgr.get(SID, job_id).state.wait(10)
    job = mgr.get(SID, job_id)
    snap = job.snapshot
    assert snap.status == "failed"
    message = t(snap.error_key, "en", **snap.error_params)
    assert "No space left" in message and "Traceback" not in message
    assert not (job.workdir / "adapter").exists() and _leftovers(job.workdir) == []
    monkeypatch.setattr(core.training.engine, "fit", lambda result, workdir, state: fake_runner(
        result.spec, result.plan, _dataset(), None, result.settings, workdir, state))
    nxt = _submit(mgr)
    assert mgr.get(SID, nxt).state.wait(10) and mgr.get(SID, nxt).snapshot.status == "done"
    assert _jobs_view(manager)  # the shared visitor's runs are untouched by other managers


def test_a_runner_that_raises_anything_never_kills_the_worker(tmp_path):
    calls = []

    def runner(spec, plan, train, val, settings, workdir, state):
        calls.append(plan.r)
        if plan.r == 2:
            raise SystemExit("runner exited")
        if plan.r == 3:
            return None  # ends without a status
        return fake_runner(spec, plan, train, val, settings, workdir, state)

    mgr = JobManager(root=tmp_path, runner=runner)
    ids = [_submit(mgr, r=r) for r in (2, 3, 8)]
    TALLY["faults"] += 2
    for job_id in ids:
        assert mgr.get(SID, job_id).state.wait(10)
    assert [mgr.get(SID, i).snapshot.status for i in ids] == ["failed", "failed", "done"]
    assert all(mgr.get(SID, i).snapshot.error_key in (None, "err.unexpected") for i in ids)


def _train_page(tmp_path, monkeypatch) -> tuple[AppTest, JobManager]:
    """The Train page of the app, for one visitor, over a job manager with instant fake runs."""
    mgr = JobManager(root=tmp_path / "runs", runner=fake_runner)
    monkeypatch.setattr(core.training.jobs, "_MANAGER", mgr)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    reset_visitor(PAGE_SID)
    at.session_state["app.visitor"] = PAGE_SID
    at.run()
    at.switch_page("pages/train.py").run()
    return at, mgr


def test_starting_a_run_shows_it_even_after_picking_an_older_one(tmp_path, monkeypatch):
    """The run picker keeps the visitor's pick across reruns; a new run must still take its place."""
    at, mgr = _train_page(tmp_path, monkeypatch)
    at.number_input(key="train.steps.causal-lm").set_value(2).run()
    for expected in (1, 2, 3):
        at.button(key="train.start").click().run()
        jobs = mgr.jobs_of(PAGE_SID)
        assert len(jobs) == expected and jobs[-1].state.wait(10)
        at.run()
        assert at.selectbox(key="train.pick").value == jobs[-1].id, expected
        if expected == 2:
            at.selectbox(key="train.pick").set_value(jobs[0].id).run()  # look back at the first run
            assert at.selectbox(key="train.pick").value == jobs[0].id
    assert not at.exception, [e.value for e in at.exception]


@pytest.mark.parametrize(("data", "korean"), [("chatterbot-ko", True), ("chatterbot-en", False)])
def test_playground_greets_in_the_language_of_the_training_data(data, korean, tmp_path, monkeypatch):
    at, mgr = _train_page(tmp_path, monkeypatch)
    at.selectbox(key="train.data.causal-lm").set_value(data).run()
    at.button(key="train.start").click().run()
    job = mgr.jobs_of(PAGE_SID)[-1]
    assert job.state.wait(10)
    at.run()
    prompt = at.text_area(key=f"train.prompt.{job.id}").value
    assert bool(re.search(r"[\uac00-\ud7a3]", prompt)) is korean, prompt
