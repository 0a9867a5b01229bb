"""Packed classification batches with the last layer at the first tokens only (recipe.packed_forward) give the
padded batch's loss and the gradients of every LoRA weight, on each encoder family the probe accepts; other
models fall back to padded batches."""

from __future__ import annotations

import pytest
import torch
import transformers as tf
from peft import LoraConfig, get_peft_model

from core.data.bundled import load_bundled
from core.data.splits import sample
from core.models.embedded import weights_folder
from core.training import recipe
from core.training.encode import encode, label_names
from core.training.loader import load_model, load_tokenizer

pytestmark = pytest.mark.usefixtures("one_cpu_thread")

# fp32: the packed step sums attention and matmuls in another order than the padded one; observed differences
# are ~1e-8 on losses of ~0.7 and gradients of ~0.1. Rows seeing each other, a detached key or positions off by
# one (RoBERTa) fail these tests (checked by breaking the code once each).
LOSS_TOL = 1e-6
GRAD_TOL = {"atol": 1e-6, "rtol": 1e-4}

SMALL = {"vocab_size": 64, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
         "intermediate_size": 64, "max_position_embeddings": 48}  # fmt: skip
# (config, LoRA targets, packed with the last layer at first tokens?)
ARCHITECTURES = {
    "bert": (lambda: tf.BertConfig(**SMALL), ["query", "value"], True),
    "roberta": (lambda: tf.RobertaConfig(**SMALL, pad_token_id=1), ["query", "value"], True),
    "xlm-roberta": (lambda: tf.XLMRobertaConfig(**SMALL, pad_token_id=1), ["query", "value", "dense"], True),
    "electra": (lambda: tf.ElectraConfig(**SMALL, embedding_size=32), ["query", "key", "value"], True),
    "distilbert": (lambda: tf.DistilBertConfig(vocab_size=64, dim=32, n_layers=2, n_heads=4, hidden_dim=64,
                                               max_position_embeddings=48), ["q_lin", "v_lin", "lin1"], True),  # fmt: skip
    # DeBERTa-v2 takes no block-diagonal (4D) mask; GPT-2 pools its last token: both train on padded batches
    "deberta-v2": (lambda: tf.DebertaV2Config(**SMALL), ["query_proj", "value_proj"], False),
    "gpt2": (lambda: tf.GPT2Config(vocab_size=64, n_embd=32, n_layer=2, n_head=4, n_positions=48, pad_token_id=0,
                                   bos_token_id=0, eos_token_id=0), ["c_attn"], False),  # fmt: skip
}


def _no_dropout(model: torch.nn.Module) -> torch.nn.Module:
    """Training mode (the step's own code paths) without dropout, so two steps can be compared."""
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    return model.train()


def _rows(lengths: list[int], pad_id: int, vocab: int, seed: int = 0) -> list[dict]:
    g = torch.Generator().manual_seed(seed)
    ids = [i for i in range(2, vocab) if i != pad_id]
    return [{"input_ids": [ids[int(j)] for j in torch.randint(len(ids), (n,), generator=g)], "labels": k % 2}
            for k, n in enumerate(lengths)]  # fmt: skip


def _step(model, inputs, packed: bool) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """One step's loss and the gradient of every trainable weight (``backward``, as Trainer does)."""
    model.zero_grad(set_to_none=True)
    out = recipe.packed_forward(model, inputs, first_token_layer=True) if packed else model(**inputs)
    out.loss.backward()
    return out.loss.detach(), {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}


def _ffn_rows(model) -> list[int]:
    """A list that fills with the number of token positions the last layer's feed-forward computes."""
    body = model.get_base_model().base_model
    layer = (getattr(body, "encoder", None) or body.transformer).layer[-1]
    ffn = layer.intermediate.dense if hasattr(layer, "intermediate") else layer.ffn.lin1
    seen: list[int] = []
    ffn.register_forward_hook(lambda _m, args, _out: seen.append(args[0].shape[:-1].numel()))
    return seen


def _assert_same(got: tuple, expected: tuple) -> None:
    assert float(got[0]) == pytest.approx(float(expected[0]), abs=LOSS_TOL)
    for name, grad in expected[1].items():
        assert grad.abs().max() > 0, name  # every compared gradient carries signal (LoRA B is not zero here)
        torch.testing.assert_close(got[1][name], grad, **GRAD_TOL, msg=name)


def _padded(rows: list[dict], pad_id: int) -> dict[str, torch.Tensor]:
    width = max(len(r["input_ids"]) for r in rows)
    ids = torch.tensor([r["input_ids"] + [pad_id] * (width - len(r["input_ids"])) for r in rows])
    mask = torch.tensor([[1] * len(r["input_ids"]) + [0] * (width - len(r["input_ids"])) for r in rows])
    return {"input_ids": ids, "attention_mask": mask, "labels": torch.tensor([r["labels"] for r in rows])}


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_packed_first_token_step_equals_the_padded_step(arch):
    """Tiny random models of each family: the probe's verdict, and where it accepts, one training step of 8 rows
    packed (last layer at first tokens) gives the padded step's loss and gradients on every LoRA weight."""
    make_config, targets, fits = ARCHITECTURES[arch]
    torch.manual_seed(0)
    config = make_config()
    config.num_labels = 2
    base = tf.AutoModelForSequenceClassification.from_config(config)
    lora = LoraConfig(task_type="SEQ_CLS", r=4, target_modules=targets, init_lora_weights=False)  # B != 0
    model = _no_dropout(get_peft_model(base, lora))
    pad_id = config.pad_token_id if config.pad_token_id is not None else 0
    # build_trainer packs only when these pass: the models they refuse train on padded batches
    assert recipe.cls_packing_is_exact(model, pad_id) == fits
    assert recipe.cls_packing_is_exact(model, pad_id, first_token_layer=True) == fits
    if not fits:
        return
    rows = _rows([9, 4, 12, 3, 7, 5, 11, 2], pad_id, config.vocab_size)
    packed = recipe.pack_rows(rows, pad_id)
    assert packed["input_ids"].shape[0] < len(rows)  # rows share sequences
    seen = _ffn_rows(model)
    expected, got = _step(model, _padded(rows, pad_id), packed=False), _step(model, packed, packed=True)
    assert seen == [8 * 12, len(rows)]  # the last layer's feed-forward: every padded slot, then the first tokens only
    _assert_same(got, expected)


@pytest.fixture(scope="module")
def minilm():
    folder = str(weights_folder("minilm"))
    tok = load_tokenizer(folder)
    data = sample(load_bundled("rotten-tomatoes", "seq-cls"), 16, seed=4)
    labels = label_names(data)
    return tok, encode(tok, data, "seq-cls", 128, labels), folder, labels


@pytest.mark.parametrize("checkpointing", [False, True])
def test_minilm_optimised_step_equals_the_padded_step(minilm, checkpointing):
    """all-MiniLM-L6-v2 + LoRA on 16 Rotten Tomatoes reviews, fp32: the engine's classification step (packed rows,
    last layer at first tokens) gives the plain padded step's loss and LoRA gradients. Under activation
    checkpointing the last layer runs whole (its backward reruns the model's own forward)."""
    tok, rows, folder, labels = minilm
    torch.manual_seed(0)
    base = load_model(folder, "seq-cls", labels, tok.pad_token_id)
    if checkpointing:
        base.gradient_checkpointing_enable()
    model = _no_dropout(recipe.wrap_model(base, LoraConfig(task_type="SEQ_CLS", r=8, target_modules=["query", "value"]),
                                          checkpointing))  # fmt: skip
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.02)  # LoRA B starts at 0: then A's gradient would be 0 on both paths
    assert recipe.cls_packing_is_exact(model, tok.pad_token_id, first_token_layer=True)
    padded = recipe.make_collator(tok, "seq-cls")(rows)
    packed = recipe.make_collator(tok, "seq-cls", padding_free=True)(rows)
    seen = _ffn_rows(model)
    expected, got = _step(model, padded, packed=False), _step(model, packed, packed=True)
    # the packed step's forward: the first tokens only, or every packed slot (checkpointing reruns each forward)
    assert seen[len(seen) // 2] == (packed["input_ids"].numel() if checkpointing else len(rows))
    _assert_same(got, expected)
