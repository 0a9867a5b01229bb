"""The serving checklist on Configure and the vLLM column on Compare (AppTest)."""

from __future__ import annotations

from tests.test_pages import _app

COMMAND = "vllm serve HuggingFaceTB/SmolLM2-135M-Instruct --enable-lora --lora-modules adapter=./adapter"


def _texts(at) -> str:
    return "\n".join(str(m.value) for m in at.markdown)


def test_configure_shows_the_checklist_and_a_flagged_plan_says_what_to_change():
    at = _app("pages/configure.py")  # SmolLM2, q_proj + v_proj, r=8
    assert any("serves this adapter with `--max-lora-rank` 8" in s.value for s in at.success)
    assert any(c.value == f"{COMMAND} --max-lora-rank 8" for c in at.code)
    assert "✅ No DoRA" in _texts(at)
    at.toggle(key="configure.w.dora").set_value(True).run()
    assert not at.exception
    assert any("would not serve this adapter" in w.value for w in at.warning)
    assert "❌ **No DoRA**" in _texts(at) and "Turn DoRA off" in _texts(at)
    at.toggle(key="configure.w.dora").set_value(False).run()  # fixed: serves again
    assert any("`--max-lora-rank` 8" in s.value for s in at.success)
    assert not any("would not serve" in w.value for w in at.warning)


def test_compare_has_a_vllm_column():
    at = _app("pages/configure.py")
    at.text_input(key="configure.save_name").set_value("qv").run()
    at.button(key="configure.save_btn").click().run()
    at.toggle(key="configure.w.dora").set_value(True).run()
    at.text_input(key="configure.save_name").set_value("qv dora").run()
    at.button(key="configure.save_btn").click().run()
    at.switch_page("pages/compare.py").run()
    assert not at.exception
    table = at.dataframe[0].value.set_index("Plan")
    assert table.loc["qv", "vLLM"] == "✅ --max-lora-rank 8"
    assert table.loc["qv dora", "vLLM"].startswith("❌ Turn DoRA off")
