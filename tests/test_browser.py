"""The whole journey in a real browser (Debian's headless Chromium via Playwright), offline.

Screenshots of each step go to artifacts/screenshots/. CI must fail, not skip, when the browser is missing.
"""

from __future__ import annotations

import re

import pytest

from tests.browser import CHROMIUM, CHROMIUM_ARGS, goto_page, no_exception, serve_app, shot, wait_idle

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def page():
    from pathlib import Path

    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: run `bash run.sh test` (it installs it)"
    with serve_app() as (url, log), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US", accept_downloads=True)
        pg = context.new_page()
        pg.set_default_timeout(120_000)
        pg.goto(url)
        wait_idle(pg)
        pg.server_log = log
        yield pg
        browser.close()


def peft_trainable(targets, r: int = 8) -> str:
    """What PEFT itself reports for the embedded SmolLM2, formatted as the app shows it."""
    from peft import get_peft_model

    from core.i18n import human_count
    from core.models.meta import build_meta_model
    from core.models.sources import ModelSpec, load_config
    from core.planning.plan import LoraPlan, to_lora_config

    mc = load_config(ModelSpec("embedded", "smollm2"))
    plan = LoraPlan(targets=() if targets == "all-linear" else tuple(targets),
                    target_regex="all-linear" if targets == "all-linear" else None, r=r, lora_alpha=16)
    n = get_peft_model(build_meta_model(mc), to_lora_config(plan)).get_nb_trainable_parameters()[0]
    return human_count(n, "en")


def metric_value(page, label: str) -> str:
    box = page.locator('[data-testid="stMetric"]', has_text=label).first
    return box.locator('[data-testid="stMetricValue"]').inner_text().strip()


def test_01_inspect_default_model_in_english(page):
    page.get_by_text("Inspect a model").first.wait_for()
    assert metric_value(page, "Total parameters") == "134.52M"
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    chart.wait_for()
    assert chart.locator("text.legendtext", has_text="q_proj").count() == 1  # the parameter map's legend
    no_exception(page)
    shot(page, "01-inspect-en")


def test_02_switch_language_to_korean_and_back(page):
    page.locator('[data-testid="stSidebar"]').get_by_text("한국어").click()
    wait_idle(page)
    page.get_by_text("전체 파라미터").first.wait_for()
    assert metric_value(page, "전체 파라미터") == "1.3억"
    _assert_picker_kept(page, "ko")
    shot(page, "02-inspect-ko")
    page.locator('[data-testid="stSidebar"]').get_by_text("English").click()
    wait_idle(page)
    page.get_by_text("Inspect a model").first.wait_for()
    _assert_picker_kept(page, "en")


def _assert_picker_kept(page, lang: str) -> None:
    """After a language switch the source radio still has its choice, and the task box speaks the new language."""
    from core.i18n import t

    source = page.locator(".st-key-inspect-source")
    assert source.get_by_role("radio", checked=True).count() == 1, "the source radio lost its selection"
    assert source.locator("label", has=page.locator("input:checked")).inner_text().strip() == t("inspect.src_embedded", lang)
    box = page.locator(".st-key-inspect-task")
    task = box.inner_text() + " " + " ".join(i.input_value() for i in box.locator("input").all())
    assert t("inspect.task_auto", lang) in task, task


def test_03_configure_qv_then_all_linear(page):
    goto_page(page, "Configure")
    page.get_by_text("Trainable parameters").first.wait_for()
    assert metric_value(page, "Trainable parameters") == peft_trainable(["q_proj", "v_proj"])
    _save_plan(page, "q,v r=8")
    page.get_by_role("radio", name="all-linear", exact=True).click()
    wait_idle(page)
    assert metric_value(page, "Trainable parameters") == peft_trainable("all-linear")
    no_exception(page)
    shot(page, "03-configure-all-linear")
    _save_plan(page, "all-linear r=8")
    page.get_by_role("radio", name="All MLP", exact=True).click()
    wait_idle(page)
    _number(page, "r (rank)", 64)
    _save_plan(page, "MLP only r=64")
    page.get_by_role("radio", name="All attention", exact=True).click()
    wait_idle(page)
    _save_plan(page, "attention r=64")
    page.get_by_role("radio", name="all-linear", exact=True).click()
    wait_idle(page)
    _save_plan(page, "all-linear r=64")
    _number(page, "r (rank)", 4)
    page.get_by_role("radio", name="q + v (classic)", exact=True).click()
    wait_idle(page)
    _save_plan(page, "q,v r=4")


def _save_plan(page, name: str) -> None:
    box = page.get_by_label("Save this plan as")
    box.fill(name)
    box.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Save plan for Compare").click()
    wait_idle(page)
    page.get_by_text(f"Saved {name}.").first.wait_for()


def test_04_compare_six_plans(page):
    goto_page(page, "Compare")
    page.get_by_text("Side by side").first.wait_for()
    table = page.locator('[data-testid="stDataFrame"]').first
    table.wait_for()
    page.get_by_text("Training memory by component").first.wait_for()
    charts = page.locator('[data-testid="stPlotlyChart"]')
    assert charts.count() >= 4  # groups, budget vs r, per-block heatmap, memory
    legend = " ".join(charts.nth(i).inner_text() for i in range(charts.count()))
    for name in ("q,v r=8", "all-linear r=8", "MLP only r=64", "attention r=64", "all-linear r=64", "q,v r=4"):
        assert name in legend, name
    no_exception(page)
    shot(page, "04-compare")


def _select(page, label: str, option: str) -> None:
    """Open a selectbox, type to filter, and pick the option (robust to long, virtualised lists)."""
    box = page.locator('[data-testid="stSelectbox"]', has_text=label).first
    box.locator("input").first.click()
    page.keyboard.type(option[:12])
    page.get_by_role("option", name=option).first.click()
    wait_idle(page)


def _number(page, label: str, value: int) -> None:
    field = page.get_by_role("spinbutton", name=label, exact=True)
    if not field.is_visible() and page.get_by_text("Training settings").count():
        page.get_by_text("Training settings").first.click()  # the settings live in an expander
        field.wait_for()
    field.fill(str(value))
    field.press("Enter")
    wait_idle(page)


def test_05_train_smollm2_on_korean_chat_and_download(page, tmp_path):
    goto_page(page, "Configure")
    page.get_by_role("radio", name="q + v (classic)", exact=True).click()
    wait_idle(page)
    goto_page(page, "Train")
    page.get_by_text("Train a LoRA adapter").first.wait_for()
    _select(page, "Dataset", "ChatterBot corpus (Korean small talk)")
    page.get_by_text("Training settings").click()
    _number(page, "Steps", 6)
    _number(page, "Batch size", 2)
    page.get_by_role("button", name="Start training").click()
    wait_idle(page)
    page.locator('[data-testid="stProgress"]').first.wait_for(timeout=120_000)
    shot(page, "05-train-live")
    page.get_by_text("Finished:").first.wait_for(timeout=600_000)
    wait_idle(page)
    no_exception(page)
    prompt = page.get_by_label("Your input").input_value()
    assert re.search(r"[\uac00-\ud7a3]", prompt), prompt  # trained on Korean: the playground asks in Korean
    page.get_by_role("button", name="Compare", exact=True).click()
    wait_idle(page)
    answers = page.locator('[data-testid="stCode"]')
    answers.nth(1).wait_for()
    adapted = answers.nth(1).inner_text().strip()
    no_exception(page)
    shot(page, "06-train-done")
    path = _download_adapter(page, tmp_path / "adapter.zip")
    assert _generate_with_peft(path, tmp_path / "adapter", prompt) == adapted  # greedy: the same words


def _download_adapter(page, path):
    """Click the shown run's adapter download and keep the file, as a visitor's browser would."""
    with page.expect_download(timeout=120_000) as info:
        page.locator('[data-testid="stDownloadButton"]', has_text="Download adapter (.zip)").first.click()
    info.value.save_as(path)
    return path


def _generate_with_peft(zip_path, folder, prompt: str) -> str:
    """Load the downloaded adapter on a fresh base with PEFT and answer greedily, as the playground does."""
    import json
    import zipfile

    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from core.models.embedded import weights_folder
    from core.training.encode import prompt_text
    from core.training.playground import _generate

    with zipfile.ZipFile(zip_path) as zf:
        names = set(zf.namelist())
        zf.extractall(folder)
    assert {"adapter_config.json", "adapter_model.safetensors", "README.md", "training_settings.json"} <= names
    config = json.loads((folder / "adapter_config.json").read_text())
    assert set(config["target_modules"]) == {"q_proj", "v_proj"}
    base = AutoModelForCausalLM.from_pretrained(weights_folder("smollm2"))
    tok = AutoTokenizer.from_pretrained(weights_folder("smollm2"))
    ids = torch.tensor([[1, 2, 3, 4, 5]])
    with torch.no_grad():
        before = base(ids).logits
        model = PeftModel.from_pretrained(base, str(folder)).eval()
        assert not torch.allclose(before, model(ids).logits), "the downloaded adapter changes nothing"
        enc = tok(prompt_text(tok, prompt), add_special_tokens=False, return_tensors="pt")
        return _generate(model, tok, {k: enc[k] for k in ("input_ids", "attention_mask")}, 64)


def test_06_analyze_trained_adapter(page):
    goto_page(page, "Analyze")
    page.get_by_text("ΔW anatomy").first.wait_for(timeout=180_000)
    wait_idle(page)
    assert page.locator('[data-testid="stPlotlyChart"]').count() >= 3
    no_exception(page)
    shot(page, "07-analyze-delta")
    _number(page, "Sample size", 60)
    _number(page, "Perplexity", 10)
    page.get_by_text("Compute embeddings").click()
    wait_idle(page, timeout=300)
    page.get_by_text("k-NN label accuracy").first.wait_for(timeout=300_000)
    no_exception(page)
    shot(page, "08-analyze-embeddings")


def test_07_train_minilm_on_rotten_tomatoes_try_it_and_reload(page, tmp_path):
    """MiniLM opens on the sentiment set; the run beats chance; the playground's probability is
    what the downloaded adapter gives when PEFT loads it on a fresh base."""
    goto_page(page, "Train")
    page.get_by_text("Train a LoRA adapter").first.wait_for()
    _select(page, "Model (with real weights)", "all-MiniLM-L6-v2 (embedded)")
    assert "Rotten Tomatoes" in page.get_by_role("combobox", name="Dataset", exact=True).input_value()
    page.get_by_text("query, value").first.wait_for()  # the q+v plan in this model's own names
    wait_idle(page)
    sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
    assert "all-MiniLM-L6-v2" in sidebar and "SmolLM2" not in sidebar, sidebar  # names the model trained here
    page.get_by_role("button", name="Start training").click()
    wait_idle(page)
    run = page.get_by_role("combobox", name="Run", exact=True)
    assert run.input_value().startswith("#2 · minilm · rotten-tomatoes"), run.input_value()  # the new run is shown
    page.locator('[data-testid="stProgress"]').first.wait_for(timeout=120_000)
    page.get_by_text("Finished:").first.wait_for(timeout=600_000)
    wait_idle(page)
    no_exception(page)
    assert float(metric_value(page, "Validation loss")) < 0.6931  # below chance: ln 2 for two classes
    assert float(metric_value(page, "Accuracy")) > 0.6
    text = "A moving, funny film."
    page.get_by_label("Your input").fill(text)
    page.get_by_role("button", name="Compare", exact=True).click()
    wait_idle(page)
    shown = metric_value(page, "With the adapter: predicted")  # e.g. "fresh · 73.12%"
    label, percent = (part.strip() for part in shown.split("·"))
    no_exception(page)
    shot(page, "09-train-minilm-done")
    path = _download_adapter(page, tmp_path / "minilm.zip")
    prob = _classify_with_peft(path, tmp_path / "minilm", text, label)
    assert abs(prob * 100 - float(percent.rstrip("%"))) <= 0.006, (prob, shown)


def _classify_with_peft(zip_path, folder, text: str, label: str) -> float:
    import json
    import zipfile

    import torch
    from peft import PeftModel
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from core.models.embedded import weights_folder

    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(folder)
    labels = json.loads((folder / "training_settings.json").read_text())["labels"]
    config = json.loads((folder / "adapter_config.json").read_text())
    assert config["task_type"] == "SEQ_CLS" and set(config["target_modules"]) == {"query", "value"}
    base = AutoModelForSequenceClassification.from_pretrained(
        weights_folder("minilm"), num_labels=len(labels), id2label=dict(enumerate(labels)),
        label2id={name: i for i, name in enumerate(labels)},
    )  # fmt: skip
    model = PeftModel.from_pretrained(base, str(folder)).eval()
    tok = AutoTokenizer.from_pretrained(weights_folder("minilm"))
    with torch.no_grad():
        probs = torch.softmax(model(**tok(text, return_tensors="pt")).logits.float(), -1)[0]
    return float(probs[labels.index(label)])
