"""The online path against a real Hub protocol: a loopback server (tests/hub_server.py) and the real clients."""

from __future__ import annotations

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
