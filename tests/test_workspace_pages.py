"""The workspace through the pages (AppTest): one test per way the app used to lose or mislabel the visitor's work.

A "reload" here is what a browser reload is to the server: a new session that brings the same visitor cookie.
AppTest runs the router (app.py) only on a session's first run and the page alone after that, so the sidebar's
"Model in use" is checked in the browser journey (tests/test_browser_workspace.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import core.training.jobs
from core.i18n import t
from core.models.spec import ModelSpec
from core.training.jobs import JobManager
from core.training.settings import TrainSettings
from core.workspace.identity import new_visitor_id
from tests.test_i18n import _lang_outside_scripts
from tests.test_robustness import SFT_PLAN, SMOLLM, _dataset, fake_runner
from tests.visitors import plans_of, submit_recorded

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 120


@pytest.fixture(autouse=True)
def _english_outside_scripts(monkeypatch):
    """AppTest formats options in the test thread, outside any session: English there (a test may say otherwise)."""
    import ui.analyze_panels
    import ui.runs
    import ui.train_panels
    import ui.train_results  # noqa: F401 - imported so that their ``lang`` is patched too

    _lang_outside_scripts(monkeypatch, "en")


def _session(visitor: str, page: str | None = None, **state: object) -> AppTest:
    """A browser tab of ``visitor``: a fresh session that carries their cookie (so, the same workspace)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["app.visitor"] = visitor
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _save_proposed(at: AppTest) -> str:
    name = at.text_input(key="configure.save_name").value
    at.button(key="configure.save_btn").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return name


# --- names and overwrites -----------------------------------------------------------------------


def test_four_different_plans_saved_with_proposed_names_are_four_plans_named_after_themselves():
    visitor = new_visitor_id()
    at = _session(visitor, "pages/configure.py")
    names = [_save_proposed(at)]
    at.number_input(key="configure.w.r").set_value(16).run()
    names.append(_save_proposed(at))
    at.button_group(key="configure.w.preset").set_value("attention").run()
    names.append(_save_proposed(at))
    at.button_group(key="configure.w.preset").set_value("all-linear").run()
    names.append(_save_proposed(at))
    saved = plans_of(visitor)
    assert list(saved) == names and len(set(names)) == 4, names
    for name, item in saved.items():  # each name says what its plan is
        plan = item["plan"]
        assert f"r={plan.r}" in name
        assert (plan.target_regex or "+".join(plan.targets)) in name or "attention" in name.lower() or "어텐션" in name


def test_saving_under_a_taken_name_asks_and_changes_nothing_until_answered():
    visitor = new_visitor_id()
    at = _session(visitor, "pages/configure.py")
    at.text_input(key="configure.save_name").set_value("mine").run()
    at.button(key="configure.save_btn").click().run()
    first = plans_of(visitor)["mine"]["plan"]
    at.number_input(key="configure.w.r").set_value(32).run()
    at.text_input(key="configure.save_name").set_value("mine").run()
    at.button(key="configure.save_btn").click().run()
    assert any(t("configure.name_exists", "en", name="`mine`") == w.value for w in at.warning), [w.value for w in at.warning]
    assert plans_of(visitor)["mine"]["plan"] == first  # asked, not overwritten
    at.button(key="configure.keep_both").click().run()
    saved = plans_of(visitor)
    assert saved["mine"]["plan"] == first and saved["mine (2)"]["plan"].r == 32
    at.number_input(key="configure.w.r").set_value(4).run()
    at.text_input(key="configure.save_name").set_value("mine").run()
    at.button(key="configure.save_btn").click().run()
    at.button(key="configure.overwrite").click().run()
    assert plans_of(visitor)["mine"]["plan"].r == 4


def test_a_regex_plan_name_is_shown_and_stored_byte_for_byte():
    visitor = new_visitor_id()
    regex = r".*\.(q_proj|v_proj)"
    at = _session(visitor, "pages/configure.py")
    at.button_group(key="configure.w.preset").set_value("regex").run()
    at.text_input(key="configure.w.regex").input(regex).run()
    name = _save_proposed(at)
    assert regex in name and name in plans_of(visitor)
    assert any(f"`{name}`" in s.value for s in at.success), [s.value for s in at.success]


# --- what a reload used to wipe ------------------------------------------------------------------


def test_a_reload_keeps_language_plans_configure_and_train_settings(monkeypatch):
    visitor = new_visitor_id()
    at = _session(visitor)
    at.radio(key="app.lang").set_value("ko").run()
    _lang_outside_scripts(monkeypatch, "ko")
    at.switch_page("pages/configure.py").run()
    at.number_input(key="configure.w.r").set_value(12).run()
    at.number_input(key="memory.w.seq").set_value(1024).run()
    name = _save_proposed(at)
    at.switch_page("pages/train.py").run()
    at.number_input(key="train.steps.causal-lm").set_value(7).run()

    again = _session(visitor)  # the reload
    assert again.session_state["app.lang"] == "ko"
    assert again.title[0].value == t("inspect.title", "ko")
    again.switch_page("pages/configure.py").run()
    assert again.number_input(key="configure.w.r").value == 12
    assert again.number_input(key="memory.w.seq").value == 1024
    again.switch_page("pages/compare.py").run()
    assert list(again.dataframe[0].value.iloc[:, 0]) == [name]
    again.switch_page("pages/train.py").run()
    assert again.number_input(key="train.steps.causal-lm").value == 7


def test_another_visitor_sees_nothing_of_it():
    owner = new_visitor_id()
    at = _session(owner, "pages/configure.py")
    _save_proposed(at)
    stranger = _session(new_visitor_id(), "pages/compare.py")
    assert not stranger.dataframe and any(t("compare.empty", "en") == i.value for i in stranger.info)


# --- every run everywhere -------------------------------------------------------------------------


@pytest.fixture
def three_runs(tmp_path, monkeypatch):
    mgr = JobManager(root=tmp_path / "runs", runner=fake_runner)
    monkeypatch.setattr(core.training.jobs, "_MANAGER", mgr)
    visitor = new_visitor_id()
    for steps in (5, 6, 7):
        job_id = submit_recorded(visitor, mgr, SMOLLM, SFT_PLAN, _dataset(), None, TrainSettings(max_steps=steps))
        assert mgr.get(visitor, job_id).state.wait(10)
    return visitor, mgr


@pytest.mark.parametrize(("page", "key"), [("pages/train.py", "train.pick"), ("pages/analyze.py", "analyze.job")])
def test_train_and_analyze_list_every_run_with_number_and_planned_steps(three_runs, page, key):
    visitor, _ = three_runs
    at = _session(visitor, page)
    labels = at.selectbox(key=key).options  # as the visitor reads them
    assert [label.split(" · ")[0] for label in labels] == ["#1", "#2", "#3"], labels
    assert [label.rsplit(" · ", 1)[-1] for label in labels] == ["5 steps", "6 steps", "7 steps"]


def test_a_deleted_run_is_gone_from_train_analyze_and_disk(three_runs):
    visitor, mgr = three_runs
    folder = Path(mgr.jobs_of(visitor)[0].workdir)
    at = _session(visitor, "pages/train.py")
    at.selectbox(key="train.pick").set_value(mgr.jobs_of(visitor)[0].id).run()
    at.button(key="train.delete").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert [o.split(" · ")[0] for o in at.selectbox(key="train.pick").options] == ["#2", "#3"]
    assert not folder.exists()
    analyze = _session(visitor, "pages/analyze.py")
    numbers = [o.split(" · ")[0] for o in analyze.selectbox(key="analyze.job").options]
    assert numbers == ["#2", "#3"]  # numbers are never reused or shifted


# --- widgets across a language switch ------------------------------------------------------------


def _shown_index(widget) -> int | None:
    """The option the browser shows as selected (the widget's own index), whatever the language of its labels."""
    return widget.index


def test_a_language_switch_keeps_the_inspect_picker_and_the_analyze_choices(monkeypatch):
    from core.models.spec import TASKS

    at = _session(new_visitor_id())
    at.radio(key="inspect.source").set_value("catalog").run()
    at.selectbox(key="inspect.task").set_value("seq-cls")
    at.button[0].click().run()
    # One switch: AppTest keeps widget values as their formatted labels, so a second switch confuses AppTest
    # itself (the browser journeys switch back and forth).
    for lang in ("ko",):
        # AppTest reruns the page itself, without the router's sidebar: switch the way the sidebar radio does
        at.session_state["app.lang"] = lang
        at.run()  # AppTest sends the widgets' values as the labels of the run before: still English here
        _lang_outside_scripts(monkeypatch, lang)
        assert not at.exception, [e.value for e in at.exception]
        assert _shown_index(at.radio(key="inspect.source")) == ("embedded", "catalog", "hub", "local").index("catalog")
        assert _shown_index(at.selectbox(key="inspect.task")) == ("auto", *TASKS).index("seq-cls")
        assert at.session_state["inspect.catalog"]  # the catalog list, not the embedded one


def test_a_language_switch_keeps_the_analyze_choices(three_runs, monkeypatch):
    visitor, _ = three_runs
    at = _session(visitor, "pages/analyze.py")
    at.radio(key="analyze.source").set_value("upload").run()
    at.session_state["app.lang"] = "ko"
    at.run()
    _lang_outside_scripts(monkeypatch, "ko")
    assert not at.exception, [e.value for e in at.exception]
    assert _shown_index(at.radio(key="analyze.source")) == 1


def test_choosing_a_source_shows_its_input_at_once_and_one_submit_loads_what_was_picked():
    at = _session(new_visitor_id())
    at.radio(key="inspect.source").set_value("catalog").run()
    at.selectbox(key="inspect.catalog").set_value("t5-base")
    at.button[0].click().run()  # the form's one submit button
    assert at.session_state["app.model_spec"] == ModelSpec("catalog", "t5-base")
    at.radio(key="inspect.source").set_value("hub").run()
    assert at.text_input(key="inspect.hub").value == ""  # the Hub input is there before any submit


# --- invalid input is said, not swallowed ----------------------------------------------------------


@pytest.mark.parametrize(("key", "value", "message"), [
    ("configure.w.r", 0, "plan.bad_r"),
    ("configure.w.alpha", -16.0, "plan.bad_alpha"),
    ("configure.w.dropout", 1.5, "plan.bad_dropout"),
])
def test_an_out_of_range_number_is_said_under_its_field_and_nothing_is_computed(key, value, message):
    at = _session(new_visitor_id(), "pages/configure.py")
    at.number_input(key=key).set_value(value).run()
    assert not at.exception
    assert any(e.value.startswith(t(message, "en", r=value, alpha=value, dropout=value, max=4096)[:20])
               for e in at.error), [e.value for e in at.error]
    assert not at.metric, "the budget must not be computed from a stale value"
    assert at.session_state["configure.plan"] is None
    assert any(t("configure.not_computed", "en") == w.value for w in at.warning)


def test_an_invalid_plan_keeps_the_memory_settings():
    at = _session(new_visitor_id(), "pages/configure.py")
    at.number_input(key="memory.w.seq").set_value(2048).run()
    at.number_input(key="configure.w.r").set_value(0).run()
    at.number_input(key="configure.w.r").set_value(8).run()
    assert at.number_input(key="memory.w.seq").value == 2048


# --- housekeeping ---------------------------------------------------------------------------------


def test_an_uploaded_adapter_leaves_no_unpacked_folder_behind(tmp_path, monkeypatch):
    import json
    import tempfile

    import torch
    from peft import LoraConfig, TaskType, get_peft_model

    from tests.test_adapter_io import MINILM_ID, folder_files, minilm
    from tests.zips import zip_of

    torch.manual_seed(0)
    config = LoraConfig(r=4, lora_alpha=8, target_modules=["query", "value"], task_type=TaskType.SEQ_CLS,
                        init_lora_weights=False)
    get_peft_model(minilm(), config).save_pretrained(tmp_path / "adapter")
    path = tmp_path / "adapter" / "adapter_config.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "base_model_name_or_path": MINILM_ID}))
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where the app unpacks uploads
    at = _session(new_visitor_id(), "pages/analyze.py")
    at.radio(key="analyze.source").set_value("upload").run()
    upload = ("adapter.zip", zip_of(folder_files(tmp_path / "adapter")), "application/zip")
    at.file_uploader(key="analyze.upload").set_value(upload).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.success, [e.value for e in at.error]
    assert not list(scratch.glob("lora-lens-adapter-*")), "the unpacked upload stayed on disk"
