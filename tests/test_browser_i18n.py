"""Every page in both languages in a real browser: screenshots, and no English UI words left on Korean pages.

The check reads what Chromium renders (text nodes that are visible, chart SVG included; code blocks, icon
ligatures, text areas (the visitor's input) and Streamlit's CSS-replaced widget texts excluded, since hidden
text is not rendered). Dataframes draw
on a canvas: their headers are checked by tests/test_i18n.py instead. Screenshots: artifacts/screenshots/i18n-*.
"""

from __future__ import annotations

import re
from functools import cache

import pytest

from tests.browser import CHROMIUM, CHROMIUM_ARGS, goto_page, no_exception, serve_app, shot, wait_idle
from tests.test_browser import _number, _select

pytestmark = pytest.mark.browser

PAGES = ("inspect", "configure", "compare", "train", "analyze", "sweep")
# Words that are the same in Korean: product, library and format names, acronyms, units, keys on the keyboard.
SAME_IN_KOREAN = {
    "LoRA", "Lens", "PEFT", "DoRA", "rsLoRA", "Hugging", "Face", "Hub", "Enter", "Ctrl", "Language", "English",
    "t-SNE", "k-NN", "PCA", "JSON", "JSONL", "CSV", "HTML", "PNG", "zip", "GPU", "CPU", "MB", "MiB", "GiB", "KiB",
    "bf16", "fp32", "fp16", "scaling", "perplexity", "none", "all", "lora_only", "r", "k", "pp", "B", "A", "W",
    "mean", "cls", "auto", "SVG", "plotly", "scikit-learn", "analysis.py", "adapter_config.json", "config.json",
    "all-linear", "bias", "AdamW", "Ampere", "SDPA/flash",  # PEFT's values, an optimizer, a GPU generation
    "SiLU/GELU", "residual", "stream",  # activation names; the English gloss after 잔차 스트림(residual stream)
    "accelerate", "launch", "owner/name",  # a shell command and the Hub id format, as typed
    "vLLM", "MoE",  # a serving engine's name; mixture-of-experts
}
# Streamlit's own texts the issue reported, and the English the app itself used to show on Korean pages.
REPORTED = ("Upload", "per file", "Press Enter", "outside the allowed range", "steps", "step", "Download chart")
TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9_.\-/]*")
VISIBLE_TEXT_JS = """
() => {
  const skip = 'pre, code, textarea, [data-testid="stCode"], [data-testid="stIconMaterial"], .modebar, .hovertext';
  const root = document.querySelector('[data-testid="stApp"]') || document.body;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const out = [];
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement;
    if (!el || !node.textContent.trim() || el.closest(skip)) continue;
    const style = getComputedStyle(el);
    if (style.visibility !== 'visible' || style.display === 'none' || !el.getClientRects().length) continue;
    out.push(node.textContent.trim());
  }
  return out;
}
"""
AFTER_JS = "sel => [...document.querySelectorAll(sel)].map(e => getComputedStyle(e, '::after').content)"


@cache
def _data_words() -> frozenset[str]:
    """The visitor's data and the models' own names: module groups, model and dataset names, class labels."""
    from core.anatomy.inventory import list_adaptable_layers
    from core.data.bundled import BUNDLED, load_bundled
    from core.models.embedded import EMBEDDED
    from core.models.meta import build_meta_model
    from core.models.sources import ModelSpec, load_config

    words: set[str] = set()
    for name, info in EMBEDDED.items():
        inv = list_adaptable_layers(build_meta_model(load_config(ModelSpec("embedded", name))))
        words |= {*inv.short_names(), name, *TOKEN.findall(info.display_name)}
        words |= {part for layer in inv.layers for part in layer.name.split(".")}
    for name, info in BUNDLED.items():
        words |= {name, *TOKEN.findall(info.display_name("ko")), *TOKEN.findall(info.display_name("en"))}
    words |= set(load_bundled("rotten-tomatoes", "seq-cls").labels())
    return frozenset(words)


def english_words(texts: list[str]) -> list[str]:
    """Words on a Korean page that are English UI text (not names, ids, numbers, units or data)."""
    found = []
    for text in texts:
        for token in TOKEN.findall(text):
            word = token.strip(".-/")
            if (len(word) < 2 or word in SAME_IN_KOREAN or word in _data_words() or re.search(r"[\d_]", word)
                    or (word.isupper() and len(word) <= 5)):
                continue
            found.append(word)
    return sorted(set(found))


@pytest.fixture(scope="module")
def page():
    from pathlib import Path

    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: run `bash run.sh test` (it installs it)"
    one_thread = {"LORA_LENS_CPU_THREADS": "1", "OMP_NUM_THREADS": "1"}  # a shared box: no spinning OpenMP threads
    with serve_app(one_thread) as (url, log), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US", accept_downloads=True)
        pg = context.new_page()
        pg.set_default_timeout(120_000)
        pg.goto(url)
        wait_idle(pg)
        yield pg
        browser.close()


def _title(page_name: str, lang: str) -> str:
    from core.i18n import t

    return t(f"ui.page_{page_name}", lang)


def test_01_prepare_a_run_a_plan_and_an_analysis(page):
    """Something on every page: a finished MiniLM run, a saved plan, the embeddings computed."""
    goto_page(page, "Train")
    _select(page, "Model (with real weights)", "all-MiniLM-L6-v2 (embedded)")
    page.get_by_text("query, value").first.wait_for()
    page.get_by_text("Training settings").click()
    _number(page, "Steps", 4)  # a shared 2-core box: a short run is enough to fill every page
    _number(page, "Batch size", 4)
    page.get_by_role("button", name="Start training").click()
    wait_idle(page)
    try:
        page.get_by_text("Finished:").first.wait_for(timeout=600_000)
    finally:
        shot(page, "i18n-0-training")
    wait_idle(page)
    goto_page(page, "Compare")
    page.get_by_role("button", name="Add", exact=True).click()
    wait_idle(page)
    page.get_by_text("Side by side").first.wait_for()
    goto_page(page, "Analyze")
    page.get_by_text("ΔW anatomy").first.wait_for(timeout=180_000)
    _number(page, "Sample size", 60)
    _number(page, "Perplexity", 10)
    page.get_by_text("Compute embeddings").click()
    wait_idle(page, timeout=300)
    page.get_by_text("k-NN label accuracy").first.wait_for(timeout=300_000)
    no_exception(page)


def _expand_all(page) -> None:
    closed = page.locator('[data-testid="stExpander"] details:not([open]) > summary')
    for _ in range(20):  # each click re-renders the list: always open the first closed one
        if not closed.count():
            break
        closed.first.click()
        page.wait_for_timeout(300)
    wait_idle(page)


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_02_every_page_in_both_languages(page, lang):
    label = {"en": "English", "ko": "한국어"}[lang]
    page.locator('[data-testid="stSidebar"]').get_by_text(label, exact=True).click()
    wait_idle(page)
    problems = {}
    for i, name in enumerate(PAGES, start=1):
        goto_page(page, _title(name, lang))
        page.wait_for_timeout(1500)  # charts draw after the rerun ends
        no_exception(page)
        shot(page, f"i18n-{i}-{name}-{lang}")
        _expand_all(page)  # then check what the expanders hold too
        texts = page.evaluate(VISIBLE_TEXT_JS)
        joined = "\n".join(texts)
        assert "0.00000" not in joined and "1 modules" not in joined, name
        assert "Add one below" not in joined and "아래에서 추가" not in joined, name  # the form is above
        assert joined.count("Download chart (HTML)") == 0, name  # one labelled download per chart
        if lang == "ko":
            bad = english_words(texts) + [s for s in REPORTED if re.search(rf"\b{re.escape(s)}\b", joined)]
            if bad:
                problems[name] = bad
            for selector in ('[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p',
                             '[data-testid="stFileUploaderDropzoneInstructions"] > div > span'):
                for content in page.evaluate(AFTER_JS, selector):
                    assert re.search(r"[\uac00-\ud7a3]", content), (name, selector, content)
    assert not problems, f"English UI words on Korean pages: {problems}"
