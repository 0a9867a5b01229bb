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

    def to_json(self) -> dict:
        data = asdict(self)
        data.pop("extra")
        data["targets"] = list(self.targets)
        data["layers"] = list(self.layers)
        data["modules_to_save"] = list(self.modules_to_save)
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
            for key in ("targets", "modules_to_save"):
                if key in kwargs:
                    kwargs[key] = tuple(str(x) for x in kwargs[key])
            if "layers" in kwargs:
                kwargs["layers"] = tuple(int(x) for x in kwargs["layers"])
            plan = cls(**kwargs)
        except (TypeError, ValueError) as exc:
            raise LensError("plan.bad_json_value", detail=str(exc)[:200]) from exc
        validate_plan(plan)
        return plan


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
    if not plan.targets and not plan.target_regex:
        raise LensError("plan.no_targets")
    if plan.target_regex and plan.target_regex != ALL_LINEAR:
        try:
            re.compile(plan.target_regex)
        except re.error as exc:
            raise LensError("plan.bad_regex", regex=plan.target_regex[:80], detail=str(exc)) from exc
        check_regex(plan.target_regex)
    if any(i < 0 for i in plan.layers):
        raise LensError("plan.bad_layers", layers=_fmt(plan.layers), n=num_blocks or "?")
    if num_blocks is not None and any(i >= num_blocks for i in plan.layers):
        raise LensError("plan.bad_layers", layers=_fmt(plan.layers), n=num_blocks)


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
    return repr(value)
