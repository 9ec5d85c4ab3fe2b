"""The online store and batch scoring: atomic store swaps, clear errors for unknown entities,
and batch predictions equal to the online path's for the same flights."""

import threading
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from mlops_assets.assets.serving import PREDICTIONS_TABLE, online_store
from mlops_assets.core.online_features import (
    FlightRequest,
    OnlineFeatures,
    UnknownEntityError,
    flight_requests,
)
from mlops_assets.core.predictor import load_predictor
from tests.model_lab import MODEL, Lab


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


def test_batch_scoring_covers_the_month_and_records_the_model(served, built_warehouse):
    with duckdb.connect(str(built_warehouse), read_only=True) as conn:
        scored, versions = conn.execute(
            f"SELECT count(*), count(DISTINCT model_version) FROM {PREDICTIONS_TABLE} "
            "WHERE scored_month = 201312"
        ).fetchone()
        december = conn.execute(
            "SELECT count(*) FROM marts.flight_features WHERE month = 12"
        ).fetchone()[0]
    assert versions == 1
    assert scored == december  # every flight of the month in the offline mart


def test_unknown_entities_are_named_and_unknown_planes_get_defaults(served):
    features = _features(served)
    when = datetime(2013, 12, 20, 17, 30)
    with pytest.raises(UnknownEntityError) as origin:
        features.row(FlightRequest("UA", 1, "XXX", "ORD", when))
    assert origin.value.field == "origin"
    with pytest.raises(UnknownEntityError) as dest:
        features.row(FlightRequest("UA", 1, "EWR", "ZZZ", when))
    assert dest.value.field == "dest"
    with pytest.raises(UnknownEntityError) as carrier:
        features.row(FlightRequest("??", 1, "EWR", "ORD", when))
    assert carrier.value.field == "carrier"
    row = features.row(FlightRequest("UA", 1, "EWR", "ORD", when, tailnum="N-NOPE"))
    assert row["is_plane_known"] is False and row["plane_type"] == "unknown"
    assert row["tailnum_30d_n_arrived"] == 0 and row["plane_seats"] is None


def test_readers_never_see_a_half_written_store(served):
    root = Path(served.resources["online"].root)
    expected = len(_features(served).planes)
    errors, reads = [], []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            try:
                reads.append(len(OnlineFeatures.open(root).planes))
            except Exception as exc:  # any failure to read is the bug under test
                errors.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for _ in range(3):
            assert served.run({}, selection=[online_store]).success
    finally:
        stop.set()
        thread.join()
    assert not errors
    assert reads and set(reads) == {expected}


def test_row_and_frame_encodings_are_identical(served):
    import numpy as np
    import polars as pl

    features = _features(served)
    requests = [
        FlightRequest("UA", 1545, "EWR", "IAH", datetime(2013, 12, 20, h, 5), t)
        for h in (6, 12, 18)
        for t in ("N14228", None, "N-NOPE")
    ]
    rows = features.rows(requests)
    encoder = load_predictor(served.registry, served.registry.production(MODEL)).encoder
    np.testing.assert_array_equal(
        encoder.transform_rows(rows),
        encoder.transform(pl.DataFrame(rows, infer_schema_length=None)),
    )
