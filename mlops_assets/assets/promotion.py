"""Promotion: the production model is an asset; materializing it promotes the evaluated
challenger, and only through the gate.

The gate's rule runs here, so that promoting in a run of its own still holds: the latest
evaluation is read back, and if production has changed since, the current production model is
re-scored on the same test month first. A refused challenger is an expected outcome: the step
succeeds without materializing (production is unchanged, so is the asset), the Bento step after
it is skipped, and the reason is on the run (tag ``mlops/outcome``) and the gate check.
"""

from collections.abc import Iterator

import dagster as dg
import polars as pl

from mlops_assets.assets.evaluation import PromotionConfig, evaluate_version, gate, gate_summary
from mlops_assets.assets.run_guard import refuse_if_run_ended
from mlops_assets.assets.training import TRAINING_GROUP
from mlops_assets.core.code_version import code_version
from mlops_assets.core.training.reproduce import load_training_set
from mlops_assets.core.training.tasks import current_task
from mlops_assets.resources.model_registry import ModelRegistryResource


@dg.asset(
    group_name=TRAINING_GROUP,
    kinds={"python"},
    ins={"model_evaluation": dg.AssetIn()},
    output_required=False,
    code_version=code_version(
        __name__, "mlops_assets.core.registry.promotion", "mlops_assets.core.training.tasks"
    ),
    automation_condition=dg.AutomationCondition.eager(),
)
def production_model(
    context: dg.AssetExecutionContext,
    config: PromotionConfig,
    model_evaluation: dict,
    model_registry: ModelRegistryResource,
) -> Iterator[dg.MaterializeResult]:
    """Promote the challenger if it passes the gate; otherwise leave production as it is."""
    registry, name = model_registry.registry(), model_registry.model_name
    current = registry.production(name)
    production_report = model_evaluation["production_report"]
    if current and current.version != model_evaluation["production"]:
        frame = load_training_set(
            registry, model_evaluation["training_set_hash"], model_evaluation["training_set_file"]
        )
        test = frame.filter(pl.col("split") == "test")
        # in the challenger's terms (multiclass: its classes), as the evaluation scored it
        task = current_task(registry.get(name, model_evaluation["challenger"]).metadata)
        production_report, _ = evaluate_version(registry, name, current.version, test, task)
    if current and current.version == model_evaluation["challenger"]:
        context.log.info(f"v{current.version} is already in production")
        return
    decision = gate(model_evaluation, production_report if current else None, config)
    outcome = gate_summary(
        {**model_evaluation, "production": current.version if current else None}, decision
    )
    context.instance.add_run_tags(context.run.run_id, {"mlops/outcome": outcome[:200]})
    if not decision.passed:
        context.log.info(outcome)
        return
    refuse_if_run_ended(context, "promoting")
    registry.promote(
        name,
        model_evaluation["challenger"],
        reason=f"{decision.reason} on test month {model_evaluation['test_month']}",
        actor=f"dagster run {context.run.run_id}",
    )
    version = registry.get(name, model_evaluation["challenger"])
    yield dg.MaterializeResult(
        metadata={
            "production_version": version.version,
            "framework": version.metadata["framework"],
            "gate_metric": decision.metric,
            f"test_{decision.metric}": decision.challenger_score,
            "reference_score": decision.reference_score,
            "replaced_version": current.version if current else 0,
            "gate": decision.reason,
            "model_card": dg.MetadataValue.md(
                registry.read_file(version, "model_card.md").decode()
            ),
        },
    )
