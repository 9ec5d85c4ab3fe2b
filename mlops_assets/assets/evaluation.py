"""Evaluation on the test month: candidates, the current production model and a naive
baseline, side by side, in the task's metrics (core/training/tasks.py); and the gate's verdict
as a check, on the task's gate metric in its direction."""

import dagster as dg
import numpy as np
import polars as pl

from mlops_assets.assets.training import (
    CANDIDATES,
    PROBLEM,
    TASK,
    TRAINING_GROUP,
    load_training_frame,
)
from mlops_assets.core.code_version import code_version
from mlops_assets.core.registry.model_card import metrics_table
from mlops_assets.core.registry.promotion import GateDecision, decide
from mlops_assets.core.serving.predictor import load_predictor
from mlops_assets.core.training.metrics import calibration_table
from mlops_assets.core.training.tasks import HIGHER_IS_BETTER, Task, current_task
from mlops_assets.dataset import problem
from mlops_assets.resources.model_registry import ModelRegistryResource


class PromotionConfig(dg.Config):
    """A challenger must beat production (or the baseline) by ``margin`` in ``metric``, in
    that metric's direction; an empty ``metric`` is the task's gate metric (binary ROC AUC,
    regression RMSE, multiclass macro-F1)."""

    margin: float = 0.002
    metric: str = ""


def gate_metric(config: PromotionConfig) -> tuple[str, bool]:
    """The metric the gate compares and whether higher is better."""
    metric = config.metric or TASK.gate_metric
    return metric, HIGHER_IS_BETTER.get(metric, TASK.higher_is_better)


def gate(model_evaluation: dict, production_report, config: PromotionConfig) -> GateDecision:
    """The gate's rule on an evaluation (the check and the promotion both apply it)."""
    metric, higher = gate_metric(config)
    return decide(
        model_evaluation["challenger_report"],
        production_report,
        model_evaluation["baseline_report"],
        config.margin,
        metric,
        higher,
    )


def evaluate_version(
    registry, name: str, version: int, test: pl.DataFrame, task: Task | None = None
) -> tuple[dict, np.ndarray]:
    """A version's test report and scores; targets in ``task``'s terms (by default the
    version's own task; pass the challenger's for a multiclass comparison on its classes)."""
    model = registry.get(name, version)
    scores = load_predictor(registry, model).predict_frame(test)
    own = current_task(model.metadata)
    if task is not None and task.classes != own.classes:
        scores = _align_classes(scores, own.classes, task.classes)
    task = task or own
    y = task.targets(test.get_column(PROBLEM.label))
    return task.report(y, scores, model.metadata), scores


def _align_classes(scores: np.ndarray, have: tuple, want: tuple) -> np.ndarray:
    """Class probabilities reordered to ``want``'s columns (0 for a class the model lacks)."""
    out = np.zeros((scores.shape[0], len(want)))
    for j, c in enumerate(want):
        if c in have:
            out[:, j] = scores[:, have.index(c)]
    return out


@dg.asset(
    group_name=TRAINING_GROUP,
    kinds={"python"},
    code_version=code_version(
        __name__,
        "mlops_assets.core.training.metrics",
        "mlops_assets.core.training.tasks",
        "mlops_assets.core.serving.predictor",
    ),
    automation_condition=dg.AutomationCondition.eager(),
    ins={asset.key.path[-1]: dg.AssetIn(asset.key) for asset in CANDIDATES},
)
def model_evaluation(
    context: dg.AssetExecutionContext,
    training_set: dict,
    model_registry: ModelRegistryResource,
    **candidates: dict,
) -> dg.Output[dict]:
    """Scores every contender on the same test month and names the best candidate."""
    registry, name = model_registry.registry(), model_registry.model_name
    frame = load_training_frame(model_registry, training_set)
    train = frame.filter(pl.col("split") == "train")
    test = frame.filter(pl.col("split") == "test")
    # the task with the classes the training set teaches (the candidates learnt the same)
    task = TASK.fitted(train.get_column(PROBLEM.label))
    y = task.targets(test.get_column(PROBLEM.label))
    metric = TASK.gate_metric

    reports, scores = {}, {}
    for candidate in candidates.values():
        label = f"v{candidate['version']} ({candidate['framework']})"
        reports[label], scores[candidate["version"]] = evaluate_version(
            registry, name, candidate["version"], test, task
        )
    production = registry.production(name)
    production_report = None
    if production:
        production_report, _ = evaluate_version(registry, name, production.version, test, task)
        reports[f"production v{production.version}"] = production_report
    train_y = task.targets(train.get_column(PROBLEM.label))
    baseline = task.baseline_report(test, PROBLEM.label, train_y, problem.BASELINE_COLUMNS)
    reports[_baseline_name(task)] = baseline

    sign = 1 if task.higher_is_better else -1
    challenger = max(
        candidates.values(),
        key=lambda c: sign * reports[f"v{c['version']} ({c['framework']})"][metric],
    )
    challenger_report = reports[f"v{challenger['version']} ({challenger['framework']})"]
    p = scores[challenger["version"]]
    slices = {
        col: task.slices(y, p, test.get_column(col).to_list()) for col in problem.SLICE_COLUMNS
    }
    evaluation = {
        "training_set_hash": training_set["hash"],
        "training_set_file": training_set.get("file_sha256"),
        "test_month": training_set["spec"]["test_month"],
        "challenger": challenger["version"],
        "challenger_report": challenger_report,
        "production": production.version if production else None,
        "production_report": production_report,
        "baseline_report": baseline,
    }
    slice_rows = "\n".join(
        f"| {col} | {value} | {s['rows']:,} | {s[task.slice_metric]:.4f} |"
        for col, values in slices.items()
        for value, s in values.items()
    )
    extra = {}
    if task.kind == "binary":  # calibration: only probabilities of one class have it
        calibration_rows = "\n".join(
            f"| {c['bin']} | {c['rows']:,} | {c['mean_predicted']:.3f} | {c['observed_rate']:.3f} |"
            for c in calibration_table(y, p)
        )
        extra["calibration"] = dg.MetadataValue.md(
            "| predicted | rows | mean predicted | observed |\n| --- | --- | --- | --- |\n"
            + calibration_rows
        )
    return dg.Output(
        evaluation,
        metadata={
            "task_type": task.kind,
            "gate_metric": metric,
            "challenger_version": challenger["version"],
            f"challenger_{metric}": challenger_report[metric],
            f"baseline_{metric}": baseline[metric],
            f"production_{metric}": production_report[metric]
            if production_report
            else float("nan"),
            **{
                f"{c['framework']}_{metric}": reports[f"v{c['version']} ({c['framework']})"][metric]
                for c in candidates.values()
            },
            "comparison": dg.MetadataValue.md(metrics_table(reports, "model", task)),
            **extra,
            "slices": dg.MetadataValue.md(
                f"| slice | value | rows | {task.slice_metric} |\n| --- | --- | --- | --- |\n"
                + slice_rows
            ),
        },
    )


def _baseline_name(task: Task) -> str:
    if task.kind == "multiclass":
        return "baseline (training class frequencies)"
    return f"baseline ({' / '.join(problem.BASELINE_COLUMNS)})"


@dg.asset_check(asset=model_evaluation)
def promotion_gate(model_evaluation: dict, config: PromotionConfig) -> dg.AssetCheckResult:
    """Whether the challenger beats production (or the baseline) by the margin. A refusal is an
    expected outcome (WARN; the run stays green): ``production_model`` applies the same rule
    and leaves production as it is."""
    decision = gate(model_evaluation, model_evaluation["production_report"], config)
    return dg.AssetCheckResult(
        passed=decision.passed,
        severity=dg.AssetCheckSeverity.WARN,
        description=gate_summary(model_evaluation, decision),
        metadata={
            "gate_metric": decision.metric,
            "higher_is_better": decision.higher_is_better,
            "challenger_score": decision.challenger_score,
            "reference_score": decision.reference_score,
            "reference": decision.reference,
            "margin": config.margin,
        },
    )


def gate_summary(model_evaluation: dict, decision) -> str:
    """One line a person reads in the UI and the demo's timeline."""
    verdict = decision.reason.removeprefix("challenger ")
    challenger = f"challenger v{model_evaluation['challenger']}"
    production = model_evaluation["production"]
    if decision.passed:
        return f"promoted {challenger}: {verdict}"
    kept = f"v{production}" if production else "no production model"
    return f"kept {kept}: {challenger} {verdict}"
