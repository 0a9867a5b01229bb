"""The one analysis pipeline, shared by the Analyze page and ``python -m core analyze``: adapter + data in, results out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from torch import nn

from core.analysis.delta import DeltaRow, delta_from_peft
from core.analysis.embeddings import (
    EmbeddingPair,
    SeparationScores,
    compare_scores,
    embed_before_after,
    pick_sample,
    project,
)
from core.data.dataset import TextDataset
from core.errors import LensError

Projector = Callable[[np.ndarray, str, float, int], np.ndarray]


@dataclass(frozen=True)
class EmbeddingOptions:
    """What the user picks for the before/after picture; ``method=None`` skips the 2-D projection (the CLI)."""

    n: int = 200
    seed: int = 0
    layer: int = -1
    pooling: str = "mean"
    method: str | None = None  # "tsne" or "pca"
    perplexity: float = 30.0


@dataclass(frozen=True)
class EmbeddingReport:
    """The sample, its embeddings before/after, their scores (or why there are none) and 2-D coordinates."""

    sample: TextDataset
    pair: EmbeddingPair
    scores: dict[str, SeparationScores] | None
    scores_error: LensError | None
    coords: tuple[np.ndarray, np.ndarray] | None

    def texts(self) -> list[str]:
        return [ex.text for ex in self.sample.examples]


def delta_rows(model: nn.Module) -> list[DeltaRow]:
    """ΔW anatomy of every adapted module of a ``PeftModel``."""
    return delta_from_peft(model)


def embedding_report(
    model: nn.Module,
    tokenizer: Any,
    ds: TextDataset,
    options: EmbeddingOptions,
    *,
    model_id: str = "",
    projector: Projector = project,
) -> EmbeddingReport:
    """Sample ``ds``, embed it without and with the adapter, score label separation, project for the picture.

    Scores need labels (at least two classes); when they cannot be computed the reason is kept in
    ``scores_error`` and the embeddings are still returned. ``projector`` lets the page pass a cached ``project``.
    """
    sample = pick_sample(ds, options.n, options.seed)
    texts = [ex.text for ex in sample.examples]
    pair = embed_before_after(model, tokenizer, texts, layer=options.layer, pooling=options.pooling, model_id=model_id)
    try:
        scores, error = compare_scores(pair, [ex.label for ex in sample.examples]), None
    except LensError as exc:
        scores, error = None, exc
    coords = None
    if options.method is not None:
        coords = tuple(projector(side, options.method, options.perplexity, options.seed) for side in (pair.before, pair.after))
    return EmbeddingReport(sample, pair, scores, error, coords)
