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
