"""What LoRA Lens writes next to adapter weights: a portable adapter_config.json, the model card, training_settings.json."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from core.planning.plan import MUTATING_INITS, LoraPlan, lora_config_code

if TYPE_CHECKING:
    from huggingface_hub import ModelCard

    from core.training.engine import TrainResult

# Where the card's snippets expect the unzipped adapter (a test swaps in a real folder).
ADAPTER_FOLDER = "path/to/this/adapter"
_LOADERS = {"causal-lm": "AutoModelForCausalLM", "seq-cls": "AutoModelForSequenceClassification"}
_PIPELINES = {"causal-lm": "text-generation", "seq-cls": "text-classification"}


def portable_config(config_json: str, public_ref: str) -> str:
    """PEFT's adapter_config.json with the base named by its public id instead of a server path
    (PEFT's own layout: indent 2, sorted keys), so the adapter loads on another machine."""
    config = json.loads(config_json)
    config["base_model_name_or_path"] = public_ref
    return json.dumps(config, indent=2, sort_keys=True)


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


def _is_local_base(result: TrainResult) -> bool:
    """A local-folder base: the adapter names it by the folder's name only, which the user must replace."""
    return result.spec.source == "local"


def _label_kwargs(result: TrainResult) -> str:
    """A fresh classification head must match the adapter's: its size and label names."""
    if result.task != "seq-cls":
        return ""
    id2label = dict(enumerate(result.labels))
    label2id = {name: i for i, name in id2label.items()}
    return f", num_labels={len(result.labels)}, id2label={id2label!r}, label2id={label2id!r}"


def local_snippet(result: TrainResult) -> str:
    """Load the adapter onto a base model already on disk (no network)."""
    loader = _LOADERS.get(result.task, "AutoModel")
    return "\n".join(
        [
            "from peft import PeftModel",
            f"from transformers import AutoTokenizer, {loader}",
            "",
            f'base_folder = "path/to/local/copy/of/{result.source.public_ref}"',
            f"base = {loader}.from_pretrained(base_folder{_label_kwargs(result)})",
            "tokenizer = AutoTokenizer.from_pretrained(base_folder)",
            f'model = PeftModel.from_pretrained(base, "{ADAPTER_FOLDER}").eval()',
        ]
    )


def remote_snippet(result: TrainResult) -> str:
    """Load the adapter with PEFT's AutoPeftModel, which fetches the base named in adapter_config.json."""
    auto = "AutoPeft" + _LOADERS.get(result.task, "AutoModel").removeprefix("Auto")
    return "\n".join(
        [
            f"from peft import {auto}",
            "from transformers import AutoTokenizer",
            "",
            f"# downloads {result.source.public_ref} (base_model_name_or_path in adapter_config.json)",
            f'model = {auto}.from_pretrained("{ADAPTER_FOLDER}"{_label_kwargs(result)}).eval()',
            f'tokenizer = AutoTokenizer.from_pretrained("{result.source.public_ref}")',
        ]
    )


def _metrics_table(metrics: dict[str, float]) -> str:
    if not metrics:
        return "_No validation metrics (the run was stopped before any evaluation)._"
    rows = ["| metric | value |", "|---|---|"]
    rows += [f"| {name} | {value:.4f} |" for name, value in sorted(metrics.items())]
    return "\n".join(rows)


def _load_section(result: TrainResult) -> str:
    ref = result.source.public_ref
    notes = []
    if _is_local_base(result):
        notes.append(
            f"> The base model was a local folder; `adapter_config.json` names it only as `{ref}`. "
            "Replace `base_model_name_or_path` there with its Hub id (or your own path) before loading remotely."
        )
    if result.task == "seq-cls":
        notes.append(
            "> The classification head's `num_labels`, `id2label` and `label2id` are not in `adapter_config.json` "
            "(the labels are in `training_settings.json`): pass them as below, or the head will not fit."
        )
    note = "\n\n".join(notes) + "\n\n" if notes else ""
    return f"""## Load it

{note}Locally, onto a copy of the base model you already have:

```python
{local_snippet(result)}
```

Remotely, letting PEFT download the base model from the Hugging Face Hub:

```python
{remote_snippet(result)}
```
"""


def _per_module_lines(plan: LoraPlan) -> str:
    """The plan's per-module choices, and what saving did to a PiSSA/OLoRA adapter."""
    lines = []
    if plan.target_parameters:
        lines.append(f"- target parameters (lora.ParamWrapper): {', '.join(plan.target_parameters)}")
    if plan.rank_pattern:
        lines.append("- rank_pattern: " + ", ".join(f"{k} → {v}" for k, v in plan.rank_pattern))
    if plan.alpha_pattern:
        lines.append("- alpha_pattern: " + ", ".join(f"{k} → {v:g}" for k, v in plan.alpha_pattern))
    if plan.exclude_modules:
        lines.append(f"- exclude_modules: {', '.join(plan.exclude_modules)}")
    if plan.layers_pattern:
        lines.append(f"- layers_pattern: {plan.layers_pattern}")
    lines.append(f"- init_lora_weights: {plan.init_lora_weights}")
    if plan.init_lora_weights in MUTATING_INITS:
        lines.append(
            f"\n> {plan.init_lora_weights} starts from the base weights' own components and subtracts them from the "
            "base. The adapter here was converted on save (PEFT's `path_initial_model_for_weight_conversion`) into a "
            "plain LoRA adapter for the ORIGINAL base weights: `adapter_config.json` therefore says r and alpha "
            "(and any patterns) twice the values above and `init_lora_weights: true`."
        )
    return "\n".join(lines)


def _body(result: TrainResult) -> str:
    plan = result.plan
    labels = "- labels: " + ", ".join(result.labels) if result.labels else ""
    return f"""
# LoRA adapter for {result.source.public_ref}

Trained with LoRA Lens ({result.task}, {result.steps_done} steps).

## Data

- dataset: `{result.dataset_name}` ({result.train_rows} training rows, {result.val_rows} validation rows)
{labels}

## LoRA plan

- r = {plan.r}, alpha = {plan.lora_alpha}, dropout = {plan.lora_dropout}, bias = {plan.bias}
- targets: {plan.target_regex or ", ".join(plan.targets) or "-"}
- rsLoRA: {plan.use_rslora}, DoRA: {plan.use_dora}
{_per_module_lines(plan)}

```python
{lora_config_code(plan)}
```

## Training settings

```json
{json.dumps(result.settings.to_json(), indent=2)}
```

## Validation metrics

{_metrics_table(result.metrics)}

{_load_section(result)}"""


def build_model_card(result: TrainResult) -> ModelCard:
    """A short, honest card: what was trained, on what, how, how well, and how to load it.

    ``base_model`` is left out for a local-folder base: the Hub checks it against its own models."""
    from huggingface_hub import ModelCard, ModelCardData

    data = ModelCardData(
        base_model=None if _is_local_base(result) else result.source.public_ref,
        library_name="peft",
        pipeline_tag=_PIPELINES.get(result.task),
        tags=["lora", "lora-lens"],
    )
    return ModelCard(f"---\n{data.to_yaml()}\n---\n{_body(result)}")


def model_card(result: TrainResult) -> str:
    """The card as README.md text."""
    return str(build_model_card(result))
