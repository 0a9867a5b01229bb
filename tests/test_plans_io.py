"""Plans files: version 2 carries the per-module fields; version-1 files and workspace bodies written before
load unchanged (their plans take PEFT's defaults for the newer fields)."""

from __future__ import annotations

import json

import pytest

from core.errors import LensError
from core.models.spec import ModelSpec
from core.planning.plan import LoraPlan
from core.planning.plans_io import VERSION, SavedPlan, export_plans, import_plans

# A plan exactly as version 1 wrote it (LoraPlan.to_json before the per-module fields existed).
V1_PLAN = {"targets": ["q_proj", "v_proj"], "target_regex": None, "r": 16, "lora_alpha": 32, "lora_dropout": 0.05,
           "bias": "none", "use_rslora": False, "use_dora": True, "layers": [0, 1], "modules_to_save": ["lm_head"],
           "task": "causal-lm"}
V1_MODEL = {"source": "catalog", "ref": "llama-3.2-1b", "task": "causal-lm", "num_labels": 2}
V1_EXPECTED = LoraPlan(targets=("q_proj", "v_proj"), r=16, lora_alpha=32, use_dora=True, layers=(0, 1),
                       modules_to_save=("lm_head",))

FULL = LoraPlan(targets=("q_proj",), target_parameters=("experts.gate_up_proj",), lora_dropout=0.0,
                rank_pattern=(("z_last_but_first", 4), ("q_proj", 16)), alpha_pattern=(("q_proj", 8.5),),
                exclude_modules=("layers.0.self_attn.q_proj",), init_lora_weights="pissa", layers=(0, 1),
                layers_pattern="layers")


def _file(version: object, plan: dict) -> bytes:
    return json.dumps({"format": "lora-lens-plans", "version": version,
                       "plans": [{"name": "old", "model": V1_MODEL, "plan": plan}]}).encode()


def test_a_version_1_file_loads_unchanged_and_is_written_back_as_version_2() -> None:
    (saved,) = import_plans(_file(1, V1_PLAN))
    assert saved.plan == V1_EXPECTED and saved.model == ModelSpec("catalog", "llama-3.2-1b", "causal-lm")
    text = export_plans([saved])
    assert json.loads(text)["version"] == VERSION == 2
    assert import_plans(text.encode()) == [saved]


def test_every_new_field_round_trips_in_order() -> None:
    saved = SavedPlan("full", ModelSpec("catalog", "mixtral-8x7b", "causal-lm"), FULL)
    (back,) = import_plans(export_plans([saved]).encode())
    assert back == saved and back.plan.rank_pattern == FULL.rank_pattern  # PEFT's first-match order is kept
    doc = json.loads(export_plans([saved]))
    assert list(doc["plans"][0]["plan"]["rank_pattern"]) == ["z_last_but_first", "q_proj"]


@pytest.mark.parametrize(
    ("data", "key"),
    [
        (_file(1, {**V1_PLAN, "rank_pattern": {"q_proj": 4}}), "plans.bad_item"),  # not what version 1 wrote
        (_file(3, V1_PLAN), "plans.bad_version"),
        (_file(True, V1_PLAN), "plans.bad_version"),
        (_file("2", V1_PLAN), "plans.bad_version"),
        (_file(2, {**V1_PLAN, "rank_pattern": {"q_proj": 0}}), "plans.bad_item"),
        (_file(2, {**V1_PLAN, "init_lora_weights": "eva"}), "plans.bad_item"),
        (_file(2, {**V1_PLAN, "alpha_pattern": [["v_proj", "x"]]}), "plans.bad_item"),
    ],
    ids=["v1-with-v2-field", "v3", "bool", "string", "bad-pattern-r", "bad-init", "bad-alpha"],
)
def test_bad_files_are_refused_with_a_sentence(data: bytes, key: str) -> None:
    with pytest.raises(LensError) as err:
        import_plans(data)
    assert err.value.key == key


def test_workspace_bodies_written_before_still_load(tmp_path) -> None:
    """A saved plan and a run record stored in SQLite by the previous version (no per-module fields)."""
    from core.workspace.identity import new_visitor_id, visitor_key
    from core.workspace.store import WorkspaceStore

    path, vid = tmp_path / "ws.sqlite3", new_visitor_id()
    with WorkspaceStore(path):
        pass  # the current schema
    import sqlite3

    db = sqlite3.connect(path, isolation_level=None)
    body = json.dumps({"name": "old", "model": V1_MODEL, "plan": V1_PLAN})
    db.execute("INSERT INTO plans VALUES (?, ?, ?, 5, 5)", (visitor_key(vid), "old", body))
    db.close()
    with WorkspaceStore(path) as store:
        (saved,) = store.load(vid).plans
    assert saved.plan == V1_EXPECTED


def test_a_run_record_written_before_still_loads() -> None:
    from core.workspace.model import RunRecord

    record = json.loads(json.dumps(_a_run_record().to_json()))
    for key in ("rank_pattern", "alpha_pattern", "exclude_modules", "target_parameters", "init_lora_weights",
                "layers_pattern"):
        record["plan"].pop(key)  # what the previous version stored
    assert RunRecord.from_json(record).plan == _a_run_record().plan


def _a_run_record():
    from core.workspace.model import RunRecord

    return RunRecord(number=1, job_id="j1", model=ModelSpec("catalog", "llama-3.2-1b", "causal-lm"),
                     data_name="chatterbot-ko", plan=V1_EXPECTED, status="done")
