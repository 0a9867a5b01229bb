"""The Sweep page in a real browser: two saved plans swept, the frontier chart drawn, one adapter downloaded, and the
sweep still there after a language switch and a reload."""

from __future__ import annotations

import tempfile
import zipfile

import pytest

from core.i18n import t
from tests.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    goto_page,
    key_css,
    no_exception,
    serve_app,
    set_number,
    shot,
    wait_idle,
)

pytestmark = pytest.mark.browser


def en(key: str, **params: object) -> str:
    return t(key, "en", **params)


def _save_proposed(page) -> str:
    field = page.locator(key_css("configure.save_name") + " input").first
    name = ""
    for _ in range(40):
        name = field.input_value()
        if name:
            break
        page.wait_for_timeout(250)
    page.get_by_role("button", name=en("configure.save")).click()
    wait_idle(page)
    return name


def test_a_sweep_from_saved_plans_draws_the_frontier_and_gives_its_adapters(tmp_path):
    from playwright.sync_api import sync_playwright

    env = {"LORA_LENS_DATA": tempfile.mkdtemp(prefix="lora-lens-sweep-"), "LORA_LENS_CPU_THREADS": "1"}
    with sync_playwright() as pw, serve_app(env) as (url, _log):
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US",
                                   accept_downloads=True).new_page()  # fmt: skip
        page.set_default_timeout(120_000)
        page.goto(url)
        wait_idle(page)
        page.get_by_text(en("inspect.title")).first.wait_for()  # the app's own navigation is drawn by now
        goto_page(page, en("ui.page_configure"))
        saved = [_save_proposed(page)]  # the default plan: q_proj+v_proj r=8
        set_number(page, en("configure.r"), 2)
        saved.append(_save_proposed(page))
        assert len(set(saved)) == 2, saved

        goto_page(page, en("ui.page_sweep"))
        page.locator(key_css("sweep.source")).get_by_text(en("sweeppage.source_saved")).click()
        wait_idle(page)
        for name in saved:
            page.locator(key_css("sweep.saved")).get_by_text(name).first.wait_for()
        set_number(page, en("trainpage.steps"), 2)
        set_number(page, en("trainpage.batch"), 2)
        shot(page, "s01-sweep-setup")
        page.get_by_role("button", name=en("sweeppage.start")).click()
        wait_idle(page)
        csv = page.get_by_role("button", name=en("sweeppage.csv"))
        csv.wait_for(timeout=900_000)  # the results appear once every plan has trained
        wait_idle(page)
        no_exception(page)
        frontier = page.locator(".js-plotly-plot").filter(has_text=en("sweepchart.frontier"))
        frontier.first.wait_for()
        shot(page, "s02-sweep-results-frontier")

        button = page.get_by_role("button", name=en("sweeppage.download", name=saved[0], seed=1))
        with page.expect_download() as info:
            button.click()
        path = tmp_path / "adapter.zip"
        info.value.save_as(path)
        with zipfile.ZipFile(path) as zf:
            assert {"adapter_config.json", "adapter_model.safetensors"} <= set(zf.namelist())

        page.locator('[data-testid="stSidebar"]').get_by_text("한국어").click()
        wait_idle(page)
        page.reload()
        wait_idle(page)
        goto_page(page, t("ui.page_sweep", "ko"))
        page.get_by_role("button", name=t("sweeppage.csv", "ko")).wait_for()
        page.locator(".js-plotly-plot").filter(has_text=t("sweepchart.frontier", "ko")).first.wait_for()
        no_exception(page)
        shot(page, "s03-sweep-kept-after-reload-ko")
        browser.close()
