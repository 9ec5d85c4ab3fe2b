"""Evaluation on the test month: candidates, the current production model and a trivial
baseline, side by side; and the gate's verdict as a check."""

import dagster as dg
import numpy as np
import polars as pl

from mlops_assets.assets.training import (
    CANDIDATES,
    PROBLEM,
    TRAINING_GROUP,
    load_training_frame,
)
from mlops_assets.core.code_version import code_version
from mlops_assets.core.metrics import calibration_table, classification_report, slice_auc
from mlops_assets.core.model_card import metrics_table
from mlops_assets.core.predictor import BaselinePredictor, load_predictor
from mlops_assets.core.promotion import decide
from mlops_assets.dataset import problem
from mlops_assets.resources.model_registry import ModelRegistryResource


class PromotionConfig(dg.Config):
    """A challenger must beat production (or the baseline) by ``margin`` in ``metric``."""

    margin: float = 0.002
    metric: str = "roc_auc"


def evaluate_version(
    registry, name: str, version: int, test: pl.DataFrame
) -> tuple[dict, np.ndarray]:
    model = registry.get(name, version)
    p = load_predictor(registry, model).predict_proba(test)
    y = test.get_column(PROBLEM.label).cast(pl.Float64).to_numpy()
    return classification_report(y, p, model.metadata["threshold"]), p


@dg.asset(
    group_name=TRAINING_GROUP,
    kinds={"python"},
    code_version=code_version(__name__, "mlops_assets.core.metrics", "mlops_assets.core.predictor"),
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
    y = test.get_column(PROBLEM.label).cast(pl.Float64).to_numpy()

    reports, scores = {}, {}
    for candidate in candidates.values():
        label = f"v{candidate['version']} ({candidate['framework']})"
        reports[label], scores[candidate["version"]] = evaluate_version(
            registry, name, candidate["version"], test
        )
    production = registry.production(name)
    production_report = None
    if production:
        production_report, _ = evaluate_version(registry, name, production.version, test)
        reports[f"production v{production.version}"] = production_report
    prior = float(train.get_column(PROBLEM.label).cast(pl.Float64).mean())
    baseline_p = BaselinePredictor(prior, problem.BASELINE_COLUMNS).predict_proba(test)
    baseline = classification_report(y, baseline_p, threshold=prior)
    reports[f"baseline ({' / '.join(problem.BASELINE_COLUMNS)})"] = baseline

    challenger = max(
        candidates.values(),
        key=lambda c: reports[f"v{c['version']} ({c['framework']})"]["roc_auc"],
    )
    challenger_report = reports[f"v{challenger['version']} ({challenger['framework']})"]
    p = scores[challenger["version"]]
    slices = {col: slice_auc(y, p, test.get_column(col).to_list()) for col in problem.SLICE_COLUMNS}
    calibration = calibration_table(y, p)
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
        f"| {col} | {value} | {s['rows']:,} | {s['roc_auc']:.4f} |"
        for col, values in slices.items()
        for value, s in values.items()
    )
    calibration_rows = "\n".join(
        f"| {c['bin']} | {c['rows']:,} | {c['mean_predicted']:.3f} | {c['observed_rate']:.3f} |"
        for c in calibration
    )
    return dg.Output(
        evaluation,
        metadata={
            "challenger_version": challenger["version"],
            "challenger_roc_auc": challenger_report["roc_auc"],
            "baseline_roc_auc": baseline["roc_auc"],
            "production_roc_auc": production_report["roc_auc"]
            if production_report
            else float("nan"),
            **{
                f"{c['framework']}_roc_auc": reports[f"v{c['version']} ({c['framework']})"][
                    "roc_auc"
                ]
                for c in candidates.values()
            },
            "comparison": dg.MetadataValue.md(metrics_table(reports, "model")),
            "calibration": dg.MetadataValue.md(
                "| predicted | rows | mean predicted | observed |\n| --- | --- | --- | --- |\n"
                + calibration_rows
            ),
            "slices": dg.MetadataValue.md(
                "| slice | value | rows | ROC AUC |\n| --- | --- | --- | --- |\n" + slice_rows
            ),
        },
    )


@dg.asset_check(asset=model_evaluation)
def promotion_gate(model_evaluation: dict, config: PromotionConfig) -> dg.AssetCheckResult:
    """Whether the challenger beats production (or the baseline) by the margin. A refusal is an
    expected outcome (WARN; the run stays green): ``production_model`` applies the same rule
    and leaves production as it is."""
    decision = decide(
        model_evaluation["challenger_report"],
        model_evaluation["production_report"],
        model_evaluation["baseline_report"],
        config.margin,
        config.metric,
    )
    return dg.AssetCheckResult(
        passed=decision.passed,
        severity=dg.AssetCheckSeverity.WARN,
        description=gate_summary(model_evaluation, decision),
        metadata={
            "challenger_score": decision.challenger_score,
            "reference_score": decision.reference_score,
            "reference": decision.reference,
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
