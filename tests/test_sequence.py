"""The memory planner's default sequence length comes from the model, and the estimate accepts it."""

from __future__ import annotations

import functools

import pytest

from core.anatomy.inventory import Inventory
from core.errors import LensError
from core.models.meta import meta_inventory
from core.models.sources import ModelConfig, ModelSpec, load_config
from core.planning.budget import compute_budget
from core.planning.memory import MemorySettings, estimate_training_memory
from core.planning.plan import LoraPlan
from core.planning.sequence import DEFAULT_SEQ_LEN, SequenceDefault, common_default, default_sequence

pytestmark = pytest.mark.filterwarnings("ignore")


@functools.cache
def _loaded(slug: str, task: str | None = None) -> tuple[ModelConfig, Inventory]:
    mc = load_config(ModelSpec("catalog", slug, task))
    return mc, meta_inventory(mc)


def _patches(vision: object) -> int:
    return (vision.image_size // vision.patch_size) ** 2


# (model, task, tower, expected default read off the config, where it came from)
CASES = [
    ("clip-vit-b-32", None, None, lambda c: c.text_config.max_position_embeddings, "text"),  # 77, not 512
    ("clip-vit-b-32", None, "text", lambda c: c.text_config.max_position_embeddings, "text"),
    ("clip-vit-b-32", None, "vision", lambda c: _patches(c.vision_config), "patches"),  # (224 / 32)² = 49
    ("gemma-3-4b", None, "vision", lambda c: _patches(c.vision_config), "patches"),
    ("gemma-3-4b", None, "text", lambda c: DEFAULT_SEQ_LEN, "text"),  # 131,072 positions: capped
    ("vit-base", None, None, lambda c: _patches(c), "patches"),
    ("gpt2", None, None, lambda c: min(DEFAULT_SEQ_LEN, c.n_positions), "text"),
    ("smollm2-135m", None, None, lambda c: DEFAULT_SEQ_LEN, "text"),
    ("t5-base", "seq2seq", "encoder", lambda c: min(DEFAULT_SEQ_LEN, c.n_positions), "text"),
    ("whisper-small", None, None, lambda c: DEFAULT_SEQ_LEN, "default"),  # no max_position_embeddings
]


@pytest.mark.parametrize(("slug", "task", "tower", "expected", "source"), CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_the_default_comes_from_the_model(slug, task, tower, expected, source):
    mc, inv = _loaded(slug, task)
    seq = default_sequence(inv, mc.config, tower)
    assert (seq.seq_len, seq.source) == (expected(mc.config), source)
    assert not seq.out_of_range(seq.seq_len)


@pytest.mark.parametrize(
    ("slug", "targets"),
    [
        ("clip-vit-b-32", ("q_proj", "v_proj")),
        ("gpt2", ("c_attn",)),
        ("vit-base", ("q_proj", "v_proj")),
    ],
)
def test_the_memory_estimate_accepts_the_default_and_refuses_past_the_maximum(slug, targets):
    """CLIP's panel used to open on 512 tokens, past its 77 positions: the estimate refused it."""
    mc, inv = _loaded(slug)
    budget = compute_budget(inv, LoraPlan(targets=targets, task=mc.task))
    seq = default_sequence(inv, mc.config)
    est = estimate_training_memory(inv, budget, MemorySettings(seq_len=seq.seq_len), config=mc.config)
    assert est.total > 0
    if seq.maximum is not None:
        assert seq.out_of_range(seq.maximum + 1)
        with pytest.raises(LensError) as err:
            estimate_training_memory(inv, budget, MemorySettings(seq_len=seq.maximum + 1), config=mc.config)
        assert err.value.key == "memory.seq_too_long"


def test_several_models_share_the_shortest_default_within_every_maximum():
    clip, gpt2 = (default_sequence(inv, mc.config) for mc, inv in (_loaded("clip-vit-b-32"), _loaded("gpt2")))
    both = common_default([gpt2, clip])
    assert (both.seq_len, both.maximum) == (77, 77)
    assert common_default([]) == SequenceDefault(DEFAULT_SEQ_LEN, None, "default")


@pytest.mark.parametrize(
    ("argv", "seq_len"),
    [
        (["clip-vit-b-32", "--target", "q_proj", "v_proj"], 77),
        (["clip-vit-b-32", "--target", r"vision_model\..*\.q_proj"], 49),  # only the vision tower: its patches
        (["clip-vit-b-32", "--target", "q_proj", "--seq-len", "64"], 64),  # what the user gave is kept
    ],
)
def test_the_memory_command_starts_from_the_model_too(argv, seq_len, capsys):
    import json

    from core.cli.main import main

    assert main(["memory", *argv, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["settings"]["seq_len"] == seq_len
