"""Per-feature drift between two whylogs profiles, on the sketches alone (no raw rows).

Numeric features: the Kolmogorov-Smirnov statistic D (the largest gap between the two CDFs,
from the KLL sketches, via whylogs' KS). Categorical features, and numeric ones without a
distribution sketch (booleans): the Hellinger distance between the frequent-item PMFs. Both are
in [0, 1], so one threshold scale fits all; p-values are kept for the report only, since with
thousands of rows every real difference is "significant".

Thresholds are one per method by default, or one per feature where the training months were
calibrated (core/monitoring/drift_calibration.py); a threshold of 1.0 or more can never be
crossed, so the feature is reported but never counted.
"""

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from mlops_assets.core.monitoring.profiling import ProfileView, ks_test, row_count


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    method: str  # "ks" or "hellinger"
    statistic: float
    threshold: float
    p_value: float | None = None

    @property
    def drifted(self) -> bool:
        return self.statistic > self.threshold

    def as_dict(self) -> dict:
        return {**asdict(self), "drifted": self.drifted}


@dataclass(frozen=True)
class DriftReport:
    target_rows: int
    reference_rows: int
    features: list[FeatureDrift]

    @property
    def drifted(self) -> list[FeatureDrift]:
        return [f for f in self.features if f.drifted]

    @property
    def max_statistic(self) -> float:
        return max((f.statistic for f in self.features), default=0.0)

    def markdown(self) -> str:
        """A table sorted by statistic with a bar per feature, for the Dagster UI."""
        lines = [
            f"Served rows: {self.target_rows:,} · reference rows: {self.reference_rows:,} · "
            f"drifted: {len(self.drifted)} of {len(self.features)}",
            "",
            "| feature | method | statistic | threshold | | drift |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for f in sorted(self.features, key=lambda f: -f.statistic):
            bar = "█" * round(20 * min(f.statistic, 1.0))
            flag = "**DRIFT**" if f.drifted else ""
            limit = f"{f.threshold:.2f}" if f.threshold < 1 else "not counted"
            lines.append(
                f"| {f.feature} | {f.method} | {f.statistic:.3f} | {limit} | `{bar:<20}` | {flag} |"
            )
        return "\n".join(lines)


def _pmf(view, feature: str) -> dict[str, float]:
    column = view.get_column(feature)
    metric = column.get_metric("frequent_items") if column else None
    if metric is None:
        return {}
    items = metric.to_summary_dict().get("frequent_strings", [])
    total = sum(item.est for item in items)
    return {item.value: item.est / total for item in items} if total else {}


def hellinger(p: dict[str, float], q: dict[str, float]) -> float:
    keys = p.keys() | q.keys()
    return math.sqrt(sum((math.sqrt(p.get(k, 0)) - math.sqrt(q.get(k, 0))) ** 2 for k in keys)) / (
        math.sqrt(2)
    )


def feature_drift(
    target: ProfileView,
    reference: ProfileView,
    categorical: tuple[str, ...],
    numeric: tuple[str, ...],
    ks_threshold: float,
    hellinger_threshold: float,
    thresholds: Mapping[str, float] | None = None,
) -> DriftReport:
    """Drift of every contract feature present in both profiles; ``thresholds`` (feature ->
    threshold, e.g. calibrated on the training months) overrides the per-method ones."""
    ks = ks_test()
    thresholds = thresholds or {}
    results = []
    for feature in (*categorical, *numeric):
        t, r = target.get_column(feature), reference.get_column(feature)
        if t is None or r is None:
            continue
        ks_limit = thresholds.get(feature, ks_threshold)
        hellinger_limit = thresholds.get(feature, hellinger_threshold)
        score = None
        if feature in numeric:
            score = ks.calculate(target_column_view=t, reference_column_view=r)
        if score is not None:
            results.append(
                FeatureDrift(feature, "ks", float(score.statistic), ks_limit, score.pvalue)
            )
            continue
        p, q = _pmf(target, feature), _pmf(reference, feature)
        if p and q:
            results.append(FeatureDrift(feature, "hellinger", hellinger(p, q), hellinger_limit))
    return DriftReport(row_count(target), row_count(reference), results)
