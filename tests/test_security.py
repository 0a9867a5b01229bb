"""Security: no repository code runs unless the operator allows it, nothing is unpickled,
visitors cannot reach each other's runs, and a Hub token never reaches a log.
"""

from __future__ import annotations

import ast
import errno
import io
import json
import logging
import os
import pickle
import socket
import traceback
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import core.training.jobs
from core.data.dataset import Example, TextDataset
from core.errors import LensError
from core.i18n import t
from core.models.sources import TRUST_REMOTE_CODE_ENV, ModelSpec, load_config, remote_code_allowed
from core.planning.plan import LoraPlan
from core.training.jobs import JobManager
from core.training.settings import TrainSettings
from tests.visitors import reset_visitor, submit_recorded

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
CODE_FILES = sorted([ROOT / "app.py", *(ROOT / "core").rglob("*.py"), *(ROOT / "ui").rglob("*.py"),
                     *(ROOT / "pages").rglob("*.py")])
TOKEN = "hf_SECRETSECRET"
SMOLLM = ModelSpec("embedded", "smollm2")
PLAN = LoraPlan(targets=("q_proj", "v_proj"), r=8, lora_alpha=16, task="causal-lm")
# Loaders that take no trust_remote_code: PEFT adapters are weights + JSON, never code.
NO_REMOTE_CODE_API = {"PeftModel"}


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    real_connect = socket.socket.connect

    def refuse(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise OSError(errno.ENETUNREACH, "network disabled in tests")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.delenv(TRUST_REMOTE_CODE_ENV, raising=False)


def _trees() -> list[tuple[str, ast.AST]]:
    files = [p for p in CODE_FILES if p.is_file()]
    assert len(files) > 30
    return [(str(p.relative_to(ROOT)), ast.parse(p.read_text(encoding="utf-8"))) for p in files]


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return "?"


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            yield node, _dotted(node.func)


# --- trust_remote_code ----------------------------------------------------------------------------


def _safe_remote_code_value(value: ast.AST) -> bool:
    if isinstance(value, ast.Constant) and value.value is False:
        return True
    if isinstance(value, ast.Call) and _dotted(value.func).endswith("remote_code_allowed"):
        return True
    return isinstance(value, ast.Name)  # a local variable: checked below to come from remote_code_allowed()


def test_every_loader_passes_trust_remote_code_explicitly():
    """Every ``*.from_pretrained`` / ``AutoConfig`` call says trust_remote_code=remote_code_allowed() or False."""
    found, bad = 0, []
    for rel, tree in _trees():
        source = ast.unparse(tree)
        for call, name in _calls(tree):
            if not (name.endswith(".from_pretrained") or name.startswith("AutoConfig")):
                continue
            if name.split(".")[0] in NO_REMOTE_CODE_API:
                continue
            found += 1
            kwargs = {k.arg: k.value for k in call.keywords}
            value = kwargs.get("trust_remote_code")
            if value is None:
                splat = [k.value for k in call.keywords if k.arg is None]
                ok = bool(splat) and "{'trust_remote_code': remote_code_allowed()" in source
            else:
                ok = _safe_remote_code_value(value)
                if isinstance(value, ast.Name):  # e.g. remote = remote_code_allowed()
                    ok = f"{value.id} = remote_code_allowed()" in source
                    # or a parameter that defaults to False (the standalone recipe; the app passes the switch)
                    ok = ok or f"{value.id}: bool=False" in source  # as ast.unparse writes it
            if not ok:
                bad.append(f"{rel}:{call.lineno} {name}")
    assert found >= 8, f"the scan found only {found} loaders: is it still right?"  # one loader per kind now
    assert not bad, f"loaders without trust_remote_code=remote_code_allowed() or False: {bad}"


@pytest.mark.parametrize("value,allowed", [
    (None, False), ("", False), ("0", False), ("false", False), ("no", False), ("on", False),
    ("1", True), ("true", True), ("YES", True),
])
def test_remote_code_is_the_operators_choice(monkeypatch, value, allowed):
    if value is not None:
        monkeypatch.setenv(TRUST_REMOTE_CODE_ENV, value)
    assert remote_code_allowed() is allowed


@pytest.fixture()
def remote_folder(tmp_path) -> Path:
    """A model folder whose config asks for repository code that leaves a mark if it ever runs."""
    folder = tmp_path / "remote-model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({
        "model_type": "evil", "architectures": ["EvilForCausalLM"],
        "auto_map": {"AutoConfig": "configuration_evil.EvilConfig", "AutoModelForCausalLM": "modeling_evil.Evil"},
    }), encoding="utf-8")
    marker = tmp_path / "PWNED"
    payload = f"open({str(marker)!r}, 'w').write('repository code ran')\n"
    (folder / "configuration_evil.py").write_text(payload, encoding="utf-8")
    (folder / "modeling_evil.py").write_text(payload, encoding="utf-8")
    return folder


def test_config_with_auto_map_is_refused_and_its_code_never_runs(remote_folder):
    with pytest.raises(LensError) as info:
        load_config(ModelSpec("local", str(remote_folder)))
    assert info.value.key == "model.remote_code"
    assert TRUST_REMOTE_CODE_ENV in info.value.message("en")
    assert not (remote_folder.parent / "PWNED").exists()


def test_the_app_shows_the_refusal_and_runs_nothing(remote_folder):
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["app.model_spec"] = ModelSpec("local", str(remote_folder))
    at.run()
    assert not at.exception
    assert any(t("model.remote_code", "en", env=TRUST_REMOTE_CODE_ENV) == e.value for e in at.error)
    assert not (remote_folder.parent / "PWNED").exists()


class _Stop(Exception):
    pass


def test_operator_opt_in_is_what_reaches_transformers(monkeypatch, remote_folder):
    """With the variable set, AutoConfig is asked with trust_remote_code=True; without it, never."""
    from transformers import AutoConfig

    seen = []

    def spy(*args, **kwargs):
        seen.append(kwargs.get("trust_remote_code"))
        raise _Stop

    monkeypatch.setattr(AutoConfig, "from_pretrained", spy)
    plain = remote_folder.parent / "plain"
    plain.mkdir()
    (plain / "config.json").write_text('{"model_type": "gpt2"}', encoding="utf-8")
    with pytest.raises(LensError) as info:  # whatever transformers raises becomes one sentence
        load_config(ModelSpec("local", str(plain)))
    assert isinstance(info.value.__cause__, _Stop)
    monkeypatch.setenv(TRUST_REMOTE_CODE_ENV, "1")
    with pytest.raises(LensError) as info:
        load_config(ModelSpec("local", str(remote_folder)))
    assert isinstance(info.value.__cause__, _Stop)
    assert seen == [False, True]


def test_training_and_adapter_loaders_pass_the_same_switch(monkeypatch, tmp_path):
    import transformers

    from core.adapters import load as adapter_io
    from core.training import loader as train_model

    seen = []

    def spy(*args, **kwargs):
        seen.append(kwargs.get("trust_remote_code", "MISSING"))
        raise OSError("stop here")

    for cls in ("AutoTokenizer", "AutoModelForCausalLM", "AutoModelForSequenceClassification", "AutoModel"):
        monkeypatch.setattr(getattr(transformers, cls), "from_pretrained", spy)
    for call in (
        lambda: train_model.load_tokenizer(str(tmp_path)),
        lambda: train_model.load_model(str(tmp_path), "causal-lm", (), 0),
        lambda: train_model.load_model(str(tmp_path), "seq-cls", ("a", "b"), 0),
        lambda: adapter_io.load_base_model(str(tmp_path), "causal-lm"),
        lambda: adapter_io.load_base_model(str(tmp_path), "seq-cls"),
    ):
        with pytest.raises(LensError):
            call()
    assert seen == [False] * 5
    monkeypatch.setenv(TRUST_REMOTE_CODE_ENV, "1")
    with pytest.raises(LensError):
        train_model.load_tokenizer(str(tmp_path))
    assert seen[-1] is True


# --- nothing is unpickled ---------------------------------------------------------------------------

UNSAFE_CALLS = {"pickle.load", "pickle.loads", "pickle.Unpickler", "cPickle.load", "cPickle.loads", "dill.load",
                "dill.loads", "joblib.load", "pd.read_pickle", "pandas.read_pickle", "marshal.load", "marshal.loads",
                "shelve.open", "eval", "exec"}
UNSAFE_IMPORTS = {"pickle", "cPickle", "_pickle", "dill", "joblib", "shelve", "marshal", "cloudpickle"}


def test_no_pickle_and_torch_load_only_with_weights_only():
    bad, torch_loads = [], 0
    for rel, tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
                bad += [f"{rel}:{node.lineno} import {n}" for n in names if n and n.split(".")[0] in UNSAFE_IMPORTS]
        for call, name in _calls(tree):
            kwargs = {k.arg: k.value for k in call.keywords}
            if name in UNSAFE_CALLS or name.endswith(".read_pickle"):
                bad.append(f"{rel}:{call.lineno} {name}")
            if name == "torch.load" or name.endswith(".torch.load"):
                torch_loads += 1
                value = kwargs.get("weights_only")
                if not (isinstance(value, ast.Constant) and value.value is True):
                    bad.append(f"{rel}:{call.lineno} torch.load without weights_only=True")
            if name in ("np.load", "numpy.load"):
                value = kwargs.get("allow_pickle")
                if value is not None and not (isinstance(value, ast.Constant) and value.value is False):
                    bad.append(f"{rel}:{call.lineno} np.load(allow_pickle=...)")
            if name in ("yaml.load", "yaml.unsafe_load", "yaml.full_load"):
                bad.append(f"{rel}:{call.lineno} {name} (use yaml.safe_load)")
    assert not bad, bad
    assert torch_loads >= 1, "the .bin adapter path should still be found by the scan"


class _Payload:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "pickle payload ran"))


def test_a_pickled_adapter_payload_is_refused_without_running(tmp_path):
    from core.adapters.load import read_adapter_zip

    marker = tmp_path / "PWNED"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("adapter_config.json", json.dumps({"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": 4}))
        zf.writestr("adapter_model.bin", pickle.dumps({"w": _Payload(marker)}))
    with pytest.raises(LensError) as info:
        read_adapter_zip(buffer.getvalue())
    assert info.value.key == "analysis.bad_bin"
    assert not marker.exists()


# --- visitors are isolated ----------------------------------------------------------------------------


def _instant(spec, plan, train, val, settings, workdir, state):
    state.start(1)
    state.finish("done")


def _ds() -> TextDataset:
    return TextDataset("tiny", tuple(Example(f"q{i}", response=f"a{i}") for i in range(4)))


def test_a_visitor_cannot_reach_another_visitors_job(tmp_path):
    mgr = JobManager(root=tmp_path, runner=_instant)
    alice, bob = "a" * 32, "b" * 32
    job_id = mgr.submit(alice, SMOLLM, PLAN, _ds(), None, TrainSettings())
    assert mgr.get(alice, job_id).state.wait(10)
    assert len(job_id) == 32 and int(job_id, 16) >= 0  # uuid4 hex: unguessable
    for attempt in (lambda: mgr.get(bob, job_id), lambda: mgr.stop(bob, job_id), lambda: mgr.remove(bob, job_id),
                    lambda: mgr.get("", job_id), lambda: mgr.get(alice.upper(), job_id)):
        with pytest.raises(LensError) as info:
            attempt()
        assert info.value.key == "train.no_job"
    assert mgr.jobs_of(bob) == [] and [j.id for j in mgr.jobs_of(alice)] == [job_id]
    with pytest.raises(LensError) as info:
        mgr.submit("", SMOLLM, PLAN, _ds(), None, TrainSettings())
    assert info.value.key == "train.no_owner"
    assert mgr.get(alice, job_id).snapshot.status == "done"  # untouched by the attempts


def test_another_visitors_page_does_not_show_the_run(tmp_path, monkeypatch):
    mgr = JobManager(root=tmp_path, runner=_instant)
    alice = "a" * 32
    job_id = mgr.submit(alice, SMOLLM, PLAN, _ds(), None, TrainSettings())
    assert mgr.get(alice, job_id).state.wait(10)
    monkeypatch.setattr(core.training.jobs, "_MANAGER", mgr)
    at = AppTest.from_file(str(ROOT / "pages" / "train.py"), default_timeout=120)
    reset_visitor("b" * 32)
    at.session_state["app.visitor"] = "b" * 32
    at.session_state["train.job"] = job_id  # even knowing the id
    at.run()
    assert not at.exception
    assert not [s for s in at.selectbox if s.key == "train.pick"]
    assert mgr.get(alice, job_id).snapshot.status == "done"


@pytest.mark.parametrize("sid", ["../../etc/passwd", "a" * 31, "A" * 32, "<script>", "", "0123456789abcdef" * 2])
def test_a_visitor_id_in_the_url_is_never_adopted_and_is_dropped(sid):
    """The URL is shareable, so it carries no identity: even a well-formed id there opens nobody's workspace."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.query_params["sid"] = sid
    at.run()
    assert not at.exception
    fresh = at.session_state["app.visitor"]
    assert fresh != sid and len(fresh) == 32 and all(c in "0123456789abcdef" for c in fresh)
    assert "sid" not in at.query_params


# --- tokens never reach a log ------------------------------------------------------------------------


@pytest.fixture()
def all_logs(caplog):
    """Everything logged at any level by any logger (huggingface_hub and transformers included)."""
    caplog.set_level(logging.DEBUG)
    for name in ("huggingface_hub", "transformers", "lora_lens", "urllib3", "httpx", "streamlit"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def _assert_no_token(*texts: str) -> None:
    for text in texts:
        assert TOKEN not in text
        assert "SECRETSECRET" not in text


def test_token_passed_to_the_config_loader_is_never_logged(all_logs, capfd):
    with pytest.raises(LensError) as info:
        load_config(ModelSpec("hub", "some/model"), token=TOKEN)
    assert info.value.key == "model.hub_unreachable"
    out, err = capfd.readouterr()
    _assert_no_token(all_logs.text, out, err, info.value.message("en"), info.value.message("ko"),
                     repr(info.value.params), str(info.value))


def test_token_typed_on_the_inspect_page_is_never_logged_or_shown(all_logs, capfd):
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["app.hub_token"] = TOKEN
    at.session_state["app.model_spec"] = ModelSpec("hub", "some/model")
    at.run()
    assert not at.exception
    assert any(t("model.hub_unreachable", "en", repo_id="some/model") == e.value for e in at.error)
    out, err = capfd.readouterr()
    _assert_no_token(all_logs.text, out, err, *(e.value for e in at.error), *(c.value for c in at.caption))


def test_token_for_a_hub_dataset_is_never_logged(all_logs, capfd):
    from core.data.hub import _hub_error, load_hub_dataset

    with pytest.raises(LensError) as info:
        load_hub_dataset("someone/some-data", token=TOKEN)
    assert info.value.key in ("data.hub_offline", "data.hub_needs_datasets")
    leaked = _hub_error(RuntimeError(f"401 Unauthorized for Bearer {TOKEN} and hf_AnotherToken123"), "x/y", TOKEN)
    out, err = capfd.readouterr()
    _assert_no_token(all_logs.text, out, err, info.value.message("en"), leaked.message("en"))
    assert "hf_AnotherToken123" not in leaked.message("en")


@pytest.fixture()
def done_job(tmp_path):
    from core.training.engine import TrainResult
    from core.training.loader import EMBEDDED_HUB_IDS, WeightsSource

    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text('{"peft_type": "LORA"}', encoding="utf-8")

    def runner(spec, plan, train, val, settings, workdir, state):
        result = TrainResult(
            model=None, tokenizer=None, task="causal-lm", labels=(), source=WeightsSource("/x", EMBEDDED_HUB_IDS["smollm2"], False),
            spec=spec, plan=plan, settings=settings, precision="fp32", dataset_name="tiny", train_rows=4, val_rows=1,
            base_params=1, adapter_dir=adapter,
        )  # fmt: skip
        state.finish("done", result=result)

    mgr = JobManager(root=tmp_path / "runs", runner=runner)
    owner = "c" * 32
    job_id = submit_recorded(owner, mgr, SMOLLM, PLAN, _ds(), None, TrainSettings())
    assert mgr.get(owner, job_id).state.wait(10)
    return mgr, owner, mgr.get(owner, job_id)


class _LeakyApi:
    """Stands in for HfApi: fails the way a real HTTP error can, echoing the token it was given."""

    def __init__(self, token=None, **kwargs):
        self.token = token

    def create_repo(self, *args, **kwargs):
        raise RuntimeError(f"401 Client Error: Unauthorized (Authorization: Bearer {self.token})")

    upload_folder = create_repo


def test_token_on_the_push_to_hub_path_is_never_logged(done_job, all_logs, capfd, monkeypatch):
    import huggingface_hub

    from core.adapters.export import push_to_hub

    _, _, job = done_job
    with pytest.raises(LensError) as offline:
        push_to_hub(job, "me/my-adapter", TOKEN)
    assert offline.value.key == "train.hub_offline"
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "0")  # the one offline rule (core.models.hub) reads both
    monkeypatch.setattr(huggingface_hub, "HfApi", _LeakyApi)
    with pytest.raises(LensError) as failed:
        push_to_hub(job, "me/my-adapter", TOKEN)
    with pytest.raises(LensError) as bad_repo:
        push_to_hub(job, f"../{TOKEN}", TOKEN)
    assert bad_repo.value.key == "train.hub_bad_repo"
    out, err = capfd.readouterr()
    logged_traceback = "".join(traceback.format_exception(failed.value))  # what log.exception() would write
    _assert_no_token(all_logs.text, out, err, offline.value.message("en"), failed.value.message("en"),
                     repr(failed.value.params), logged_traceback)


def test_token_typed_in_the_push_form_is_never_logged_or_shown(done_job, all_logs, capfd, monkeypatch):
    import huggingface_hub

    mgr, owner, job = done_job
    monkeypatch.setattr(core.training.jobs, "_MANAGER", mgr)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "0")  # the one offline rule (core.models.hub) reads both
    monkeypatch.setattr(huggingface_hub, "HfApi", _LeakyApi)
    at = AppTest.from_file(str(ROOT / "pages" / "train.py"), default_timeout=120)
    reset_visitor(owner)
    at.session_state["app.visitor"] = owner
    at.run()
    assert not at.exception
    next(w for w in at.text_input if w.label == t("trainpage.repo", "en")).input("me/my-adapter")
    next(w for w in at.text_input if w.label == t("trainpage.token", "en")).input(TOKEN)
    next(b for b in at.button if b.label == t("trainpage.push", "en")).click()
    at.run()
    assert not at.exception
    assert any(t("train.hub_offline", "en") == e.value for e in at.error), [e.value for e in at.error]
    out, err = capfd.readouterr()
    texts = [e.value for e in (*at.error, *at.warning, *at.success, *at.info, *at.markdown, *at.caption)]
    _assert_no_token(all_logs.text, out, err, *texts)
    assert os.environ.get("HF_HUB_OFFLINE") == "0"


def test_every_streamlit_cache_is_bounded():
    """A public Space serves strangers: every st.cache_resource / st.cache_data says how many entries it keeps."""
    unbounded = []
    for rel, tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and ast.unparse(node.func) in ("st.cache_resource", "st.cache_data"):
                if not any(k.arg == "max_entries" for k in node.keywords):
                    unbounded.append(f"{rel}:{node.lineno}")
    decorators = [  # a bare @st.cache_resource (not called) keeps every entry
        f"{rel}:{d.lineno}" for rel, tree in _trees() for f in ast.walk(tree)
        if isinstance(f, ast.FunctionDef) for d in f.decorator_list
        if isinstance(d, ast.Attribute) and ast.unparse(d) in ("st.cache_resource", "st.cache_data")
    ]
    assert not unbounded + decorators, f"caches without max_entries: {unbounded + decorators}"


def test_an_oversized_config_json_is_refused_before_it_is_parsed(tmp_path, monkeypatch):
    import json

    import core.models.sources as sources

    folder = tmp_path / "huge"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"model_type": "gpt2", "pad": "x" * (2 << 20)}))
    monkeypatch.setattr(json, "loads", lambda *a, **k: pytest.fail("parsed an oversized config"))
    with pytest.raises(LensError) as err:
        sources.load_config(ModelSpec("local", str(folder)))
    assert err.value.key == "model.config_too_big"
    assert len(err.value.message("en").splitlines()) == 1
