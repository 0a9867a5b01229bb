"""The analysis as a standalone script (PEFT, scikit-learn, plotly) and the sample it reads, for a notebook or the zip."""

from __future__ import annotations

import json

from core.analysis.pipeline import EmbeddingOptions
from core.data.dataset import TextDataset

SAMPLE_FILE = "analysis_sample.jsonl"
SCRIPT_FILE = "analysis.py"
# analysis.py against the app, same adapter and sample, on one machine (float32 embeddings, the same code path):
# silhouette within 1e-3, k-NN accuracy within one sample (1/n); t-SNE only matches with the same seed and
# scikit-learn version, and even then only as a picture.
SILHOUETTE_TOLERANCE = 1e-3

_TEMPLATE = '''"""Recompute LoRA Lens' analysis of this adapter: ΔW spectrum and effective rank, silhouette, k-NN, t-SNE.

    pip install torch transformers peft scikit-learn plotly
    python analysis.py          # next to adapter_config.json and {sample_file}

Set BASE_MODEL to a local copy of the base model when the Hub id below is not reachable.
Expected: the same silhouette (within 1e-3) and k-NN accuracy (within 1/n) as the app for this sample.
"""

import json
import math
import os
from pathlib import Path

import numpy as np
import plotly.express as px
import torch
from peft import PeftConfig, PeftModel
from sklearn.manifold import TSNE
from sklearn.metrics import silhouette_score
from sklearn.neighbors import NearestNeighbors
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

HERE = Path(os.environ.get("ADAPTER_DIR", Path(__file__).resolve().parent))
TASK = {task!r}
NUM_LABELS = {num_labels!r}
LAYER, POOLING, K, MAX_LENGTH = {layer!r}, {pooling!r}, {k!r}, 128
METHOD, PERPLEXITY, SEED = {method!r}, {perplexity!r}, {seed!r}
BASE = os.environ.get("BASE_MODEL") or PeftConfig.from_pretrained(HERE).base_model_name_or_path


def load():
    tokenizer = AutoTokenizer.from_pretrained(BASE)
    if TASK == "seq-cls":
        base = AutoModelForSequenceClassification.from_pretrained(BASE, num_labels=NUM_LABELS)
    else:
        base = AutoModelForCausalLM.from_pretrained(BASE)
    return PeftModel.from_pretrained(base, HERE).eval(), tokenizer


def delta_table(model):
    """σ(ΔW) for every LoRA module, ΔW = scaling · B·A; effective rank = exp(entropy of σ/Σσ)."""
    rows = []
    for name, module in model.named_modules():
        if not hasattr(module, "lora_A") or "default" not in module.lora_A:
            continue
        a, b = module.lora_A["default"].weight, module.lora_B["default"].weight
        delta = module.scaling["default"] * (b.double() @ a.double())
        sv = torch.linalg.svdvals(delta)
        p = sv / sv.sum()
        erank = math.exp(-(p[p > 0] * p[p > 0].log()).sum().item())
        ratio = (delta.norm() / module.base_layer.weight.double().norm()).item()
        rows.append((name.removeprefix("base_model.model."), ratio, erank, sv[: a.shape[0]].tolist()))
    return rows


def embed(model, tokenizer, texts):
    """Hidden state at LAYER of the backbone, mean-pooled over real tokens (or [CLS])."""
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    body = model.get_base_model().base_model  # the transformer without its head
    chunks = []
    with torch.no_grad():
        for start in range(0, len(texts), 32):
            batch = tokenizer(texts[start : start + 32], padding=True, truncation=True, max_length=MAX_LENGTH,
                              return_tensors="pt", padding_side="right")
            hidden = body(**batch, output_hidden_states=True).hidden_states[LAYER]
            if POOLING == "cls":
                chunks.append(hidden[:, 0])
            else:
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                chunks.append((hidden * mask).sum(1) / mask.sum(1).clamp_min(1.0))
    return torch.cat(chunks).float().numpy()


def knn_accuracy(x, labels, k=K):
    """Leave-one-out k-NN (cosine): each point voted on by its k nearest others; ties go to the nearest voter."""
    codes = np.unique(labels, return_inverse=True)[1]
    votes = codes[NearestNeighbors(n_neighbors=k, metric="cosine").fit(x).kneighbors(return_distance=False)]
    counts = (votes[:, :, None] == np.arange(codes.max() + 1)).sum(axis=1)
    tied = counts[np.arange(len(votes))[:, None], votes] == counts.max(axis=1, keepdims=True)
    return float(np.mean(votes[np.arange(len(votes)), tied.argmax(axis=1)] == codes))


def main():
    model, tokenizer = load()
    for module, ratio, erank, sv in delta_table(model):
        print(f"{{module}}  |dW|/|W| = {{ratio:.4g}}  effective rank = {{erank:.2f}}  sigma = {{[round(s, 4) for s in sv]}}")
    rows = [json.loads(line) for line in (HERE / {sample_file!r}).read_text(encoding="utf-8").splitlines() if line]
    texts, labels = [r["text"] for r in rows], np.asarray([str(r["label"]) for r in rows])
    with model.disable_adapter():
        before = embed(model, tokenizer, texts)
    after = embed(model, tokenizer, texts)
    k = max(1, min(K, len(texts) - 1))
    scores = {{}}
    for side, x in (("before", before), ("after", after)):
        scores[side] = {{"silhouette": float(silhouette_score(x, labels, metric="cosine")),
                        "knn_accuracy": knn_accuracy(x, labels, k), "k": k}}
        print(side, scores[side])
    (HERE / "analysis_scores.json").write_text(json.dumps(scores, indent=2))
    perplexity = min(PERPLEXITY, len(texts) - 1)  # t-SNE needs perplexity < n
    for side, x in (("before", before), ("after", after)):  # the picture only: scores come from the full space
        xy = TSNE(n_components=2, perplexity=perplexity, random_state=SEED, init="pca",
                  metric="cosine").fit_transform(x.astype(np.float64))
        fig = px.scatter(x=xy[:, 0], y=xy[:, 1], color=labels, hover_name=texts, title=f"t-SNE, {{side}}",
                         color_discrete_sequence=px.colors.qualitative.Alphabet)
        fig.write_html(HERE / f"tsne_{{side}}.html")


if __name__ == "__main__":
    main()
'''


def analysis_script(task: str, num_labels: int, options: EmbeddingOptions, k: int = 5) -> str:
    """``analysis.py`` for one adapter and one sample, with the options the app used."""
    return _TEMPLATE.format(
        task=task, num_labels=num_labels, layer=options.layer, pooling=options.pooling, k=k,
        method=options.method or "tsne", perplexity=float(options.perplexity), seed=options.seed,
        sample_file=SAMPLE_FILE,
    )


def sample_jsonl(sample: TextDataset) -> str:
    """The exact texts and labels the app embedded, one JSON object a line."""
    return "".join(json.dumps({"text": ex.text, "label": ex.label}, ensure_ascii=False) + "\n" for ex in sample.examples)


def own_data(train: TextDataset, val: TextDataset | None) -> TextDataset:
    """The run's own texts the Analyze page starts from: its validation split when it has 10 rows, else train."""
    return val if val is not None and len(val) >= 10 else train


def default_options(ds: TextDataset) -> EmbeddingOptions:
    """The Analyze page's starting options for ``ds`` (up to 300 texts, seed 0, last layer, mean, t-SNE)."""
    return EmbeddingOptions(n=min(300, len(ds)), method="tsne")


def analysis_files(task: str, num_labels: int, ds: TextDataset) -> dict[str, str]:
    """``analysis.py`` and ``analysis_sample.jsonl`` for the Analyze page's default view of ``ds``."""
    from core.analysis.embeddings import pick_sample

    options = default_options(ds)
    sample = pick_sample(ds, options.n, options.seed)
    return {SCRIPT_FILE: analysis_script(task, num_labels, options), SAMPLE_FILE: sample_jsonl(sample)}
