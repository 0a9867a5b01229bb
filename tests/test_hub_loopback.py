"""The online path against a real Hub protocol: a loopback server (tests/hub_server.py) and the real clients."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from core.errors import LensError
from core.models.catalog import find_entry
from core.models.spec import ModelSpec
from core.planning.plan import LoraPlan
from core.training.settings import TrainSettings
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
        ("owner/missing-model", None, "model.hub_not_found", ("owner/missing-model",)),  # 401 RepoNotFound
        ("owner/missing-model", TOKEN, "model.hub_not_found", ("owner/missing-model",)),  # 404 RepoNotFound
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
        ("owner/missing-set", "train", None, "data.hub_not_found"),  # 401 RepoNotFound without a token
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


def test_gated_hub_dataset_opens_with_a_token_that_has_access(online: HubServer, reviews: str, caplog, capfd) -> None:
    from core.data.hub import load_hub_dataset

    caplog.set_level(logging.DEBUG)
    assert len(load_hub_dataset("owner/gated-reviews", token=TOKEN, max_rows=3)) == 3
    assert all(r.authorized for r in online.hits("/datasets/owner/gated-reviews/resolve/"))
    out, err = capfd.readouterr()
    assert TOKEN not in caplog.text + out + err


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


# --- weights, training, push -----------------------------------------------------------------

OWNER = "visitor-1"
TINY = "owner/tiny-bert"
CLS_PLAN = LoraPlan(targets=("query", "value"), r=4, task="seq-cls")


@pytest.fixture(scope="module")
def tiny_model(hub: HubServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A 2-block BERT with real (random) weights and the embedded MiniLM tokenizer, plus files a trainer must not
    fetch: a second weights format and an ONNX export."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from core.models.embedded import weights_folder

    folder = tmp_path_factory.mktemp("tiny-bert")
    tok = AutoTokenizer.from_pretrained(str(weights_folder("minilm")))
    config = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=128, architectures=["BertForSequenceClassification"])  # fmt: skip
    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(str(folder), safe_serialization=True)
    tok.save_pretrained(str(folder))
    (folder / "pytorch_model.bin").write_bytes(b"not to be downloaded")
    (folder / "onnx").mkdir()
    (folder / "onnx" / "model.onnx").write_bytes(b"not to be downloaded")
    hub.add_folder("model", TINY, folder)
    return TINY


def _reviews_dataset() -> object:
    from core.data.hub import load_hub_dataset
    from core.data.upload import dataset_from_frame

    return dataset_from_frame(load_hub_dataset("owner/reviews", max_rows=40), "seq-cls", "text", "label", "owner/reviews")


SETTINGS = TrainSettings(max_steps=3, batch_size=4, eval_every=3, max_eval_examples=8)


@pytest.fixture
def trained(online: HubServer, reviews: str, tiny_model: str, tmp_path: Path, one_cpu_thread: None) -> object:
    from core.training.jobs import JobManager

    manager = JobManager(root=tmp_path / "runs")
    job = manager.get(OWNER, manager.submit(OWNER, ModelSpec("hub", TINY, "seq-cls", 2), CLS_PLAN,
                                            _reviews_dataset(), None, SETTINGS))  # fmt: skip
    assert job.state.wait(120)
    assert job.state.status == "done", job.state.snapshot().error_key
    return job


def test_a_hub_model_downloads_trains_and_its_adapter_is_pushed(trained, online: HubServer, caplog, capfd) -> None:
    from core.adapters.export import push_to_hub

    caplog.set_level(logging.DEBUG)
    assert trained.result.steps_done == SETTINGS.max_steps and trained.result.labels == ("negative", "positive")
    assert online.hits(f"/{TINY}/resolve/") and online.hits("model.safetensors")
    assert not online.hits("pytorch_model.bin") and not online.hits(".onnx"), "one weights format only"
    url = push_to_hub(trained, "tester/tiny-adapter", f" {TOKEN} ")  # pasted with spaces
    pushed = online.repos["model:tester/tiny-adapter"]
    assert url == f"{online.url}/tester/tiny-adapter" and pushed.private
    assert {"adapter_config.json", "adapter_model.safetensors", "README.md"} <= set(pushed.files)
    assert json.loads(pushed.files["adapter_config.json"])["base_model_name_or_path"] == TINY
    assert TINY in pushed.files["README.md"].decode()
    from safetensors.torch import load as load_safetensors

    sent = load_safetensors(pushed.files["adapter_model.safetensors"])
    saved = load_safetensors((trained.adapter_dir / "adapter_model.safetensors").read_bytes())
    assert sent.keys() == saved.keys() and all((sent[k] == saved[k]).all() for k in sent)
    assert all(r.authorized for r in online.hits("tester/tiny-adapter"))
    out, err = capfd.readouterr()
    assert TOKEN not in caplog.text + out + err


def test_push_with_a_refused_token_is_one_sentence_without_it(trained, online: HubServer, caplog, capfd) -> None:
    from core.adapters.export import push_to_hub

    caplog.set_level(logging.DEBUG)
    wrong = "hf_notTheRightTokenAtAll00000"
    with pytest.raises(LensError) as raised:
        push_to_hub(trained, "tester/other-adapter", wrong)
    assert raised.value.key == "train.hub_unauthorized"
    for text in (raised.value.message("en"), raised.value.message("ko"), caplog.text, *capfd.readouterr()):
        assert wrong not in text and "\n" not in raised.value.message("en")
    assert "model:tester/other-adapter" not in online.repos


def test_a_run_that_cannot_fit_is_refused_before_any_weights_download(
    online: HubServer, reviews: str, tiny_model: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    from core.cli.main import main
    from core.training import preflight
    from core.training.jobs import JobManager

    monkeypatch.setattr(preflight, "available_memory", lambda: ("cpu", 64 * 2**20))  # a machine with 64 MiB free
    data = _reviews_dataset()
    online.requests.clear()
    with pytest.raises(LensError) as raised:
        JobManager(root=tmp_path / "runs").submit(OWNER, ModelSpec("hub", TINY, "seq-cls", 2), CLS_PLAN, data, None, SETTINGS)
    assert raised.value.key.startswith("train.wont_fit")
    _one_sentence(raised.value, "pick a smaller model", "of CPU memory")
    assert main(["train", TINY, "--task", "seq-cls", "--data", "rotten-tomatoes", "--steps", "2"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pick a smaller model" in err, err
    assert online.hits(f"/{TINY}/resolve/main/config.json"), "the config is what the estimate reads"
    assert not online.hits("safetensors") and not online.hits(".bin") and not online.hits("tokenizer"), online.requests


# --- the Train page --------------------------------------------------------------------------


def test_train_page_hub_dataset_option_streams_rows_and_names_labels(online: HubServer, reviews: str) -> None:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).parent.parent / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/train.py").run()
    at.selectbox(key="train.model").set_value("minilm").run()
    at.selectbox(key="train.data.seq-cls").set_value("__hub__").run()
    at.text_input(key="train.hub_data").set_value("owner/missing-set").run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == [LensError("data.hub_not_found", dataset_id="owner/missing-set").message("en")]
    at.text_input(key="train.hub_data").set_value("owner/reviews").run()
    at.selectbox(key="train.text_col").set_value("text")
    at.selectbox(key="train.target_col").set_value("label").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("40" in e.label for e in at.expander), [e.label for e in at.expander]
    rows = at.dataframe[0].value
    assert set(rows["label"]) == {"negative", "positive"}
    assert online.hits("/datasets/owner/reviews/resolve/")


def test_downloaded_weights_load_from_the_cache_offline_or_with_the_hub_down(
    online: HubServer, tiny_model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As transformers falls back to its cache: a restored run's playground still loads when the Hub is gone."""
    from huggingface_hub import constants

    from core.models.hub import download_model

    folder = download_model(TINY)
    assert (folder / "model.safetensors").is_file() and not (folder / "pytorch_model.bin").exists()
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    assert download_model(TINY) == folder and download_model(TINY, weights=False) == folder
    with pytest.raises(LensError) as raised:
        download_model("owner/never-downloaded")
    assert raised.value.key == "model.hub_unreachable"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    online.requests.clear()
    assert download_model(TINY) == folder and not online.requests
