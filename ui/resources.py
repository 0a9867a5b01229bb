"""Cached, shared, read-only resources. Never mutate what these return."""

from __future__ import annotations

import hashlib
import threading

import streamlit as st

from core.anatomy.inventory import Inventory
from core.models.meta import meta_inventory
from core.models.sources import ModelConfig, ModelSpec, load_config

_IMPORTS = threading.Lock()


def import_libraries() -> None:
    """Import PEFT, transformers' trainer pieces and the engine once, one script thread at a time: two sessions
    importing them at once (a reload while the first page still loads) met transformers' circular lazy imports
    half-done ("cannot import name 'AutoModel' from 'transformers'")."""
    with _IMPORTS:
        import peft  # noqa: F401
        import transformers.trainer_callback  # noqa: F401

        import core.training.engine  # noqa: F401


def _token_key(token: str | None) -> str:
    """Part of the cache key: a Hub config fetched with one visitor's token is never served to another."""
    return hashlib.sha256(token.encode()).hexdigest()[:16] if token else ""


def model_config(spec: ModelSpec, token: str | None = None) -> ModelConfig:
    return _model_config(spec, _token_key(token) if spec.source == "hub" else "", token)


def inventory(spec: ModelSpec, token: str | None = None) -> Inventory:
    return _inventory(spec, _token_key(token) if spec.source == "hub" else "", token)


@st.cache_resource(max_entries=12, show_spinner=False)
def _model_config(spec: ModelSpec, token_key: str, _token: str | None) -> ModelConfig:
    return load_config(spec, token=_token)


@st.cache_resource(max_entries=6, show_spinner=False)
def _inventory(spec: ModelSpec, token_key: str, _token: str | None) -> Inventory:
    """The layer inventory of a meta-device model: shapes only, shared by visitors with the same access."""
    return meta_inventory(_model_config(spec, token_key, _token))
