"""Drift thresholds calibrated on the training months: quiet for a month like them, firing for a
shifted one, never below the policy floor, and today's fixed thresholds where no calibration
was stored. Synthetic months, no warehouse."""

import json
from datetime import date

import numpy as np
import polars as pl
import pytest

from mlops_assets.core.blob_store import LocalBlobStore
from mlops_assets.core.monitoring.drift import feature_drift
from mlops_assets.core.monitoring.drift_calibration import (
    Calibration,
    CalibrationError,
    calibrate,
    monthly_profiles,
)
from mlops_assets.core.monitoring.profile_store import ProfileStore
from mlops_assets.core.monitoring.profiling import merge, profile_frame, row_count

CATEGORICAL = ("carrier",)
NUMERIC = ("x", "y", "wobbly", "temp")
SEASONAL = ("temp",)
MIX = {"AA": 0.5, "UA": 0.3, "DL": 0.2}
# "wobbly" moves between training months (like a 30-day delay rate); x and y never do.
WOBBLY_MEANS = {"2013-01": 0.0, "2013-02": 0.8, "2013-03": 1.6}
ROWS = 3000
TOLERANCE, KS_FLOOR, HELLINGER_FLOOR = 2.0, 0.25, 0.35


def month(
    seed: int,
    wobbly: float,
    mix: dict[str, float] = MIX,
    x: float = 0.0,
    y: float = 0.0,
    temp: float = 0.0,
    day: date = date(2013, 1, 1),
) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "flight_date": [day] * ROWS,
            "carrier": rng.choice(list(mix), ROWS, p=list(mix.values())),
            "x": rng.normal(x, 1, ROWS),
            "y": rng.normal(y, 1, ROWS),
            "wobbly": rng.normal(wobbly, 1, ROWS),
            "temp": rng.normal(temp, 1, ROWS),
        }
    )


def view(frame: pl.DataFrame):
    return profile_frame(frame.select(*CATEGORICAL, *NUMERIC))


@pytest.fixture(scope="module")
def training():
    """Three training months as monthly_profiles sees them, their reference and calibration."""
    frame = pl.concat(
        month(seed, mean, day=date.fromisoformat(f"{m}-01"))
        for seed, (m, mean) in enumerate(WOBBLY_MEANS.items())
    )
    months = monthly_profiles(frame, "flight_date", (*CATEGORICAL, *NUMERIC))
    return months, merge(list(months.values())), calibrate(months, CATEGORICAL, NUMERIC)


def thresholds(calibration: Calibration) -> dict[str, float]:
    return calibration.thresholds(TOLERANCE, KS_FLOOR, HELLINGER_FLOOR, SEASONAL)


def drifted(target, reference, limits=None) -> set[str]:
    report = feature_drift(target, reference, CATEGORICAL, NUMERIC, 0.3, 0.3, limits)
    return {f.feature for f in report.drifted}


def test_monthly_profiles_one_per_calendar_month(training):
    months, reference, _ = training
    assert list(months) == list(WOBBLY_MEANS)
    assert all(row_count(v) == ROWS for v in months.values())
    assert row_count(reference) == 3 * ROWS


def test_a_month_like_the_training_months_is_quiet(training):
    """Within the training months' own variation: the fixed rule flags it, calibration not."""
    _, reference, calibration = training
    like = view(month(10, wobbly=1.8, temp=4.0))  # temp: a seasonal feature, far off
    assert {"wobbly", "temp"} <= drifted(like, reference)  # what the fixed 0.3 says
    assert drifted(like, reference, thresholds(calibration)) == set()


def test_a_shifted_month_fires(training):
    _, reference, calibration = training
    shifted = view(month(11, wobbly=0.8, mix={"AA": 0.05, "UA": 0.15, "DL": 0.8}, x=3, y=-3))
    assert drifted(shifted, reference, thresholds(calibration)) == {"carrier", "x", "y"}


def test_threshold_is_tolerance_times_the_most_different_month_left_out(training):
    months, _, calibration = training
    for name in WOBBLY_MEANS:
        rest = merge([v for m, v in months.items() if m != name])
        report = feature_drift(months[name], rest, CATEGORICAL, NUMERIC, 1.0, 1.0)
        expected = {f.feature: f.statistic for f in report.features}
        for feature, stat in expected.items():
            # KLL compaction is randomised: two merges agree to the sketch's error only
            assert calibration.features[feature].month_vs_rest[name] == pytest.approx(
                stat, abs=0.01
            )
    wobbly = calibration.features["wobbly"]
    assert wobbly.method == "ks" and wobbly.largest > 0.35  # the outer months stand apart
    assert thresholds(calibration)["wobbly"] == pytest.approx(TOLERANCE * wobbly.largest)


def test_thresholds_never_below_the_floor(training):
    _, _, calibration = training
    assert calibration.features["carrier"].method == "hellinger"
    for tolerance in (0.0, 1.0, TOLERANCE):
        limits = calibration.thresholds(tolerance, KS_FLOOR, HELLINGER_FLOOR)
        assert limits["carrier"] >= HELLINGER_FLOOR
        assert all(limits[f] >= KS_FLOOR for f in NUMERIC)
        assert all(limit <= 1.0 for limit in limits.values())
    stable = calibration.thresholds(TOLERANCE, KS_FLOOR, HELLINGER_FLOOR)
    # x, y and carrier hardly differ between months: the floor of their own method holds
    assert (stable["x"], stable["y"], stable["carrier"]) == (KS_FLOOR, KS_FLOOR, HELLINGER_FLOOR)


def test_seasonal_features_are_reported_but_never_counted(training):
    _, reference, calibration = training
    report = feature_drift(
        view(month(12, wobbly=0.8, temp=10.0)),
        reference,
        CATEGORICAL,
        NUMERIC,
        0.3,
        0.3,
        thresholds(calibration),
    )
    temp = next(f for f in report.features if f.feature == "temp")
    assert temp.statistic > 0.9 and temp.threshold == 1.0 and not temp.drifted
    assert "not counted" in report.markdown()


def test_fewer_than_two_months_calibrate_nothing(training):
    months, _, _ = training
    assert calibrate({"2013-01": months["2013-01"]}, CATEGORICAL, NUMERIC) is None
    assert calibrate({}, CATEGORICAL, NUMERIC) is None


def test_calibration_round_trips_through_json(training):
    _, _, calibration = training
    text = calibration.to_json()
    assert json.loads(text)["months"] == {m: ROWS for m in WOBBLY_MEANS}
    assert Calibration.from_json(text) == calibration
    for broken in ("", "{}", '{"format": 99}', "[1]", '{"format": 1, "months": {}}'):
        with pytest.raises(CalibrationError):
            Calibration.from_json(broken, "broken.json")


def test_store_keeps_the_calibration_next_to_the_reference(tmp_path, training):
    _, reference, calibration = training
    store = ProfileStore(LocalBlobStore(tmp_path))
    store.put_reference("abc", reference)
    assert store.reference_calibration("abc") is None  # a reference from before calibration
    key = store.put_reference_calibration("abc", calibration)
    assert key == "profiles/reference/abc.calibration.json"
    assert (tmp_path / key).exists() and (tmp_path / "profiles/reference/abc.bin").exists()
    assert store.reference_calibration("abc") == calibration
    (tmp_path / key).write_text("not json")
    with pytest.raises(CalibrationError, match="abc.calibration.json"):
        store.reference_calibration("abc")


def test_no_calibration_file_means_the_fixed_thresholds(tmp_path, training):
    """What monitoring does with a reference that has no calibration: today's rule, unchanged."""
    _, reference, _ = training
    store = ProfileStore(LocalBlobStore(tmp_path))
    store.put_reference("old", reference)
    calibration = store.reference_calibration("old")
    limits = thresholds(calibration) if calibration else None
    like = view(month(10, wobbly=1.8))
    report = feature_drift(like, store.reference("old"), CATEGORICAL, NUMERIC, 0.3, 0.3, limits)
    assert {f.threshold for f in report.features} == {0.3}
    assert "wobbly" in {f.feature for f in report.drifted}


def test_feature_drift_falls_back_per_feature(training):
    """Thresholds for some features only: the others keep the per-method ones."""
    _, reference, _ = training
    report = feature_drift(
        view(month(13, wobbly=0.8)), reference, CATEGORICAL, NUMERIC, 0.2, 0.4, {"x": 0.7}
    )
    limits = {f.feature: f.threshold for f in report.features}
    assert limits == {"carrier": 0.4, "x": 0.7, "y": 0.2, "wobbly": 0.2, "temp": 0.2}
