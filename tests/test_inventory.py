"""The inventory against the real modules: shapes, block indices, parameter counts."""

from __future__ import annotations

import functools

import pytest
import torch
from torch import nn
from transformers.pytorch_utils import Conv1D

from core.anatomy.inventory import Inventory, block_index, list_adaptable_layers
from core.models.meta import build_meta_model
from core.models.sources import ModelSpec, load_config

pytestmark = pytest.mark.filterwarnings("ignore")

MODELS = [
    ("gpt2", None),
    ("falcon-7b", None),
    ("phi-3-mini", None),
    ("t5-base", "seq2seq"),
    ("clip-vit-b-32", None),
    ("bert-base", "seq-cls"),
    ("distilbert", None),
    ("whisper-small", None),
    ("vit-base", None),
    ("smollm2-135m", None),
    ("llama-3.2-1b", None),
    ("gemma-3-4b", None),
    ("mixtral-8x7b", None),
]


@functools.cache
def _built(slug: str, task: str | None) -> tuple[nn.Module, Inventory]:
    model = build_meta_model(load_config(ModelSpec("catalog", slug, task)))
    return model, list_adaptable_layers(model)


def _expected_shape(module: nn.Module) -> tuple[int, int]:
    """(in, out) read straight off the weight tensor, per module type."""
    w = module.weight.shape
    if isinstance(module, Conv1D):
        return w[0], w[1]  # stored (in, out)
    if isinstance(module, nn.Embedding):
        return w[0], w[1]  # (num_embeddings, embedding_dim)
    if isinstance(module, nn.Conv1d | nn.Conv2d | nn.Conv3d):
        return w[1] * module.groups, w[0]  # (out, in / groups, *kernel)
    return w[1], w[0]  # Linear: (out, in)


@pytest.mark.parametrize(("slug", "task"), MODELS)
def test_shapes_match_the_weights(slug: str, task: str | None) -> None:
    model, inv = _built(slug, task)
    assert inv.layers
    for layer in inv.layers:
        if layer.kind == "expert-param":
            param = model.get_parameter(layer.name)
            shape = tuple(param.shape) if param.dim() == 3 else (1, *param.shape)
            assert (layer.experts, layer.out_features, layer.in_features) == shape
            assert layer.params == param.numel()
            continue
        module = model.get_submodule(layer.name)
        assert (layer.in_features, layer.out_features) == _expected_shape(module), layer.name
        assert layer.class_name == type(module).__name__
        assert layer.has_bias == (getattr(module, "bias", None) is not None)
        assert layer.params == sum(p.numel() for p in module.parameters(recurse=False))
        if layer.kind == "conv":
            assert layer.kernel == tuple(module.weight.shape[2:])
            assert layer.groups == module.groups


@pytest.mark.parametrize(("slug", "task"), MODELS)
def test_totals_count_shared_parameters_once(slug: str, task: str | None) -> None:
    model, inv = _built(slug, task)
    unique = {id(p): p for p in model.parameters()}
    assert inv.total_params == sum(p.numel() for p in unique.values())
    assert inv.bias_params == sum(p.numel() for n, p in model.named_parameters() if n.split(".")[-1] == "bias")
    by_name = {m.name: m for m in inv.modules}
    assert by_name[""].params == inv.total_params
    for name, module in list(model.named_modules())[:200]:
        assert by_name[name].params == sum(p.numel() for p in module.parameters()), name


# ViTModel names its blocks "layers.0...": PEFT's layers_to_transform needs a segment before "layers"
# (".*?\.[^.]*\.(\d+)\."), so it selects none of them while the inventory numbers them 0..11.
_VIT = pytest.mark.xfail(strict=True, reason="PEFT's layers_to_transform cannot select ViTModel's top-level layers.N")
BLOCK_MODELS = [pytest.param(*m, marks=_VIT) if m[0] == "vit-base" else m for m in MODELS]


@pytest.mark.parametrize(("slug", "task"), BLOCK_MODELS)
def test_block_indices(slug: str, task: str | None) -> None:
    """Each layer's block is the one PEFT's layers_to_transform selects it by."""
    from peft import LoraConfig
    from peft.tuners.tuners_utils import check_target_module_exists

    _, inv = _built(slug, task)
    layers = [layer for layer in inv.layers if layer.kind != "expert-param"]
    for layer in layers[:80] + layers[-10:]:
        def picks(block: int, layer=layer) -> bool:
            config = LoraConfig(target_modules=[layer.short_name], layers_to_transform=[block])
            return bool(check_target_module_exists(config, layer.name))

        if layer.block is None:  # (a target equal to the whole name matches whatever the layers: PEFT's rule)
            assert layer.name == layer.short_name or not picks(0), layer.name
        else:
            assert picks(layer.block) and not picks(layer.block + 1), layer.name
    assert inv.num_blocks == max(layer.block for layer in inv.layers if layer.block is not None) + 1


def test_llama_blocks_and_names() -> None:
    model, inv = _built("llama-3.2-1b", None)
    config = model.config
    assert inv.num_blocks == config.num_hidden_layers
    q = [layer for layer in inv.layers if layer.short_name == "q_proj"]
    assert [layer.block for layer in q] == list(range(config.num_hidden_layers))
    assert inv.layer("lm_head").block is None
    assert inv.output_embedding == "lm_head"
    assert inv.short_names()[:4] == ["embed_tokens", "q_proj", "k_proj", "v_proj"]
    assert inv.hidden_size == config.hidden_size


def test_tied_embeddings_counted_once() -> None:
    model, inv = _built("smollm2-135m", None)
    assert model.get_input_embeddings().weight is model.get_output_embeddings().weight
    embed, head = inv.layer("model.embed_tokens"), inv.layer("lm_head")
    assert embed.params == head.params  # each module owns the tensor ...
    assert inv.total_params < sum(layer.params for layer in inv.layers)  # ... but the total counts it once
    assert inv.total_params == 134_515_008


@pytest.mark.parametrize(
    ("name", "index"),
    [
        ("model.layers.7.self_attn.q_proj", 7),
        ("transformer.h.11.mlp.c_fc", 11),
        ("encoder.block.3.layer.1.DenseReluDense.wi", 3),
        ("lm_head", None),
        ("model.embed_tokens", None),
        ("model.layers.12", 12),
    ],
)
def test_block_index(name: str, index: int | None) -> None:
    assert block_index(name) == index


class _Tiny(nn.Module):
    """A real (CPU) model with every adaptable kind, a grouped conv and a shared weight."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(50, 8)
        self.layers = nn.ModuleList(
            nn.ModuleDict(
                {
                    "attn": Conv1D(24, 8),  # nf=out, nx=in
                    "proj": nn.Linear(8, 8, bias=False),
                    "conv": nn.Conv1d(8, 4, kernel_size=3, groups=2),
                }
            )
            for _ in range(2)
        )
        self.patch = nn.Conv2d(3, 8, kernel_size=(4, 2), stride=4)
        self.head = nn.Linear(8, 50, bias=False)
        self.head.weight = self.embed.weight  # tied


def test_real_tiny_model() -> None:
    torch.manual_seed(0)
    model = _Tiny()
    inv = list_adaptable_layers(model)
    kinds = {layer.name: layer.kind for layer in inv.layers}
    assert kinds == {
        "embed": "embedding",
        "layers.0.attn": "conv1d-transposed",
        "layers.0.proj": "linear",
        "layers.0.conv": "conv",
        "layers.1.attn": "conv1d-transposed",
        "layers.1.proj": "linear",
        "layers.1.conv": "conv",
        "patch": "conv",
        "head": "linear",
    }
    for layer in inv.layers:
        module = model.get_submodule(layer.name)
        assert (layer.in_features, layer.out_features) == _expected_shape(module)
    conv = inv.layer("layers.1.conv")
    assert (conv.kernel, conv.groups, conv.block, conv.has_bias) == ((3,), 2, 1, True)
    assert inv.layer("patch").kernel == (4, 2) and inv.layer("patch").kernel_size == 8
    assert not inv.layer("layers.0.proj").has_bias
    assert inv.total_params == sum(p.numel() for p in model.parameters())  # tied head counted once
    assert inv.num_blocks == 2
