"""Estimated vs measured training memory: ``python bench/memory.py [--steps N] [--cpu-layers K]``.

On a CUDA GPU: 3 catalog models (random init in bf16 from their configs, no download) × 3 plans, a
few AdamW steps each; prints the estimate (without the CUDA-context constant, which the allocator
does not see) against ``torch.cuda.max_memory_allocated()``. Without a GPU: the same models, cut to a
few blocks, in fp32 on CPU; compares weights + adapter + gradients + AdamW with the bytes their
tensors hold, and activations with the bytes autograd saves for backward.
"""

from __future__ import annotations

import argparse
import copy
import gc
import os
import warnings

os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
warnings.filterwarnings("ignore")

import torch  # noqa: E402
from peft import get_peft_model  # noqa: E402

from core.anatomy.inventory import list_adaptable_layers  # noqa: E402
from core.models.meta import model_class  # noqa: E402
from core.models.sources import guess_spec, load_config  # noqa: E402
from core.planning.budget import compute_budget  # noqa: E402
from core.planning.memory import CUDA_OVERHEAD, GIB, MemorySettings, estimate_training_memory  # noqa: E402
from core.planning.plan import LoraPlan, to_lora_config  # noqa: E402

MODELS = ("smollm2-135m", "qwen2.5-0.5b", "llama-3.2-1b")
PLANS = {  # name: (plan, batch, seq, gradient checkpointing)
    "q,v r8 b4x512": (LoraPlan(targets=("q_proj", "v_proj"), r=8), 4, 512, False),
    "all-linear r16 b2x1024": (LoraPlan(target_regex="all-linear", r=16), 2, 1024, False),
    "all-linear r16 b8x512 gc": (LoraPlan(target_regex="all-linear", r=16), 8, 512, True),
}


def build(slug: str, device: str, dtype: torch.dtype, layers: int | None) -> torch.nn.Module:
    mc = load_config(guess_spec(slug))
    config = copy.deepcopy(mc.config)
    if layers:
        config.num_hidden_layers = layers
    config._attn_implementation = "sdpa"
    with torch.device(device):
        model = model_class(config, mc.task)._from_config(config, dtype=dtype)
    return model


def batch(vocab: int, b: int, s: int, device: str) -> dict:
    ids = torch.randint(0, vocab, (b, s), device=device)
    return {"input_ids": ids, "labels": ids}


def train(model: torch.nn.Module, data: dict, steps: int, checkpointing: bool) -> torch.optim.Optimizer:
    if checkpointing:
        model.gradient_checkpointing_enable()
        model.enable_input_require_grads()
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    for _ in range(steps):
        optimizer.zero_grad(set_to_none=True)  # before backward: the last step's gradients stay for counting
        model(**data).loss.backward()
        optimizer.step()
    return optimizer


def gpu_row(slug: str, name: str, steps: int) -> tuple[float, float]:
    plan, b, s, ckpt = PLANS[name]
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    model = build(slug, "cuda", torch.bfloat16, None)
    inv = list_adaptable_layers(model)
    settings = MemorySettings("bf16", b, s, ckpt)
    est = estimate_training_memory(inv, compute_budget(inv, plan), settings, plan=plan).total - CUDA_OVERHEAD
    model = get_peft_model(model, to_lora_config(plan))
    train(model, batch(model.config.vocab_size, b, s, "cuda"), steps, ckpt)
    measured = torch.cuda.max_memory_allocated()
    del model
    gc.collect()
    return est, measured


def storage_bytes(tensors) -> int:
    seen = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in tensors if t is not None}
    return sum(seen.values())


def cpu_row(slug: str, name: str, layers: int) -> tuple[int, int, int, int]:
    plan, _, _, ckpt = PLANS[name]
    b, s = 1, 128
    torch.manual_seed(0)
    model = build(slug, "cpu", torch.float32, layers)
    inv = list_adaptable_layers(model)
    settings = MemorySettings("fp32", b, s, ckpt, device="cpu")
    est = estimate_training_memory(inv, compute_budget(inv, plan), settings, plan=plan)
    model = get_peft_model(model, to_lora_config(plan))
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    saved: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        if tensor.untyped_storage().data_ptr() not in params:
            saved[tensor.untyped_storage().data_ptr()] = tensor.untyped_storage().nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        optimizer = train(model, batch(model.config.vocab_size, b, s, "cpu"), 1, ckpt)
    ps = list(model.parameters())
    states = [v for st in optimizer.state.values() for v in st.values() if torch.is_tensor(v)]
    fixed = sum(est[k] for k in ("weights", "adapter", "gradients", "optimizer"))
    return fixed, storage_bytes(ps + [p.grad for p in ps] + states), est["activations"], sum(saved.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--cpu-layers", type=int, default=2, help="blocks kept per model on CPU (default 2)")
    args = parser.parse_args()
    if torch.cuda.is_available():
        print(f"GPU: {torch.cuda.get_device_name()} ({torch.cuda.get_device_properties(0).total_memory / GIB:.2f} GiB)")
        print(f"{'model':<14} {'plan':<26} {'estimate':>10} {'measured':>10} {'error':>8}")
        for slug in MODELS:
            for name in PLANS:
                est, measured = gpu_row(slug, name, args.steps)
                print(f"{slug:<14} {name:<26} {est / GIB:>8.2f}Gi {measured / GIB:>8.2f}Gi "
                      f"{100 * (est - measured) / measured:>+7.1f}%", flush=True)
        return 0
    print(f"No GPU was available: CPU comparison instead (fp32, batch 1 × 128 tokens, {args.cpu_layers} blocks "
          "per model; no activation check with checkpointing: autograd's hooks miss the recomputed block).")
    print(f"{'model':<14} {'plan':<26} {'fixed est':>11} {'held':>11} {'err':>7} {'act est':>11} {'saved':>11} {'err':>7}")
    for slug in MODELS:
        for name in PLANS:
            fixed, held, act, saved = cpu_row(slug, name, args.cpu_layers)
            act_err = "n/a" if PLANS[name][3] else f"{100 * (act - saved) / saved:+.1f}%"
            print(f"{slug:<14} {name:<26} {fixed / 2**20:>9.1f}Mi {held / 2**20:>9.1f}Mi "
                  f"{100 * (fixed - held) / held:>+6.2f}% {act / 2**20:>9.1f}Mi {saved / 2**20:>9.1f}Mi "
                  f"{act_err:>7}", flush=True)
            gc.collect()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
