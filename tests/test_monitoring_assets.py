"""The monitoring assets as Dagster materializes them: reference profiles, drift of arrived
months against the production model's reference, and the warnings (never failures) for a
missing reference, an empty serving window and feedback naming unknown request ids."""

import shutil

import dagster as dg
import pytest

from mlops_assets.assets.feedback import live_quality
from mlops_assets.assets.monitoring import arrival_drift, reference_profile, serving_drift
from mlops_assets.resources.monitoring_policy import MonitoringPolicy
from mlops_assets.resources.profile_store import ProfileStoreResource
from mlops_assets.settings import DATA_DIR
from tests.model_lab import ASSETS, MODEL

MONITORING = [*ASSETS, reference_profile, serving_drift, arrival_drift, live_quality]


@pytest.fixture(scope="module")
def monitored(served, tmp_path_factory):
    resources = {
        **served.resources,
        "profiles": ProfileStoreResource(local_root=str(tmp_path_factory.mktemp("profiles"))),
        "monitoring_policy": MonitoringPolicy(),
    }

    def run(asset, partition=None):
        result = dg.materialize(
            MONITORING,
            selection=[asset],
            partition_key=partition,
            resources=resources,
            instance=served.instance,
            raise_on_error=False,
        )
        (materialization,) = result.asset_materializations_for_node(asset.op.name)
        checks = result.get_asset_check_evaluations()
        metadata = {k: v.value for k, v in materialization.metadata.items()}
        return result, metadata, checks

    return run


def test_without_a_reference_drift_warns_and_never_fails_the_run(monitored):
    result, metadata, (check,) = monitored(arrival_drift, "2013-07-01")
    assert result.success
    assert metadata["status"] == "no_reference"
    assert "materialize reference_profile" in metadata["summary"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN


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


def test_an_empty_serving_window_warns(monitored):
    result, metadata, (check,) = monitored(serving_drift, "2013-02-01")
    assert result.success and metadata["status"] == "too_few_rows"
    assert metadata["served_rows"] == 0 and check.severity == dg.AssetCheckSeverity.WARN


def test_feedback_with_unknown_request_ids_is_counted_not_trusted(monitored):
    folder = DATA_DIR / "feedback" / MODEL
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "from-the-airline.csv").write_text(
        "request_id,is_delayed\nnope-1,true\nnope-2,false\n"
    )
    try:
        result, metadata, (check,) = monitored(live_quality, "2013-05-01")
    finally:
        shutil.rmtree(folder)
    assert result.success
    assert metadata["unknown_feedback_ids"] == 2 and metadata["labelled_rows"] == 0
    assert metadata["status"] == "too_few_rows" and check.severity == dg.AssetCheckSeverity.WARN
