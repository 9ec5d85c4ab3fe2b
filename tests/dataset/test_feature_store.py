"""The feature store built end to end on the real 2013 data, through Dagster's default executor."""

import os
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from mlops_assets.dataset import problem
from tests.conftest import run_cli

FEATURE_MART = dg.AssetKey(["marts", "flight_features"])


def test_full_graph_materializes_every_month_and_model(built_warehouse):
    instance = dg.DagsterInstance.get()
    months = instance.get_materialized_partitions(dg.AssetKey(["raw", "flights"]))
    assert len(months) == 12
    for key in (
        "staging/stg_nycflights13__flights",
        "intermediate/int_history__route",
        "marts/flight_features",
        "marts/flight_label_counts",
    ):
        assert instance.get_latest_materialization_event(dg.AssetKey.from_user_string(key))

    with duckdb.connect(str(built_warehouse), read_only=True) as conn:
        counts = conn.execute(
            "SELECT scheduled_flights, labelled_flights, excluded_no_arrival "
            "FROM marts.flight_label_counts"
        ).fetchone()
        rows = conn.execute("SELECT count(*) FROM marts.flight_features").fetchone()[0]
    # nycflights13: 336,776 flights, 9,430 without an arrival delay (cancelled or diverted)
    assert counts == (336_776, 327_346, 9_430)
    assert rows == 327_346


def test_feature_contract_check_passed_and_reports_counts(built_warehouse):
    instance = dg.DagsterInstance.get()
    check = dg.AssetCheckKey(FEATURE_MART, "features_match_contract")
    [record] = instance.event_log_storage.get_asset_check_execution_history(check, limit=1)
    evaluation = record.event.dagster_event.event_specific_data
    assert evaluation.passed, evaluation.description
    assert evaluation.metadata["excluded_no_arrival"].value == 9_430
    assert evaluation.metadata["features"].value == len(problem.FEATURES)


def test_history_counts_only_flights_arrived_before_decision_time(built_warehouse):
    with duckdb.connect(str(built_warehouse), read_only=True) as conn:
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT flight_id FROM marts.flight_features USING SAMPLE 40 ROWS (reservoir, 7)"
            ).fetchall()
        ]
        for flight_id in ids:
            expected = conn.execute(
                """
                SELECT count(o.flight_id), avg(o.is_delayed::int), avg(o.arr_delay_minutes)
                FROM intermediate.int_flights f
                LEFT JOIN intermediate.int_flight_outcomes o
                  ON o.origin = f.origin AND o.dest = f.dest
                 AND o.arrived_at_utc >= f.decision_at_utc - INTERVAL 7 DAY
                 AND o.arrived_at_utc < f.decision_at_utc
                WHERE f.flight_id = ?
                """,
                [flight_id],
            ).fetchone()
            got = conn.execute(
                "SELECT route_7d_n_arrived, route_7d_delay_rate, route_7d_mean_arr_delay "
                "FROM marts.flight_features WHERE flight_id = ?",
                [flight_id],
            ).fetchone()
            assert got[0] == expected[0], flight_id
            assert got[1] == pytest.approx(expected[1]) if expected[0] else got[1] is None
            assert got[2] == pytest.approx(expected[2]) if expected[0] else got[2] is None


def test_weather_is_the_latest_observation_at_or_before_decision_time(built_warehouse):
    with duckdb.connect(str(built_warehouse), read_only=True) as conn:
        wrong = conn.execute(
            """
            WITH sample AS (
                SELECT flight_id, origin, decision_at_utc, weather_age_minutes
                FROM marts.flight_features USING SAMPLE 500 ROWS (reservoir, 11)
            )
            SELECT count(*) FROM sample s
            WHERE s.weather_age_minutes IS DISTINCT FROM (
                SELECT date_diff('minute', max(w.observed_at_utc), s.decision_at_utc)
                FROM staging.stg_nycflights13__weather w
                WHERE w.origin = s.origin AND w.observed_at_utc <= s.decision_at_utc
            )
            """
        ).fetchone()[0]
    assert wrong == 0


def _rebuild_copy(source: Path, target: Path, edit_sql: list[str]) -> Path:
    """Copy the warehouse, change its raw tables, and run a real `dbt build` on the copy."""
    shutil.copy(source, target)
    with duckdb.connect(str(target)) as conn:
        for statement in edit_sql:
            conn.execute(statement)
    result = run_cli(
        ["dbt", "build", "--project-dir", "dbt_project", "--profiles-dir", "dbt_project"],
        env={
            "DUCKDB_DATABASE": str(target),
            "DBT_TARGET_PATH": str(target.parent / "target"),
            "DBT_LOG_PATH": str(target.parent / "logs"),
        },
    )
    assert result.returncode == 0, result.stdout[-3000:]
    return target


CUTOFF = "TIMESTAMP '2013-06-15 12:00:00'"


@pytest.fixture(scope="module")
def future_perturbed(built_warehouse, tmp_path_factory) -> Path:
    """Every flight scheduled at or after the cut-off made 10 hours late, every later weather
    observation changed; nothing before the cut-off touched."""
    # New local clock times are read off the shifted instants in each airport's own time zone,
    # so the edited rows stay consistent across the November DST change.
    shifted = f"""
        SELECT s.year, s.month, s.day, s.carrier, s.flight_number, s.origin,
               timezone('America/New_York', timezone('UTC', o.departed_at_utc + INTERVAL 10 HOUR))
                   AS dep_local,
               timezone(coalesce(a.tzone, r.tzone),
                        timezone('UTC', o.arrived_at_utc + INTERVAL 10 HOUR)) AS arr_local
        FROM intermediate.int_flight_outcomes o
        JOIN staging.stg_nycflights13__flights s USING (flight_id)
        LEFT JOIN staging.stg_nycflights13__airports a ON a.faa = o.dest
        LEFT JOIN reference.airport_timezone_overrides r ON r.faa = o.dest
        WHERE s.sched_dep_hour_utc + to_minutes(s.sched_dep_minute) >= {CUTOFF}"""
    edits = [
        f"""UPDATE raw.flights f SET
              dep_delay = dep_delay + 600, arr_delay = arr_delay + 600, air_time = air_time + 17,
              dep_time = hour(n.dep_local) * 100 + minute(n.dep_local),
              arr_time = hour(n.arr_local) * 100 + minute(n.arr_local)
            FROM ({shifted}) n
            WHERE f.year = n.year AND f.month = n.month AND f.day = n.day
              AND f.carrier = n.carrier AND f.flight = n.flight_number AND f.origin = n.origin""",
        f"""UPDATE raw.weather SET temp = temp + 50, wind_speed = wind_speed + 30,
              visib = 0, precip = precip + 1, pressure = pressure - 40
            WHERE timezone('UTC', time_hour) >= {CUTOFF}""",
    ]
    tmp = tmp_path_factory.mktemp("pit")
    return _rebuild_copy(built_warehouse, tmp / "perturbed.duckdb", edits)


def _diff(conn, columns: str, where: str) -> int:
    return conn.execute(
        f"""SELECT count(*) FROM (
              (SELECT {columns} FROM marts.flight_features WHERE {where}
               EXCEPT SELECT {columns} FROM original.marts.flight_features WHERE {where})
              UNION ALL
              (SELECT {columns} FROM original.marts.flight_features WHERE {where}
               EXCEPT SELECT {columns} FROM marts.flight_features WHERE {where}))"""
    ).fetchone()[0]


def test_changing_the_future_moves_no_feature_decided_before_it(built_warehouse, future_perturbed):
    features = ", ".join(problem.ROW_METADATA + problem.FEATURES)
    with duckdb.connect(str(future_perturbed), read_only=True) as conn:
        conn.execute(f"ATTACH '{built_warehouse}' AS original (READ_ONLY)")
        before = f"decision_at_utc < {CUTOFF}"
        after = f"decision_at_utc >= {CUTOFF}"
        compared = conn.execute(f"SELECT count(*) FROM marts.flight_features WHERE {before}")
        assert compared.fetchone()[0] > 140_000
        assert _diff(conn, features, before) == 0
        # The perturbation is real: later flights' features do move, so this test can fail.
        assert _diff(conn, features, after) > 10_000


def test_a_flights_own_outcome_columns_reach_only_its_label(built_warehouse, future_perturbed):
    # Flights decided before the cut-off but departing after it had their own dep_time,
    # dep_delay, arr_time, arr_delay and air_time changed: only the label may move.
    own = f"decision_at_utc < {CUTOFF} AND scheduled_departure_utc >= {CUTOFF}"
    features = ", ".join(problem.ROW_METADATA + problem.FEATURES)
    with duckdb.connect(str(future_perturbed), read_only=True) as conn:
        conn.execute(f"ATTACH '{built_warehouse}' AS original (READ_ONLY)")
        assert conn.execute(f"SELECT count(*) FROM marts.flight_features WHERE {own}").fetchone()[0]
        assert _diff(conn, features, own) == 0
        assert _diff(conn, f"flight_id, {problem.LABEL}", own) > 0
        columns = {r[0] for r in conn.execute("DESCRIBE marts.flight_features").fetchall()}
    staged_outcomes = {
        "dep_hhmm",
        "dep_delay_minutes",
        "arr_hhmm",
        "arr_delay_minutes",
        "air_time_minutes",
        *problem.POST_DECISION_COLUMNS,
    }
    assert not columns & staged_outcomes
    assert columns == problem.expected_columns()


def test_failing_dbt_test_blocks_the_mart_and_keeps_the_previous_one(
    built_warehouse, tmp_path, monkeypatch
):
    from mlops_assets.assets.features import monthly_dbt_assets
    from mlops_assets.resources.dbt import dbt_resource

    copy = tmp_path / "bad.duckdb"
    shutil.copy(built_warehouse, copy)
    fingerprint = "SELECT count(*), sum(hash(t)) FROM marts.flight_features t"
    with duckdb.connect(str(copy)) as conn:
        before = conn.execute(fingerprint).fetchone()
        # Passes the raw schema contract, fails dbt's accepted_values test on origin.
        conn.execute(
            "INSERT INTO raw.flights SELECT * REPLACE ('XYZ' AS origin) "
            "FROM raw.flights WHERE month = 5 LIMIT 1"
        )
    monkeypatch.setenv("DUCKDB_DATABASE", str(copy))
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    # May lands again: its staging tests fail, so nothing of May is replaced downstream
    result = dg.materialize(
        [monthly_dbt_assets],
        partition_key="2013-05-01",
        resources={"dbt": dbt_resource()},
        raise_on_error=False,
    )
    assert not result.success
    failed = [
        e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        and not e.asset_check_evaluation_data.passed
    ]
    assert any("accepted_values_stg_nycflights13__flights_origin" in f.check_name for f in failed)
    assert FEATURE_MART not in {
        m.asset_key
        for m in result.get_asset_materialization_events()
        and [
            e.event_specific_data.materialization for e in result.get_asset_materialization_events()
        ]
    }
    with duckdb.connect(str(copy), read_only=True) as conn:
        assert conn.execute(fingerprint).fetchone() == before


def test_asset_graph_runs_raw_to_staging_to_intermediate_to_marts():
    from mlops_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    groups = {k.to_user_string(): graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert groups["raw/flights"] == "raw"
    assert groups["staging/stg_nycflights13__flights"] == "staging"
    assert groups["intermediate/int_history__route"] == "intermediate"
    assert groups["marts/flight_features"] == "marts"
    upstream = graph.get(FEATURE_MART).parent_keys
    ancestors, frontier = set(), set(upstream)
    while frontier:
        key = frontier.pop()
        ancestors.add(key)
        frontier |= set(graph.get(key).parent_keys) - ancestors
    assert {
        dg.AssetKey(["raw", t]) for t in ("flights", "weather", "planes", "airports")
    } <= ancestors
    assert os.environ["DUCKDB_DATABASE"]  # profiles.yml and the resource share it
