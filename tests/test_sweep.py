"""Sweeps: several plans on one shared base, each measured, failures and stops, the workspace record, CLI, page."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
import torch

from core.anatomy.inventory import list_adaptable_layers
from core.data.bundled import load_bundled
from core.data.splits import sample
from core.errors import LensError
from core.models.meta import build_meta_model
from core.models.sources import load_config
from core.models.spec import ModelSpec
from core.planning.plan import LoraPlan, to_lora_config
from core.training import engine
from core.training.jobs import JobManager
from core.training.settings import TrainSettings
from core.training.sweep import PlanResult, Sweep, SweepPlan, ladder, pareto, summarize, validate_sweep
from core.training.sweep_run import SweepRun, run_sweep, share_base, split

pytestmark = pytest.mark.usefixtures("one_cpu_thread")

MINILM = ModelSpec("embedded", "minilm", "seq-cls")
OWNER = "session-sweep"
PLANS = (
    SweepPlan("qv r=4", LoraPlan(targets=("query", "value"), r=4, lora_alpha=8, task="seq-cls")),
    SweepPlan("all-linear r=8", LoraPlan(target_regex="all-linear", r=8, task="seq-cls"), learning_rate=1e-2),
    SweepPlan("dora ffn r=2", LoraPlan(targets=("intermediate.dense",), r=2, use_dora=True, task="seq-cls")),
)
SETTINGS = TrainSettings.for_task("seq-cls", max_steps=2, batch_size=4, max_seq_len=32, max_eval_examples=8)


def _data(n: int = 40):
    return sample(load_bundled("rotten-tomatoes", "seq-cls"), n, seed=1)


def _sweep(plans=PLANS, settings=SETTINGS, seeds=(1,)) -> Sweep:
    return Sweep(MINILM, "rotten-tomatoes", tuple(plans), settings, tuple(seeds))


REVIEWS = ["A sharp, funny film.", "Dull."]


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """The sweep's results, and each plan's TrainResult with its logits on ``REVIEWS`` taken as the plan ended (the
    next plan re-wraps the shared base: a plan's live model lasts until then)."""
    trained = {}

    def keep(result, t) -> None:
        with torch.no_grad():
            t.logits = t.model(**t.tokenizer(REVIEWS, padding=True, return_tensors="pt")).logits
        trained[result.name] = t

    return run_sweep(_sweep(), _data(), None, tmp_path_factory.mktemp("sweep"), on_result=keep, lanes=1), trained


def _peft_count(plan: LoraPlan, labels: tuple[str, ...]) -> int:
    """PEFT's own count on a freshly loaded base, built here independently of the sweep."""
    from peft import get_peft_model

    from core.training.loader import load_model, weights_source

    base = load_model(weights_source(MINILM).location, "seq-cls", labels, 0)
    return get_peft_model(base, to_lora_config(plan)).get_nb_trainable_parameters()[0]


def test_each_plan_trainable_count_equals_peft_and_the_budget(swept):
    results, trained = swept
    assert [r.name for r in results] == [p.name for p in PLANS] and all(r.status == "done" for r in results)
    for item, r in zip(PLANS, results, strict=True):
        assert r.trainable_params == r.budget_params == _peft_count(item.plan, trained[r.name].labels) > 0
    assert len({r.trainable_params for r in results}) == len(results)
    assert all(r.seconds > 0 and r.tokens_per_second and r.memory_kind == "rss_growth" for r in results)
    assert all(r.peak_memory_bytes is not None and r.peak_memory_bytes >= 0 for r in results)
    assert all("accuracy" in r.metrics and "f1_macro" in r.metrics and r.losses for r in results)


def test_every_adapter_reloads_in_peft_with_equal_logits(swept):
    from peft import PeftModel

    from core.training.loader import load_model

    results, trained = swept
    for r in results:
        t = trained[r.name]
        batch = t.tokenizer(REVIEWS, padding=True, return_tensors="pt")
        base = load_model(t.source.location, "seq-cls", t.labels, t.tokenizer.pad_token_id)
        reloaded = PeftModel.from_pretrained(base, r.adapter_dir).eval()
        with torch.no_grad():
            assert torch.allclose(reloaded(**batch).logits, t.logits, atol=1e-5), r.name
    assert [t.model is None for t in trained.values()] == [True, True, False]  # only the last still wraps the base


def test_the_per_plan_learning_rate_reaches_the_trainer(swept):
    _, trained = swept
    assert trained["all-linear r=8"].settings.learning_rate == 1e-2
    assert trained["qv r=4"].settings.learning_rate is None  # the task default


def test_the_step_0_evaluation_is_measured_once_and_equals_a_separate_runs_own(swept, tmp_path, monkeypatch):
    from core.training.engine import run_training
    from core.training.run_state import RunState

    results, _ = swept
    first, shared, dora = results
    sweep = _sweep()
    train, val = split(sweep, _data(), None)
    alone = RunState()
    run_training(MINILM, PLANS[1].plan, train, val, sweep.settings_for(PLANS[1], 1), tmp_path, alone)
    own = alone.snapshot().evals[0]
    assert own["step"] == 0 and shared.evals[0] == own == first.evals[0]  # what Trainer measured, to the bit
    assert [e["step"] for e in shared.evals] == [e["step"] for e in alone.snapshot().evals]


def test_a_sweep_evaluates_its_shared_start_and_probes_packing_once_with_the_speed_switches_on(tmp_path, monkeypatch):
    from transformers import Trainer

    from core.training import recipe

    calls, built, probes = [], [], []
    loop, build, probe = Trainer.evaluation_loop, recipe.build_trainer, recipe.cls_packing_is_exact
    monkeypatch.setattr(Trainer, "evaluation_loop", lambda self, *a, **k: calls.append(self.state.global_step)
                        or loop(self, *a, **k))  # fmt: skip
    monkeypatch.setattr(recipe, "build_trainer", lambda *a, **k: built.append(k) or build(*a, **k))
    monkeypatch.setattr(recipe, "cls_packing_is_exact", lambda *a, **k: probes.append(k) or probe(*a, **k))
    results = run_sweep(_sweep(PLANS[:2]), _data(), None, tmp_path, lanes=1)
    assert [len(r.evals) for r in results] == [3, 3] and [e["step"] for e in results[1].evals] == [0, 1, 2]
    assert calls == [0, 1, 2, 1, 2]  # the second plan reports the first's step-0 evaluation instead of redoing it
    assert [(k["padding_free"], k["labels_only_head"], k["packs"]) for k in built] == [(True, True, (True, True))] * 2
    assert probes == [{}, {"first_token_layer": True}]  # a property of the base: probed for the first plan only


@pytest.mark.parametrize(("task", "steps"), [("causal-lm", 12), ("seq-cls", 60)])
def test_a_sweeps_defaults_evaluate_at_the_start_and_end_only_with_the_speed_switches(task, steps):
    from core.training.sweep import sweep_settings

    s = sweep_settings(task)
    assert (s.max_steps, s.eval_every, s.padding_free, s.labels_only_head) == (steps, steps, True, True)
    assert s.batch_size == TrainSettings.for_task(task).batch_size
    assert sweep_settings(task, max_steps=5).eval_every == 5 and sweep_settings(task, eval_every=2).eval_every == 2


def _as_loaded(model) -> dict:
    """What a base as loaded is: its modules, tensors, ``requires_grad`` flags, hooks, mode and config."""
    hooks = sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks) for m in model.modules())
    return {
        "modules": [(n, type(m).__name__) for n, m in model.named_modules()],
        "tensors": {k: v.clone() for k, v in model.state_dict().items()},
        "grads": [(n, p.requires_grad) for n, p in model.named_parameters()],
        "hooks": hooks, "training": any(m.training for m in model.modules()), "config": model.config.to_dict(),
    }  # fmt: skip


def _same(a: dict, b: dict) -> bool:
    tensors = a["tensors"].keys() == b["tensors"].keys() and all(torch.equal(a["tensors"][k], b["tensors"][k])
                                                                  for k in a["tensors"])  # fmt: skip
    return tensors and all(a[k] == b[k] for k in a if k != "tensors")


@pytest.mark.parametrize("checkpointing", [False, True])
def test_each_plan_wraps_the_one_base_and_leaves_it_as_loaded(tmp_path, checkpointing):
    """A plan trains on the shared base wrapped by PEFT; the next plan gets it back exactly as loaded (modules,
    tensors, flags, hooks, config) and the plan before loses its live model (its adapter is on disk)."""
    from core.training.run_state import RunState

    settings = SETTINGS.with_changes(gradient_checkpointing=checkpointing)
    train, val = split(_sweep(), _data(), None)
    shared = share_base(MINILM, "seq-cls", train, val, settings)
    loaded, base = _as_loaded(shared.model), shared.model
    first = engine.run_training(MINILM, PLANS[1].plan, train, val, settings, tmp_path / "a", RunState(), shared)
    assert first is not None and first.model is not None and any("lora_" in n for n, _ in base.named_modules())
    second = engine.prepare(MINILM, PLANS[0].plan, train, val, settings, shared)
    assert first.model is None and first.adapter_dir.is_dir() and second.result.model.get_base_model() is base
    assert shared.bare() is base and shared.reloads == 0 and second.result.model is None
    again = _as_loaded(base)
    heads = [k for k in loaded["tensors"] if k.startswith("classifier")]  # each run redraws it from its seed
    assert heads and all(again["tensors"].pop(k) is not None and loaded["tensors"].pop(k) is not None for k in heads)
    assert _same(again, loaded)


def test_a_base_that_cannot_be_put_back_is_read_again(tmp_path):
    train, val = split(_sweep(), _data(), None)
    shared = share_base(MINILM, "seq-cls", train, val, SETTINGS)
    base = shared.model
    session = engine.prepare(MINILM, PLANS[0].plan, train, val, SETTINGS, shared)
    dense = base.bert.pooler.dense
    dense.weight = torch.nn.Parameter(dense.weight.detach().clone())  # a tensor swapped: not the base as loaded
    assert shared.bare() is not base and shared.reloads == 1 and session.result.model is None
    assert not any("lora_" in n for n, _ in shared.model.named_modules())


@pytest.mark.parametrize("init", ["pissa", "olora"])
def test_after_a_plan_that_rewrites_the_base_the_next_plan_gets_the_weights_as_on_disk(tmp_path, init):
    """PiSSA/OLoRA subtract their initial adapter from the base weights in place (same tensors, new values): the next
    plan must not train on that residual base."""
    from core.training.loader import load_model, weights_source
    from core.training.run_state import RunState

    train, val = split(_sweep(), _data(), None)
    shared = share_base(MINILM, "seq-cls", train, val, SETTINGS)
    plan = LoraPlan(targets=("query", "value"), r=2, lora_alpha=4, init_lora_weights=init, task="seq-cls")
    assert engine.run_training(MINILM, plan, train, val, SETTINGS, tmp_path / init, RunState(), shared) is not None
    base = shared.bare().state_dict()
    disk = load_model(weights_source(MINILM).location, "seq-cls", shared.labels, shared.tokenizer.pad_token_id)
    keys = [k for k in disk.state_dict() if not k.startswith("classifier")]
    assert "bert.encoder.layer.0.attention.self.query.weight" in keys
    assert all(torch.equal(base[k], disk.state_dict()[k]) for k in keys)


def test_each_seed_starts_from_the_head_and_lora_init_a_separate_run_of_that_seed_starts_from():
    """The shared base is loaded once (seed 1); a copy for seed 2 redraws its head, as a fresh load for seed 2 does."""
    train, val = split(_sweep(), _data(), None)
    shared = share_base(MINILM, "seq-cls", train, val, SETTINGS.with_changes(seed=1))
    starts = {}
    for seed in (1, 2):
        settings = SETTINGS.with_changes(seed=seed)
        swept = engine.prepare(MINILM, PLANS[0].plan, train, val, settings, shared).result.model.state_dict()
        alone = engine.prepare(MINILM, PLANS[0].plan, train, val, settings).result.model.state_dict()
        assert swept.keys() == alone.keys() and all(torch.equal(swept[k], alone[k]) for k in alone), seed
        starts[seed] = swept
    heads = [k for k in starts[1] if "classifier" in k and "modules_to_save" in k]
    assert heads and not any(torch.equal(starts[1][k], starts[2][k]) for k in heads if k.endswith("weight"))


def test_an_injected_oom_fails_that_plan_and_the_sweep_goes_on(tmp_path, monkeypatch):
    real = engine._wrap

    def wrap(model, plan, settings):
        wrapped = real(model, plan, settings)
        if plan.r == 8:
            def oom(module, inputs, output):
                raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

            wrapped.register_forward_hook(oom)
        return wrapped

    monkeypatch.setattr(engine, "_wrap", wrap)
    plans = (*PLANS[:2], SweepPlan("qv r=4 again", PLANS[0].plan))
    results = run_sweep(_sweep(plans), _data(), None, tmp_path, lanes=1)  # the hook lives in this process
    assert [r.status for r in results] == ["done", "failed", "done"]
    assert results[1].error_key == "train.oom" and results[1].adapter_dir is None
    assert [s.name for s in summarize(results, "seq-cls")] == ["qv r=4", "qv r=4 again"]


def test_stop_between_plans_keeps_the_finished_ones(tmp_path):
    stop = threading.Event()
    results = run_sweep(_sweep(), _data(), None, tmp_path, on_result=lambda r, t: stop.set(), stop=stop, lanes=1)
    assert [r.status for r in results] == ["done"] and results[0].adapter_dir


def _wait_for(cond, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def test_stop_mid_sweep_in_the_job_queue_keeps_finished_plans(tmp_path, monkeypatch):
    real = engine._wrap

    def slow_second_plan(model, plan, settings):  # so the stop surely lands while plan 2 trains
        wrapped = real(model, plan, settings)
        if plan.r == 8:
            wrapped.register_forward_hook(lambda *_: time.sleep(0.2))
        return wrapped

    monkeypatch.setattr(engine, "_wrap", slow_second_plan)
    manager = JobManager(root=tmp_path)
    run = SweepRun(_sweep(settings=SETTINGS.with_changes(max_steps=30, eval_every=100)), _data(), None, tmp_path)
    ids = run.submit(manager, OWNER, lanes=1)  # the hook lives in this process
    assert len(ids) == 3 and manager.queue_position(ids[2]) is not None  # queued one after another
    _wait_for(lambda: manager.get(OWNER, ids[1]).snapshot.step >= 2)
    assert run.running()[0].name == PLANS[1].name
    run.stop()
    _wait_for(lambda: run.finished)
    statuses = [manager.get(OWNER, i).snapshot.status for i in ids]
    assert statuses == ["done", "stopped", "stopped"]
    assert [r.status for r in run.results] == ["done", "stopped"] and all(r.adapter_dir for r in run.results)
    assert run.results[1].trainable_params == run.results[1].budget_params
    assert run._shared is None  # the shared base is dropped once no plan is left


@pytest.mark.parametrize(
    ("points", "maximize", "front"),
    [
        ([("a", 10, 0.5), ("b", 20, 0.6), ("c", 30, 0.55)], True, ["a", "b"]),
        ([("a", 10, 0.5), ("b", 20, 0.4), ("c", 30, 0.45)], False, ["a", "b"]),
        ([("a", 10, 0.5), ("b", 10, 0.5)], True, ["a", "b"]),
        ([("a", 10, 0.9), ("b", 20, 0.6)], True, ["a"]),
    ],
)
def test_pareto_frontier(points, maximize, front):
    assert pareto(points, maximize) == front


def test_summary_is_the_mean_and_spread_over_seeds():
    import statistics

    rows = [PlanResult("a", s, "done", 10, 10, {"accuracy": acc}, 1.0, adapter_dir="x") for s, acc in ((1, .5), (2, .7))]
    rows.append(PlanResult("b", 1, "failed"))
    (a,) = summarize(rows, "seq-cls")
    assert a.quality == pytest.approx(0.6) and a.spread == pytest.approx(statistics.stdev([0.5, 0.7]))
    assert a.seeds == 2 and a.on_frontier


def test_ladders_come_from_the_presets():
    inv = list_adaptable_layers(build_meta_model(load_config(ModelSpec("embedded", "smollm2", "causal-lm"))))
    targets = ladder(inv, "targets", "causal-lm", r=16)
    assert [p.name for p in targets] == ["qv r=16", "attention r=16", "mlp r=16", "all-linear r=16"]
    assert set(targets[0].plan.targets) == {"q_proj", "v_proj"} and targets[3].plan.target_regex == "all-linear"
    assert set(targets[2].plan.targets) == {"gate_proj", "up_proj", "down_proj"}
    ranks = ladder(inv, "ranks", "causal-lm", preset="attention")
    assert [p.plan.r for p in ranks] == [4, 8, 16, 64]
    assert {p.plan.lora_alpha for p in ranks} == {16}  # alpha fixed: one learning rate suits every rank
    with pytest.raises(LensError):
        ladder(inv, "nope", "causal-lm")


@pytest.mark.parametrize(
    ("plans", "seeds", "key"),
    [(PLANS[:1], (1,), "sweep.plan_count"), ((PLANS[0], PLANS[0]), (1,), "sweep.duplicate_name"),
     (PLANS[:2], (1, 1), "sweep.seed_count"), (PLANS[:2], (1, 2, 3, 4), "sweep.seed_count"),
     ((PLANS[0], SweepPlan("x", LoraPlan(targets=("q",), task="causal-lm"))), (1,), "sweep.mixed_tasks"),
     ((PLANS[0], SweepPlan("x", PLANS[0].plan, learning_rate=5.0)), (1,), "train.bad_lr")],
)  # fmt: skip
def test_bad_sweeps_are_refused_with_one_sentence(plans, seeds, key):
    with pytest.raises(LensError) as info:
        validate_sweep(_sweep(plans, seeds=seeds))
    assert info.value.key == key


def test_the_workspace_keeps_a_sweep_across_a_reopen(tmp_path):
    from core.workspace.identity import new_visitor_id
    from core.workspace.store import WorkspaceStore

    a, b = new_visitor_id(), new_visitor_id()
    sweep = _sweep(seeds=(1, 2))
    result = PlanResult("qv r=4", 1, "done", 74, 74, {"accuracy": 0.5}, 2.5, 10.0, 123, "rss_growth", "/x",
                        [{"step": 1, "loss": 0.7, "lr": 0.1}])  # fmt: skip
    with WorkspaceStore(tmp_path / "ws.sqlite3") as store:
        record = store.add_sweep(a, sweep)
        store.update_sweep(a, record.number, result=result)
        store.update_sweep(a, record.number, status="done")
        assert store.sweeps(b) == []
    with WorkspaceStore(tmp_path / "ws.sqlite3") as store:
        (kept,) = store.sweeps(a)
        assert kept.sweep == sweep and kept.status == "done" and kept.results == (result,)
        assert kept.folder.endswith(f"sweeps/{record.number}")
        assert store.add_sweep(a, kept.sweep).number == record.number + 1  # re-run from the record
        assert store.delete_sweep(a, record.number) and len(store.sweeps(a)) == 1


def _upload(n: int = 24):
    """Rows as an upload gives them (``dataset_from_frame``'s name): no bundled set can bring them back."""
    from core.data.dataset import TextDataset

    return TextDataset("upload", _data(n).examples, dropped=3)


def test_a_sweep_keeps_its_own_rows_for_its_visitor_across_a_restart(tmp_path):
    """The split rows are stored once with the sweep: a re-run after a restart trains on the very same rows; another
    visitor gets nothing; once removed, one sentence says so (en and ko); a bundled sweep recorded without rows
    gets its bundled set."""
    import shutil

    from core.data.splits import train_val_split
    from core.workspace.identity import new_visitor_id
    from core.workspace.store import WorkspaceStore
    from core.workspace.sweep_data import DATA

    a, b = new_visitor_id(), new_visitor_id()
    sweep = Sweep(MINILM, "upload", PLANS[:2], SETTINGS)
    train, val = train_val_split(_upload(), SETTINGS.val_fraction, SETTINGS.seed)
    with WorkspaceStore(tmp_path / "ws.sqlite3") as store:
        number = store.add_sweep(a, sweep, train, val).number
        legacy = store.add_sweep(a, _sweep()).number  # bundled, recorded before rows were kept
    with WorkspaceStore(tmp_path / "ws.sqlite3") as store:  # the server restarted
        assert store.sweep_data(a, number) == (train, val) and store.sweep_data(a, number)[0].dropped == 3
        with pytest.raises(LensError) as other:
            store.sweep_data(b, number)
        assert other.value.key == "sweep.no_sweep"
        again, none = store.sweep_data(a, legacy)
        assert again == load_bundled("rotten-tomatoes", "seq-cls") and none is None
        (folder,) = [Path(r.folder) for r in store.sweeps(a) if r.number == number]
        shutil.rmtree(folder / DATA)  # e.g. a cleanup freed the space
        with pytest.raises(LensError) as gone:
            store.sweep_data(a, number)
    assert gone.value.key == "sweep.data_gone"
    assert gone.value.message("en").startswith("The data this sweep trained on is no longer kept")
    assert gone.value.message("ko").startswith("이 스윕이 학습한 데이터가 더 이상 보관되어 있지 않습니다")


def test_a_sweep_refuses_to_keep_rows_larger_than_its_bound(tmp_path, monkeypatch):
    from core.workspace import sweep_data
    from core.workspace.identity import new_visitor_id
    from core.workspace.store import WorkspaceStore

    monkeypatch.setattr(sweep_data, "MAX_DATA_BYTES", 1000)
    visitor = new_visitor_id()
    with WorkspaceStore(tmp_path / "ws.sqlite3") as store:
        with pytest.raises(LensError) as big:
            store.add_sweep(visitor, _sweep(), _upload(), _upload(4))
        assert big.value.key == "sweep.data_too_big" and store.sweeps(visitor) == []
    assert not list((tmp_path / "visitors").rglob("*.jsonl"))


def test_cli_prints_one_json_line_per_plan_and_the_pareto_set(tmp_path, capsys):
    from core.cli.main import main
    from core.planning.plans_io import SavedPlan, export_plans

    plans = tmp_path / "plans.json"
    plans.write_text(export_plans([SavedPlan(p.name, MINILM, p.plan) for p in PLANS[:2]]), encoding="utf-8")
    csv = tmp_path / "reviews.csv"
    csv.write_text("text,label\n" + "\n".join(f"\"{e.text.replace(chr(34), '')}\",{e.label}" for e in _data().examples))
    code = main(["sweep", "minilm", "--task", "seq-cls", "--data", str(csv), "--plans", str(plans), "--steps", "2",
                 "--batch", "4", "--seq-len", "32", "--out", str(tmp_path / "out"), "--json"])  # fmt: skip
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.startswith("{")]
    assert code == 0 and len(lines) == 3
    by_name = {line["name"]: line for line in lines[:2]}  # printed as each plan ends: lanes end in any order
    for item in PLANS[:2]:
        line = by_name[item.name]
        assert line["trainable_params"] == line["budget_params"] > 0
        assert {"accuracy", "macro_f1", "eval_loss", "seconds", "tokens_per_second", "peak_memory_bytes"} <= set(line)
        assert (tmp_path / "out" / line["adapter_dir"].split("/out/")[1] / "adapter_model.safetensors").is_file()
    assert lines[2]["summary"] and set(lines[2]["pareto"]) <= {p.name for p in PLANS[:2]} and lines[2]["pareto"]
    summary = lines[2]  # the sweep's wall time, and the plans' own seconds (more than it when plans ran side by side)
    assert 0 < summary["seconds"] and summary["plan_seconds"] == pytest.approx(sum(x["seconds"] for x in lines[:2]))
    assert summary["side_by_side"] >= 1


@pytest.mark.parametrize(
    "argv",
    [["sweep", "minilm", "--task", "seq-cls", "--data", "rotten-tomatoes"],
     ["sweep", "minilm", "--task", "seq-cls", "--data", "rotten-tomatoes", "--ladder", "ranks", "--seeds", "9"],
     ["sweep", "minilm", "--task", "seq-cls", "--data", "rotten-tomatoes", "--plans", "/nonexistent.json"]],
)  # fmt: skip
def test_cli_bad_input_exits_2_with_one_line(argv, capsys):
    from core.cli.main import main

    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1


def test_sweep_page_runs_a_ladder_and_shows_the_frontier_table_and_downloads():
    from streamlit.testing.v1 import AppTest

    from core.training import sweep_run

    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=180)
    at.run()
    at.switch_page("pages/sweep.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value.startswith("Sweep")
    at.selectbox(key="sweep.model").set_value("minilm").run()
    assert at.selectbox(key="sweep.task.minilm").value == "seq-cls"
    at.selectbox(key="sweep.data.seq-cls").set_value("chatterbot-en").run()
    at.radio(key="sweep.source").set_value("ranks").run()
    at.selectbox(key="sweep.preset").set_value("qv").run()
    at.number_input(key="sweep.steps.seq-cls").set_value(2).run()
    at.number_input(key="sweep.batch.seq-cls").set_value(4).run()
    assert not at.exception, [e.value for e in at.exception]
    at.button(key="sweep.start").click().run()
    assert not at.exception, [e.value for e in at.exception]
    (run,) = [r for r in sweep_run._LIVE.values() if r.sweep.data_name == "chatterbot-en"]
    assert [p.plan.r for p in run.sweep.plans] == [4, 8, 16, 64]
    _wait_for(lambda: run.finished, timeout=600)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    table = next(d.value for d in at.dataframe if "Trainable parameters" in d.value.columns)
    assert list(table["Plan"]) == ["qv r=4", "qv r=8", "qv r=16", "qv r=64"]
    assert list(table["Trainable parameters"]) == [r.trainable_params for r in run.results]
    assert table["On the frontier"].any()
    labels = [b.label for b in at.get("download_button")]
    assert "Download the table (CSV)" in labels and sum("(.zip)" in x for x in labels) == 4
    pick = at.selectbox(key="sweep.pick")
    assert pick.format_func(pick.value).endswith("4 plans · Finished")


def _sweep_page():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=180)
    at.run()
    at.switch_page("pages/sweep.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_sweep_page_and_the_train_page_keep_their_own_dataset():
    at = _sweep_page()
    at.selectbox(key="sweep.model").set_value("minilm").run()
    at.selectbox(key="sweep.data.seq-cls").set_value("chatterbot-en").run()
    assert not at.exception, [e.value for e in at.exception]
    at.switch_page("pages/train.py").run()
    at.selectbox(key="train.model").set_value("minilm").run()
    assert at.selectbox(key="train.data.seq-cls").value == "rotten-tomatoes"  # untouched by the Sweep page
    at.selectbox(key="train.data.seq-cls").set_value("chatterbot-ko").run()
    at.switch_page("pages/sweep.py").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="sweep.data.seq-cls").value == "chatterbot-en"  # and the Train page leaves it alone


def test_a_sweep_the_server_lost_mid_way_comes_back_interrupted_with_its_results(monkeypatch):
    from core.training import sweep_run
    from core.workspace.store import WorkspaceStore

    at = _sweep_page()
    owner = at.session_state["app.visitor"]
    done = PlanResult("qv r=4", 1, "done", 74, 74, {"accuracy": 0.5}, 2.5, 10.0, 123, "rss_growth", "/x")
    with WorkspaceStore() as store:
        record = store.add_sweep(owner, _sweep())  # recorded running, then the server went away
        store.update_sweep(owner, record.number, result=done)
    monkeypatch.setattr(sweep_run, "PROCESS_STARTED", time.time() + 1)  # this process started after it
    at.switch_page("pages/sweep.py").run()
    assert not at.exception, [e.value for e in at.exception]
    with WorkspaceStore() as store:
        (kept,) = [r for r in store.sweeps(owner) if r.number == record.number]
    assert kept.status == "interrupted" and kept.results == (done,)
    assert any("server restarted" in w.value and "1 of 3 runs" in w.value for w in at.warning)
    pick = at.selectbox(key="sweep.pick")
    assert pick.format_func(pick.value).endswith("3 plans · Interrupted")


def test_a_sweep_of_this_process_is_not_taken_for_an_interrupted_one():
    from core.training.sweep_run import interrupted

    assert not interrupted("someone", 1, "running", time.time())  # recorded by this process while it submits
    assert interrupted("someone", 1, "running", 0.0) and not interrupted("someone", 1, "done", 0.0)


def test_a_sweep_made_from_an_upload_reruns_after_a_restart_and_says_when_its_rows_are_gone(monkeypatch):
    """Recorded by an earlier server process from an upload (the upload itself is long gone): a reload of the page
    re-runs it on its kept rows; once they are removed, the button is off and one sentence says why."""
    import shutil

    from core.data.splits import train_val_split
    from core.training import sweep_run
    from core.workspace.store import WorkspaceStore
    from core.workspace.sweep_data import DATA

    owner = _sweep_page().session_state["app.visitor"]
    sweep = Sweep(MINILM, "upload", PLANS[:2], SETTINGS)
    train, val = train_val_split(_upload(), SETTINGS.val_fraction, SETTINGS.seed)
    with WorkspaceStore() as store:
        record = store.add_sweep(owner, sweep, train, val)
        store.update_sweep(owner, record.number, status="done")
    monkeypatch.setattr(sweep_run, "PROCESS_STARTED", time.time() + 1)  # this process started after it

    def reload():
        from streamlit.testing.v1 import AppTest

        at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=180)
        at.session_state["app.visitor"] = owner
        at.run()
        at.switch_page("pages/sweep.py").run()
        at.selectbox(key="sweep.pick").set_value(record.number).run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    at = reload()
    assert not at.button(key="sweep.rerun").disabled
    at.button(key="sweep.rerun").click().run()
    assert not at.exception, [e.value for e in at.exception]
    with WorkspaceStore() as store:
        (again,) = [r for r in store.sweeps(owner) if r.number > record.number]
        assert again.sweep == sweep and store.sweep_data(owner, again.number) == (train, val)
    run = sweep_run.live_sweep(owner, again.number)
    assert (run.train, run.val) == (train, val)
    _wait_for(lambda: run.finished, timeout=300)
    shutil.rmtree(Path(record.folder) / DATA)
    at = reload()  # (the Korean sentence: test_a_sweep_keeps_its_own_rows_...; AppTest cannot switch pages in ko)
    assert at.button(key="sweep.rerun").disabled
    assert any("The data this sweep trained on is no longer kept" in c.value for c in at.caption)
