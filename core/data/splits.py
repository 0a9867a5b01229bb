"""Splitting and sampling a dataset: stratified train/val (scikit-learn), quick-eval subsets, random samples."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import replace

from sklearn.model_selection import train_test_split

from core.data.dataset import TextDataset
from core.errors import LensError


def _val_size(n: int, val_fraction: float) -> int:
    """Both parts must be non-empty, whatever the fraction rounds to."""
    return min(max(1, round(n * val_fraction)), n - 1)


def _val_indices(labels: list[str | None], size: int, seed: int) -> set[int]:
    """``size`` validation indices, stratified by label where scikit-learn can stratify.

    A label seen once stays in train (so train still sees every class); when the
    rest cannot be stratified (more classes than validation rows) it is split plainly.
    """
    n = len(labels)
    stratify = None not in labels and len(set(labels)) < n
    if not stratify:
        return set(train_test_split(range(n), test_size=size, random_state=seed)[1])
    counts = Counter(labels)
    rest = [i for i, label in enumerate(labels) if counts[label] > 1]
    size = min(size, len(rest) - 1)  # a repeated label exists, so rest has two rows or more
    try:
        picked = train_test_split(rest, test_size=size, random_state=seed, stratify=[labels[i] for i in rest])[1]
    except ValueError:  # fewer validation (or train) rows than classes: nothing to mirror
        picked = train_test_split(rest, test_size=size, random_state=seed)[1]
    return set(picked)


def train_val_split(
    ds: TextDataset, val_fraction: float = 0.1, seed: int = 0
) -> tuple[TextDataset, TextDataset]:
    """Deterministic split (same seed, same parts), stratified by label when every
    example has one and some label repeats, so validation mirrors the class mix."""
    if not 0 < val_fraction < 1:
        raise LensError("data.bad_val_fraction", value=val_fraction)
    n = len(ds)
    if n < 2:
        raise LensError("data.too_small_to_split", count=n)
    val_idx = _val_indices([ex.label for ex in ds.examples], _val_size(n, val_fraction), seed)
    order = list(range(n))
    random.Random(seed).shuffle(order)  # training order should not follow the file's grouping
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
