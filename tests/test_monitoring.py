"""Monitoring parts on real whylogs profiles of the dataset's real rows: broken profiles and
feedback degrade to warnings, and the retrain guardrails hold (drift finding a shifted traffic
mix of flights and not a resample: tests/dataset/test_drift.py)."""

import polars as pl
import pytest

from mlops_assets.core.blob_store import LocalBlobStore
from mlops_assets.core.monitoring.drift import feature_drift
from mlops_assets.core.monitoring.profile_store import ProfileStore
from mlops_assets.core.monitoring.profiling import ProfileError, from_bytes, profile_frame, to_bytes
from mlops_assets.core.monitoring.retrain_decision import Finding, decide_retrain
from mlops_assets.core.serving.serving_profiler import ServingProfiler
from mlops_assets.dataset import problem
from tests.contract import FIRST_MONTH, in_month, mart_sample


def _drift(target, reference):
    numeric = tuple(c for c in problem.NUMERIC_FEATURES if c not in problem.SEASONAL_FEATURES)
    return feature_drift(target, reference, problem.CATEGORICAL_FEATURES, numeric, 0.3, 0.3)


def test_profiles_round_trip_and_broken_bytes_raise_a_named_error(built_warehouse):
    view = profile_frame(mart_sample(built_warehouse, in_month(FIRST_MONTH), 500, 1))
    again = from_bytes(to_bytes(view))
    assert _drift(again, view).max_statistic == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ProfileError, match="window-7"):
        from_bytes(to_bytes(view)[:100], "window-7")
    with pytest.raises(ProfileError, match="empty"):
        from_bytes(b"", "window-7")


def test_serving_window_merges_replicas_and_skips_unreadable_files(built_warehouse, tmp_path):
    store = ProfileStore(LocalBlobStore(tmp_path))
    # up to 900 real rows of a month (a month of daily data holds ~30), from two replicas
    rows = mart_sample(built_warehouse, in_month(FIRST_MONTH), 900, 4).to_dicts()
    assert len(rows) >= 20
    for replica in (rows[: len(rows) // 2], rows[len(rows) // 2 :]):
        profiler = ServingProfiler(store, "m")
        profiler.add("2013-02", replica, [0.5] * len(replica))
        assert len(profiler.flush()) == 1
    (tmp_path / "profiles/serving/m/2013-02/1-1-1-50.bin").write_bytes(b"not a profile")
    window = store.serving_window("m", "2013-02")
    assert window.rows == len(rows) and len(window.files) == 3
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
        [*FINDING, Finding("2013-05", "live_quality", "past_limit")], "2013-04", ROWS, None, 0, 1
    )
    assert decision.retrain and decision.month == "2013-06" and decision.trigger == "drift"
    quality = decide_retrain(
        [Finding("2013-05", "live_quality", "past_limit")], "2013-04", ROWS, None, 0, 1
    )
    assert quality.retrain and quality.trigger == "quality"


def test_retrain_guardrails_cooldown_new_rows_and_already_learnt():
    cooling = decide_retrain(FINDING, "2013-04", ROWS, 100.0, 3600, 1000)
    assert not cooling.retrain and "cooldown" in cooling.reason
    thin = decide_retrain(FINDING, "2013-05", ROWS, None, 0, 30_000)
    assert not thin.retrain and "28,000 new labelled rows" in thin.reason
    assert "min_new_labelled_rows=30000 (DATA_SIZE['min_new_labelled_rows']" in thin.reason
    learnt = decide_retrain(FINDING, "2013-06", ROWS, None, 0, 1)
    assert not learnt.retrain and "already" in learnt.reason


def test_the_sketch_ks_test_agrees_with_scipy_on_the_same_samples():
    """The drift checks' KS test runs on whylogs sketches (no `viz` extra): same verdicts and
    statistics within the sketch's quantile grid of scipy's exact two-sample test."""
    import numpy as np
    import polars as pl
    from scipy.stats import ks_2samp

    from mlops_assets.core.monitoring.profiling import ks_test

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


def test_the_prediction_log_is_read_with_new_and_legacy_field_names(tmp_path):
    """Records name the row ``entity_id`` and its output ``score``; logs written before that
    (``flight_id``, ``delay_probability``) still count, even mixed in one object."""
    import json

    from mlops_assets.core.monitoring.live_quality import overall_quality, read_prediction_log
    from mlops_assets.core.training.tasks import task_for

    folder = tmp_path / "prediction_log" / "m"
    folder.mkdir(parents=True)
    old = [
        {"request_id": f"o{i}", "flight_id": f"e{i}", "month": "2013-12", "model_version": 1}
        | {"delay_probability": p}
        for i, p in enumerate([0.9, 0.1])
    ]
    new = [
        {"request_id": f"n{i}", "entity_id": f"e{i + 2}", "month": "2013-12", "model_version": 2}
        | {"score": p}
        for i, p in enumerate([0.8, 0.2])
    ]
    (folder / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in old + new))
    (folder / "b.jsonl").write_text(json.dumps({**new[0], "month": "2013-11"}) + "\n")
    log = read_prediction_log(LocalBlobStore(tmp_path), "m", "2013-12")
    assert sorted(log["entity_id"].to_list()) == ["e0", "e1", "e2", "e3"]
    assert log.schema["score"] == pl.Float64
    labelled = log.sort("entity_id").with_columns(pl.Series(problem.LABEL, [1, 0, 1, 0]))
    quality = overall_quality(labelled, task_for("binary"), problem.LABEL)
    assert quality["rows"] == 4 and quality["roc_auc"] == 1.0


def test_live_quality_of_regression_and_multiclass_logs(tmp_path):
    import json

    from mlops_assets.core.monitoring.live_quality import (
        daily_quality,
        overall_quality,
        read_prediction_log,
    )
    from mlops_assets.core.training.tasks import task_for

    folder = tmp_path / "prediction_log" / "m"
    folder.mkdir(parents=True)
    records = [
        {"request_id": f"r{i}", "entity_id": f"e{i}", "month": "2015-12", "model_version": 1}
        | {"score": score}
        for i, score in enumerate([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.2, 0.2, 0.6]])
    ]
    (folder / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    log = read_prediction_log(LocalBlobStore(tmp_path), "m", "2015-12").sort("entity_id")
    assert log.schema["score"] == pl.List(pl.Float64)
    multiclass = task_for("multiclass", ["dry", "rain", "snow"])
    labelled = log.with_columns(
        label=pl.Series(["dry", "rain", "rain"]), event_date=pl.Series([1, 1, 2])
    )
    quality = overall_quality(labelled, multiclass, label="label")
    assert quality["accuracy"] == pytest.approx(2 / 3)
    assert [d["rows"] for d in daily_quality(labelled, multiclass, label="label")] == [2, 1]
    regression = task_for("regression")
    values = pl.DataFrame({"score": [10.0, 12.0], "t": [11.0, 12.0], "event_date": [1, 1]})
    quality = overall_quality(values, regression, label="t")
    assert quality["rmse"] == pytest.approx((0.5) ** 0.5) and quality["mae"] == 0.5
