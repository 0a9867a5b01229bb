"""Estimated vs measured training memory: ``PYTHONPATH=. python bench/memory.py [--device cuda] [--out FILE.md]``.

On a CUDA GPU (``--device cuda``, the default when one is present): 3 catalog models (random init in bf16
from their configs, no download) × 3 plans, a few AdamW steps each; the estimate (without the CUDA-context
constant, which the allocator does not see) against ``torch.cuda.max_memory_allocated()``, goal ±10%.
On CPU: the same models, cut to a few blocks, in fp32; weights + adapter + gradients + AdamW against the
bytes their tensors hold, and activations against the bytes autograd saves for backward. ``--out`` writes
the table as Markdown (docs/benchmarks-memory.md), saying which of the two it is.
"""

from __future__ import annotations

import argparse
import copy
import gc
import os
import warnings
from pathlib import Path

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


def gpu_table(steps: int) -> list[str]:
    name = torch.cuda.get_device_name()
    total = torch.cuda.get_device_properties(0).total_memory / GIB
    rows = [f"GPU: {name} ({total:.2f} GiB), bf16, {steps} AdamW steps; estimate without the {CUDA_OVERHEAD // 2**20} MiB "
            "CUDA context, against torch.cuda.max_memory_allocated().", "",
            "| model | plan | estimate | measured | error |", "|---|---|---:|---:|---:|"]
    for slug in MODELS:
        for plan in PLANS:
            est, measured = gpu_row(slug, plan, steps)
            rows.append(f"| {slug} | {plan} | {est / GIB:.2f} GiB | {measured / GIB:.2f} GiB | "
                        f"{100 * (est - measured) / measured:+.1f}% |")
            print(rows[-1], flush=True)
    return rows


def cpu_table(layers: int) -> list[str]:
    rows = [f"No GPU was available: CPU comparison instead (fp32, batch 1 × 128 tokens, {layers} blocks per model; "
            "activations without checkpointing only).", "",
            "| model | plan | fixed est. | held | error | activations est. | saved | error |",
            "|---|---|---:|---:|---:|---:|---:|---:|"]
    for slug in MODELS:
        for plan in PLANS:
            fixed, held, act, saved = cpu_row(slug, plan, layers)
            act_err = "n/a" if PLANS[plan][3] else f"{100 * (act - saved) / saved:+.1f}%"
            rows.append(f"| {slug} | {plan} | {fixed / 2**20:.1f} MiB | {held / 2**20:.1f} MiB | "
                        f"{100 * (fixed - held) / held:+.2f}% | {act / 2**20:.1f} MiB | {saved / 2**20:.1f} MiB | "
                        f"{act_err} |")
            print(rows[-1], flush=True)
            gc.collect()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--out", help="write the table as Markdown here (e.g. docs/benchmarks-memory.md)")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--cpu-layers", type=int, default=2, help="blocks kept per model on CPU (default 2)")
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        print("--device cuda: no CUDA GPU is available here", flush=True)
        return 2
    rows = gpu_table(args.steps) if args.device == "cuda" else cpu_table(args.cpu_layers)
    if args.out:
        Path(args.out).write_text("## Training memory: estimate against measurement\n\n" + "\n".join(rows) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
