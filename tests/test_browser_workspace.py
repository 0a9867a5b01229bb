"""The workspace in a real browser: what a visitor makes survives a reload and a server restart, and is theirs alone.

Korean throughout; four plans saved with the names the app proposes; a fifth under a taken name (asked, not
overwritten); two short runs; then reload, restart the server, and look again; a second browser sees nothing.
"""

from __future__ import annotations

import tempfile

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
KO = "ko"


def ko(key: str, **params: object) -> str:
    return t(key, KO, **params)


@pytest.fixture(scope="module")
def journey():
    from playwright.sync_api import sync_playwright

    data = tempfile.mkdtemp(prefix="lora-lens-journey-")
    env = {"LORA_LENS_DATA": data, "LORA_LENS_CPU_THREADS": "1"}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US", accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(120_000)
        yield {"browser": browser, "context": context, "page": page, "env": env}
        browser.close()



def _open(page, url: str) -> None:
    page.goto(url)
    wait_idle(page)
    page.locator('[data-testid="stSidebarNav"]').wait_for()


def _radio(page, name: str) -> None:
    page.get_by_role("radio", name=name, exact=True).click()
    wait_idle(page)



def _save_proposed(page) -> str:
    """Press Save without typing a name: the field holds the name the app proposes for this plan."""
    wait_idle(page)
    field = page.locator(key_css("configure.save_name") + " input").first
    for _ in range(40):  # the field is redrawn by the rerun that follows a change
        name = field.input_value()
        if name:
            break
        page.wait_for_timeout(250)
    shot(page, "w00-before-save")
    page.get_by_role("button", name=ko("configure.save")).click()
    wait_idle(page)
    return name


def _options(page, key: str) -> list[str]:
    """The options of the selectbox with widget key ``key`` (Streamlit marks its container st-key-<key>)."""
    box = page.locator(key_css(key)).first
    box.wait_for()
    for _ in range(5):  # the first click can land while the rerun redraws the box
        box.locator("input").first.click()
        try:
            page.get_by_role("option").first.wait_for(timeout=3000)
            break
        except Exception:  # noqa: BLE001 - try again
            page.keyboard.press("Escape")
            wait_idle(page)
    options = [o.inner_text().strip() for o in page.get_by_role("option").all()]
    page.keyboard.press("Escape")
    wait_idle(page)
    return options


def _plans_in_compare(page) -> list[str]:
    goto_page(page, ko("ui.page_compare"))
    page.get_by_text(ko("compare.table")).first.wait_for()
    if not page.locator(key_css("compare.pick")).first.is_visible():
        page.get_by_text(ko("compare.manage")).first.click()
        wait_idle(page)
    return _options(page, "compare.pick")


def _runs_in(page, page_title: str, key: str) -> list[str]:
    goto_page(page, page_title)
    return _options(page, key)


def _configure_state(page) -> tuple[str, str]:
    goto_page(page, ko("ui.page_configure"))
    r = page.get_by_role("spinbutton", name=ko("configure.r"), exact=True).input_value()
    seq = page.get_by_role("spinbutton", name=ko("mempanel.seq"), exact=True).input_value()
    return r, seq


def _train(page, steps: int) -> None:
    goto_page(page, ko("ui.page_train"))
    if not page.get_by_role("spinbutton", name=ko("trainpage.steps"), exact=True).is_visible():
        page.get_by_text(ko("trainpage.settings")).first.click()  # the settings live in an expander
        wait_idle(page)
    set_number(page, ko("trainpage.steps"), steps)
    set_number(page, ko("trainpage.batch"), 2)
    page.get_by_role("button", name=ko("trainpage.start")).click()
    wait_idle(page)
    page.get_by_text(ko("trainpage.done", steps=steps, secs=0.0)[:6]).first.wait_for(timeout=600_000)
    wait_idle(page)
    no_exception(page)


def test_workspace_survives_reload_and_restart_and_stays_private(journey):
    page, env = journey["page"], journey["env"]
    with serve_app(env) as (url, _log):
        _open(page, url)
        page.locator('[data-testid="stSidebar"]').get_by_text("한국어").click()
        wait_idle(page)
        page.get_by_text(ko("inspect.title")).first.wait_for()
        assert "sid=" not in page.url

        goto_page(page, ko("ui.page_configure"))
        saved = [_save_proposed(page)]  # the default plan: q_proj+v_proj r=8
        set_number(page, ko("configure.r"), 16)
        saved.append(_save_proposed(page))
        _radio(page, ko("configure.preset_attention"))
        saved.append(_save_proposed(page))
        _radio(page, ko("configure.preset_all-linear"))
        saved.append(_save_proposed(page))
        assert len(set(saved)) == 4, saved
        assert "r=16" in saved[1] and "all-linear" in saved[3], saved
        shot(page, "w01-configure-saved-ko")

        _radio(page, ko("configure.preset_qv"))  # back to the first plan: its name is taken
        set_number(page, ko("configure.r"), 8)
        again = _save_proposed(page)
        assert again == saved[0]
        page.get_by_text(ko("configure.name_exists", name="")[:6]).first.wait_for()
        shot(page, "w02-name-taken-asks")
        page.get_by_role("button", name=ko("configure.keep_both")).click()
        wait_idle(page)
        plans = _plans_in_compare(page)
        assert plans == [*saved, f"{saved[0]} (2)"], plans
        shot(page, "w03-compare-ko")

        _train(page, 2)
        _train(page, 3)
        runs = _runs_in(page, ko("ui.page_train"), "train.pick")
        assert [r.split(" · ")[0] for r in runs] == ["#1", "#2"], runs
        assert runs[0].endswith(ko("trainpage.n_steps", n=2)) and runs[1].endswith(ko("trainpage.n_steps", n=3))

        goto_page(page, ko("ui.page_configure"))
        set_number(page, ko("configure.r"), 12)
        set_number(page, ko("mempanel.seq"), 1024)
        before = {"plans": plans, "runs": runs, "configure": _configure_state(page)}
        assert before["configure"] == ("12", "1024")

        page.reload()
        wait_idle(page)
        _check_same(page, before, "w04-after-reload")
    with serve_app(env) as (url, _log):  # a server restart: a new process on the same data folder
        _open(page, url)
        _check_same(page, before, "w05-after-restart")
        assert "sid=" not in page.url

        stranger = journey["browser"].new_context(viewport={"width": 1400, "height": 1000}, locale="en-US").new_page()
        stranger.set_default_timeout(120_000)
        _open(stranger, url)
        stranger.get_by_text(t("inspect.title", "en")).first.wait_for()  # their own language, not the first visitor's
        goto_page(stranger, t("ui.page_compare", "en"))
        stranger.get_by_text(t("compare.empty", "en")).first.wait_for()
        goto_page(stranger, t("ui.page_train", "en"))
        assert stranger.locator(key_css("train.pick")).count() == 0  # no run picker: no runs
        goto_page(stranger, t("ui.page_analyze", "en"))
        stranger.get_by_text(t("analyzepage.no_job", "en")).first.wait_for()
        shot(stranger, "w06-second-visitor-sees-nothing")

        # One submit loads what is shown, and the sidebar names it in the same rerun.
        goto_page(stranger, t("ui.page_inspect", "en"))
        stranger.locator(key_css("inspect.source")).get_by_text(t("inspect.src_catalog", "en")).click()
        wait_idle(stranger)
        box = stranger.locator(key_css("inspect.catalog")).first
        box.locator("input").first.click()
        stranger.keyboard.type("T5 base")
        stranger.get_by_role("option", name="T5 base · google-t5/t5-base").first.click()
        stranger.get_by_role("button", name=t("inspect.load", "en")).click()
        wait_idle(stranger)
        sidebar = stranger.locator('[data-testid="stSidebar"]').inner_text()
        assert "T5 base" in sidebar and "SmolLM2" not in sidebar, sidebar
        shot(stranger, "w07-sidebar-follows-the-pick")


def _check_same(page, before: dict, screenshot: str) -> None:
    page.locator('[data-testid="stSidebarNav"] a', has_text=ko("ui.page_compare")).first.wait_for()  # still Korean
    assert _plans_in_compare(page) == before["plans"]
    assert _runs_in(page, ko("ui.page_train"), "train.pick") == before["runs"]
    shot(page, screenshot + "-train")
    assert _runs_in(page, ko("ui.page_analyze"), "analyze.job") == before["runs"]
    assert _configure_state(page) == before["configure"]
    shot(page, screenshot + "-configure")
    no_exception(page)
