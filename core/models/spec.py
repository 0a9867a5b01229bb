"""``ModelSpec``: what the user asked for. Light on purpose (no torch) so the app's router can
draw its navigation before the heavy libraries load."""

from __future__ import annotations

from dataclasses import dataclass

# The one task vocabulary: every page, command and file format uses these names.
TASKS: tuple[str, ...] = ("causal-lm", "seq-cls", "seq2seq", "feature")
SOURCES: tuple[str, ...] = ("catalog", "hub", "local", "embedded")
TRAINABLE_TASKS: tuple[str, ...] = ("causal-lm", "seq-cls")
PEFT_TASK_TYPES: dict[str, str] = {
    "causal-lm": "CAUSAL_LM",
    "seq-cls": "SEQ_CLS",
    "seq2seq": "SEQ_2_SEQ_LM",
    "feature": "FEATURE_EXTRACTION",
}


@dataclass(frozen=True)
class ModelSpec:
    """What the user asked for: a source and a reference within it."""

    source: str
    ref: str
    task: str | None = None
    num_labels: int = 2

    @property
    def key(self) -> str:
        return f"{self.source}:{self.ref}:{self.task or 'auto'}:{self.num_labels}"
