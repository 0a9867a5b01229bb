"""The engine's speed switches change no loss: padding-free batches and the LM head on labels only
give the losses of the plain padded path (transformers' own loss on full logits)."""

from __future__ import annotations

import pytest
import torch

from core.data.bundled import load_bundled
from core.data.splits import sample
from core.models.embedded import weights_folder
from core.models.spec import ModelSpec
from core.planning.plan import LoraPlan, to_lora_config
from core.training import recipe
from core.training.encode import encode, label_names
from core.training.engine import fit, prepare
from core.training.loader import load_model, load_tokenizer
from core.training.run_state import RunState
from core.training.settings import TrainSettings

pytestmark = pytest.mark.usefixtures("one_cpu_thread")

SFT_PLAN = LoraPlan(targets=("q_proj", "v_proj"), r=4, task="causal-lm")
# fp32 on CPU: packed attention (a block-diagonal mask) and the padded one sum in another order,
# so the losses agree to ~1e-6; a wrong label shift or mask moves them by more than 0.1.
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def sft():
    folder = str(weights_folder("smollm2"))
    tok = load_tokenizer(folder)
    data = sample(load_bundled("chatterbot-ko", "causal-lm"), 6, seed=3)
    rows = encode(tok, data, "causal-lm", 48)
    torch.manual_seed(0)
    model = recipe.wrap_model(load_model(folder, "causal-lm", (), tok.pad_token_id), to_lora_config(SFT_PLAN), False)
    model.eval()
    return tok, rows, model


def test_smollm2_keeps_packed_rows_apart_and_takes_logits_to_keep(sft):
    _, _, model = sft
    assert recipe.packing_is_exact(model) and recipe.accepts_logits_to_keep(model)


@pytest.mark.parametrize("padding_free", [False, True])
def test_labels_only_head_gives_the_models_own_loss(sft, padding_free):
    """Same batch: our loss (head on labelled positions) == the model's loss on full logits (padded batch)."""
    tok, rows, model = sft
    plain = recipe.make_collator(tok, "causal-lm")(rows)
    fast = recipe.make_collator(tok, "causal-lm", padding_free=padding_free)(rows)
    if padding_free:
        assert fast["input_ids"].shape == (1, sum(len(r["input_ids"]) for r in rows)) and "attention_mask" not in fast
    with torch.no_grad():
        expected = model(**plain).loss
        count = (plain["labels"][..., 1:] != -100).sum()
        got, outputs = recipe.labels_only_loss(model, fast)
        summed, _ = recipe.labels_only_loss(model, fast, num_items_in_batch=count * 2)
    assert outputs.logits.shape == (int(count), model.config.vocab_size)  # logits only where a label follows
    assert float(got) == pytest.approx(float(expected), abs=TOLERANCE)
    assert float(summed) == pytest.approx(float(expected) / 2, abs=TOLERANCE)


def test_engine_speed_switches_keep_the_loss_curve(tmp_path):
    """A few real optimiser steps through the engine: the fast path's losses equal the plain path's."""
    data = sample(load_bundled("chatterbot-ko", "causal-lm"), 24, seed=5)
    curves = {}
    for fast in (False, True):
        settings = TrainSettings(max_steps=3, batch_size=4, max_seq_len=48, eval_every=10**5, max_eval_examples=2,
                                 padding_free=fast, labels_only_head=fast, group_by_length=False)  # fmt: skip
        state = RunState()
        assert fit(prepare(ModelSpec("embedded", "smollm2"), SFT_PLAN, data, data, settings), tmp_path / str(fast), state)
        curves[fast] = [row["loss"] for row in state.snapshot().losses]
    assert len(curves[True]) == 3
    assert curves[True] == pytest.approx(curves[False], abs=TOLERANCE)


CLS_PLAN = LoraPlan(targets=("query", "value"), r=4, task="seq-cls")


@pytest.fixture(scope="module")
def cls():
    folder = str(weights_folder("minilm"))
    tok = load_tokenizer(folder)
    data = sample(load_bundled("rotten-tomatoes", "seq-cls"), 24, seed=2)
    labels = label_names(data)
    return tok, encode(tok, data, "seq-cls", 128, labels), folder, labels


def _cls_model(folder: str, tok, labels, dropout: bool = True):
    torch.manual_seed(0)
    model = recipe.wrap_model(load_model(folder, "seq-cls", labels, tok.pad_token_id), to_lora_config(CLS_PLAN), False)
    for module in model.modules():  # without dropout two runs can be compared step by step
        if isinstance(module, torch.nn.Dropout) and not dropout:
            module.p = 0.0
    return model


def test_packed_classification_batch_gives_the_padded_logits_and_loss(cls):
    """16 reviews packed (rows joined, block-diagonal mask): transformers' own logits and loss of the padded batch."""
    tok, rows, folder, labels = cls
    model = _cls_model(folder, tok, labels).eval()
    assert recipe.cls_packing_is_exact(model, tok.pad_token_id)
    padded = recipe.make_collator(tok, "seq-cls")(rows[:16])
    packed = recipe.make_collator(tok, "seq-cls", padding_free=True)(rows[:16])
    assert packed["input_ids"].numel() < padded["input_ids"].numel()  # fewer token slots computed
    assert int(packed["attention_mask"].sum()) == int(padded["attention_mask"].sum())  # same real tokens counted
    with torch.no_grad():
        expected, got = model(**padded), recipe.packed_forward(model, packed)
    assert torch.allclose(got.logits, expected.logits, atol=TOLERANCE)
    assert float(got.loss) == pytest.approx(float(expected.loss), abs=TOLERANCE)


def test_packed_classification_keeps_the_trainer_loss_curve(cls, tmp_path):
    """Three optimiser steps through the recipe's Trainer (dropout off): packed losses equal the padded ones."""
    tok, rows, folder, labels = cls
    settings = TrainSettings.for_task("seq-cls", max_steps=3, batch_size=8, eval_every=10**5, max_eval_examples=2)
    curves = {}
    for packed in (False, True):
        args = recipe.training_arguments(settings.recipe_config("seq-cls"), str(tmp_path / str(packed)), "seq-cls",
                                         False, "fp32")  # fmt: skip
        trainer = recipe.build_trainer(_cls_model(folder, tok, labels, dropout=False), tok, args, "seq-cls", rows, [],
                                       padding_free=packed)  # fmt: skip
        assert ("segments" in trainer.data_collator(rows[:2])) == packed
        trainer.train()
        curves[packed] = [row["loss"] for row in trainer.state.log_history if "loss" in row]
        assert trainer.state.num_input_tokens_seen == sum(len(r["input_ids"]) for r in rows)  # 24 rows, 3 x 8
    assert len(curves[True]) == 3
    assert curves[True] == pytest.approx(curves[False], abs=TOLERANCE)
