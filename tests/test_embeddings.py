"""Embeddings before/after: pooling, layers, caching, projections, scores, and a real fine-tune."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from cachetools import LRUCache
from peft import LoraConfig, TaskType, get_peft_model
from transformers import AutoModelForSequenceClassification, AutoTokenizer
from transformers.utils import logging as hf_logging

from core.analysis import embeddings as emb
from core.analysis.delta import delta_from_peft
from core.analysis.embeddings import (
    compare_scores,
    embed,
    embed_before_after,
    pick_sample,
    project,
    separation_scores,
)
from core.analysis.pipeline import EmbeddingOptions, embedding_report
from core.charts.embeddings import scatter_pair, truncate
from core.data.bundled import load_bundled
from core.data.dataset import Example, TextDataset
from core.data.splits import sample, train_val_split
from core.errors import LensError
from core.i18n import t
from core.models.embedded import weights_folder

hf_logging.set_verbosity_error()
TEXTS = [
    "A warm, funny and moving film.",
    "Dull.",
    "The plot never comes together, and the acting is flat from start to finish.",
    "An instant classic that rewards a second viewing.",
    "I want those two hours back.",
    "Gorgeous to look at, empty inside.",
]


def minilm_lora(seed: int = 0) -> tuple[torch.nn.Module, object]:
    torch.manual_seed(seed)
    folder = str(weights_folder("minilm"))
    model = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=2)
    config = LoraConfig(
        r=8, lora_alpha=16, lora_dropout=0.0, target_modules=["query", "value"], task_type=TaskType.SEQ_CLS
    )
    return get_peft_model(model, config), AutoTokenizer.from_pretrained(folder)


pytestmark = pytest.mark.usefixtures("one_cpu_thread")


@pytest.fixture(scope="module")
def fresh():
    return minilm_lora()


def test_fresh_adapter_changes_nothing(fresh):
    model, tokenizer = fresh
    pair = embed_before_after(model, tokenizer, TEXTS, use_cache=False)
    assert pair.before.shape == (len(TEXTS), 384)
    np.testing.assert_array_equal(pair.before, pair.after)
    assert not pair.before.flags.writeable


def test_mean_pooling_ignores_padding(fresh):
    model, tokenizer = fresh
    alone = embed(model, tokenizer, [TEXTS[1]])
    batched = embed(model, tokenizer, TEXTS[:3], batch_size=3)  # "Dull." is padded here
    np.testing.assert_allclose(alone[0], batched[1], atol=1e-5)


def test_layers_and_pooling(fresh):
    model, tokenizer = fresh
    last = embed(model, tokenizer, TEXTS[:2])
    first = embed(model, tokenizer, TEXTS[:2], layer=0)
    cls = embed(model, tokenizer, TEXTS[:2], pooling="cls")
    assert not np.allclose(last, first) and not np.allclose(last, cls)
    np.testing.assert_allclose(embed(model, tokenizer, TEXTS[:2], layer=6), last, atol=1e-6)
    with pytest.raises(LensError) as bad:
        embed(model, tokenizer, TEXTS[:2], layer=7)
    assert bad.value.key == "analysis.bad_layer"
    with pytest.raises(LensError) as pool:
        embed(model, tokenizer, TEXTS[:2], pooling="max")
    assert pool.value.key == "analysis.bad_pooling"
    model.train()
    embed(model, tokenizer, TEXTS[:2])
    assert model.training  # embed() switches to eval and back
    model.eval()


def test_cls_needs_an_encoder(fresh):
    model, tokenizer = fresh

    class NoCls:
        cls_token_id = None

    with pytest.raises(LensError) as err:
        embed(model, NoCls(), TEXTS, pooling="cls")
    assert err.value.key == "analysis.cls_needs_encoder"


def test_cache_hits_keys_and_bound(fresh, monkeypatch):
    model, tokenizer = fresh
    monkeypatch.setattr(emb, "_CACHE", LRUCache(maxsize=2))
    first = embed_before_after(model, tokenizer, TEXTS, model_id="minilm")
    assert embed_before_after(model, tokenizer, TEXTS, model_id="minilm") is first
    assert embed_before_after(model, tokenizer, TEXTS, model_id="minilm", layer=3) is not first
    assert embed_before_after(model, tokenizer, TEXTS[:4], model_id="minilm") is not first
    assert len(emb._CACHE) == 2  # bounded: the first entry was evicted ...
    assert embed_before_after(model, tokenizer, TEXTS, model_id="minilm") is not first  # ... and is computed again


@pytest.mark.parametrize(("classes", "k", "seed"), [(2, 1, 0), (2, 3, 1), (2, 5, 2), (3, 1, 3), (2, 7, 4)])
def test_knn_accuracy_is_sklearn_leave_one_out(classes, k, seed):
    """Where no vote can tie, our score is scikit-learn's own leave-one-out k-NN accuracy."""
    from sklearn.model_selection import LeaveOneOut, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    rng = np.random.default_rng(seed)
    labels = np.array([f"c{i % classes}" for i in range(45)])
    points = rng.normal(size=(45, 8)) + 1.5 * (np.arange(45) % classes)[:, None] * rng.normal(size=8)
    expected = cross_val_score(KNeighborsClassifier(n_neighbors=k, metric="cosine"), points, labels, cv=LeaveOneOut())
    assert separation_scores(points, labels, k).knn_accuracy == pytest.approx(expected.mean())


def test_knn_tie_goes_to_the_nearest_voter():
    """k=2, one vote each: the nearer voter decides, where scikit-learn would pick the first label ("a")."""
    points = np.array([[1.0, 0.0], [1.0, 0.1], [1.0, -0.3], [0.0, 1.0], [-0.1, 1.0], [0.3, 1.0]])
    labels = ["b", "b", "a", "a", "b", "a"]
    # Nearest two by angle: 0 -> (1 b, 2 a) b right; 1 -> (0 b, 2 a) b right; 2 -> (0 b, 1 b) b wrong;
    # 3 -> (4 b, 5 a) b wrong; 4 -> (3 a, 5 a) a wrong; 5 -> (3 a, 4 b) a right: 3 of 6.
    assert separation_scores(points, labels, k=2).knn_accuracy == 0.5


def test_pipeline_report_is_what_page_and_cli_show():
    from sklearn.decomposition import PCA

    torch.manual_seed(0)
    folder = str(weights_folder("minilm"))
    config = LoraConfig(r=4, target_modules=["query", "value"], task_type=TaskType.SEQ_CLS, init_lora_weights=False)
    model = get_peft_model(AutoModelForSequenceClassification.from_pretrained(folder, num_labels=2), config)
    tokenizer = AutoTokenizer.from_pretrained(folder)
    ds = TextDataset("six", tuple(Example(text, label="pos" if i % 2 else "neg") for i, text in enumerate(TEXTS)))
    report = embedding_report(model, tokenizer, ds, EmbeddingOptions(n=6, seed=1, method="pca"))
    assert sorted(report.texts()) == sorted(TEXTS) and report.sample.name == "six"
    assert not np.allclose(report.pair.before, report.pair.after)
    for coords, side in zip(report.coords, (report.pair.before, report.pair.after), strict=True):
        np.testing.assert_allclose(coords, PCA(n_components=2, random_state=1).fit_transform(side))
    assert report.scores["after"] == separation_scores(report.pair.after, [ex.label for ex in report.sample])
    unlabelled = TextDataset("bare", tuple(Example(text) for text in TEXTS))
    bare = embedding_report(model, tokenizer, unlabelled, EmbeddingOptions(n=6))
    assert bare.scores is None and bare.scores_error.key == "analysis.no_labels" and bare.coords is None


def test_sample_size_checks():
    ds = TextDataset("tiny", tuple(load_bundled("rotten-tomatoes", "seq-cls").examples[:10]))
    with pytest.raises(LensError) as err:
        pick_sample(ds, 11)
    assert err.value.key == "analysis.sample_too_large"
    assert err.value.params == {"n": 11, "total": 10}
    assert len(pick_sample(ds, 10)) == 10


def test_projections_and_perplexity():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(20, 8))
    assert project(points, "pca").shape == (20, 2)
    assert project(points, "tsne", perplexity=5, seed=1).shape == (20, 2)
    np.testing.assert_allclose(project(points, "tsne", 5, 1), project(points, "tsne", 5, 1))
    for perplexity in (20, 25, 0):
        with pytest.raises(LensError) as err:
            project(points, "tsne", perplexity=perplexity)
        assert err.value.key == "analysis.bad_perplexity"
    with pytest.raises(LensError) as err:
        project(points, "umap")
    assert err.value.key == "analysis.bad_projection"


def test_scores_on_synthetic_clusters():
    rng = np.random.default_rng(0)
    centre = np.zeros(16)
    centre[0] = 10
    a = rng.normal(size=(30, 16)) + centre
    b = rng.normal(size=(30, 16)) - centre
    labels = ["a"] * 30 + ["b"] * 30
    good = separation_scores(np.vstack([a, b]), labels)
    assert good.knn_accuracy == 1.0 and good.silhouette > 0.5 and good.k == 5
    noise = separation_scores(rng.normal(size=(60, 16)), labels)
    assert noise.knn_accuracy < 0.8 and abs(noise.silhouette) < 0.1
    with pytest.raises(LensError) as err:
        separation_scores(a, ["a"] * 30)
    assert err.value.key == "analysis.need_two_labels"
    with pytest.raises(LensError) as err:
        separation_scores(a[:2], ["a", None])
    assert err.value.key == "analysis.no_labels"


def test_scatter_pair_figure():
    rng = np.random.default_rng(0)
    texts = ["<b>bold</b> " + "x" * 200, "short", "third", "fourth"]
    labels = ["fresh", "rotten", "fresh", "rotten"]
    fig = scatter_pair(rng.normal(size=(4, 2)), rng.normal(size=(4, 2)), texts, labels, lang="ko")
    assert len(fig.data) == 4  # two labels × two panels
    assert [trace.showlegend for trace in fig.data] == [True, True, False, False]
    assert fig.data[0].marker.color == fig.data[2].marker.color  # same label, same colour
    hover = fig.data[0].customdata[0]
    assert hover.startswith("&lt;b&gt;bold") and len(truncate(texts[0])) < 100
    assert fig.layout.annotations[0].text == t("analysis.chart.before", "ko")
    assert "t-SNE" in t("analysis.tsne_howto", "en") and "perplexity" in t("analysis.tsne_howto", "ko")


# --- a real fine-tune -------------------------------------------------------------


def fine_tune(model: torch.nn.Module, tokenizer: object, train: TextDataset, steps: int, seed: int) -> None:
    """A plain loop: LoRA on query/value, classifier trained through modules_to_save."""
    label_id = {label: i for i, label in enumerate(train.labels())}
    params = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(params, lr=2e-3)
    rng = random.Random(seed)
    examples = list(train.examples)
    model.train()
    for _ in range(steps):
        batch = rng.sample(examples, 16)
        enc = tokenizer([ex.text for ex in batch], padding=True, truncation=True, max_length=32, return_tensors="pt")
        loss = model(**enc, labels=torch.tensor([label_id[ex.label] for ex in batch])).loss
        loss.backward()
        optimiser.step()
        optimiser.zero_grad()
    model.eval()


@pytest.fixture(scope="module")
def tuned():
    ds = load_bundled("rotten-tomatoes", "seq-cls")
    train, val = train_val_split(sample(ds, 1200, seed=0), val_fraction=0.15, seed=0)
    model, tokenizer = minilm_lora(seed=0)
    assert any("modules_to_save" in name for name, p in model.named_parameters() if p.requires_grad)
    fine_tune(model, tokenizer, train, steps=80, seed=0)  # 50 was enough for one split, not for every split seed
    held_out = pick_sample(val, 160, seed=0)
    return model, tokenizer, held_out


def test_fine_tune_separates_sentiment(tuned):
    model, tokenizer, held_out = tuned
    texts, labels = [ex.text for ex in held_out], [ex.label for ex in held_out]
    pair = embed_before_after(model, tokenizer, texts, max_length=32, use_cache=False)
    scores = compare_scores(pair, labels)
    before, after = scores["before"], scores["after"]
    assert after.knn_accuracy >= before.knn_accuracy + 0.04, scores
    assert after.silhouette >= before.silhouette + 0.05, scores
    rows = delta_from_peft(model)
    assert {row.group for row in rows} == {"query", "value"} and len(rows) == 12
    assert all(row.delta_norm > 0 and row.effective_rank > 1 for row in rows)
