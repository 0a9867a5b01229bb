"""What the runs of a sweep share: the tokenized rows and one loaded base, which each run wraps in turn.

``get_peft_model`` changes a model in place, so a run never trains the base itself: before the next run wraps it,
the previous run's adapter is taken off (every module PEFT replaced goes back, its flags and config as loaded) and
the base is checked to be the very modules and tensors it was loaded as, with no hook left; anything else reloads it
from disk. The frozen base weights are never written by training (only adapter parameters reach the optimiser), but
PiSSA and OLoRA write them as they wrap (W - B0·A0): after such a plan, the next one gets the base read from disk.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from core.compat import hook_ids, remove_hooks_except
from core.data.dataset import TextDataset
from core.data.splits import eval_subset
from core.errors import LensError
from core.models.spec import ModelSpec
from core.planning.plan import MUTATING_INITS
from core.training.encode import encode, label_names
from core.training.loader import WeightsSource, load_model, load_tokenizer, weights_source
from core.training.settings import TrainSettings


@dataclass(frozen=True)
class _Loaded:
    """The base as loaded: every parent -> child edge, every parameter with its ``requires_grad``, the hooks of
    every module and the config's attributes."""

    edges: tuple[tuple[nn.Module, str, nn.Module], ...]
    params: tuple[tuple[nn.Parameter, bool], ...]
    hooks: tuple[tuple[nn.Module, frozenset[int]], ...]
    config: dict[str, Any]


def _as_loaded(model: nn.Module) -> _Loaded:
    edges = tuple((parent, name, child) for parent in model.modules() for name, child in parent.named_children())
    params = tuple((p, p.requires_grad) for p in model.parameters())
    hooks = tuple((m, hook_ids(m)) for m in model.modules())
    return _Loaded(edges, params, hooks, copy.deepcopy(vars(model.config)))


def _put_back(model: Any, loaded: _Loaded) -> bool:
    """Take a run's adapter and training switches off ``model``; whether it is now exactly as loaded."""
    if getattr(model, "is_activation_checkpointing", False):
        model.activation_checkpointing_disable()
    for parent, name, child in loaded.edges:
        if getattr(parent, name) is not child:  # a PEFT layer (or a modules_to_save wrapper) in its place
            setattr(parent, name, child)
    for module, hooks in loaded.hooks:  # e.g. gradient checkpointing's input-embedding hook, registered twice
        remove_hooks_except(module, hooks)
    for p, requires_grad in loaded.params:
        p.requires_grad_(requires_grad)
    if "peft_config" in vars(model):
        del model.peft_config
    config = vars(model.config)
    for key in set(config) - set(loaded.config):
        del config[key]
    config.update(copy.deepcopy(loaded.config))
    model.train(False)  # as from_pretrained returns it
    same = len(loaded.params) == sum(1 for _ in model.parameters()) and all(
        p is q for p, (q, _) in zip(model.parameters(), loaded.params, strict=False))  # fmt: skip
    modules = list(model.modules())
    return same and len(modules) == len(loaded.hooks) and all(
        m is n and hook_ids(m) == hooks for m, (n, hooks) in zip(modules, loaded.hooks, strict=False))  # fmt: skip


@dataclass
class Rows:
    """A sweep's tokenized rows and what they were made with: everything of a shared base but its weights."""

    source: WeightsSource
    tokenizer: Any
    task: str
    labels: tuple[str, ...]
    train_rows: list
    val_rows: list
    dataset_name: str


@dataclass
class SharedBase(Rows):
    """The rows and the base several runs of one model on one dataset share (a sweep); see the module's docstring."""

    model: Any = None
    start_evals: dict = field(default_factory=dict)  # step-0 metrics by start_eval.start_key, filled by the first run
    packs: tuple[bool, bool] | None = None  # the recipe's packing probe on this base (packs, last layer at first tokens)
    reloads: int = 0  # how often the base could not be put back and was read from disk again
    _loaded: _Loaded | None = field(default=None, repr=False)
    _lent_to: Any = field(default=None, repr=False)  # the TrainResult whose PeftModel wraps the base now

    def __post_init__(self) -> None:
        self._loaded = _as_loaded(self.model)

    def bare(self) -> Any:
        """The base, as loaded, for the next run to wrap. The run that wrapped it before loses its live model
        (``model=None``: what it saved stays on disk and reloads from there)."""
        if self._lent_to is not None:
            rewritten = self._lent_to.plan.init_lora_weights in MUTATING_INITS  # PiSSA/OLoRA wrote W - B0·A0
            self._lent_to.model = None
            self._lent_to = None
            assert self._loaded is not None
            if not _put_back(self.model, self._loaded) or rewritten:
                self.model = load_model(self.source.location, self.task, self.labels, self.tokenizer.pad_token_id)
                self._loaded, self.reloads = _as_loaded(self.model), self.reloads + 1
        return self.model

    def lend(self, result: Any) -> None:
        """``result.model`` wraps the base now."""
        self._lent_to = result


def load_rows(spec: ModelSpec, task: str, train: TextDataset, val: TextDataset, settings: TrainSettings) -> Rows:
    """Tokenize the rows once (``prepare`` does this per run)."""
    source = weights_source(spec)
    tok = load_tokenizer(source.location)
    labels = label_names(train, val) if task == "seq-cls" else ()
    seq_len = settings.seq_len_for(task)
    train_rows = encode(tok, train, task, seq_len, labels)
    val_rows = encode(tok, eval_subset(val, settings.max_eval_examples), task, seq_len, labels)
    if not train_rows:
        raise LensError("train.too_few_rows", count=0)
    return Rows(source, tok, task, labels, train_rows, val_rows, train.name.removesuffix("/train"))


def with_model(rows: Rows, seed: int, **known: Any) -> SharedBase:
    """The base loaded for ``rows`` (the seed set first: it draws a new classification head)."""
    from transformers import set_seed

    set_seed(seed)
    model = load_model(rows.source.location, rows.task, rows.labels, rows.tokenizer.pad_token_id)
    return SharedBase(**vars(rows), model=model, **known)


def read_in(model: Any) -> None:
    """Read every weight in now (they load mapped from the file), not in the first run's measured memory."""
    import torch

    with torch.no_grad():
        for p in model.parameters():
            p.sum()


def load_base(spec: ModelSpec, task: str, train: TextDataset, val: TextDataset, settings: TrainSettings) -> SharedBase:
    """Tokenize the rows and load the base weights."""
    return with_model(load_rows(spec, task, train, val, settings), settings.seed)
