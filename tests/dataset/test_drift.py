"""Monitoring facts of the flights: drift finds a shifted traffic mix (Newark evenings) and not
a resample of the same month, and the months a model did not learn from drift in the features
that should (the summer's delay regime) and not in the seasonal ones (temperature)."""

import dagster as dg
import polars as pl

from mlops_assets.assets.monitoring import arrival_drift, reference_profile
from mlops_assets.core.monitoring.drift import feature_drift
from mlops_assets.core.monitoring.profiling import profile_frame
from mlops_assets.dataset.problem import CATEGORICAL_FEATURES, NUMERIC_FEATURES
from tests.contract import mart_sample


def _rows(warehouse, where: str, n: int, seed: int) -> pl.DataFrame:
    return mart_sample(warehouse, where, n, seed, (*CATEGORICAL_FEATURES, *NUMERIC_FEATURES))


def _drift(target, reference):
    numeric = tuple(c for c in NUMERIC_FEATURES if c not in ("month", "days_to_nearest_holiday"))
    return feature_drift(target, reference, CATEGORICAL_FEATURES, numeric, 0.3, 0.3)


def test_drift_flags_a_shifted_traffic_mix_but_not_a_resample_of_the_same_month(built_warehouse):
    reference = profile_frame(_rows(built_warehouse, "month = 3", 20_000, 1))
    resample = profile_frame(_rows(built_warehouse, "month = 3", 3_000, 2))
    shifted = profile_frame(
        _rows(built_warehouse, "month = 3 AND origin = 'EWR' AND sched_dep_hour >= 17", 3_000, 3)
    )
    same = _drift(resample, reference)
    assert same.target_rows == 3_000 and same.reference_rows == 20_000
    assert same.drifted == [], [f.as_dict() for f in same.drifted]
    moved = {f.feature: f for f in _drift(shifted, reference).drifted}
    assert {"origin", "sched_dep_hour"} <= set(moved)
    assert moved["origin"].method == "hellinger" and moved["sched_dep_hour"].method == "ks"


def test_arrived_months_drift_against_the_production_training_set(monitored):
    result, metadata, _ = monitored(reference_profile)
    assert result.success and metadata["dagster/row_count"] > 10_000
    # the production model of `served` learnt from September and October
    _, october, _ = monitored(arrival_drift, "2013-10-01")
    summer, july, (check,) = monitored(arrival_drift, "2013-07-01")
    # judged against thresholds calibrated on the training months; temperature is seasonal
    # (reported, never counted), the summer's delay regime is what drifts
    assert july["status"] == "drift" and july["thresholds"].startswith("calibrated on")
    assert "temp_f" not in july["drifted"]
    assert any("delay" in feature for feature in july["drifted"])
    # drift is an expected outcome: the check fails with ERROR severity, the run stays green
    assert summer.success and not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert october["drifted_features"] < july["drifted_features"]
    assert july["drift/temp_f"] > october["drift/temp_f"]
    assert "| temp_f | ks |" in july["report"]
