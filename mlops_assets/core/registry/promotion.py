"""The promotion gate: a challenger replaces production only if it is better on the same test
month by a set margin, in the task's gate metric and its direction (ROC AUC up for binary,
RMSE down for regression, macro-F1 up for multiclass). With no production model yet, it must
beat the naive baseline."""

from dataclasses import dataclass

from mlops_assets.core.training.tasks import HIGHER_IS_BETTER


@dataclass(frozen=True)
class GateDecision:
    passed: bool
    reason: str
    challenger_score: float
    reference_score: float
    reference: str
    metric: str = "roc_auc"
    higher_is_better: bool = True


def decide(
    challenger: dict,
    production: dict | None,
    baseline: dict,
    margin: float,
    metric: str = "roc_auc",
    higher_is_better: bool | None = None,
) -> GateDecision:
    """Compare test-month reports (dicts with ``metric``). The direction is the metric's own
    (``tasks.HIGHER_IS_BETTER``) unless given: higher must beat ``reference + margin``, lower
    must beat ``reference - margin``."""
    if higher_is_better is None:
        higher_is_better = HIGHER_IS_BETTER.get(metric, True)
    reference_name, reference = ("production", production) if production else ("baseline", baseline)
    score, ref = float(challenger[metric]), float(reference[metric])
    if higher_is_better:
        passed, bound = score >= ref + margin, f"+ margin {margin:.4f}"
    else:
        passed, bound = score <= ref - margin, f"- margin {margin:.4f} (lower is better)"
    verdict = "beats" if passed else "does not beat"
    return GateDecision(
        passed=passed,
        reason=f"challenger {metric} {score:.4f} {verdict} {reference_name} {ref:.4f} {bound}",
        challenger_score=score,
        reference_score=ref,
        reference=reference_name,
        metric=metric,
        higher_is_better=higher_is_better,
    )
