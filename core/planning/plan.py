"""A LoRA plan: the user's choices, validated, and the one place that makes a ``peft.LoraConfig``."""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field, replace

from core.errors import LensError
from core.limits import MAX_R, check_regex
from core.models.spec import PEFT_TASK_TYPES

BIAS_MODES: tuple[str, ...] = ("none", "all", "lora_only")
ALL_LINEAR = "all-linear"
# The one set of hyper-parameter defaults (PEFT's examples): every page, the CLI and the default plan read these.
DEFAULT_R = 8
DEFAULT_ALPHA = 16
DEFAULT_DROPOUT = 0.05
# PEFT's ``init_lora_weights`` values that run on the CPU with no data pass (eva/corda need data, loftq a quantizer).
# "default" is PEFT's ``True`` (A Kaiming-uniform, B zero). "mica" freezes B: only A trains.
INIT_METHODS: tuple[str, ...] = ("default", "gaussian", "pissa", "olora", "orthogonal", "mica")
# Inits that move the base weights (W - scaling·B·A): the trained adapter is converted to plain LoRA on save.
MUTATING_INITS: tuple[str, ...] = ("pissa", "olora")
MAX_PATTERNS = 64  # rank_pattern / alpha_pattern entries, exclude_modules and target_parameters names, each
MAX_PATTERN_CHARS = 200

Pairs = tuple[tuple[str, int], ...]
AlphaPairs = tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class LoraPlan:
    """What to adapt and how. ``targets`` is a tuple of short names, or one regex in ``target_regex``."""

    targets: tuple[str, ...] = ()
    target_regex: str | None = None  # a string target, as PEFT treats one (full match); may be "all-linear"
    r: int = DEFAULT_R
    lora_alpha: float = DEFAULT_ALPHA
    lora_dropout: float = DEFAULT_DROPOUT
    bias: str = "none"
    use_rslora: bool = False
    use_dora: bool = False
    layers: tuple[int, ...] = ()  # layers_to_transform; empty means every block
    modules_to_save: tuple[str, ...] = ()
    task: str = "causal-lm"
    # PEFT's per-module overrides, in the user's order (PEFT takes the first key that matches a module's name,
    # ``(.*\.)?(key)$``): ((key, r), ...) and ((key, alpha), ...). Tuples, so a plan stays hashable.
    rank_pattern: Pairs = ()
    alpha_pattern: AlphaPairs = ()
    exclude_modules: tuple[str, ...] = ()  # names (PEFT's list form: equal, or ends with ".name")
    target_parameters: tuple[str, ...] = ()  # nn.Parameter names, e.g. fused MoE experts "experts.gate_up_proj"
    init_lora_weights: str = "default"  # one of INIT_METHODS
    layers_pattern: str | None = None  # the ModuleList name layers_to_transform counts in, where PEFT needs it
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def scaling(self) -> float:
        """What multiplies B·A in the forward pass: α/r, or α/√r with rsLoRA."""
        return self.lora_alpha / (self.r**0.5 if self.use_rslora else self.r)

    @property
    def target_modules(self) -> list[str] | str:
        """PEFT's ``target_modules`` value for this plan."""
        if self.target_regex:
            return self.target_regex
        return sorted(self.targets)

    def with_changes(self, **changes: object) -> LoraPlan:
        return replace(self, **changes)

    def rank_for(self, name: str) -> int:
        """The rank PEFT gives the module (or parameter) called ``name``: the first matching rank_pattern key."""
        return _pattern_value(self.rank_pattern, name, self.r)

    def alpha_for(self, name: str) -> float:
        """The alpha PEFT gives ``name``: the first matching alpha_pattern key, else lora_alpha."""
        return _pattern_value(self.alpha_pattern, name, self.lora_alpha)

    def scaling_for(self, name: str) -> float:
        """What multiplies B·A in module ``name``, with its own rank and alpha."""
        r = self.rank_for(name)
        return self.alpha_for(name) / (r**0.5 if self.use_rslora else r)

    def to_json(self) -> dict:
        data = asdict(self)
        data.pop("extra")
        for key in ("targets", "layers", "modules_to_save", "exclude_modules", "target_parameters"):
            data[key] = list(getattr(self, key))
        data["rank_pattern"] = dict(self.rank_pattern)  # JSON objects keep their order
        data["alpha_pattern"] = dict(self.alpha_pattern)
        return data

    @classmethod
    def from_json(cls, data: object) -> LoraPlan:
        """Rebuild a plan from ``to_json`` output; anything else is a clear error."""
        if not isinstance(data, dict):
            raise LensError("plan.bad_json")
        known = {f for f in cls.__dataclass_fields__ if f != "extra"}
        unknown = set(data) - known
        if unknown:
            raise LensError("plan.bad_json_keys", keys=", ".join(sorted(map(str, unknown))[:5]))
        try:
            kwargs = dict(data)
            for key in ("targets", "modules_to_save", "exclude_modules", "target_parameters"):
                if key in kwargs:
                    kwargs[key] = tuple(_names(kwargs[key]))
            if "layers" in kwargs:
                kwargs["layers"] = tuple(int(x) for x in kwargs["layers"])
            for key in ("rank_pattern", "alpha_pattern"):
                if key in kwargs:
                    kwargs[key] = tuple(_pairs(kwargs[key]))
            plan = cls(**kwargs)
        except (TypeError, ValueError, AttributeError) as exc:
            raise LensError("plan.bad_json_value", detail=str(exc)[:200]) from exc
        validate_plan(plan)
        return plan


def _names(value: object) -> list[str]:
    if not isinstance(value, list | tuple):
        raise ValueError(f"expected a list, got {type(value).__name__}")
    return [str(x) for x in value]


def _pairs(value: object) -> list[tuple[str, object]]:
    """A JSON object {key: number} (or a list of [key, number] pairs) as ordered pairs; values keep their type."""
    items = value.items() if isinstance(value, dict) else value
    if not isinstance(items, list | tuple) and not isinstance(value, dict):
        raise ValueError(f"expected an object, got {type(value).__name__}")
    return [(str(k), v) for k, v in items]


def _pattern_value(pairs: tuple, name: str, default):
    """PEFT's own lookup (``get_pattern_key``: the first key whose ``(.*\\.)?(key)$`` matches ``name``)."""
    if not pairs:
        return default
    from peft.utils.other import get_pattern_key

    table = dict(pairs)
    key = get_pattern_key(list(table), name)
    return table.get(key, default)


def number_errors(r: object, lora_alpha: object, lora_dropout: object) -> dict[str, LensError]:
    """The one rule for the three numbers, field by field (a page shows each sentence under its field)."""
    errors: dict[str, LensError] = {}
    if not isinstance(r, int) or isinstance(r, bool) or not 1 <= r <= MAX_R:
        errors["r"] = LensError("plan.bad_r", r=r, max=MAX_R)
    if not isinstance(lora_alpha, int | float) or isinstance(lora_alpha, bool) or not 0 < lora_alpha < math.inf:
        errors["lora_alpha"] = LensError("plan.bad_alpha", alpha=lora_alpha)
    if not isinstance(lora_dropout, int | float) or isinstance(lora_dropout, bool) or not 0 <= lora_dropout < 1:
        errors["lora_dropout"] = LensError("plan.bad_dropout", dropout=lora_dropout)
    return errors


def validate_plan(plan: LoraPlan, num_blocks: int | None = None) -> None:
    """Reject values PEFT would reject, or that make no sense, with a sentence."""
    for error in number_errors(plan.r, plan.lora_alpha, plan.lora_dropout).values():
        raise error
    if plan.bias not in BIAS_MODES:
        raise LensError("plan.bad_bias", bias=plan.bias, modes=", ".join(BIAS_MODES))
    if not plan.targets and not plan.target_regex and not plan.target_parameters:
        raise LensError("plan.no_targets")
    if plan.target_regex and plan.target_regex != ALL_LINEAR:
        try:
            re.compile(plan.target_regex)
        except re.error as exc:
            raise LensError("plan.bad_regex", regex=plan.target_regex[:80], detail=str(exc)) from exc
        check_regex(plan.target_regex)
    _validate_overrides(plan)
    if any(i < 0 for i in plan.layers):
        raise LensError("plan.bad_layers", layers=_fmt(plan.layers), n=num_blocks or "?")
    if num_blocks is not None and any(i >= num_blocks for i in plan.layers):
        raise LensError("plan.bad_layers", layers=_fmt(plan.layers), n=num_blocks)


def _validate_overrides(plan: LoraPlan) -> None:
    """Patterns, exclusions, parameter targets and the init method: bounded, well-formed, PEFT's values only."""
    lists = {"rank_pattern": plan.rank_pattern, "alpha_pattern": plan.alpha_pattern,
             "exclude_modules": plan.exclude_modules, "target_parameters": plan.target_parameters}  # fmt: skip
    for field_name, items in lists.items():
        if len(items) > MAX_PATTERNS:
            raise LensError("plan.too_many", field=field_name, n=len(items), max=MAX_PATTERNS)
        keys = [k for k, _ in items] if field_name.endswith("pattern") else list(items)
        for key in keys:
            if not key.strip() or len(key) > MAX_PATTERN_CHARS:
                raise LensError("plan.bad_name", field=field_name, name=key[:60], max=MAX_PATTERN_CHARS)
        if field_name.endswith("pattern"):
            for key in keys:  # PEFT puts each key inside a regex
                try:
                    re.compile(key)
                except re.error as exc:
                    raise LensError("plan.bad_regex", regex=key[:80], detail=str(exc)) from exc
                check_regex(key)
    for key, r in plan.rank_pattern:
        if not isinstance(r, int) or isinstance(r, bool) or not 1 <= r <= MAX_R:
            raise LensError("plan.bad_pattern_r", pattern=key[:60], r=r, max=MAX_R)
    for key, alpha in plan.alpha_pattern:
        if not isinstance(alpha, int | float) or isinstance(alpha, bool) or not 0 < alpha < math.inf:
            raise LensError("plan.bad_pattern_alpha", pattern=key[:60], alpha=alpha)
    if plan.init_lora_weights not in INIT_METHODS:
        raise LensError("plan.bad_init", init=str(plan.init_lora_weights)[:40], options=", ".join(INIT_METHODS))
    # Saving converts a PiSSA/OLoRA adapter for the original base; PEFT's conversion refuses these two.
    if plan.init_lora_weights in MUTATING_INITS and plan.use_rslora and (plan.rank_pattern or plan.alpha_pattern):
        raise LensError("plan.init_rslora_patterns", init=plan.init_lora_weights)
    if plan.init_lora_weights in MUTATING_INITS and plan.bias != "none":  # it loads a second adapter with a bias
        raise LensError("plan.init_bias", init=plan.init_lora_weights, bias=plan.bias)
    if plan.layers_pattern is not None and (not plan.layers_pattern.strip() or len(plan.layers_pattern) > 100):
        raise LensError("plan.bad_name", field="layers_pattern", name=plan.layers_pattern[:60], max=100)


def _fmt(layers: tuple[int, ...]) -> str:
    return ",".join(map(str, layers))


def to_lora_config(plan: LoraPlan):  # -> peft.LoraConfig
    """The single conversion from our plan to PEFT's config."""
    from peft import LoraConfig, TaskType


    validate_plan(plan)
    try:
        return LoraConfig(**_config_kwargs(plan), task_type=TaskType[PEFT_TASK_TYPES[plan.task]])
    except (ValueError, TypeError) as exc:
        raise LensError("plan.peft_refused", detail=str(exc)[:300]) from exc


def _config_kwargs(plan: LoraPlan) -> dict:
    kwargs: dict = {
        "r": plan.r,
        "lora_alpha": plan.lora_alpha,
        "lora_dropout": float(plan.lora_dropout),
        "bias": plan.bias,
        "target_modules": plan.target_modules,
    }
    if plan.use_rslora:
        kwargs["use_rslora"] = True
    if plan.use_dora:
        kwargs["use_dora"] = True
    if plan.layers:
        kwargs["layers_to_transform"] = sorted(plan.layers)
    if plan.modules_to_save:
        kwargs["modules_to_save"] = sorted(plan.modules_to_save)
    if plan.rank_pattern:
        kwargs["rank_pattern"] = dict(plan.rank_pattern)
    if plan.alpha_pattern:
        kwargs["alpha_pattern"] = dict(plan.alpha_pattern)
    if plan.exclude_modules:
        kwargs["exclude_modules"] = list(plan.exclude_modules)
    if plan.target_parameters:
        kwargs["target_parameters"] = list(plan.target_parameters)
    if plan.init_lora_weights != "default":
        kwargs["init_lora_weights"] = plan.init_lora_weights
    if plan.layers_pattern:
        kwargs["layers_pattern"] = plan.layers_pattern
    return kwargs


def lora_config_code(plan: LoraPlan) -> str:
    """Copyable Python that builds exactly this plan's ``LoraConfig``."""

    lines = ["from peft import LoraConfig, TaskType", "", "config = LoraConfig("]
    for key, value in _config_kwargs(plan).items():
        lines.append(f"    {key}={_py(value)},")
    lines.append(f"    task_type=TaskType.{PEFT_TASK_TYPES[plan.task]},")
    lines.append(")")
    return "\n".join(lines)


def _py(value: object) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_py(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_py(k)}: {_py(v)}" for k, v in value.items()) + "}"
    return repr(value)
