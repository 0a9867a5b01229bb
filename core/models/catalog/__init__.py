"""Bundled model catalog: offline Hugging Face configs plus display metadata.

Each entry in ``index.json`` has a folder ``<slug>/config.json`` that
``transformers.AutoConfig.from_pretrained`` can load without network access.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CATALOG_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class CatalogEntry:
    """One bundled model: identity, public parameter count and short notes (en/ko)."""

    slug: str
    name: str
    hub_id: str
    family: str
    params_public: int
    note_en: str
    note_ko: str

    @property
    def path(self) -> Path:
        """Folder holding this model's ``config.json``."""
        return CATALOG_DIR / self.slug


@cache
def _entries() -> tuple[CatalogEntry, ...]:
    """Parse ``index.json`` once."""
    rows = json.loads((CATALOG_DIR / "index.json").read_text(encoding="utf-8"))
    return tuple(CatalogEntry(**row) for row in rows)


def list_catalog() -> list[CatalogEntry]:
    """All catalog entries, in ``index.json`` order."""
    return list(_entries())


def find_entry(name: str) -> CatalogEntry | None:
    """The entry whose slug, display name or hub id equals ``name`` (case-insensitive)."""
    key = name.strip().casefold()
    for entry in _entries():
        if key in (
            entry.slug.casefold(),
            entry.name.casefold(),
            entry.hub_id.casefold(),
        ):
            return entry
    return None
