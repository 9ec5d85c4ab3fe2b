"""A markdown model card per version: what it is, how good it is, where it came from."""

from mlops_assets.core.training.tasks import Task, current_task
from mlops_assets.dataset import problem


def metrics_table(
    reports: dict[str, dict], first_column: str = "split", task: Task | None = None
) -> str:
    """Markdown table of the task's metric reports, one row per key of ``reports``."""
    columns = (task or current_task()).report_columns
    rows = [
        "| " + " | ".join([first_column, *(header for header, _, _ in columns)]) + " |",
        "| " + " | ".join(["---"] * (len(columns) + 1)) + " |",
    ]
    for key, m in reports.items():
        cells = [format(m[name], fmt) if name in m else "-" for _, name, fmt in columns]
        rows.append("| " + " | ".join([str(key), *cells]) + " |")
    return "\n".join(rows)


def _decision(metadata: dict, task: Task) -> str:
    if task.kind == "binary":
        return f"**Decision threshold**: {metadata['threshold']} (max F1 on validation)."
    if task.kind == "multiclass":
        return f"**Classes** (seen in training): {', '.join(task.classes)}."
    return "**Output**: the predicted value."


def render_model_card(name: str, metadata: dict) -> str:
    lineage = metadata["lineage"]
    split = lineage["split"]
    task = current_task(metadata)
    return f"""# Model card: {name} ({metadata["framework"]})

**Task**: {problem.TASK} ({task.kind}; gate metric {task.gate_metric}). {_decision(metadata, task)}

## Data
- test month {split["test_month"]}, validation the month before, training the
  {split["train_months"]} months before that; no shuffling across time
- training set hash `{lineage["training_set_hash"]}`
- features ({len(metadata["features"])}): {", ".join(metadata["features"])}

## Quality
{metrics_table(metadata["metrics"], task=task)}

## Provenance
- git commit `{lineage["git_commit"]}`, training code `{lineage["training_code_version"]}`
- Dagster run `{lineage["dagster_run_id"]}`; feature run `{lineage["feature_run_id"]}`
- trained on {metadata["device"]} in {metadata["train_seconds"]} s
- params: `{metadata["params"]}`

## Limits
{problem.LIMITS}
"""
