"""Will vLLM serve this plan's adapter? vLLM's own LoRA rules, read from its source, in one table.

Every rule names the file and function of vLLM (version ``VLLM_VERSION``) that decides it; the per-architecture
facts (LoRA support, embedding modules, MoE layout, multimodal prefixes) come from ``vllm_facts.json``, which
``tools/vllm_lora_facts.py`` writes from the same source. "refused": vLLM raises when it loads the adapter (or
will not start); "dropped": it loads the adapter and silently leaves part of it out.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from core.anatomy.inventory import Inventory, LayerInfo
from core.i18n import t
from core.models.spec import ModelSpec
from core.planning.budget import Budget
from core.planning.plan import LoraPlan

# vllm/config/lora.py ``MaxLoRARanks``: the only values ``--max-lora-rank`` accepts.
MAX_LORA_RANKS: tuple[int, ...] = (1, 8, 16, 32, 64, 128, 256, 320, 512)
# vllm/lora/peft_helper.py ``_init_is_supported``: inits that only set the first adapter weights ("default" is True).
SERVED_INITS: tuple[str, ...] = ("default", "gaussian", "eva", "orthogonal", "mica", "lora_ga")
# vllm/lora/peft_helper.py ``_validate_features``: the only modules_to_save vLLM accepts (classification heads).
CLASSIFIER_HEADS: tuple[str, ...] = ("classifier", "score")
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
class Rule:
    id: str
    effect: str  # "refused" or "dropped"
    source: str  # vLLM file and function that decide it


RULES: tuple[Rule, ...] = (
    Rule("architecture", "refused", "vllm/config/lora.py LoRAConfig.verify_with_model_config; model_executor/models/registry.py"),
    Rule("rank", "refused", "vllm/lora/peft_helper.py PEFTHelper.validate_legal; vllm/config/lora.py MaxLoRARanks"),
    Rule("dora", "refused", "vllm/lora/peft_helper.py PEFTHelper._validate_features"),
    Rule("bias", "refused", "vllm/lora/peft_helper.py PEFTHelper.validate_legal"),
    Rule("init", "refused", "vllm/lora/peft_helper.py PEFTHelper._init_is_supported"),
    Rule("modules_to_save", "refused", "vllm/lora/peft_helper.py PEFTHelper._validate_features"),
    Rule("head", "refused", "vllm/lora/utils.py parse_fine_tuned_lora_name; vllm/lora/lora_model.py from_lora_tensors"),
    Rule("embedding", "refused", "vllm/lora/lora_model.py check_unexpected_modules; vllm/lora/utils.py get_supported_lora_modules"),
    Rule("conv", "refused", "vllm/lora/lora_model.py check_unexpected_modules; vllm/lora/utils.py get_supported_lora_modules"),
    Rule("experts", "refused", "vllm/lora/model_manager.py _stack_moe_lora_weights, _convert_3d_to_2d_moe_lora"),
    Rule("renamed", "dropped", "vllm/lora/model_manager.py activate_adapter, _get_lora_layer_weights"),
    Rule("tower", "dropped", "vllm/lora/model_manager.py _create_lora_modules, _get_punica_wrapper"),
)  # fmt: skip
EFFECTS: dict[str, str] = {rule.id: rule.effect for rule in RULES}


@dataclass(frozen=True)
class Finding:
    """One rule's verdict: ``key`` (and ``key + "_fix"``, what to change) are strings in core/strings/serving.py."""

    rule: str
    key: str
    params: dict = field(default_factory=dict)

    @property
    def effect(self) -> str:
        return EFFECTS.get(self.rule, "note")


@dataclass(frozen=True)
class ServingCheck:
    """What ``vllm serve --enable-lora`` would do with the adapter a plan trains."""

    architecture: str
    adapter_rank: int  # max(r, every rank_pattern value): what vLLM compares with --max-lora-rank
    max_lora_rank: int  # the smallest value --max-lora-rank accepts that holds the adapter (512 at most)
    problems: tuple[Finding, ...]
    notes: tuple[Finding, ...] = ()  # flags added to the command, things vLLM's source does not settle
    flags: tuple[str, ...] = ()
    is_3d_lora_weight: bool = False
    version: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems

    def command(self, model: str, name: str = "adapter", path: str = "./adapter") -> str:
        """The ``vllm serve`` line to copy."""
        if self.is_3d_lora_weight:  # vLLM reads JSON when the value has a comma (LoRAParserAction)
            module = json.dumps({"name": name, "path": path, "is_3d_lora_weight": True})
        else:
            module = f"{name}={path}"
        parts = ["vllm", "serve", shlex.quote(model), "--enable-lora", "--lora-modules", shlex.quote(module),
                 "--max-lora-rank", str(self.max_lora_rank), *self.flags]  # fmt: skip
        return " ".join(parts)

    def to_json(self, model: str) -> dict:
        """Machine-readable: rule ids, the English sentences, and the command for ``model``."""
        return {"ok": self.ok, "version": self.version, "architecture": self.architecture,
                "adapter_rank": self.adapter_rank, "max_lora_rank": self.max_lora_rank,
                "problems": [_finding_json(f, with_fix=True) for f in self.problems],
                "notes": [_finding_json(f, with_fix=False) for f in self.notes],
                "flags": list(self.flags), "command": self.command(model)}  # fmt: skip


def verdict(check: ServingCheck, lang: str) -> str:
    """A table cell: the --max-lora-rank to pass, or the first thing to change (and how many more)."""
    if check.ok:
        return t("serving.cell_ok", lang, max=check.max_lora_rank)
    first = check.problems[0]
    more = f" (+{len(check.problems) - 1})" if len(check.problems) > 1 else ""
    return t("serving.cell_bad", lang, fix=t(first.key + "_fix", lang, **first.params)) + more


def _finding_json(finding: Finding, with_fix: bool) -> dict:
    out = {"id": finding.rule, "key": finding.key.removeprefix("serving."), "effect": finding.effect,
           "message": t(finding.key, **finding.params)}  # fmt: skip
    if with_fix:
        out["fix"] = t(finding.key + "_fix", **finding.params)
    out["params"] = finding.params
    return out


@cache
def vllm_facts() -> dict:
    return json.loads(Path(__file__).with_name("vllm_facts.json").read_text(encoding="utf-8"))


def smallest_max_lora_rank(rank: int) -> int | None:
    return next((allowed for allowed in MAX_LORA_RANKS if allowed >= rank), None)


def adapter_rank(plan: LoraPlan, budget: Budget, inventory: Inventory) -> int:
    """vLLM's ``max([r, *rank_pattern.values()])`` (a pattern that matches nothing counts too), and each module's
    own rank where PEFT multiplies it (fused MoE experts converted from per-expert targets)."""
    ranks = [plan.r, *(r for _, r in plan.rank_pattern)]
    for module in budget.modules:
        layer = inventory.layer(module.name)
        if layer is not None and layer.kind == "expert-param":
            ranks.append(module.lora_params // (layer.experts * (layer.in_features + layer.out_features)))
    return max(ranks)


def check_vllm(plan: LoraPlan, budget: Budget, inventory: Inventory, declared: str | None = None) -> ServingCheck:
    """Check the adapter ``plan`` trains on ``inventory``'s model against vLLM's rules.

    ``declared`` is the model's own ``config.architectures[0]`` when known: vLLM builds that class, so a task head
    the config does not declare needs ``--hf-overrides``.
    """
    facts = vllm_facts()
    arch = inventory.class_name
    row, notes, problems = _architecture(arch, plan.task, facts)
    flags: list[str] = []
    if declared and declared != arch:
        flags.append("--hf-overrides " + shlex.quote(json.dumps({"architectures": [arch]})))
        notes.append(Finding("architecture", "serving.override", {"declared": declared, "arch": arch}))
    rank = adapter_rank(plan, budget, inventory)
    if smallest_max_lora_rank(rank) is None:
        problems.append(Finding("rank", "serving.rank", {"rank": rank, "max": MAX_LORA_RANKS[-1]}))
    problems += _config_rules(plan, rank)
    problems += _saved_modules(plan, budget, inventory)
    if row is not None:
        module_problems, module_notes, module_flags, is_3d = _module_rules(budget, inventory, row, arch)
        problems += module_problems
        notes += module_notes
        flags += module_flags
    else:
        is_3d = False
    return ServingCheck(arch, rank, smallest_max_lora_rank(rank) or MAX_LORA_RANKS[-1], tuple(problems),
                        tuple(notes), tuple(flags), is_3d, facts["vllm"])  # fmt: skip


def _architecture(arch: str, task: str, facts: dict) -> tuple[dict | None, list[Finding], list[Finding]]:
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


def _config_rules(plan: LoraPlan, rank: int) -> list[Finding]:
    """What vLLM's PEFTHelper reads from adapter_config.json and refuses."""
    found = []
    if plan.use_dora:
        found.append(Finding("dora", "serving.dora"))
    if plan.bias != "none":
        found.append(Finding("bias", "serving.bias", {"bias": plan.bias}))
    if plan.init_lora_weights not in SERVED_INITS:
        converted = smallest_max_lora_rank(2 * rank)  # PEFT's conversion doubles r and every rank_pattern value
        found.append(Finding("init", "serving.init", {"init": plan.init_lora_weights, "rank": 2 * rank,
                                                      "max": converted or f"> {MAX_LORA_RANKS[-1]}"}))  # fmt: skip
    extra = [name for name in plan.modules_to_save if name not in CLASSIFIER_HEADS]
    if extra:
        found.append(Finding("modules_to_save", "serving.modules_to_save", {"names": ", ".join(extra)}))
    return found


def _saved_modules(plan: LoraPlan, budget: Budget, inventory: Inventory) -> list[Finding]:
    """A classification head travels as a full copy; vLLM reads it only as one ``classifier``/``score`` weight."""
    if plan.task != "seq-cls" and not set(plan.modules_to_save) & set(CLASSIFIER_HEADS):
        return []
    heads = [name for name in budget.saved_modules if name.rsplit(".", 1)[-1] in CLASSIFIER_HEADS]
    # PEFT also copies any module whose name merely ends with a head's (DistilBERT's "pre_classifier"): vLLM
    # cannot parse those weights' names.
    lookalikes = [name for name in budget.saved_modules if name not in heads and name.endswith(CLASSIFIER_HEADS)]
    unreadable = [name for name in heads if getattr(inventory.layer(name), "kind", None) != "linear"]
    if len(heads) > 1 or unreadable or lookalikes:
        return [Finding("head", "serving.head", {"names": ", ".join(budget.saved_modules)})]
    return []


def _module_rules(budget: Budget, inventory: Inventory, row: dict, arch: str) -> tuple[list, list, list, bool]:
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


def declared_architecture(config: object) -> str | None:
    """The class a model's config names first: the one vLLM builds."""
    archs = getattr(config, "architectures", None) or []
    return str(archs[0]) if archs else None


def served_model_id(spec: ModelSpec) -> str:
    """What ``vllm serve`` is given for a model: its Hub id (catalog and embedded models name theirs), or the ref."""
    from core.models.catalog import find_entry
    from core.models.embedded import EMBEDDED_HUB_IDS

    if spec.source == "catalog":
        entry = find_entry(spec.ref)
        return entry.hub_id if entry is not None else spec.ref
    if spec.source == "embedded":
        return EMBEDDED_HUB_IDS.get(spec.ref, spec.ref)
    return spec.ref
