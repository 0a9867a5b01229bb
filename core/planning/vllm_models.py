"""What vLLM's model classes take: which class serves an architecture, and which adapted modules it refuses,
silently drops, or needs a flag for.

The per-architecture facts (LoRA support, ``embedding_modules``, MoE layout, multimodal prefixes and renames) are
``vllm_facts.json``, written by ``tools/vllm_lora_facts.py`` from vLLM's source; the rules that read them name the
vLLM function that decides each one (see core.planning.serving.RULES).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from core.anatomy.inventory import Inventory, LayerInfo
from core.planning.budget import Budget

EXPERT_PAIR: frozenset[str] = frozenset({"gate_up_proj", "down_proj"})  # PEFT's fused 3D layout, both halves
# Module paths a vLLM model names differently from transformers, with no LoRA rename in its hf_to_vllm_mapper.
# vLLM looks LoRA weights up by its own module names, so these are never applied. Read by hand, one model at a time.
RENAMED_PATHS: dict[str, tuple[str, str]] = {
    "MixtralForCausalLM": (".mlp.", ".block_sparse_moe."),  # vllm/model_executor/models/mixtral.py MixtralDecoderLayer
}
# vllm/config/model.py ``_SUFFIX_TO_DEFAULTS``: an unknown "XForSequenceClassification" is served as a converted X...
ARCH_SUFFIXES: tuple[str, ...] = ("ForCausalLM", "ForConditionalGeneration", "ChatModel", "LMHeadModel",
                                  "ForTextEncoding", "EmbeddingModel", "ForSequenceClassification",
                                  "ForTokenClassification", "ClassificationModel", "Model")  # fmt: skip
# ... and one that is still unknown goes to the Transformers backend, which has these classes (registry.py).
BACKENDS: dict[str, str] = {"causal-lm": "TransformersForCausalLM", "seq-cls": "TransformersForSequenceClassification",
                            "feature": "TransformersEmbeddingModel"}  # fmt: skip


@dataclass(frozen=True)
class Finding:
    """One rule's verdict: ``key`` (and ``key + "_fix"``, what to change) are strings in core/strings/serving.py."""

    rule: str
    key: str
    params: dict = field(default_factory=dict)


@cache
def vllm_facts() -> dict:
    return json.loads(Path(__file__).with_name("vllm_facts.json").read_text(encoding="utf-8"))


def resolve_architecture(arch: str, task: str, facts: dict) -> tuple[dict | None, list[Finding], list[Finding]]:
    """vLLM's model resolution (registry.py ``inspect_model_cls``): the row whose rules apply, and what it says."""
    table = facts["architectures"]
    name = arch if arch in table else _normalized(arch, table)
    notes: list[Finding] = []
    if name is None and task in BACKENDS:
        name = BACKENDS[task]
        notes.append(Finding("architecture", "serving.backend", {"arch": arch, "backend": name}))
    if name is None:
        return None, notes, [Finding("architecture", "serving.missing", {"arch": arch, "task": task})]
    row = table[name]
    if row.get("supports_lora") is None:
        notes.append(Finding("architecture", "serving.unread", {"arch": name}))
        return row, notes, []
    if not row["supports_lora"]:
        return None, notes, [Finding("architecture", "serving.no_lora", {"arch": name, "file": row.get("file", "?")})]
    return row, notes, []


def _normalized(arch: str, table: dict) -> str | None:
    suffix = next((s for s in ARCH_SUFFIXES if arch.endswith(s)), None)
    if suffix is None:
        return None
    return next((arch[: -len(suffix)] + s for s in ARCH_SUFFIXES if arch[: -len(suffix)] + s in table), None)


def module_findings(budget: Budget, inventory: Inventory, row: dict, arch: str) -> tuple[list, list, list, bool]:
    """Which adapted modules vLLM refuses, drops, or needs a flag for."""
    layers = [inventory.layer(m.name) for m in budget.modules]
    layers = [layer for layer in layers if layer is not None]
    problems, notes, flags = [], [], []
    allowed = row.get("embedding_modules", [])
    embeds = [x.name for x in layers if (x.kind == "embedding" or x.name == inventory.output_embedding)
              and x.short_name not in allowed]  # fmt: skip
    if embeds:
        problems.append(Finding("embedding", "serving.embedding", {"names": _some(embeds), "arch": arch,
                                                                   "allowed": ", ".join(allowed) or "-"}))  # fmt: skip
    convs = [x.name for x in layers if x.kind == "conv"]
    if convs:
        problems.append(Finding("conv", "serving.conv", {"names": _some(convs)}))
    renamed = _renamed(layers, arch)
    if renamed:
        old, new = RENAMED_PATHS[arch]
        problems.append(Finding("renamed", "serving.renamed", {"names": _some(renamed), "n": len(renamed),
                                                               "old": old.strip("."), "new": new.strip(".")}))  # fmt: skip
    # Fused expert weights (3D); a 2D parameter target (a router's weight) is saved and served as a plain LoRA.
    experts = [x for x in layers if x.kind == "expert-param" and x.experts > 1 and x.name not in renamed]
    is_3d = False
    if experts:
        problems += _expert_pairs(experts)
        if not row.get("is_3d_moe_weight"):
            is_3d = True
            flags.append("--enable-mixed-moe-lora-format")
            notes.append(Finding("experts", "serving.experts_flag", {"arch": arch}))
    tower = _outside_language_model(layers, row)
    if tower and row.get("supports_tower_connector_lora"):
        flags.append("--enable-tower-connector-lora")
        notes.append(Finding("tower", "serving.tower_flag", {"names": _some(tower), "n": len(tower)}))
    elif tower:
        problems.append(Finding("tower", "serving.tower", {"names": _some(tower), "n": len(tower), "arch": arch}))
    return problems, notes, flags, is_3d


def _renamed(layers: list[LayerInfo], arch: str) -> list[str]:
    if arch not in RENAMED_PATHS:
        return []
    old = RENAMED_PATHS[arch][0]
    return [x.name for x in layers if old in f".{x.name}."]


def _expert_pairs(experts: list[LayerInfo]) -> list[Finding]:
    by_block: dict[str, set[str]] = {}
    for layer in experts:
        parent, param = layer.name.rsplit(".", 1)
        by_block.setdefault(parent, set()).add(param)
    broken = sorted(parent for parent, names in by_block.items() if names != EXPERT_PAIR)
    if not broken:
        return []
    present = ", ".join(sorted(by_block[broken[0]]))
    return [Finding("experts", "serving.experts_pair", {"names": _some(broken), "present": present})]


def _outside_language_model(layers: list[LayerInfo], row: dict) -> list[str]:
    """Modules of a multimodal model that vLLM maps outside its language model (its hf_to_vllm_mapper renames)."""
    mm = row.get("mm")
    if not mm or not mm.get("language_model"):
        return []
    inside = tuple(mm["language_model"])
    return [x.name for x in layers if not _vllm_name(x.name, row.get("prefix_renames", [])).startswith(inside)]


def _vllm_name(name: str, renames: list) -> str:
    for old, new in renames:  # every matching prefix, in order (WeightsMapper._map_name_with_shard)
        if name.startswith(old):
            name = new + name[len(old) :]
    return name


def _some(names: list[str], n: int = 3) -> str:
    shown = ", ".join(names[:n])
    return shown + (f" … (+{len(names) - n})" if len(names) > n else "")
