"""Sentence embeddings before and after a LoRA adapter, their 2-D pictures and scores.

An embedding is the hidden state at a chosen layer, mean-pooled over real tokens
(attention mask) or taken at [CLS] for encoders. "Before" runs the same model
inside ``peft_model.disable_adapter()``. Scores (silhouette, k-NN accuracy) are
measured in the original embedding space, never on the t-SNE/PCA picture.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from cachetools import LRUCache
from torch import nn

from core.data.dataset import TextDataset
from core.data.splits import sample
from core.errors import LensError

POOLINGS: tuple[str, ...] = ("mean", "cls")
PROJECTIONS: tuple[str, ...] = ("tsne", "pca")
CACHE_SIZE = 16


@dataclass(frozen=True)
class EmbeddingPair:
    """Embeddings of the same texts without and with the adapter (read-only arrays)."""

    before: np.ndarray
    after: np.ndarray
    layer: int
    pooling: str


@dataclass(frozen=True)
class SeparationScores:
    """How well labels separate in an embedding space."""

    silhouette: float  # -1..1, cosine distance
    knn_accuracy: float  # leave-one-out k-NN label accuracy, 0..1
    k: int


# --- sampling and fingerprints ---------------------------------------------------


def pick_sample(ds: TextDataset, n: int, seed: int = 0) -> TextDataset:
    """``n`` random examples; asking for more than the dataset holds is a clear error."""
    if n > len(ds):
        raise LensError("analysis.sample_too_large", n=n, total=len(ds))
    if n < 2:
        raise LensError("analysis.sample_too_small", n=n)
    return sample(ds, n, seed)


def fingerprint_texts(texts: Sequence[str]) -> str:
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()[:16]


def fingerprint_adapter(model: nn.Module) -> str:
    """A hash of every adapter tensor (LoRA factors, DoRA magnitudes, saved heads)."""
    digest = hashlib.sha256()
    for name, param in model.named_parameters():
        if "lora_" in name or "modules_to_save" in name:
            digest.update(name.encode("utf-8"))
            digest.update(param.detach().to(torch.float32).cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


# Streamlit reruns in threads: cachetools' LRUCache is not thread-safe on its own.
_CACHE: LRUCache[tuple, EmbeddingPair] = LRUCache(maxsize=CACHE_SIZE)
_CACHE_LOCK = threading.Lock()


# --- embedding -------------------------------------------------------------------


def _backbone(model: nn.Module) -> nn.Module:
    """The transformer body without its head (no vocabulary-sized logits for LMs)."""
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    return getattr(inner, "base_model", inner)


def _check_layer(model: nn.Module, layer: int) -> None:
    config = getattr(model, "config", None)
    blocks = getattr(config, "num_hidden_layers", None)
    if isinstance(blocks, int) and not -(blocks + 1) <= layer <= blocks:
        raise LensError("analysis.bad_layer", layer=layer, max=blocks)


def _pool(hidden: torch.Tensor, mask: torch.Tensor, pooling: str) -> torch.Tensor:
    if pooling == "cls":
        return hidden[:, 0]
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp_min(1.0)


def _check_pooling(tokenizer: Any, pooling: str) -> None:
    if pooling not in POOLINGS:
        raise LensError("analysis.bad_pooling", pooling=pooling, options=", ".join(POOLINGS))
    if pooling == "cls" and getattr(tokenizer, "cls_token_id", None) is None:
        raise LensError("analysis.cls_needs_encoder")


def embed(
    model: nn.Module,
    tokenizer: Any,
    texts: Sequence[str],
    *,
    layer: int = -1,
    pooling: str = "mean",
    batch_size: int = 32,
    max_length: int = 128,
) -> np.ndarray:
    """(n, hidden) float32 embeddings of ``texts`` at hidden-state index ``layer``
    (0 = token embeddings, -1 = last block), batched, no grad, in eval mode."""
    _check_pooling(tokenizer, pooling)
    _check_layer(model, layer)
    if getattr(tokenizer, "pad_token", None) is None:
        tokenizer.pad_token = tokenizer.eos_token
    body = _backbone(model)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    chunks = []
    try:
        with torch.no_grad():
            for start in range(0, len(texts), batch_size):
                batch = tokenizer(
                    list(texts[start : start + batch_size]),
                    padding=True, truncation=True, max_length=max_length,
                    return_tensors="pt", padding_side="right",
                ).to(device)
                out = body(**batch, output_hidden_states=True)
                chunks.append(_pool(out.hidden_states[layer], batch["attention_mask"], pooling).float().cpu())
    finally:
        model.train(was_training)
    return torch.cat(chunks).numpy()


def _frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def embed_before_after(
    model: nn.Module,
    tokenizer: Any,
    texts: Sequence[str],
    *,
    layer: int = -1,
    pooling: str = "mean",
    batch_size: int = 32,
    max_length: int = 128,
    model_id: str = "",
    use_cache: bool = True,
) -> EmbeddingPair:
    """Embeddings without (``disable_adapter``) and with the adapter, cached per
    (model id, adapter fingerprint, sample fingerprint, layer, pooling)."""
    if not hasattr(model, "disable_adapter"):
        raise LensError("analysis.not_peft_model")
    if len(texts) == 0:
        raise LensError("analysis.sample_too_small", n=0)
    key = (model_id, fingerprint_adapter(model), fingerprint_texts(texts), layer, pooling, max_length)
    if use_cache:
        with _CACHE_LOCK:
            hit = _CACHE.get(key)
        if hit is not None:
            return hit
    kwargs = {"layer": layer, "pooling": pooling, "batch_size": batch_size, "max_length": max_length}
    with model.disable_adapter():
        before = embed(model, tokenizer, texts, **kwargs)
    after = embed(model, tokenizer, texts, **kwargs)
    pair = EmbeddingPair(_frozen(before), _frozen(after), layer, pooling)
    if use_cache:
        with _CACHE_LOCK:
            _CACHE[key] = pair
    return pair


# --- projection and scores -------------------------------------------------------


def project(embeddings: np.ndarray, method: str = "tsne", perplexity: float = 30.0, seed: int = 0) -> np.ndarray:
    """(n, 2) coordinates: t-SNE (cosine) or PCA. Only for the picture, never for scores."""
    n = len(embeddings)
    if method not in PROJECTIONS:
        raise LensError("analysis.bad_projection", method=method, options=", ".join(PROJECTIONS))
    if n < 3:
        raise LensError("analysis.sample_too_small", n=n)
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(embeddings)
    if not 0 < perplexity < n:
        raise LensError("analysis.bad_perplexity", perplexity=perplexity, n=n)
    from sklearn.manifold import TSNE

    tsne = TSNE(n_components=2, perplexity=perplexity, random_state=seed, init="pca", metric="cosine")
    return tsne.fit_transform(np.asarray(embeddings, dtype=np.float64))


def _knn_accuracy(embeddings: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Leave-one-out k-NN: each point is voted on by its k nearest other points
    (cosine distance, scikit-learn's neighbours); ties go to the label of the nearest voter."""
    from sklearn.neighbors import NearestNeighbors

    codes = np.unique(labels, return_inverse=True)[1]
    finder = NearestNeighbors(n_neighbors=k, metric="cosine").fit(embeddings)
    votes = codes[finder.kneighbors(return_distance=False)]  # (n, k), nearest first, never the point itself
    counts = (votes[:, :, None] == np.arange(codes.max() + 1)).sum(axis=1)  # (n, classes)
    tied = counts[np.arange(len(votes))[:, None], votes] == counts.max(axis=1, keepdims=True)
    winner = votes[np.arange(len(votes)), tied.argmax(axis=1)]  # the first (nearest) voter of a top label
    return float(np.mean(winner == codes))


def separation_scores(embeddings: np.ndarray, labels: Sequence[Any], k: int = 5) -> SeparationScores:
    """Silhouette (cosine) and leave-one-out k-NN accuracy of ``labels`` in ``embeddings``."""
    from sklearn.metrics import silhouette_score

    if any(label is None for label in labels):
        raise LensError("analysis.no_labels")
    y = np.asarray([str(label) for label in labels])
    n, classes = len(y), len(set(y.tolist()))
    if len(embeddings) != n:
        raise LensError("analysis.label_count", n=len(embeddings), labels=n)
    if classes < 2 or classes >= n:
        raise LensError("analysis.need_two_labels", classes=classes, n=n)
    k = max(1, min(k, n - 1))
    silhouette = float(silhouette_score(embeddings, y, metric="cosine"))
    return SeparationScores(silhouette, _knn_accuracy(np.asarray(embeddings), y, k), k)


def compare_scores(pair: EmbeddingPair, labels: Sequence[Any], k: int = 5) -> dict[str, SeparationScores]:
    """``{"before": ..., "after": ...}`` scores for the two embedding spaces."""
    return {"before": separation_scores(pair.before, labels, k), "after": separation_scores(pair.after, labels, k)}
