"""Training settings: defaults sized for a one-minute demo on a small CPU, validated."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from core.errors import LensError

PRECISIONS: tuple[str, ...] = ("auto", "fp32", "fp16", "bf16")
# A demo of a few dozen steps: 1e-3 makes the SFT loss visibly fall in 24 steps (2e-4 barely moves it).
DEFAULT_LR = {"causal-lm": 1e-3, "seq-cls": 5e-3}
# SFT pays for a 49k-vocabulary LM head on every token: 96 keeps a CPU demo near a minute.
DEFAULT_SEQ_LEN = {"causal-lm": 96, "seq-cls": 128}
MAX_STEPS_LIMIT = 100_000
MAX_SEQ_LEN_LIMIT = 32_768
# Per-task demo sizes for the embedded models on 2 CPU cores (about a minute each): SFT pays for
# a 49k-vocabulary head on ~90 tokens a row (~65 s); MiniLM is cheap but needs ~1,000 reviews in
# batches of 16 to clearly beat chance on Rotten Tomatoes (~30 s, accuracy ~0.73 on seed 0).
TASK_DEFAULTS: dict[str, dict[str, int]] = {
    "causal-lm": {"max_steps": 24, "batch_size": 4, "max_eval_examples": 16},
    "seq-cls": {"max_steps": 60, "batch_size": 16, "max_eval_examples": 128},
}
# How many times a run evaluates, whatever its length: an SFT evaluation of 16 rows costs about
# as much as three training steps, a MiniLM one of 128 rows less than one.
EVALS_PER_RUN = {"causal-lm": 2, "seq-cls": 3}


def eval_every_for(max_steps: int, task: str) -> int:
    return max(1, -(-max_steps // EVALS_PER_RUN.get(task, 2)))


@dataclass(frozen=True)
class TrainSettings:
    """How to train. ``learning_rate``/``max_seq_len`` of ``None`` mean the task's default.

    The field defaults are the SFT demo's; ``for_task`` gives each task's own demo size."""

    max_steps: int = 24  # defaults sized for a ~1 minute demo of the embedded models on 2 CPU cores
    batch_size: int = 4
    grad_accum: int = 1
    max_seq_len: int | None = None
    learning_rate: float | None = None
    warmup_steps: int = 3
    weight_decay: float = 0.0
    seed: int = 0
    eval_every: int = 12
    max_eval_examples: int = 16
    precision: str = "auto"
    gradient_checkpointing: bool = False
    val_fraction: float = 0.1
    # Speed measures that change no loss (bench/train.py, tests/test_train_speed.py, tests/test_cls_packing.py):
    # rows packed without padding (position_ids; classification with a block-diagonal mask and its last layer
    # run at each row's first token only) and the LM head run only where a label follows; and batches of
    # similar-length rows (changes the order rows are seen in, so it is a separate switch).
    padding_free: bool = True  # with the labels-only head: SFT 1.56x, MiniLM 1.79x over (a): docs/benchmarks.md
    labels_only_head: bool = True
    group_by_length: bool = False  # off until its effect on short demo runs is measured

    @classmethod
    def for_task(cls, task: str, **changes: object) -> TrainSettings:
        """The demo defaults of ``task``, with ``changes`` applied; ``eval_every`` follows the step count."""
        values: dict[str, object] = {**TASK_DEFAULTS.get(task, {}), **changes}
        if "eval_every" not in changes:
            values["eval_every"] = eval_every_for(int(values.get("max_steps", cls.max_steps)), task)  # type: ignore[call-overload]
        return cls(**values)  # type: ignore[arg-type]

    def lr_for(self, task: str) -> float:
        return self.learning_rate if self.learning_rate is not None else DEFAULT_LR.get(task, 2e-4)

    def seq_len_for(self, task: str) -> int:
        return self.max_seq_len if self.max_seq_len is not None else DEFAULT_SEQ_LEN.get(task, 128)

    def with_changes(self, **changes: object) -> TrainSettings:
        return replace(self, **changes)

    def recipe_config(self, task: str) -> dict:
        """The ``training`` part of the recipe's config.json: what the app and the exported script train with."""
        return {
            "max_steps": self.max_steps,
            "batch_size": self.batch_size,
            "grad_accum": self.grad_accum,
            "learning_rate": self.lr_for(task),
            "warmup_steps": min(self.warmup_steps, self.max_steps),
            "weight_decay": self.weight_decay,
            "seed": self.seed,
            "eval_every": self.eval_every,
            "max_eval_examples": self.max_eval_examples,
            "max_seq_len": self.seq_len_for(task),
            "precision": self.precision,
            "gradient_checkpointing": self.gradient_checkpointing,
            "padding_free": self.padding_free,
            "labels_only_head": self.labels_only_head,
            "group_by_length": self.group_by_length,
        }

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> TrainSettings:
        known = set(cls.__dataclass_fields__)
        settings = cls(**{k: v for k, v in data.items() if k in known})
        validate_settings(settings)
        return settings


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_int(name: str, value: object, low: int, high: int) -> None:
    if not _is_int(value) or not low <= value <= high:  # type: ignore[operator]
        raise LensError("train.bad_setting", name=name, value=value, low=low, high=high)


def validate_settings(s: TrainSettings) -> None:
    """Reject values that would crash or make no sense, naming the field and its range."""
    _check_int("max_steps", s.max_steps, 1, MAX_STEPS_LIMIT)
    _check_int("batch_size", s.batch_size, 1, 1024)
    _check_int("grad_accum", s.grad_accum, 1, 1024)
    if s.max_seq_len is not None:
        _check_int("max_seq_len", s.max_seq_len, 8, MAX_SEQ_LEN_LIMIT)
    _check_int("warmup_steps", s.warmup_steps, 0, MAX_STEPS_LIMIT)
    _check_int("seed", s.seed, 0, 2**32 - 1)
    _check_int("eval_every", s.eval_every, 1, MAX_STEPS_LIMIT)
    _check_int("max_eval_examples", s.max_eval_examples, 1, 100_000)
    lr = s.learning_rate
    if lr is not None and (not isinstance(lr, int | float) or isinstance(lr, bool) or not 0 < lr <= 1):
        raise LensError("train.bad_lr", value=lr)
    wd = s.weight_decay
    if not isinstance(wd, int | float) or isinstance(wd, bool) or not 0 <= wd < 1:
        raise LensError("train.bad_setting", name="weight_decay", value=wd, low=0, high=1)
    if s.precision not in PRECISIONS:
        raise LensError("train.bad_precision", value=s.precision, options=", ".join(PRECISIONS))
    for name in ("gradient_checkpointing", "padding_free", "labels_only_head", "group_by_length"):
        if not isinstance(getattr(s, name), bool):
            raise LensError("train.bad_switch", name=name, value=getattr(s, name))
    if not isinstance(s.val_fraction, int | float) or not 0 < s.val_fraction < 1:
        raise LensError("train.bad_setting", name="val_fraction", value=s.val_fraction, low=0, high=1)


def resolve_precision(precision: str) -> str:
    """The recipe's "auto" (bf16 on a CUDA GPU that supports it, else fp16 on CUDA, else fp32 on CPU),
    refusing a half precision the machine cannot run."""
    import torch

    from core.training.recipe import resolve_precision as recipe_precision

    cuda = torch.cuda.is_available()
    if precision in ("fp16", "bf16") and not cuda:
        raise LensError("train.precision_needs_gpu", value=precision)
    if precision == "bf16" and not torch.cuda.is_bf16_supported():
        raise LensError("train.bf16_unsupported")
    return recipe_precision(precision)
