"""Classification step cost on a loaded CPU, per step, one thread: padded (= side (a)), packed rows with the
whole last layer, the engine's step (packed, last layer at first tokens only), and the max_length reference.

On a shared machine wall-clock tokens/s swing with other processes; the CPU time of one thread does
much less. Every variant runs forward + backward on the same batch in turn (dropout on, as in training),
so a load swing hits all of them alike. Same MiniLM + LoRA plan as ``bench/train.py``.

    python bench/cls_step.py --batch 16 --batches 8
    python bench/cls_step.py --batch 8 --batches 12 --width 64 96 128   # also the engine's step at fixed widths
"""

from __future__ import annotations

import argparse
import time

import torch

from core.data.bundled import load_bundled
from core.data.splits import sample
from core.models.embedded import weights_folder
from core.planning.plan import LoraPlan, to_lora_config
from core.training import recipe
from core.training.encode import encode, label_names

PLAN = LoraPlan(targets=("query", "value"), task="seq-cls")


def _packed_at(model: object, tok: object, batch: list, width: int | None) -> torch.Tensor:
    default, recipe.PACK_WIDTH = recipe.PACK_WIDTH, width
    try:
        return recipe.packed_forward(model, recipe.make_collator(tok, "seq-cls", padding_free=True)(batch),
                                     first_token_layer=True).loss
    finally:
        recipe.PACK_WIDTH = default


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--batches", type=int, default=8)
    ap.add_argument("--seq-len", type=int, default=128)
    ap.add_argument("--width", type=int, nargs="*", default=[], help="also the engine's step at these PACK_WIDTHs")
    args = ap.parse_args()
    torch.set_num_threads(1)
    folder = str(weights_folder("minilm"))
    tok = recipe.load_tokenizer(folder)
    data = sample(load_bundled("rotten-tomatoes", "seq-cls"), args.batch * args.batches, seed=0)
    labels = label_names(data)
    rows = encode(tok, data, "seq-cls", args.seq_len, labels)
    torch.manual_seed(0)
    model = recipe.wrap_model(recipe.load_model(folder, "seq-cls", labels, tok.pad_token_id), to_lora_config(PLAN), False)
    model.train()
    assert recipe.cls_packing_is_exact(model, tok.pad_token_id, first_token_layer=True)  # what build_trainer checks
    variants = {
        "padded": lambda b: model(**recipe.make_collator(tok, "seq-cls")(b)).loss,
        "packed": lambda b: recipe.packed_forward(model, recipe.make_collator(tok, "seq-cls", padding_free=True)(b)).loss,
        "engine": lambda b: _packed_at(model, tok, b, recipe.PACK_WIDTH),
        "max-len": lambda b: model(**tok.pad([{k: r[k] for k in ("input_ids", "attention_mask")} for r in b],
                                             padding="max_length", max_length=args.seq_len, return_tensors="pt"),
                                   labels=torch.tensor([r["labels"] for r in b])).loss,
    }  # fmt: skip
    for width in args.width:
        variants[f"packed{width}"] = lambda b, w=width: _packed_at(model, tok, b, w)
    seconds = {name: [] for name in variants}
    for i in range(args.batches):
        batch = rows[i * args.batch : (i + 1) * args.batch]
        for name, step in variants.items():
            start = time.thread_time()
            step(batch).backward()
            seconds[name].append(time.thread_time() - start)
            model.zero_grad()
    real = sum(len(r["input_ids"]) for r in rows)
    base = sum(seconds["padded"][1:])
    print(f"MiniLM, batch {args.batch}, {args.batches} batches, {real} real tokens, 1 thread, CPU s per step (first dropped)")
    for name, xs in seconds.items():
        print(f"{name:8s} " + " ".join(f"{x:.3f}" for x in xs) + f"  total {sum(xs[1:]):.2f}  speed-up x{base / sum(xs[1:]):.2f}")


if __name__ == "__main__":
    main()
