"""The data model every other data module builds: ``Example``, ``TextDataset`` and the task check."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from core.errors import LensError
from core.models.spec import TRAINABLE_TASKS

TASK_CAUSAL_LM, TASK_SEQ_CLS = TRAINABLE_TASKS
TASKS = TRAINABLE_TASKS  # the tasks a dataset can serve


@dataclass(frozen=True)
class Example:
    """One training row. ``text`` is the prompt (SFT) or the input text (classification);
    ``response`` is the SFT target; ``label`` is the class or topic category."""

    text: str
    response: str | None = None
    label: str | None = None


@dataclass(frozen=True)
class TextDataset:
    """An immutable, named list of examples. ``dropped`` counts source rows skipped
    while building it (empty text/target), so the UI can tell the user."""

    name: str
    examples: tuple[Example, ...]
    dropped: int = field(default=0, compare=False)

    def labels(self) -> list[str]:
        """Sorted distinct labels: the class list a classifier head is built from."""
        return sorted({ex.label for ex in self.examples if ex.label is not None})

    def __len__(self) -> int:
        return len(self.examples)

    def __iter__(self) -> Iterator[Example]:
        return iter(self.examples)


def check_task(task: str) -> None:
    """Reject task names early so later code can assume one of ``TASKS``."""
    if task not in TASKS:
        raise LensError("data.unknown_task", task=task)
