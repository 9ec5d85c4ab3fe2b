"""Serving facts of the flights: batch scores equal online scores for flights sampled from the
mart, unknown airports, routes and carriers are refused naming the field, an unknown tail
number gets the plane defaults, and the example flight's row key and month."""

from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from mlops_assets.assets.serving import PREDICTIONS_TABLE
from mlops_assets.core.features.online_features import OnlineFeatures, UnknownEntityError
from mlops_assets.core.serving.predictor import load_predictor
from mlops_assets.dataset.problem import EXAMPLE_REQUEST
from tests.dataset.flight_requests import flight, flight_requests
from tests.model_lab import MODEL, Lab

FLIGHT = EXAMPLE_REQUEST


def _features(lab: Lab) -> OnlineFeatures:
    return OnlineFeatures.open(Path(lab.resources["online"].root))


def test_batch_predictions_equal_the_online_path_for_the_same_flights(served, built_warehouse):
    import polars as pl

    with duckdb.connect(str(built_warehouse), read_only=True) as conn:
        flights = pl.from_arrow(
            conn.sql(
                "SELECT f.flight_id, f.flight_date, f.carrier, f.flight_number, f.origin, f.dest, "
                "f.tailnum, f.sched_dep_hour, f.sched_dep_minute, p.probability "
                f"FROM intermediate.int_flights f JOIN {PREDICTIONS_TABLE} p USING (flight_id) "
                "USING SAMPLE 200 ROWS (reservoir, 3)"
            ).to_arrow_table()
        )
    assert flights.height == 200
    registry = served.registry
    predictor = load_predictor(registry, registry.production(MODEL))
    features = _features(served)
    for request, stored in zip(
        flight_requests(flights), flights.get_column("probability"), strict=True
    ):
        online = predictor.predict_rows(features.rows([request]))[0]
        assert abs(online - stored) <= 1e-9, request


def test_unknown_entities_are_named_and_unknown_planes_get_defaults(served):
    features = _features(served)
    when = datetime(2013, 12, 20, 17, 30)
    with pytest.raises(UnknownEntityError) as origin:
        features.row(flight("UA", 1, "XXX", "ORD", when))
    assert origin.value.field == "origin"
    with pytest.raises(UnknownEntityError) as dest:
        features.row(flight("UA", 1, "EWR", "ZZZ", when))
    assert dest.value.field == "dest"
    with pytest.raises(UnknownEntityError) as carrier:
        features.row(flight("??", 1, "EWR", "ORD", when))
    assert carrier.value.field == "carrier"
    row = features.row(flight("UA", 1, "EWR", "ORD", when, tailnum="N-NOPE"))
    assert row["is_plane_known"] is False and row["plane_type"] == "unknown"
    assert row["tailnum_30d_n_arrived"] == 0 and row["plane_seats"] is None


def test_row_and_frame_encodings_are_identical_across_hours_and_tail_numbers(served):
    import numpy as np
    import polars as pl

    features = _features(served)
    requests = [
        flight("UA", 1545, "EWR", "IAH", datetime(2013, 12, 20, h, 5), t)
        for h in (6, 12, 18)
        for t in ("N14228", None, "N-NOPE")
    ]
    rows = features.rows(requests)
    encoder = load_predictor(served.registry, served.registry.production(MODEL)).encoder
    np.testing.assert_array_equal(
        encoder.transform_rows(rows),
        encoder.transform(pl.DataFrame(rows, infer_schema_length=None)),
    )


UNKNOWN = {
    "unknown airport": ({**FLIGHT, "origin": "XYZ"}, "origin"),
    "unknown route": ({**FLIGHT, "dest": "ZZZ"}, "dest"),
    "unknown carrier": ({**FLIGHT, "carrier": "QQ"}, "carrier"),
}


@pytest.mark.parametrize("case", UNKNOWN)
def test_unknown_entities_get_a_400_naming_the_field(service, case):
    body, field = UNKNOWN[case]
    response = service.post("/predict", json=body)
    assert response.status_code == 400, response.text
    error = response.json()  # the documented shape, naming the field first
    assert set(error) <= {"error", "detail"} and error["error"].startswith(field), error


def test_an_unknown_tail_number_falls_back_to_defaults(service):
    response = service.post("/predict", json={**FLIGHT, "tailnum": "N-NOPE"})
    assert response.status_code == 200


def test_the_example_flight_is_logged_under_its_mart_key_and_month(served):
    features = _features(served)
    request = {
        **FLIGHT,
        "scheduled_departure": datetime.fromisoformat(FLIGHT["scheduled_departure"]),
    }
    assert features.entity_id(request) == "2013-12-20_UA_1545_EWR"
    assert features.month(request) == "2013-12"
