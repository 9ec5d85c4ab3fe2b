"""Online features equal offline features: every flight of the year, every feature.

The online store holds every landed arrival, and the service computes each history window at
the request's decision time; so looking up any past flight online must give exactly the mart's
row for it (the training features), later data notwithstanding. Compared in chunks, as frames.
"""

from pathlib import Path

import duckdb
import polars as pl
import pytest

from mlops_assets.core.features.online_features import OnlineFeatures
from mlops_assets.core.monitoring.serving_skew import feature_differences
from mlops_assets.dataset import problem
from tests.dataset.flight_requests import flight, flight_requests
from tests.model_lab import Lab

FEATURES = list(problem.CATEGORICAL_FEATURES + problem.NUMERIC_FEATURES)
CHUNK = 25_000


def _mart(warehouse: Path) -> pl.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return pl.from_arrow(
            conn.sql(
                "SELECT m.flight_id, f.flight_date, f.flight_number, f.tailnum, "
                f"f.sched_dep_minute, {', '.join('m.' + c for c in FEATURES)} "
                f"FROM {problem.FEATURE_TABLE} m JOIN intermediate.int_flights f USING (flight_id) "
                "ORDER BY m.flight_id"
            ).to_arrow_table()
        )


@pytest.mark.slow
def test_online_features_equal_the_mart_for_every_flight_of_the_year(served: Lab, built_warehouse):
    features = OnlineFeatures.open(Path(served.resources["online"].root))
    mart = _mart(built_warehouse)
    assert mart.height == 327_346
    totals = dict.fromkeys(FEATURES, 0)
    for start in range(0, mart.height, CHUNK):
        chunk = mart.slice(start, CHUNK)
        rows = features.rows(flight_requests(chunk))
        online = pl.DataFrame(rows, schema_overrides={n: chunk.schema[n] for n in FEATURES})
        for name, count in feature_differences(chunk, online, FEATURES).items():
            totals[name] += count
    assert {k: v for k, v in totals.items() if v} == {}


def test_window_boundaries_are_the_marts():
    """An arrival counts in [t - w, t): one minute before the decision, yes; at the decision
    minute (or later), no; exactly w days before, yes; one minute earlier, no. One request and
    a batch agree; an entity with no arrivals has none; a null key is left out."""
    import numpy as np

    from mlops_assets.core.features.event_history import EntityHistory

    t, week = 1_000_000, 7 * 1440
    arrivals = pl.DataFrame(
        {
            "carrier": ["UA"] * 5 + ["AA", None],
            "arrived_minute": [t - week - 1, t - week, t - 1, t, t + 5, t - 1, t - 1],
            "delayed": [1, 1, 0, 1, 1, 1, 1],
            "arr_delay": [60, 30, -5, 99, 99, 5, 5],
        }
    )
    history = EntityHistory(arrivals, ("carrier",), "arrived_minute", ("delayed", "arr_delay"))
    assert history.window(("UA",), t, (7, 30)) == [(2, 1, 25), (3, 2, 85)]
    assert history.window(("UA",), t + 10, (7,)) == [(3, 2, 193)]  # later decision, later data
    assert history.window(("AA",), t, (7,)) == [(1, 1, 5)]
    assert history.window(("ZZ",), t, (7,)) == [(0, 0, 0)]
    ids = history.key_ids([("UA",), ("AA",), ("ZZ",), ("UA",)])
    n, delayed, delay = history.windows(ids, np.array([t, t, t, t + 10]), 7)
    assert n.tolist() == [2, 1, 0, 3] and delay.tolist() == [25, 5, 0, 193]


def test_a_store_as_of_a_date_says_how_stale_later_requests_are(served: Lab, tmp_path):
    """A store built as of 2013-07-01 counts no arrival after it, and a July request is told
    how far past the store's knowledge its decision time lies; a June one is not."""
    from datetime import datetime

    import dagster as dg

    from mlops_assets.assets.serving import online_store
    from mlops_assets.resources.online_store import OnlineStoreResource

    root = tmp_path / "online_store"
    result = dg.materialize(
        [online_store],
        resources={
            "warehouse": served.resources["warehouse"],
            "online": OnlineStoreResource(root=str(root)),
        },
        run_config={"ops": {"online_store": {"config": {"as_of": "2013-07-01T00:00:00"}}}},
    )
    assert result.success
    past = OnlineFeatures.open(root)
    june = flight("UA", 1545, "EWR", "IAH", datetime(2013, 6, 30, 12, 0))
    july = flight("UA", 1545, "EWR", "IAH", datetime(2013, 7, 20, 17, 30))
    assert past.stale_minutes(june) == 0
    assert past.stale_minutes(july) == 19 * 1440 + (17 * 60 + 30 - 120 + 4 * 60)  # EDT
    everything = OnlineFeatures.open(Path(served.resources["online"].root))
    assert past.row(june) == everything.row(june)  # the past is the same
    assert past.row(july)["carrier_7d_n_arrived"] == 0  # nothing of July was known
    assert everything.row(july)["carrier_7d_n_arrived"] > 0


def test_batch_scores_from_the_mart_equal_online_scores_for_a_whole_month(
    served: Lab, built_warehouse
):
    """The model scores the mart's rows (batch) and the online rows and frames identically."""
    import numpy as np

    from mlops_assets.core.serving.predictor import load_predictor
    from tests.model_lab import MODEL

    features = OnlineFeatures.open(Path(served.resources["online"].root))
    december = _mart(built_warehouse).filter(pl.col("month") == 12)
    requests = flight_requests(december)
    for version in served.registry.versions(MODEL):
        predictor = load_predictor(served.registry, version)
        offline = predictor.predict_frame(december.select(FEATURES))
        assert np.abs(predictor.predict_rows(features.rows(requests)) - offline).max() <= 1e-9
        assert np.abs(predictor.predict_frame(features.frame(requests)) - offline).max() <= 1e-9
