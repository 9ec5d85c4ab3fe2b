"""Promotion: the production model is an asset; materializing it promotes the evaluated
challenger, and only through the gate.

The gate runs here too, not only as the blocking check, so that promoting in a run of its own
(which skips the check) still holds: the latest evaluation is read back, and if production has
changed since, the current production model is re-scored on the same test month first.
"""

import dagster as dg
import polars as pl

from mlops_assets.assets.evaluation import PromotionConfig, evaluate_version
from mlops_assets.assets.run_guard import refuse_if_run_ended
from mlops_assets.assets.training import TRAINING_GROUP
from mlops_assets.core.promotion import decide
from mlops_assets.core.reproduce import load_training_set
from mlops_assets.resources.model_registry import ModelRegistryResource


@dg.asset(
    group_name=TRAINING_GROUP,
    kinds={"python"},
    ins={"model_evaluation": dg.AssetIn()},
    code_version="1",
)
def production_model(
    context: dg.AssetExecutionContext,
    config: PromotionConfig,
    model_evaluation: dict,
    model_registry: ModelRegistryResource,
) -> dg.MaterializeResult:
    """Promote the challenger if it passes the gate; otherwise fail and leave production as is."""
    registry, name = model_registry.registry(), model_registry.model_name
    current = registry.production(name)
    production_report = model_evaluation["production_report"]
    if current and current.version != model_evaluation["production"]:
        frame = load_training_set(
            registry, model_evaluation["training_set_hash"], model_evaluation["training_set_file"]
        )
        test = frame.filter(pl.col("split") == "test")
        production_report, _ = evaluate_version(registry, name, current.version, test)
    if current and current.version == model_evaluation["challenger"]:
        return dg.MaterializeResult(
            metadata={
                "production_version": current.version,
                "gate": "challenger is already in production",
            }
        )
    decision = decide(
        model_evaluation["challenger_report"],
        production_report if current else None,
        model_evaluation["baseline_report"],
        config.margin,
        config.metric,
    )
    if not decision.passed:
        raise dg.Failure(
            description=f"promotion refused: {decision.reason}; production stays "
            f"{'v' + str(current.version) if current else 'empty'}",
            metadata={"challenger_version": model_evaluation["challenger"]},
        )
    refuse_if_run_ended(context, "promoting")
    registry.promote(
        name,
        model_evaluation["challenger"],
        reason=f"{decision.reason} on test month {model_evaluation['test_month']}",
        actor=f"dagster run {context.run.run_id}",
    )
    version = registry.get(name, model_evaluation["challenger"])
    return dg.MaterializeResult(
        metadata={
            "production_version": version.version,
            "framework": version.metadata["framework"],
            "test_roc_auc": decision.challenger_score,
            "replaced_version": current.version if current else 0,
            "gate": decision.reason,
            "model_card": dg.MetadataValue.md(
                registry.read_file(version, "model_card.md").decode()
            ),
        },
    )
