"""Plans as expressive as PEFT, in a real browser: MoE experts ticked in the per-group table, one CLIP tower, a
per-group rank, and a plan the vLLM check flags and the visitor fixes; then a reload and a language switch.

Every count the page shows is compared with PEFT's own ``get_nb_trainable_parameters()`` on a LoraConfig written
here by hand (not by the app's converter). Screenshots go to artifacts/screenshots/p*.png.
"""

from __future__ import annotations

import tempfile

import pytest

from core.i18n import human_count, t
from tests.browser import CHROMIUM, CHROMIUM_ARGS, Grid, goto_page, key_css, no_exception, serve_app, set_number, shot
from tests.browser import wait_idle as idle

pytestmark = pytest.mark.browser


def en(key: str, **params: object) -> str:
    return t(key, "en", **params)


def peft_count(ref: str, **config: object) -> int:
    """PEFT's trainable count for a LoraConfig written by hand, on the catalog (or embedded) model's meta build."""
    from peft import LoraConfig, get_peft_model

    from core.models.meta import build_meta_model
    from core.models.sources import ModelSpec, load_config

    source = "embedded" if ref == "smollm2" else "catalog"
    model = build_meta_model(load_config(ModelSpec(source, ref)))
    return get_peft_model(model, LoraConfig(**config)).get_nb_trainable_parameters()[0]


@pytest.fixture(scope="module")
def page():
    from pathlib import Path

    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: run `bash run.sh test` (it installs it)"
    env = {"LORA_LENS_DATA": tempfile.mkdtemp(prefix="lora-lens-plans-")}
    with serve_app(env) as (url, _log), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
        pg = context.new_page()
        pg.set_default_timeout(180_000)
        pg.goto(url)
        idle(pg)
        yield pg
        browser.close()


def _grid(page) -> Grid:
    from ui.target_table import COLUMNS, HEADER_PX, ROW_PX, WIDTHS

    page.locator(key_css("configure.targets") + " canvas").first.wait_for()
    return Grid(page, key_css("configure.targets"), [WIDTHS[c] for c in COLUMNS], HEADER_PX, ROW_PX)


COL_ADAPT, COL_R = 0, 5


def _pick_catalog(page, typed: str, option: str) -> None:
    goto_page(page, en("ui.page_inspect"))
    page.locator(key_css("inspect.source")).get_by_text(en("inspect.src_catalog")).click()
    idle(page)
    page.locator(key_css("inspect.catalog")).first.locator("input").first.click()
    page.keyboard.type(typed)
    page.get_by_role("option", name=option).first.click()
    page.get_by_role("button", name=en("inspect.load")).click()
    idle(page)


def _configure(page) -> None:
    goto_page(page, en("ui.page_configure"))
    page.get_by_text(en("configure.trainable")).first.wait_for()
    idle(page)


def _trainable(page, label: str = "configure.trainable", lang: str = "en") -> str:
    box = page.locator('[data-testid="stMetric"]', has_text=t(label, lang)).first
    return box.locator('[data-testid="stMetricValue"]').inner_text().strip()


def _code(page) -> str:
    return page.locator('[data-testid="stCode"]', has_text="LoraConfig(").first.inner_text()


def test_p1_mixtral_experts_ticked_count_as_target_parameters(page):
    _pick_catalog(page, "Mixtral", "Mixtral 8x7B · mistralai/Mixtral-8x7B-v0.1")
    _configure(page)
    set_number(page, en("configure.dropout"), 0)  # PEFT's ParamWrapper takes no dropout
    grid = _grid(page)
    before = _trainable(page)
    for label in ("experts.gate_up_proj", "experts.down_proj"):
        grid.toggle(grid.row_of(label), COL_ADAPT)
    expected = peft_count("mixtral-8x7b", r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"],
                          target_parameters=["experts.gate_up_proj", "experts.down_proj"])
    # The 111,673,344 is all attention (6,815,744) + the experts; here q/v (3,407,872) + the experts.
    assert expected == 3_407_872 + 104_857_600
    assert _trainable(page) == human_count(expected, "en") != before
    assert "target_parameters" in _code(page)
    no_exception(page)
    shot(page, "p01-mixtral-experts")


def test_p2_clip_vision_tower_only(page):
    _pick_catalog(page, "CLIP", "CLIP ViT-B/32 · openai/clip-vit-base-patch32")
    _configure(page)
    page.get_by_role("radio", name=en("configure.preset_custom"), exact=True).click()
    idle(page)
    grid = _grid(page)
    for group in ("q_proj", "v_proj"):  # the default ticks both towers' q and v: keep only the vision tower's
        label = f"{t('tower.text', 'en')} · {group}"
        if grid.text(grid.row_of(label), COL_ADAPT) == "true":
            grid.toggle(grid.row_of(label), COL_ADAPT)
        label = f"{t('tower.vision', 'en')} · {group}"
        if grid.text(grid.row_of(label), COL_ADAPT) != "true":
            grid.toggle(grid.row_of(label), COL_ADAPT)
    expected = peft_count("clip-vit-b-32", r=8, lora_alpha=16, target_modules=r".*vision_model\..*\.(q_proj|v_proj)")
    assert _trainable(page) == human_count(expected, "en")
    assert "vision_model" in _code(page) and "text_model" not in _code(page)
    no_exception(page)
    shot(page, "p02-clip-vision-only")


def test_p3_per_group_rank_and_the_serving_check(page):
    goto_page(page, en("ui.page_inspect"))
    page.locator(key_css("inspect.source")).get_by_text(en("inspect.src_embedded")).click()
    idle(page)
    page.get_by_role("button", name=en("inspect.load")).click()
    idle(page)
    _configure(page)
    page.get_by_role("radio", name=en("configure.preset_qv"), exact=True).click()
    idle(page)
    grid = _grid(page)
    grid.type(grid.row_of("q_proj"), COL_R, "16")
    expected = peft_count("smollm2", r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"], rank_pattern={"q_proj": 16})
    assert _trainable(page) == human_count(expected, "en")
    assert '"q_proj": 16' in _code(page)
    shot(page, "p03-per-group-rank")

    grid.type(grid.row_of("v_proj"), COL_R, "1024")  # above every --max-lora-rank vLLM accepts
    panel = page.locator(key_css("configure.serving"))
    panel.get_by_text(en("serving.rule.rank").replace("`", "")).first.wait_for()  # code spans show without marks
    assert "❌" in panel.inner_text()
    shot(page, "p04-serving-flagged")
    grid.type(grid.row_of("v_proj"), COL_R, "32")
    panel.get_by_text("--max-lora-rank 32").first.wait_for()
    assert "❌" not in panel.inner_text()
    shot(page, "p05-serving-fixed")


def test_p4_reload_and_korean_keep_the_table(page):
    expected = human_count(peft_count("smollm2", r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"],
                                      rank_pattern={"q_proj": 16, "v_proj": 32}), "en")
    assert _trainable(page) == expected
    page.reload()
    idle(page)
    _configure(page)
    grid = _grid(page)
    assert grid.text(grid.row_of("q_proj"), COL_R) == "16" and grid.text(grid.row_of("v_proj"), COL_R) == "32"
    assert _trainable(page) == expected
    page.locator('[data-testid="stSidebar"]').get_by_text("한국어").click()
    idle(page)
    page.get_by_text(t("targets.title", "ko")).first.wait_for()
    grid = _grid(page)
    assert grid.text(grid.row_of("q_proj"), COL_R) == "16" and grid.text(grid.row_of("v_proj"), COL_R) == "32"
    headers = page.locator(key_css("configure.targets") + ' th[role="columnheader"]').all_inner_texts()
    assert t("targets.col_adapt", "ko") in headers and t("targets.col_r", "ko") in headers, headers
    no_exception(page)
    shot(page, "p06-korean-after-reload")
    page.locator('[data-testid="stSidebar"]').get_by_text("English").click()
    idle(page)
