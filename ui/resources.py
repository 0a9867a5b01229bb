"""Cached, shared, read-only resources. Never mutate what these return."""

from __future__ import annotations

import streamlit as st

from core.errors import LensError
from core.inventory import Inventory, list_adaptable_layers
from core.models import ModelConfig, ModelSpec, build_meta_model, load_config


@st.cache_resource(max_entries=12, show_spinner=False)
def model_config(spec: ModelSpec, _token: str | None = None) -> ModelConfig:
    return load_config(spec, token=_token)


@st.cache_resource(max_entries=6, show_spinner=False)
def inventory(spec: ModelSpec, _token: str | None = None) -> Inventory:
    """The layer inventory of a meta-device model: shapes only, shared by all visitors."""
    mc = model_config(spec, _token)
    inv = list_adaptable_layers(build_meta_model(mc))
    if not inv.layers:
        raise LensError("model.no_adaptable")
    return inv
