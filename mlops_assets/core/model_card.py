"""A markdown model card per version: what it is, how good it is, where it came from."""

from mlops_assets.dataset import problem


def metrics_table(reports: dict[str, dict], first_column: str = "split") -> str:
    """Markdown table of classification reports, one row per key of ``reports``."""
    rows = [
        f"| {first_column} | ROC AUC | log loss | Brier | precision | recall | threshold | rows |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for key, m in reports.items():
        rows.append(
            f"| {key} | {m['roc_auc']:.4f} | {m['log_loss']:.4f} | {m['brier']:.4f} | "
            f"{m['precision']:.3f} | {m['recall']:.3f} | {m['threshold']:.2f} | "
            f"{m['rows']:,} |"
        )
    return "\n".join(rows)


def render_model_card(name: str, metadata: dict) -> str:
    lineage = metadata["lineage"]
    split = lineage["split"]
    return f"""# Model card: {name} ({metadata["framework"]})

**Task**: {problem.TASK}. **Decision threshold**: {metadata["threshold"]} (max F1 on validation).

## Data
- test month {split["test_month"]}, validation the month before, training the
  {split["train_months"]} months before that; no shuffling across time
- training set hash `{lineage["training_set_hash"]}`
- features ({len(metadata["features"])}): {", ".join(metadata["features"])}

## Quality
{metrics_table(metadata["metrics"])}

## Provenance
- git commit `{lineage["git_commit"]}`, training code `{lineage["training_code_version"]}`
- Dagster run `{lineage["dagster_run_id"]}`; feature run `{lineage["feature_run_id"]}`
- trained on {metadata["device"]} in {metadata["train_seconds"]} s
- params: `{metadata["params"]}`

## Limits
{problem.LIMITS}
"""
