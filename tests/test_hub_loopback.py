"""The online path against a real Hub protocol: a loopback server (tests/hub_server.py) and the real clients."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import LensError
from core.models.catalog import find_entry
from core.models.spec import ModelSpec
from tests.hub_server import HubServer

TOKEN = "hf_loopbackSecretToken0123456789"
_ENV_OFF = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")


@pytest.fixture(scope="module")
def hub() -> HubServer:
    server = HubServer(TOKEN).start()
    gpt2 = find_entry("gpt2").path / "config.json"
    server.add("model", "openai-community/gpt2", {"config.json": gpt2.read_bytes()})
    server.add("model", "gpt2", {"config.json": gpt2.read_bytes()})  # canonical id, no owner
    server.add("model", "meta-llama/Gated-Model", {"config.json": gpt2.read_bytes()}, gated=True)
    server.add("model", "owner/no-config", {"README.md": "# nothing to inspect"})
    yield server
    server.stop()


@pytest.fixture
def online(hub: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> HubServer:
    """The clients pointed at the loopback Hub, offline mode off. huggingface_hub, datasets and transformers read
    these variables once at import, so their module constants are re-pointed too (library state, not our code)."""
    import datasets.config
    from huggingface_hub import constants

    for name in _ENV_OFF:
        monkeypatch.delenv(name, raising=False)
    cache = tmp_path / "hf"
    for name, value in (("HF_ENDPOINT", hub.url), ("HF_HOME", str(cache)), ("HF_HUB_CACHE", str(cache / "hub")),
                        ("HF_DATASETS_CACHE", str(cache / "datasets"))):  # fmt: skip
        monkeypatch.setenv(name, value)
    for name, value in (("ENDPOINT", hub.url), ("HUGGINGFACE_CO_URL_TEMPLATE", hub.url + "/{repo_id}/resolve/{revision}/{filename}"),
                        ("HF_HUB_OFFLINE", False), ("HF_HUB_CACHE", str(cache / "hub")), ("HF_HOME", str(cache)),
                        ("HF_TOKEN_PATH", str(cache / "token")), ("HF_STORED_TOKENS_PATH", str(cache / "stored_tokens"))):  # fmt: skip
        monkeypatch.setattr(constants, name, value, raising=False)
    for name, value in (("HF_ENDPOINT", hub.url), ("HUB_DATASETS_URL", hub.url + "/datasets/{repo_id}/resolve/{revision}/{path}"),
                        ("HF_HUB_OFFLINE", False), ("HF_DATASETS_OFFLINE", False), ("HF_DATASETS_CACHE", cache / "datasets"),
                        ("HF_CACHE_HOME", str(cache))):  # fmt: skip
        monkeypatch.setattr(datasets.config, name, value, raising=False)
    hub.requests.clear()
    return hub


def _one_sentence(error: LensError, *needles: str) -> None:
    """One line in both languages, never the token; the English one names ``needles``."""
    for lang in ("en", "ko"):
        text = error.message(lang)
        assert "\n" not in text and "Traceback" not in text and TOKEN not in text, text
    assert all(n in error.message("en") for n in needles), error.message("en")


# --- configs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("repo_id", ["openai-community/gpt2", "gpt2"])
def test_hub_config_gives_the_catalog_inventory_and_budget(online: HubServer, repo_id: str) -> None:
    from core.anatomy.inventory import list_adaptable_layers
    from core.models.meta import build_meta_model
    from core.models.sources import load_config
    from core.planning.budget import compute_budget
    from core.planning.presets import default_plan

    def budget(spec: ModelSpec) -> tuple:
        inv = list_adaptable_layers(build_meta_model(load_config(spec)))
        b = compute_budget(inv, default_plan(inv, "causal-lm"))
        return [layer.name for layer in inv.layers], inv.total_params, b.trainable_params

    assert budget(ModelSpec("hub", repo_id, "causal-lm")) == budget(ModelSpec("catalog", "gpt2", "causal-lm"))
    assert online.hits(f"/{repo_id}/resolve/main/config.json"), online.requests


@pytest.mark.parametrize(
    ("repo_id", "token", "key", "needles"),
    [
        ("meta-llama/Gated-Model", None, "model.gated", ("gated", "token")),
        ("meta-llama/Gated-Model", "hf_wrongTokenWrongToken0000", "model.gated", ("gated",)),
        ("owner/missing-model", None, "model.hub_not_found", ("owner/missing-model",)),
        ("owner/no-config", None, "model.hub_no_config", ("config.json",)),
    ],
)
def test_hub_config_failures_are_one_sentence(online: HubServer, repo_id, token, key, needles) -> None:
    from core.models.sources import load_config

    with pytest.raises(LensError) as raised:
        load_config(ModelSpec("hub", repo_id, "causal-lm"), token=token)
    assert raised.value.key == key
    _one_sentence(raised.value, *needles)
    assert online.hits(repo_id), "the request must have reached the server"


def test_gated_config_opens_with_a_token_that_has_access(online: HubServer) -> None:
    from core.models.sources import load_config

    mc = load_config(ModelSpec("hub", "meta-llama/Gated-Model", "causal-lm"), token=TOKEN)
    assert mc.config.n_layer == 12
    assert all(r.authorized for r in online.hits("Gated-Model"))


# --- datasets --------------------------------------------------------------------------------


def _reviews_parquet() -> bytes:
    """A tiny review set with a ClassLabel column, written by ``datasets`` itself (names in the parquet metadata)."""
    import io

    from datasets import ClassLabel, Dataset, Features, Value

    rows = {"text": [f"review number {i} was {'great' if i % 2 else 'awful'}" for i in range(40)],
            "label": [i % 2 for i in range(40)]}  # fmt: skip
    features = Features({"text": Value("string"), "label": ClassLabel(names=["negative", "positive"])})
    buf = io.BytesIO()
    Dataset.from_dict(rows, features=features).to_parquet(buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def reviews(hub: HubServer) -> str:
    data = _reviews_parquet()
    hub.add("dataset", "owner/reviews", {"data/train-00000-of-00001.parquet": data})
    hub.add("dataset", "owner/gated-reviews", {"data/train-00000-of-00001.parquet": data}, gated=True)
    hub.renamed["nsmc"] = "e9t/nsmc"  # the Hub moved canonical datasets under an owner; old ids redirect
    hub.add("dataset", "e9t/nsmc", {"train.jsonl": "".join(json.dumps({"document": f"리뷰 {i}", "label": i % 2}) + "\n"
                                                       for i in range(5))})  # a canonical id, no owner  # fmt: skip
    return "owner/reviews"


def test_hub_dataset_streams_the_first_rows_with_label_names(online: HubServer, reviews: str) -> None:
    from core.data.hub import load_hub_dataset

    frame = load_hub_dataset(reviews, max_rows=6)
    assert len(frame) == 6
    assert list(frame["label"]) == ["negative", "positive"] * 3
    assert frame["text"][1] == "review number 1 was great"
    assert online.hits("/datasets/owner/reviews/resolve/"), "rows must come over the protocol"


def test_hub_dataset_with_a_canonical_id_and_json_rows(online: HubServer, reviews: str) -> None:
    from core.data.hub import load_hub_dataset
    from core.data.upload import dataset_from_frame

    frame = load_hub_dataset("nsmc", max_rows=100)
    ds = dataset_from_frame(frame, "seq-cls", "document", "label", "nsmc")
    assert len(ds) == 5 and ds.labels() == ["0", "1"] and ds.examples[0].text == "리뷰 0"



@pytest.mark.parametrize(
    ("dataset_id", "split", "token", "key"),
    [
        ("owner/gated-reviews", "train", None, "data.hub_gated"),
        ("owner/gated-reviews", "train", "hf_wrongTokenWrongToken0000", "data.hub_gated"),
        ("owner/missing-set", "train", TOKEN, "data.hub_not_found"),
        ("owner/reviews", "validation", TOKEN, "data.hub_no_split"),
    ],
)
def test_hub_dataset_failures_are_one_sentence(online: HubServer, reviews: str, dataset_id, split, token, key) -> None:
    from core.data.hub import load_hub_dataset

    with pytest.raises(LensError) as raised:
        load_hub_dataset(dataset_id, split, token=token)
    assert raised.value.key == key, raised.value.message("en")
    _one_sentence(raised.value, dataset_id)
    assert online.hits(dataset_id)


def test_gated_hub_dataset_opens_with_a_token_that_has_access(online: HubServer, reviews: str) -> None:
    from core.data.hub import load_hub_dataset

    assert len(load_hub_dataset("owner/gated-reviews", token=TOKEN, max_rows=3)) == 3


def test_hub_dataset_offline_or_unreachable_is_one_sentence(online: HubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    import datasets.config
    from huggingface_hub import constants

    from core.data.hub import load_hub_dataset

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(LensError) as raised:
        load_hub_dataset("owner/reviews")
    assert raised.value.key == "data.hub_offline" and not online.requests  # refused before any request
    monkeypatch.delenv("HF_HUB_OFFLINE")
    closed = "http://127.0.0.1:9"  # the discard port: nothing listens there
    monkeypatch.setattr(constants, "ENDPOINT", closed)
    monkeypatch.setattr(datasets.config, "HF_ENDPOINT", closed)
    monkeypatch.setattr(datasets.config, "HUB_DATASETS_URL", closed + "/datasets/{repo_id}/resolve/{revision}/{path}")
    with pytest.raises(LensError) as raised:
        load_hub_dataset("owner/unreachable-set")
    assert raised.value.key == "data.hub_offline", raised.value.message("en")
    _one_sentence(raised.value, "owner/unreachable-set")
