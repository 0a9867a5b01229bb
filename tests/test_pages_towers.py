"""Towers and attention kinds on Inspect, and the memory panel's model-given sequence length (AppTest)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.i18n import t
from core.models.spec import ModelSpec
from core.workspace.identity import new_visitor_id

APP = str(Path(__file__).resolve().parents[1] / "app.py")
CLIP = ModelSpec("catalog", "clip-vit-b-32")
SEQ = "memory.w.seq"

pytestmark = pytest.mark.filterwarnings("ignore")


def _app(page: str | None = None, visitor: str | None = None, **state: object) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state["app.visitor"] = visitor or new_visitor_id()
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _groups(at: AppTest, lang: str):
    return next(tb.value for tb in at.table if t("ui.col_group", lang) in tb.value.columns)


def _metric(at: AppTest, key: str, lang: str) -> str:
    return next(m.value for m in at.metric if m.label == t(key, lang))


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_inspect_shows_clip_vision_and_text_q_proj_apart(lang):
    at = _app(**{"app.model_spec": CLIP, "app.lang": lang})
    groups = _groups(at, lang)
    col = {k: t(f"ui.col_{k}", lang) for k in ("tower", "group", "count", "blocks", "shape", "hidden")}
    q = groups[groups[col["group"]] == "q_proj"].set_index(col["tower"])
    assert set(q.index) == {t("tower.vision", lang), t("tower.text", lang)}
    vision, text = q.loc[t("tower.vision", lang)], q.loc[t("tower.text", lang)]
    assert (vision[col["shape"]], vision[col["count"]], vision[col["blocks"]], vision[col["hidden"]]) == (
        "768→768",
        "12",
        "0–11",
        "768",
    )
    assert (text[col["shape"]], text[col["count"]], text[col["blocks"]], text[col["hidden"]]) == (
        "512→512",
        "12",
        "0–11",
        "512",
    )
    assert _metric(at, "inspect.hidden", lang) == "512 · 768"
    towers = next(tb.value for tb in at.table if t("ui.col_about", lang) in tb.value.columns)
    assert list(towers[t("ui.col_where", lang)]) == ["text_model", "vision_model"]
    assert any("q_proj" in i.value and t("tower.vision", lang) in i.value for i in at.info), "PEFT #2615 note"
    assert not any(str(v).startswith(("role.", "tower.", "attn.")) for v in groups[t("ui.col_role", lang)])


def test_inspect_tells_t5_encoder_self_decoder_self_and_cross_attention_apart():
    at = _app(**{"app.model_spec": ModelSpec("catalog", "t5-base", "seq2seq")})
    groups = _groups(at, "en")
    q = groups[groups["Module group"] == "q"]
    assert sorted(zip(q["Tower"], q["Attention"], q["Count"], strict=True)) == [
        ("Decoder", "cross-attention", "12"),
        ("Decoder", "self-attention", "12"),
        ("Encoder", "self-attention", "12"),
    ]
    cross = q[q["Attention"] == "cross-attention"].iloc[0]["What it does"]
    assert cross.startswith(t("attn.about_cross", "en"))


def test_a_decoder_only_model_keeps_its_plain_groups():
    at = _app()  # the embedded SmolLM2
    groups = _groups(at, "en")
    assert "Tower" not in groups.columns and "Attention" not in groups.columns
    assert list(groups["Module group"]) == [
        "embed_tokens",
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj",
        "gate_proj",
        "up_proj",
        "down_proj",
        "lm_head",
    ]
    assert _metric(at, "inspect.hidden", "en") == "576"
    assert not at.info


def test_clip_memory_panel_opens_on_its_77_positions_without_an_error():
    at = _app("pages/configure.py", **{"app.model_spec": CLIP})
    assert at.number_input(key=SEQ).value == 77
    assert not at.error, [e.value for e in at.error]
    assert _metric(at, "mempanel.total", "en")


def test_the_sequence_follows_the_model_until_typed_then_is_kept_and_said_out_of_range():
    visitor = new_visitor_id()
    at = _app("pages/configure.py", visitor, **{"app.model_spec": ModelSpec("embedded", "smollm2")})
    assert at.number_input(key=SEQ).value == 512
    at.session_state["app.model_spec"] = CLIP
    at.run()
    assert at.number_input(key=SEQ).value == 77  # untyped: follows the model
    at.number_input(key=SEQ).set_value(300).run()
    assert at.number_input(key=SEQ).value == 300  # typed: kept, with a sentence next to the field
    sentence = t("memory.seq_too_long", "en", seq_len=300, max=77)
    assert [e.value for e in at.error] == [sentence]
    again = _app("pages/configure.py", visitor, **{"app.model_spec": ModelSpec("embedded", "smollm2")})  # reload
    assert again.number_input(key=SEQ).value == 300
    assert not again.error
