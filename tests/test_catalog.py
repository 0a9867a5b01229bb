"""The bundled catalog: every config loads offline and builds to its public size."""

from __future__ import annotations

import json
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest
import torch
import transformers

from core.models.catalog import CATALOG_DIR, CatalogEntry, find_entry, list_catalog

ENTRIES = list_catalog()
TOLERANCE = 0.03


def test_index_is_well_formed() -> None:
    slugs = [e.slug for e in ENTRIES]
    assert len(slugs) == len(set(slugs))
    assert len({e.hub_id.lower() for e in ENTRIES}) == len(ENTRIES)
    assert len({e.name.lower() for e in ENTRIES}) == len(ENTRIES)
    folders = {p.parent.name for p in CATALOG_DIR.glob("*/config.json")}
    assert folders == set(slugs)
    for e in ENTRIES:
        assert e.params_public > 0
        assert e.note_en.strip() and e.note_ko.strip()
        assert any("\uac00" <= ch <= "\ud7a3" for ch in e.note_ko)


def test_list_catalog_is_cached_and_fresh() -> None:
    first = list_catalog()
    first.clear()
    assert list_catalog() == ENTRIES


@pytest.mark.parametrize(
    "query", ["llama-3.1-8b", "LLAMA 3.1 8B", "meta-llama/llama-3.1-8b"]
)
def test_find_entry_matches_slug_name_and_hub_id(query: str) -> None:
    entry = find_entry(query)
    assert entry is not None and entry.slug == "llama-3.1-8b"


def test_find_entry_unknown() -> None:
    assert find_entry("no-such-model") is None


@pytest.mark.parametrize("entry", ENTRIES, ids=[e.slug for e in ENTRIES])
def test_config_builds_to_public_size(
    entry: CatalogEntry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    raw = json.loads((entry.path / "config.json").read_text(encoding="utf-8"))
    assert "auto_map" not in raw, "catalog configs must not need remote code"

    config = transformers.AutoConfig.from_pretrained(entry.path)
    cls = getattr(transformers, config.architectures[0])
    with torch.device("meta"):
        model = cls._from_config(config)
    total = sum(p.numel() for p in model.parameters())
    assert abs(total - entry.params_public) <= TOLERANCE * entry.params_public, (
        f"{entry.slug}: built {total:,} vs public {entry.params_public:,}"
    )


DEFAULT_PLAN_MODELS = ["llama-3.2-1b", "gpt2", "bert-base", "t5-base", "falcon-7b", "qwen2.5-0.5b", "phi-3-mini"]


@pytest.mark.parametrize("slug", DEFAULT_PLAN_MODELS)
def test_default_plan_is_peft_default_and_budget_is_peft_count(slug: str) -> None:
    """PEFT's own default targets for the model type (name rule otherwise); budget equals PEFT's count."""
    from peft import get_peft_model
    from peft.utils.constants import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as PEFT_DEFAULTS

    from core.anatomy.inventory import list_adaptable_layers
    from core.models.meta import build_meta_model
    from core.models.sources import ModelSpec, load_config
    from core.planning.budget import compute_budget
    from core.planning.plan import to_lora_config
    from core.planning.presets import default_plan

    mc = load_config(ModelSpec("catalog", slug))
    inv = list_adaptable_layers(build_meta_model(mc))
    plan = default_plan(inv, mc.task)
    if inv.model_type in PEFT_DEFAULTS:
        assert list(plan.targets) == PEFT_DEFAULTS[inv.model_type]
    else:  # phi3: the fused query/key/value projection, found by role
        assert plan.targets == ("qkv_proj",)
    peft_model = get_peft_model(build_meta_model(mc), to_lora_config(plan))
    trainable, _ = peft_model.get_nb_trainable_parameters()
    assert compute_budget(inv, plan).trainable_params == trainable


def test_default_plan_reads_peft_table_not_names() -> None:
    """Phi: PEFT's default adds the MLP (fc1, fc2), which no query/value rule would pick."""
    from core.anatomy.inventory import list_adaptable_layers
    from core.planning.presets import default_plan, preset_targets

    config = transformers.PhiConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                    num_attention_heads=4)
    inv = list_adaptable_layers(transformers.PhiForCausalLM(config))
    assert default_plan(inv, "causal-lm").targets == ("q_proj", "v_proj", "fc1", "fc2")
    assert set(preset_targets(inv, "qv")[0]) == {"q_proj", "v_proj"}
