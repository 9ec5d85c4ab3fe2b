"""Training-serving skew: the features the service computes for the requests it really served
(its prediction log), against the mart's rows for the same entities, for whatever dataset the
contracts describe. The declaration as shipped agrees with the mart; a declaration that gets one
window wrong is caught, naming the feature, and the run stays green."""

import dataclasses
import time

import dagster as dg
import pytest

from mlops_assets.assets.serving_skew import SKEW_CHECK, serving_skew
from mlops_assets.core.features import online_features
from mlops_assets.core.features.feature_views import History
from mlops_assets.resources.monitoring_policy import MonitoringPolicy
from mlops_assets.resources.profile_store import ProfileStoreResource
from tests.conftest import serving
from tests.contract import PLURAL, SERVING, TEST_MONTH, as_served, partition, traffic

REQUESTS = 300


@pytest.fixture(scope="module")
def logged(served, tmp_path_factory):
    """A service of its own (its own prediction log) over the lab's registry and online store,
    asked about ``REQUESTS`` real requests of the test month in batches, then stopped (which
    flushes its log)."""
    data = tmp_path_factory.mktemp("skew") / "data"
    data.mkdir()
    for folder in ("registry", "online_store"):
        (data / folder).symlink_to(served.root / "data" / folder)
    requests = traffic(TEST_MONTH, REQUESTS)
    with serving(data) as client:
        for start in range(0, len(requests), 50):
            answer = client.post("/predict_many", json={PLURAL: requests[start : start + 50]})
            assert answer.status_code == 200, answer.text
        time.sleep(1.5)  # the log's flush interval (MLOPS_RELOAD_SECONDS) passes
    entities = set()
    for request in map(as_served, requests):
        entities.add(SERVING.entity_id.format(**request, **SERVING.context(request)))
    return ProfileStoreResource(local_root=str(data)), len(entities)


def _skew(served, profiles) -> tuple[dict, dg.AssetCheckEvaluation, bool]:
    result = dg.materialize(
        [serving_skew],
        partition_key=partition(TEST_MONTH),
        resources={
            **served.resources,
            "profiles": profiles,
            "monitoring_policy": MonitoringPolicy(),
        },
        instance=served.instance,
        raise_on_error=False,
    )
    (materialization,) = result.asset_materializations_for_node("serving_skew")
    (check,) = result.get_asset_check_evaluations()
    return {k: v.value for k, v in materialization.metadata.items()}, check, result.success


def test_the_served_features_of_logged_requests_equal_the_marts(served, logged):
    profiles, entities = logged
    metadata, check, success = _skew(served, profiles)
    assert success and check.check_name == SKEW_CHECK
    assert metadata["logged_predictions"] == REQUESTS
    # rows the mart leaves out (flights: cancelled, no label; a last day: no tomorrow) are not
    # compared; every other entity asked about is
    assert entities * 0.9 <= metadata["compared_rows"] <= entities
    assert metadata["differing_features"] == {} and metadata["status"] == "ok"
    assert check.passed, check.description


def test_a_declaration_that_computes_a_window_differently_is_caught(served, logged, monkeypatch):
    """The first history window of the declaration, over twice its days: the service would
    serve another value than the model learnt from. The check fails (ERROR), naming the
    feature and a differing value; the run itself succeeds."""
    history = next(v for v in SERVING.views if isinstance(v, History))
    window = history.windows[0]
    wrong = dataclasses.replace(
        history,
        windows=(dataclasses.replace(window, days=window.days * 2), *history.windows[1:]),
    )
    views = tuple(wrong if v is history else v for v in SERVING.views)
    contract = dataclasses.replace(SERVING, views=views)
    monkeypatch.setattr(online_features, "serving_contract", lambda: contract)
    metadata, check, success = _skew(served, logged[0])
    assert success and not check.passed
    assert check.severity == dg.AssetCheckSeverity.ERROR
    assert metadata["status"] == "skew"
    assert list(metadata["differing_features"]) == [window.feature]
    assert window.feature in check.description
    (first,) = metadata["first_differences"]
    assert first["feature"] == window.feature and first["mart"] != first["served"]
