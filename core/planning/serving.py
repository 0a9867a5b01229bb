"""Will vLLM serve this plan's adapter? vLLM's own LoRA rules, read from its source, in one table.

Every rule names the file and function of vLLM (the version in ``vllm_facts.json``) that decides it; the rules
about model classes and modules live in core.planning.vllm_models. "refused": vLLM raises when it loads the adapter
(or will not start); "dropped": it loads the adapter and silently leaves part of it out.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass

from core.anatomy.inventory import Inventory
from core.i18n import t
from core.models.spec import ModelSpec
from core.planning.budget import Budget
from core.planning.plan import LoraPlan
from core.planning.vllm_models import Finding, module_findings, resolve_architecture, vllm_facts

# vllm/config/lora.py ``MaxLoRARanks``: the only values ``--max-lora-rank`` accepts.
MAX_LORA_RANKS: tuple[int, ...] = (1, 8, 16, 32, 64, 128, 256, 320, 512)
# vllm/lora/peft_helper.py ``_init_is_supported``: inits that only set the first adapter weights ("default" is True).
SERVED_INITS: tuple[str, ...] = ("default", "gaussian", "eva", "orthogonal", "mica", "lora_ga")
# vllm/lora/peft_helper.py ``_validate_features``: the only modules_to_save vLLM accepts (classification heads).
CLASSIFIER_HEADS: tuple[str, ...] = ("classifier", "score")


@dataclass(frozen=True)
class Rule:
    id: str
    effect: str  # "refused" or "dropped"
    source: str  # vLLM file and function that decide it


RULES: tuple[Rule, ...] = (
    Rule("architecture", "refused", "vllm/config/lora.py LoRAConfig.verify_with_model_config; vllm/model_executor/models/registry.py"),
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
    out = {"id": finding.rule, "key": finding.key.removeprefix("serving."), "effect": EFFECTS.get(finding.rule, "note"),
           "message": t(finding.key, **finding.params)}  # fmt: skip
    if with_fix:
        out["fix"] = t(finding.key + "_fix", **finding.params)
    out["params"] = finding.params
    return out


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
    row, notes, problems = resolve_architecture(arch, plan.task, facts)
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
        module_problems, module_notes, module_flags, is_3d = module_findings(budget, inventory, row, arch)
        problems += module_problems
        notes += module_notes
        flags += module_flags
    else:
        is_3d = False
    return ServingCheck(arch, rank, smallest_max_lora_rank(rank) or MAX_LORA_RANKS[-1], tuple(problems),
                        tuple(notes), tuple(flags), is_3d, facts["vllm"])  # fmt: skip


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
