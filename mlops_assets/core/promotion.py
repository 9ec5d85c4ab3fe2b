"""The promotion gate: a challenger replaces production only if it is better on the same test
month by a set margin. With no production model yet, it must beat the trivial baseline."""

from dataclasses import dataclass


@dataclass(frozen=True)
class GateDecision:
    passed: bool
    reason: str
    challenger_score: float
    reference_score: float
    reference: str


def decide(
    challenger: dict,
    production: dict | None,
    baseline: dict,
    margin: float,
    metric: str = "roc_auc",
) -> GateDecision:
    """Compare test-month reports (dicts with ``metric``); higher is better."""
    reference_name, reference = ("production", production) if production else ("baseline", baseline)
    score, ref = float(challenger[metric]), float(reference[metric])
    passed = score >= ref + margin
    verdict = "beats" if passed else "does not beat"
    return GateDecision(
        passed=passed,
        reason=(
            f"challenger {metric} {score:.4f} {verdict} {reference_name} {ref:.4f} "
            f"+ margin {margin:.4f}"
        ),
        challenger_score=score,
        reference_score=ref,
        reference=reference_name,
    )
