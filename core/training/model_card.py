"""The README.md model card and training_settings.json written next to every adapter."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from core.planning.plan import lora_config_code

if TYPE_CHECKING:
    from core.training.engine import TrainResult

_LOADERS = {"causal-lm": "AutoModelForCausalLM", "seq-cls": "AutoModelForSequenceClassification"}


def training_settings_json(result: TrainResult) -> str:
    """Everything needed to reproduce the run, as stable, sorted JSON."""
    data = {
        "base_model": result.source.public_ref,
        "task": result.task,
        "labels": list(result.labels),
        "plan": result.plan.to_json(),
        "settings": result.settings.to_json(),
        "resolved": {
            "learning_rate": result.settings.lr_for(result.task),
            "max_seq_len": result.settings.seq_len_for(result.task),
            "precision": result.precision,
        },
        "dataset": {"name": result.dataset_name, "train_rows": result.train_rows, "val_rows": result.val_rows},
        "metrics": result.metrics,
        "steps_done": result.steps_done,
    }
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False)


def _load_snippet(result: TrainResult) -> str:
    loader = _LOADERS.get(result.task, "AutoModel")
    extra = f", num_labels={len(result.labels)}" if result.task == "seq-cls" else ""
    return "\n".join(
        [
            "from peft import PeftModel",
            f"from transformers import AutoTokenizer, {loader}",
            "",
            f'base = {loader}.from_pretrained("{result.source.public_ref}"{extra})',
            'tokenizer = AutoTokenizer.from_pretrained("' + result.source.public_ref + '")',
            'model = PeftModel.from_pretrained(base, "path/to/this/folder")',
            "model.eval()",
        ]
    )


def _metrics_table(metrics: dict[str, float]) -> str:
    if not metrics:
        return "_No validation metrics (the run was stopped before any evaluation)._"
    rows = ["| metric | value |", "|---|---|"]
    rows += [f"| {name} | {value:.4f} |" for name, value in sorted(metrics.items())]
    return "\n".join(rows)


def model_card(result: TrainResult) -> str:
    """A short, honest card: what was trained, on what, how, and how well."""
    plan = result.plan
    return f"""---
base_model: {result.source.public_ref}
library_name: peft
tags: [lora, lora-lens]
---

# LoRA adapter for {result.source.public_ref}

Trained with LoRA Lens ({result.task}, {result.steps_done} steps).

## Data

- dataset: `{result.dataset_name}` ({result.train_rows} training rows, {result.val_rows} validation rows)
{"- labels: " + ", ".join(result.labels) if result.labels else ""}

## LoRA plan

- r = {plan.r}, alpha = {plan.lora_alpha}, dropout = {plan.lora_dropout}, bias = {plan.bias}
- targets: {plan.target_regex or ", ".join(plan.targets)}
- rsLoRA: {plan.use_rslora}, DoRA: {plan.use_dora}

```python
{lora_config_code(plan)}
```

## Training settings

```json
{json.dumps(result.settings.to_json(), indent=2)}
```

## Validation metrics

{_metrics_table(result.metrics)}

## Load it

```python
{_load_snippet(result)}
```
"""
