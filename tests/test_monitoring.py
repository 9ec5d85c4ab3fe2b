"""Monitoring parts on real whylogs profiles of the real flights: drift finds a shifted mix and
not a resample, broken profiles and feedback degrade to warnings, and the retrain guardrails
hold."""

import duckdb
import polars as pl
import pytest

from mlops_assets.core.blob_store import LocalBlobStore
from mlops_assets.core.drift import feature_drift
from mlops_assets.core.profile_store import ProfileStore
from mlops_assets.core.profiling import ProfileError, from_bytes, profile_frame, to_bytes
from mlops_assets.core.retrain_decision import Finding, decide_retrain
from mlops_assets.core.serving_profiler import ServingProfiler
from mlops_assets.dataset.problem import CATEGORICAL_FEATURES, NUMERIC_FEATURES

COLUMNS = ", ".join((*CATEGORICAL_FEATURES, *NUMERIC_FEATURES))


def _rows(warehouse, where: str, n: int, seed: int) -> pl.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return pl.from_arrow(
            conn.sql(
                f"SELECT {COLUMNS} FROM marts.flight_features WHERE {where} "
                f"ORDER BY hash(flight_id || '{seed}') LIMIT {n}"
            ).to_arrow_table()
        )


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


def test_profiles_round_trip_and_broken_bytes_raise_a_named_error(built_warehouse):
    view = profile_frame(_rows(built_warehouse, "month = 1", 500, 1))
    again = from_bytes(to_bytes(view))
    assert _drift(again, view).max_statistic == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ProfileError, match="window-7"):
        from_bytes(to_bytes(view)[:100], "window-7")
    with pytest.raises(ProfileError, match="empty"):
        from_bytes(b"", "window-7")


def test_serving_window_merges_replicas_and_skips_unreadable_files(built_warehouse, tmp_path):
    store = ProfileStore(LocalBlobStore(tmp_path))
    rows = _rows(built_warehouse, "month = 2", 900, 4).to_dicts()
    for replica in (rows[:400], rows[400:]):
        profiler = ServingProfiler(store, "m")
        profiler.add("2013-02", replica, [0.5] * len(replica))
        assert len(profiler.flush()) == 1
    (tmp_path / "profiles/serving/m/2013-02/1-1-1-50.bin").write_bytes(b"not a profile")
    window = store.serving_window("m", "2013-02")
    assert window.rows == 900 and len(window.files) == 3
    assert window.unreadable == ["profiles/serving/m/2013-02/1-1-1-50.bin"]
    assert store.serving_window("m", "2013-03").view is None


def test_a_failing_profile_store_never_reaches_the_request_path(caplog):
    class Broken:
        def put_serving(self, *args):
            raise OSError("disk full")

    profiler = ServingProfiler(Broken(), "m")
    profiler.add("2013-02", [{"carrier": "UA", "month": 2}], [0.3])
    assert profiler.flush() == []
    assert "dropped" in caplog.text
    assert profiler.flush() == []  # the failed rows are not retried forever


FINDING = [Finding("2013-06", "serving_drift", "drift")]
ROWS = {"2013-05": 28_000, "2013-06": 28_000}


def test_retrain_needs_a_crossed_threshold():
    ok = [Finding("2013-06", "serving_drift", "ok"), Finding("2013-06", "live_quality", "ok")]
    warned = [Finding("2013-06", "serving_drift", "too_few_rows")]
    for findings in (ok, warned, []):
        assert not decide_retrain(findings, "2013-04", ROWS, None, 0, 1000).retrain


def test_retrain_on_drift_or_quality_for_the_latest_crossed_month():
    decision = decide_retrain(
        [*FINDING, Finding("2013-05", "live_quality", "below_floor")], "2013-04", ROWS, None, 0, 1
    )
    assert decision.retrain and decision.month == "2013-06" and decision.trigger == "drift"
    quality = decide_retrain(
        [Finding("2013-05", "live_quality", "below_floor")], "2013-04", ROWS, None, 0, 1
    )
    assert quality.retrain and quality.trigger == "quality"


def test_retrain_guardrails_cooldown_new_rows_and_already_learnt():
    cooling = decide_retrain(FINDING, "2013-04", ROWS, 100.0, 3600, 1000)
    assert not cooling.retrain and "cooldown" in cooling.reason
    thin = decide_retrain(FINDING, "2013-05", ROWS, None, 0, 30_000)
    assert not thin.retrain and "28,000 new labelled rows" in thin.reason
    learnt = decide_retrain(FINDING, "2013-06", ROWS, None, 0, 1)
    assert not learnt.retrain and "already" in learnt.reason


def test_the_sketch_ks_test_agrees_with_scipy_on_the_same_samples():
    """The drift checks' KS test runs on whylogs sketches (no `viz` extra): same verdicts and
    statistics within the sketch's quantile grid of scipy's exact two-sample test."""
    import numpy as np
    import polars as pl
    from scipy.stats import ks_2samp

    from mlops_assets.core.profiling import ks_test

    rng = np.random.default_rng(1)
    for shift in (0.0, 0.5, 1.0):
        a, b = rng.normal(0, 1, 80), rng.normal(shift, 1, 120)
        views = [profile_frame(pl.DataFrame({"x": x})).get_column("x") for x in (a, b)]
        ours, exact = ks_test().calculate(*views), ks_2samp(a, b)
        assert abs(ours.statistic - exact.statistic) <= 0.02
        assert (ours.pvalue < 0.01) == (exact.pvalue < 0.01)
    assert (
        ks_test().calculate(*[profile_frame(pl.DataFrame({"s": ["a"]})).get_column("s")] * 2)
        is None
    )
