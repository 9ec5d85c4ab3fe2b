"""The monitoring assets as Dagster materializes them: reference profiles, drift of arrived
months against the production model's reference, and the warnings (never failures) for a
missing reference, an empty serving window and feedback naming unknown request ids."""

import shutil

import dagster as dg

from mlops_assets.assets.feedback import live_quality
from mlops_assets.assets.monitoring import arrival_drift, reference_profile, serving_drift
from mlops_assets.core.serving.predictor import load_predictor
from mlops_assets.core.serving.serving_profiler import ServingProfiler
from mlops_assets.core.training.data_size import data_size
from mlops_assets.dataset import problem
from mlops_assets.settings import DATA_DIR
from tests.contract import (
    FIRST_MONTH,
    MODEL,
    PREVIOUS_MONTH,
    TEST_MONTH,
    in_month,
    mart_sample,
    partition,
)


def test_without_a_reference_drift_warns_and_never_fails_the_run(monitored):
    result, metadata, (check,) = monitored(arrival_drift, partition(FIRST_MONTH))
    assert result.success
    assert metadata["status"] == "no_reference"
    assert "materialize reference_profile" in metadata["summary"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN


def test_arrived_months_are_judged_against_the_production_training_set(monitored):
    result, metadata, _ = monitored(reference_profile)
    assert result.success
    assert metadata["dagster/row_count"] >= data_size("min_rows_per_split")
    summary, first, (check,) = monitored(arrival_drift, partition(FIRST_MONTH))
    assert summary.success and first["status"] in ("drift", "ok"), first
    assert first["thresholds"].startswith("calibrated on")
    # drift is an expected outcome: the check fails with ERROR severity, the run stays green
    drifted = first["status"] == "drift"
    assert check.passed != drifted
    assert not drifted or check.severity == dg.AssetCheckSeverity.ERROR


def test_an_empty_serving_window_warns(monitored):
    result, metadata, (check,) = monitored(serving_drift, partition(FIRST_MONTH))
    assert result.success and metadata["status"] == "too_few_rows"
    assert metadata["served_rows"] == 0 and check.severity == dg.AssetCheckSeverity.WARN
    # the threshold is named with where to change it (a contract setting of the dataset)
    assert "min_serving_rows=" in metadata["summary"]
    assert "DATA_SIZE['min_serving_rows']" in metadata["summary"]


def test_feedback_with_unknown_request_ids_is_counted_not_trusted(monitored, built_warehouse):
    folder = DATA_DIR / "feedback" / MODEL
    folder.mkdir(parents=True, exist_ok=True)
    # two real labels of the dataset (true/false, a number, a class), for unknown requests
    where = f"{problem.LABEL} IS NOT NULL"
    labels = mart_sample(built_warehouse, where, 2, 1, columns=(problem.LABEL,))[problem.LABEL]
    lines = [f"nope-{i},{str(value).lower()}" for i, value in enumerate(labels, 1)]
    (folder / "from-the-field.csv").write_text("\n".join([f"request_id,{problem.LABEL}", *lines]))
    try:
        result, metadata, (check,) = monitored(live_quality, partition(FIRST_MONTH))
    finally:
        shutil.rmtree(folder)
    assert result.success
    assert metadata["unknown_feedback_ids"] == 2 and metadata["labelled_rows"] == 0
    assert metadata["status"] == "too_few_rows" and check.severity == dg.AssetCheckSeverity.WARN
    assert "DATA_SIZE['min_labelled_rows']" in metadata["summary"]


def test_served_scores_are_checked_for_prediction_drift(monitored, served, built_warehouse):
    """The serving profiles carry each row's score; serving_drift compares them with the
    production model's scores on its held-out months (reported, not counted, by default)."""
    monitored(reference_profile)
    production = served.registry.production(MODEL)
    predictor = load_predictor(served.registry, production)
    store = monitored.profiles.store()
    # a fixed random sample of each month (not its first rows by key: one day of flights)
    rows = {
        month: mart_sample(built_warehouse, in_month(month), 800, 5)
        for month in (PREVIOUS_MONTH, TEST_MONTH)
    }
    profiler = ServingProfiler(store, MODEL)
    # the test month scored by the model itself; the month before's scores all pushed to 0.95
    test, previous = rows[TEST_MONTH], rows[PREVIOUS_MONTH]
    profiler.add(TEST_MONTH, test.to_dicts(), predictor.predict_frame(test))
    profiler.add(PREVIOUS_MONTH, previous.to_dicts(), [0.95] * previous.height)
    assert len(profiler.flush()) == 2
    _, december, _ = monitored(serving_drift, partition(TEST_MONTH))
    _, november, _ = monitored(serving_drift, partition(PREVIOUS_MONTH))
    assert december["prediction_drift/prediction"] < 0.2 < november["prediction_drift/prediction"]
    assert november["prediction_drifted"] == ["prediction"] and december["prediction_drifted"] == []
    assert "scores drifted: prediction" in november["summary"]
    assert store.prediction_reference(MODEL, production.version) is not None
