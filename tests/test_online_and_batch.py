"""The online store and batch scoring: atomic store swaps, and batch predictions equal to the
online path's for the same rows (unknown flights, airports and planes:
tests/dataset/test_flight_service.py)."""

import threading
from pathlib import Path

import duckdb

from mlops_assets.assets.serving import PREDICTIONS_TABLE, online_store
from mlops_assets.core.features.online_features import OnlineFeatures
from mlops_assets.core.serving.predictor import load_predictor
from mlops_assets.dataset import problem
from tests.contract import MODEL, SCORE, TEST_MONTH, as_served, in_month, month_number, traffic
from tests.model_lab import Lab


def _features(lab: Lab) -> OnlineFeatures:
    return OnlineFeatures.open(Path(lab.resources["online"].root))


def test_batch_predictions_equal_the_online_path_for_the_same_rows(served, built_warehouse):
    features = _features(served)
    requests = {features.entity_id(as_served(r)): as_served(r) for r in traffic(TEST_MONTH, 400)}
    with duckdb.connect(str(built_warehouse), read_only=True) as conn:
        stored = conn.execute(
            f"SELECT {problem.ENTITY_KEY}, {SCORE} FROM {PREDICTIONS_TABLE} "
            f"WHERE {problem.ENTITY_KEY} IN (SELECT unnest(?))",
            [list(requests)],
        ).fetchall()
    # most requested rows are in the mart (flights: not the cancelled ones; a month of days
    # is asked about in turn, so 400 requests name each day several times)
    assert len(stored) >= len(requests) / 2 > 0
    registry = served.registry
    predictor = load_predictor(registry, registry.production(MODEL))
    for entity, score in stored:
        online = predictor.predict_rows(features.rows([requests[entity]]))[0]
        assert abs(online - score) <= 1e-9, requests[entity]


def test_batch_scoring_covers_the_month_and_records_the_model(served, built_warehouse):
    with duckdb.connect(str(built_warehouse), read_only=True) as conn:
        scored, versions = conn.execute(
            f"SELECT count(*), count(DISTINCT model_version) FROM {PREDICTIONS_TABLE} "
            f"WHERE scored_month = {month_number(TEST_MONTH)}"
        ).fetchone()
        december = conn.execute(
            f"SELECT count(*) FROM {problem.FEATURE_TABLE} WHERE {in_month(TEST_MONTH)}"
        ).fetchone()[0]
    assert versions == 1
    assert scored == december > 0  # every row of the month in the offline mart


def test_readers_never_see_a_half_written_store(served):
    root = Path(served.resources["online"].root)
    expected = len(_features(served).lookups[-1].rows)
    errors, reads = [], []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            try:
                reads.append(len(OnlineFeatures.open(root).lookups[-1].rows))
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
    requests = [as_served(r) for r in traffic(TEST_MONTH, 9)]
    rows = features.rows(requests)
    encoder = load_predictor(served.registry, served.registry.production(MODEL)).encoder
    np.testing.assert_array_equal(
        encoder.transform_rows(rows),
        encoder.transform(pl.DataFrame(rows, infer_schema_length=None)),
    )
