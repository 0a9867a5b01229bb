"""AppTest per page with preset session state, and one run through app.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.models.meta import build_meta_model
from core.models.sources import ModelSpec, load_config
from core.planning.plan import LoraPlan
from tests.visitors import plans_of

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 120


def _app(page: str | None = None, **state: object) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _peft_count(spec: ModelSpec, plan: LoraPlan) -> int:
    from peft import get_peft_model

    from core.planning.plan import to_lora_config

    mc = load_config(spec)
    return get_peft_model(build_meta_model(mc), to_lora_config(plan)).get_nb_trainable_parameters()[0]


def test_app_starts_on_embedded_default_in_english():
    at = _app()
    assert _metric(at, "Total parameters") == "134.52M"
    assert _metric(at, "Blocks") == "30"
    groups = at.table[0].value
    assert {"q_proj", "v_proj", "lm_head", "embed_tokens"} <= set(groups["Module group"])
    assert not any(str(v).startswith("role.") for v in groups["What it does"]), "raw translation key shown"


def test_inspect_in_korean_shows_korean_labels():
    at = _app(**{"app.lang": "ko"})
    assert _metric(at, "전체 파라미터") == "1.3억"
    assert any("역할" == c for c in at.table[0].value.columns)


def test_inspect_catalog_model_and_bad_hub_id():
    at = _app(**{"app.model_spec": ModelSpec("catalog", "gpt2")})
    assert "c_attn" in set(at.table[0].value["Module group"])
    at = _app(**{"app.model_spec": ModelSpec("hub", "not a valid id!!")})
    assert any("not a valid Hub id" in e.value for e in at.error)


def _shown(count: int) -> tuple[str, ...]:
    """How the page's metric writes ``count``."""
    return (f"{count / 1e3:.2f}K", f"{count / 1e6:.2f}M", f"{count:,}")


def test_configure_matches_peft_and_updates_on_change():
    spec = ModelSpec("catalog", "gpt2")
    at = _app("pages/configure.py", **{"app.model_spec": spec})
    plan = LoraPlan(targets=("c_attn",), r=8, lora_alpha=16, task="causal-lm")
    assert _metric(at, "Trainable parameters") in _shown(_peft_count(spec, plan))
    assert at.session_state["configure.plan"].targets == ("c_attn",)
    at.number_input(key="configure.w.r").set_value(16).run()
    assert at.session_state["configure.plan"].r == 16
    assert _metric(at, "Trainable parameters") in _shown(_peft_count(spec, plan.with_changes(r=16)))
    assert any("LoraConfig(" in c.value and "r=16" in c.value for c in at.code)


def test_configure_routes_ticked_mixtral_experts_to_target_parameters():
    """The issue's case: attention plus experts.gate_up_proj/down_proj ticked in Custom used to count attention only."""
    spec = ModelSpec("catalog", "mixtral-8x7b")
    at = _app("pages/configure.py", **{"app.model_spec": spec})
    experts = ("experts.gate_up_proj", "experts.down_proj")
    at.session_state["configure.w.groups"] = ["q_proj", "k_proj", "v_proj", "o_proj", *experts]  # the table's ticks
    at.run()
    assert any("lora_dropout to 0" in e.value for e in at.error)  # PEFT's ParamWrapper refuses dropout
    at.number_input(key="configure.w.dropout").set_value(0.0).run()
    plan = at.session_state["configure.plan"]
    assert sorted(plan.targets) == ["k_proj", "o_proj", "q_proj", "v_proj"] and set(plan.target_parameters) == set(experts)
    assert _metric(at, "Trainable parameters") in _shown(111_673_344) and _peft_count(spec, plan) == 111_673_344
    assert any("target_parameters=" in c.value for c in at.code)


def test_configure_all_linear_preset_and_warning():
    at = _app("pages/configure.py")
    at.button_group(key="configure.w.preset").set_value("all-linear").run()
    assert not at.exception
    assert at.session_state["configure.plan"].target_regex == "all-linear"
    at.selectbox(key="configure.w.bias").set_value("all").run()
    assert any('bias="all"' in w.value for w in at.warning)


def test_configure_save_then_compare_shows_table():
    at = _app("pages/configure.py")
    at.text_input(key="configure.save_name").set_value("qv r=8").run()
    at.button(key="configure.save_btn").click().run()
    at.switch_page("pages/compare.py")
    at.run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["Plan"]) == ["qv r=8"]
    assert int(table["Trainable"].iloc[0]) == 460_800  # SmolLM2-135M, q_proj+v_proj, r=8 (PEFT's own count)


@pytest.mark.parametrize("payload", [b"{not json", b'{"format": "other"}', b"\x00\x01binary", b'{"format": "lora-lens-plans", "version": 1, "plans": [{"name": "x"}]}'])
def test_compare_bad_import_changes_nothing(payload):
    at = _app("pages/configure.py")
    at.text_input(key="configure.save_name").set_value("kept").run()
    at.button(key="configure.save_btn").click().run()
    at.switch_page("pages/compare.py").run()
    before = plans_of(at.session_state["app.visitor"])
    at.file_uploader(key="compare.upload").set_value(("plans.json", payload, "application/json")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.error, "a refused import says why"
    assert list(at.dataframe[0].value["Plan"]) == ["kept"]
    assert plans_of(at.session_state["app.visitor"]) == before


def test_train_page_minilm_opens_on_sentiment_with_its_own_defaults_and_keeps_choices():
    from core.training.settings import TrainSettings

    at = _app("pages/train.py")
    sft = TrainSettings.for_task("causal-lm")
    assert at.number_input(key="train.steps.causal-lm").value == sft.max_steps
    at.selectbox(key="train.model").set_value("minilm").run()
    assert at.selectbox(key="train.task.minilm").value == "seq-cls"
    assert at.selectbox(key="train.data.seq-cls").value == "rotten-tomatoes"
    cls = TrainSettings.for_task("seq-cls")
    assert at.number_input(key="train.steps.seq-cls").value == cls.max_steps
    assert at.number_input(key="train.batch.seq-cls").value == cls.batch_size
    assert any("query, value" in c.value for c in at.caption)  # the q+v plan of this model, by its own names
    at.number_input(key="train.steps.seq-cls").set_value(7).run()
    at.switch_page("pages/configure.py").run()
    at.switch_page("pages/train.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="train.model").value == "minilm"
    assert at.number_input(key="train.steps.seq-cls").value == 7


def test_hub_id_typed_offline_is_read_from_the_catalog_copy(monkeypatch):
    """As the CLI does (guess_spec): offline, meta-llama/Llama-3.1-8B is the catalog's copy of its config."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    at = _app()
    at.radio(key="inspect.source").set_value("hub").run()
    at.text_input(key="inspect.hub").set_value("meta-llama/Llama-3.1-8B")  # inside the form: sent on submit
    next(b for b in at.button if b.label == "Inspect").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    spec = at.session_state["app.model_spec"]
    from core.models.catalog import find_entry

    assert spec.source == "catalog" and find_entry(spec.ref).slug == "llama-3.1-8b"
    assert any("meta-llama/Llama-3.1-8B" in i.value for i in at.info)
    assert _metric(at, "Blocks") == "32"
