"""The data model every other data module builds: ``Example``, ``TextDataset`` and the task check."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

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


def dataset_jsonl(ds: TextDataset) -> str:
    """One JSON object a line (``text`` with ``response`` or ``label``): how runs and sweeps keep their rows."""
    rows = ({k: v for k, v in asdict(ex).items() if v is not None} for ex in ds.examples)
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def dataset_from_jsonl(text: str, name: str, rows: int, dropped: int = 0) -> TextDataset:
    """``dataset_jsonl``'s rows back, checked: string fields of an ``Example`` only, exactly ``rows`` of them
    (ValueError otherwise)."""
    examples = []
    for line in text.splitlines():
        row = json.loads(line)
        if not isinstance(row, dict) or not set(row) <= {"text", "response", "label"} or "text" not in row:
            raise ValueError("not a row")
        if not all(isinstance(v, str) for v in row.values()):
            raise ValueError("not a row")
        examples.append(Example(**row))
    if len(examples) != rows or not isinstance(dropped, int) or isinstance(dropped, bool):
        raise ValueError("row count")
    return TextDataset(name, tuple(examples), dropped)
