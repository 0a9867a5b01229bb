"""The translation table is complete, every key the code uses exists, and no page shows a raw key.

1. Every entry has non-empty English and Korean, Korean is Korean (Hangul) unless it is a
   code/number string or a listed proper name, and both sides have the same ``{placeholders}``.
2. Every literal key passed to ``tr``/``t``/``LensError``/``state.fail`` (and every
   ``("key", {params})`` message tuple) in ``app.py``, ``core/``, ``ui/``, ``pages/`` exists,
   is called with the parameters its text needs, and every f-string key expands (from the
   option tuple it is built from) to keys that exist.
3. AppTest runs of every page in English and Korean show no raw key, no unfilled
   ``{placeholder}`` and no exception.
4. Numbers follow the language: ``1.3억`` in Korean, ``134.52M`` in English.
"""

from __future__ import annotations

import ast
import json
import re
import string
import sys
from pathlib import Path

import pytest
from google.protobuf.json_format import MessageToDict
from streamlit.testing.v1 import AppTest

import core.training.jobs
from core.anatomy.groups import TOWER_NAMES
from core.anatomy.structure import CROSS, SELF
from core.data.bundled import BUNDLED
from core.data.dataset import Example, TextDataset
from core.i18n import LANGS, human_count, t, table
from core.models.spec import ModelSpec
from core.planning.memory import COMPONENTS
from core.planning.plan import INIT_METHODS, LoraPlan
from core.planning.presets import PRESETS
from core.planning.sequence import SOURCES as SEQUENCE_SOURCES
from core.planning.serving import RULES as SERVING_RULES
from core.training.jobs import JobManager
from core.training.run_state import FINAL_METRICS, STATUSES
from core.training.settings import TrainSettings
from tests.visitors import seed_plans, submit_recorded
from ui.target_table import COLUMNS as TABLE_COLUMNS

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
TIMEOUT = 120
SOURCE_FILES = sorted(
    [ROOT / "app.py", *(ROOT / "ui").rglob("*.py"), *(ROOT / "pages").rglob("*.py"), *(ROOT / "core").rglob("*.py")]
)
HANGUL = re.compile(r"[\uac00-\ud7a3\u3131-\u318e]")
KEY_SHAPE = re.compile(r"[a-z_]+\.[a-z_.]+")
KEY_TOKEN = re.compile(r"(?<![\w./-])[a-z][a-z0-9_]*(?:\.[a-z0-9_-]+)+(?![\w/-])")
UNFILLED = re.compile(r"(?<![%$\\])\{[a-z_][a-z0-9_]*\}")
# Korean text that is rightly not Hangul: product and proper names, and PEFT's own argument names.
NOT_HANGUL_OK = {
    "ui.app_title": "product name",
    "inspect.src_hub": "proper name (Hugging Face Hub)",
    "inspect.hub_id": "the id format owner/name, as typed",
    "configure.bias": "PEFT argument name",
}
PLURAL_KEYS = ("fmt.modules_adapted", "fmt.plans_imported")


def layers_frame_columns() -> tuple[str, ...]:
    from core.anatomy.inventory import list_adaptable_layers
    from core.charts.tables import layers_frame
    from core.models.meta import build_meta_model
    from core.models.sources import load_config

    return tuple(layers_frame(list_adaptable_layers(build_meta_model(load_config(ModelSpec("catalog", "gpt2"))))))


def to_frame_columns() -> tuple[str, ...]:
    from core.analysis.delta import to_frame

    return tuple(to_frame([]).columns)


# f-string keys in the code: the template (``{}`` for each hole) and the values the hole takes.
FSTRING_KEYS: dict[str, tuple[str, ...]] = {
    "configure.preset_{}": PRESETS,
    "inspect.src_{}": ("embedded", "catalog", "hub", "local"),
    "analyzepage.src_{}": ("job", "upload"),
    "trainpage.task_{}": ("causal-lm", "seq-cls"),
    "train.status.{}": STATUSES,
    "trainpage.metric.{}": FINAL_METRICS,
    "memory.comp.{}": COMPONENTS,
    "memory.bad_{}": ("batch", "seq_len"),
    "data.bundled.{}": tuple(BUNDLED),
    "data.label_kind.{}": tuple({info.label_kind for info in BUNDLED.values()}),
    # Data columns shown translated (core.charts.tables.display_columns): the inventory and ΔW tables.
    "col.{}": (*layers_frame_columns(), *to_frame_columns()),
    # core.format.count_phrase: key_one / key_other.
    "{}_one": PLURAL_KEYS,
    "{}_other": PLURAL_KEYS,
    "sweepchart.{}": ("eval_loss", "accuracy", "seconds", "tps", "mem"),
    "sweeppage.mem.{}": ("cuda_max_allocated", "rss_growth"),
    "sweeppage.source_{}": ("saved", "targets", "ranks"),
    "tower.{}": TOWER_NAMES,
    "tower.about_{}": TOWER_NAMES,
    "attn.{}": (SELF, CROSS),
    "attn.about_{}": (SELF, CROSS),
    "attn.about_self_{}": ("encoder", "decoder"),
    "mempanel.seq_from_{}": SEQUENCE_SOURCES,
    "configure.init_{}": INIT_METHODS,
    "targets.col_{}": TABLE_COLUMNS,
    "serving.rule.{}": tuple(rule.id for rule in SERVING_RULES),
}
CALLS = ("tr", "t", "LensError", "fail")


def _placeholders(text: str) -> set[str]:
    return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _code_like(text: str) -> bool:
    """Identifiers, acronyms, symbols and numbers only (lora_alpha, GPU: {name}, α/r = {a}/{r})."""
    stripped = re.sub(r"\{[^}]*\}", "", text)
    for token in re.findall(r"[A-Za-z]+[A-Za-z0-9_]*", stripped):
        if not (len(token) == 1 or "_" in token or token.isupper() or any(ch.isdigit() for ch in token)):
            return False
    return True


# --- 1. the table -----------------------------------------------------------------------------


def test_table_loads_without_duplicates_and_has_both_languages():
    assert LANGS == ("en", "ko")
    entries = table()
    assert len(entries) > 100
    for key, pair in entries.items():
        assert KEY_SHAPE.fullmatch(key.replace("-", "_").replace("0", "o")) or "." in key, key
        assert isinstance(pair, tuple) and len(pair) == 2, key
        en, ko = pair
        assert isinstance(en, str) and en.strip(), f"{key}: empty English"
        assert isinstance(ko, str) and ko.strip(), f"{key}: empty Korean"


def test_korean_is_korean():
    missing = [
        (key, ko)
        for key, (_, ko) in table().items()
        if not HANGUL.search(ko) and not _code_like(ko) and key not in NOT_HANGUL_OK
    ]
    assert not missing, f"Korean text without Hangul (translate it, or list it in NOT_HANGUL_OK): {missing}"
    stale = [key for key in NOT_HANGUL_OK if key not in table() or HANGUL.search(table()[key][1])]
    assert not stale, f"NOT_HANGUL_OK lists keys that no longer need it: {stale}"


def test_placeholders_are_the_same_in_both_languages():
    bad = []
    for key, (en, ko) in table().items():
        try:
            if _placeholders(en) != _placeholders(ko):
                bad.append((key, sorted(_placeholders(en)), sorted(_placeholders(ko))))
        except ValueError as exc:  # a stray brace: str.format would fail
            bad.append((key, "format error", str(exc)))
    assert not bad, bad


def test_every_entry_formats_with_its_own_placeholders():
    for key, (en, _) in table().items():
        params = {name: 1 for name in _placeholders(en)}
        for lang in LANGS:
            out = t(key, lang, **params)
            assert not UNFILLED.search(out), (key, lang, out)


# --- 2. keys used by the code ----------------------------------------------------------------


def _sources() -> list[tuple[Path, str]]:
    files = [p for p in SOURCE_FILES if p.is_file()]
    assert len(files) > 30
    return [(p, p.read_text(encoding="utf-8")) for p in files]


CALL_LITERAL = re.compile(r"""(?<![\w.])(?:\w+\.)?(tr|t|LensError|fail)\(\s*(f?)(["'])((?:(?!\3).)*)\3""")
MESSAGE_TUPLE = re.compile(r"""[(\[,]\s*\(\s*(["'])([a-z][a-z_]*\.[a-z0-9_.\-]+)\1\s*,\s*(?:\{|dict\()""")


def _literal_keys() -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """({(file, key)}, {(file, f-string template)}) from a regex over the sources."""
    keys, templates = set(), set()
    for path, src in _sources():
        rel = str(path.relative_to(ROOT))
        for match in CALL_LITERAL.finditer(src):
            is_f, text = match.group(2), match.group(4)
            if is_f:
                templates.add((rel, re.sub(r"\{[^}]*\}", "{}", text)))
            elif KEY_SHAPE.fullmatch(text.replace("-", "_").replace("0", "o")) or "." in text:
                keys.add((rel, text))
        for match in MESSAGE_TUPLE.finditer(src):
            keys.add((rel, match.group(2)))
    return keys, templates


def test_every_literal_key_in_the_code_exists():
    keys, _ = _literal_keys()
    assert len(keys) > 200, "the scan found too few keys: is the regex still right?"
    missing = sorted((f, k) for f, k in keys if k not in table())
    assert not missing, f"keys used in code but not in core/strings: {missing}"


def test_every_fstring_key_expands_to_existing_keys():
    _, templates = _literal_keys()
    unknown = sorted({tpl for _, tpl in templates if tpl not in FSTRING_KEYS})
    assert not unknown, f"new f-string keys: add their option tuple to FSTRING_KEYS: {unknown}"
    missing = [tpl.format(v) for tpl, values in FSTRING_KEYS.items() for v in values if tpl.format(v) not in table()]
    assert not missing, missing


def test_literal_calls_pass_the_parameters_their_text_needs():
    """``tr("k", n=3)`` for a text that says ``{dropped}`` would show a raw ``{dropped}``."""
    bad = []
    for path, src in _sources():
        for node in ast.walk(ast.parse(src)):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            first = node.args[0]
            if name not in CALLS or not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                continue
            if first.value not in table() or any(k.arg is None for k in node.keywords):
                continue  # unknown keys are reported above; **params cannot be checked statically
            given = {k.arg for k in node.keywords}
            needed = _placeholders(table()[first.value][0])
            if needed - given:
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno} {first.value} needs {sorted(needed)}, "
                           f"gets {sorted(given)}")
    assert not bad, bad


# --- 3. pages in both languages --------------------------------------------------------------

SID = "fedcba9876543210fedcba9876543210"
SMOLLM = ModelSpec("embedded", "smollm2")
PLAN = LoraPlan(targets=("q_proj", "v_proj"), r=8, lora_alpha=16, task="causal-lm")
PLANS = {
    "qv r=8": {"model": SMOLLM, "plan": PLAN},
    "gpt2 all-linear": {"model": ModelSpec("catalog", "gpt2"), "plan": LoraPlan(target_regex="all-linear", r=4)},
    "ghost": {"model": ModelSpec("catalog", "no-such-model"), "plan": PLAN},  # shows a translated warning
}


def _fake_runner(spec, plan, train, val, settings, workdir, state):
    """Instant runs: r == 13 runs out of memory, others save a tiny adapter."""
    import torch
    from safetensors.torch import save_file

    from core.training.engine import TrainResult
    from core.training.loader import EMBEDDED_HUB_IDS, WeightsSource

    state.start(settings.max_steps)
    state.step(1, 100)
    state.log_loss(1, 2.0, 1e-4)
    state.log_eval(1, 2.1)
    if plan.r == 13:
        state.fail("train.oom", batch=settings.batch_size, seq_len=settings.seq_len_for(plan.task), r=plan.r)
        return None
    adapter = workdir / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA"}), encoding="utf-8")
    save_file({"x.lora_A.weight": torch.zeros(2, 2)}, str(adapter / "adapter_model.safetensors"))
    result = TrainResult(
        model=None, tokenizer=None, task=plan.task, labels=(), source=WeightsSource("/x", EMBEDDED_HUB_IDS["smollm2"], False),
        spec=spec, plan=plan, settings=settings, precision="fp32", dataset_name=train.name, train_rows=len(train),
        val_rows=len(val or ()), base_params=134_515_008, steps_done=1, metrics={"eval_loss": 2.1, "perplexity": 8.2},
        adapter_dir=adapter,
    )  # fmt: skip
    state.finish("done", result.metrics, result=result)
    return result


@pytest.fixture(scope="module")
def jobs(tmp_path_factory) -> tuple[JobManager, dict[str, str]]:
    mgr = JobManager(root=tmp_path_factory.mktemp("runs"), runner=_fake_runner)
    ds = TextDataset("chatterbot-en", tuple(Example(f"hi {i}", response=f"hello {i}") for i in range(6)))
    ids = {}
    for name, r in (("failed", 13), ("done", 8)):
        ids[name] = submit_recorded(SID, mgr, SMOLLM, PLAN.with_changes(r=r), ds, None, TrainSettings())
        assert mgr.get(SID, ids[name]).state.wait(10)
    return mgr, ids


def _strings(value: object, skip: frozenset[str] = frozenset({"id", "formId", "key", "fragmentId"})):
    """Every string inside a protobuf-as-dict, skipping widget ids (they hold widget keys, not text)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for k, v in value.items():
            if k not in skip:
                yield from _strings(v, skip)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v, skip)


def _screen_texts(at: AppTest) -> tuple[list[str], list[str]]:
    """(texts a visitor reads, chart specs) from every element on screen, sidebar included."""
    texts, charts = [], []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        kind = getattr(node, "type", "")
        if proto is not None and kind not in ("dataframe", "arrow_data_frame", "code"):
            found = list(_strings(MessageToDict(proto)))
            (charts if kind == "plotly_chart" else texts).extend(found)
        if kind in ("dataframe", "arrow_data_frame"):
            frame = node.value
            texts.extend(str(c) for c in frame.columns)
            for column in frame.columns:
                if frame[column].dtype == object:
                    texts.extend(str(v) for v in frame[column].head(200))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return texts, charts


# Table headers that are the same in every language: PEFT's r, α, "≈" (compact form), k of k-NN, GPU.
SYMBOL_HEADERS = {"r", "α", "≈", "k", "GPU"}
DATA_FIELDS = ("text", "response", "label")  # the JSONL fields a dataset preview shows as they are in the file


def _nodes(at: AppTest):
    stack = [at._tree]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(getattr(node, "children", {}).values())


def _headers(at: AppTest) -> list[str]:
    """Column names of every dataframe and static table on screen (they render on a canvas, not as text)."""
    found = []
    for node in _nodes(at):
        if getattr(node, "type", "") in ("dataframe", "arrow_data_frame", "table", "arrow_table"):
            found.extend(str(c) for c in node.value.columns)
    return found


def _raw_keys(strings: list[str]) -> list[str]:
    keys = table()
    found = [s for s in strings if KEY_SHAPE.fullmatch(s.strip()) and s.strip() in keys]
    found += [tok for s in strings for tok in KEY_TOKEN.findall(s) if tok in keys]
    return sorted(set(found))


def _analyze_upload(at: AppTest) -> None:
    at.radio(key="analyze.source").set_value("upload").run()


def _pick_failed(ids: dict[str, str]):
    def steps(at: AppTest) -> None:
        at.selectbox(key="train.pick").set_value(ids["failed"]).run()

    return steps


SCENARIOS = {
    "inspect": (None, {}),
    "inspect-catalog": (None, {"app.model_spec": ModelSpec("catalog", "llama-3.1-8b")}),
    "inspect-error": (None, {"app.model_spec": ModelSpec("hub", "bad id!!")}),
    "configure": ("pages/configure.py", {}),
    "compare": ("pages/compare.py", {"compare.plans": PLANS}),
    "compare-empty": ("pages/compare.py", {}),
    "train": ("pages/train.py", {}),
    "train-failed-run": ("pages/train.py", {}),
    "analyze": ("pages/analyze.py", {}),
    "analyze-upload": ("pages/analyze.py", {}),
}
TITLES = {None: "inspect.title", "pages/configure.py": "configure.title", "pages/compare.py": "compare.title",
          "pages/train.py": "trainpage.title", "pages/analyze.py": "analyzepage.title"}


def _lang_outside_scripts(monkeypatch, lang: str) -> None:
    """AppTest re-applies widget values in the test thread, calling each ``format_func`` there,
    where no session exists: let ``tr`` use the test's language outside script runs.
    Call it after a run, so that the ``ui`` modules the pages imported are patched too."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    import ui.state

    real = getattr(ui.state.lang, "real", ui.state.lang)

    def patched() -> str:
        return real() if get_script_run_ctx() is not None else lang

    patched.real = real  # type: ignore[attr-defined]
    for name, module in list(sys.modules.items()):
        current = getattr(module, "lang", None)
        if (name == "ui" or name.startswith("ui.")) and (current is real or getattr(current, "real", None) is real):
            monkeypatch.setattr(module, "lang", patched)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_pages_show_no_raw_key_in_either_language(scenario, lang, jobs, monkeypatch):
    import copy

    mgr, ids = jobs
    monkeypatch.setattr(core.training.jobs, "_MANAGER", mgr)
    page, state = SCENARIOS[scenario]
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["app.lang"] = lang
    at.session_state["app.visitor"] = SID
    seed_plans(SID, copy.deepcopy(state).pop("compare.plans", {}))
    for key, value in copy.deepcopy(state).items():
        if key != "compare.plans":
            at.session_state[key] = value
    at.run()
    _lang_outside_scripts(monkeypatch, lang)
    if page:
        at.switch_page(page)
        at.run()
        _lang_outside_scripts(monkeypatch, lang)
    if scenario == "analyze-upload":
        _analyze_upload(at)
    if scenario == "train-failed-run":
        _pick_failed(ids)(at)
    assert not at.exception, [e.value for e in at.exception]
    texts, charts = _screen_texts(at)
    assert texts, "nothing rendered"
    assert not _raw_keys(texts + charts), _raw_keys(texts + charts)
    unfilled = sorted({m for s in texts for m in UNFILLED.findall(s)})
    assert not unfilled, f"unfilled placeholders on screen: {unfilled}"
    assert at.title[0].value == t(TITLES[page], lang)
    korean_texts = [s for s in texts if HANGUL.search(s)]
    if lang == "ko":
        assert len(korean_texts) >= 5, texts
        data = {*PLANS, *DATA_FIELDS}  # a plan's name, a dataset's own field names: the visitor's data
        english = [h for h in _headers(at) if not HANGUL.search(h) and h not in SYMBOL_HEADERS | data]
        assert not english, f"English table headers on a Korean page: {english}"
        if page is None:  # app.py ran (AppTest runs a switched-to page alone): Streamlit's texts are replaced
            css = " ".join(node.proto.body for node in _nodes(at) if getattr(node, "type", "") == "html")
            for key in ("builtin.upload", "builtin.limit", "builtin.enter_apply", "builtin.out_of_range"):
                assert t(key, "ko", mb=20)[:6] in css, key
    else:  # English pages show Korean only in the language switch and Korean sample data
        allowed = ("Language · 언어", "한국어", "안녕하세요")
        stray = [s for s in korean_texts if not any(a in s for a in allowed)]
        assert not stray, stray
    if scenario == "train":
        assert any(t("trainpage.done", lang, steps=1, secs=0.0)[:6] in s for s in texts)
        # The run picker names runs by their size, not a status that a running fragment would leave stale.
        sizes = [label.rsplit(" · ", 1)[-1] for label in at.selectbox(key="train.pick").options]
        assert all(s.endswith(t("trainpage.n_steps", lang, n=0)[1:]) for s in sizes), sizes
    if scenario == "train-failed-run":
        d = TrainSettings()
        assert any(t("train.oom", lang, batch=d.batch_size, seq_len=d.seq_len_for("causal-lm"), r=13) == e.value
                   for e in at.error), [e.value for e in at.error]
    if scenario == "compare":
        assert any(t("compare.plan_error", lang, name="ghost", message="")[:8] in w.value for w in at.warning)


# --- 4. numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("n,en,ko", [
    (134_515_008, "134.52M", "1.3억"),
    (6_815_744, "6.82M", "681.6만"),
    (405_000_000_000, "405.00B", "4,050억"),
    (1_500_000_000_000, "1.50T", "1.5조"),
    (460_800, "460.80K", "46.1만"),
    (100_000_000, "100.00M", "1억"),
    (999, "999", "999"),
    (-2_000_000, "-2.00M", "-200만"),
])
def test_human_count_follows_the_language(n, en, ko):
    assert human_count(n, "en") == en
    assert human_count(n, "ko") == ko


def test_inspect_metric_uses_the_language_number_format(jobs, monkeypatch):
    monkeypatch.setattr(core.training.jobs, "_MANAGER", jobs[0])
    shown = {}
    for lang in LANGS:
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
        at.session_state["app.lang"] = lang
        at.run()
        shown[lang] = next(m.value for m in at.metric if m.label == t("inspect.total_params", lang))
    assert shown == {"en": "134.52M", "ko": "1.3억"}
