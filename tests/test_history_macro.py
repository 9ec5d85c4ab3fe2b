"""The `point_in_time_history` macro on tables that are not flights: a weather station's readings
as events, requests as decisions, another key and other column names. Real `dbt build` of a
small project that holds the template's macros, against the windows counted by brute force."""

import shutil
from datetime import datetime, timedelta

import duckdb
import pytest

from tests.conftest import REPO, run_cli

T0 = datetime(2015, 3, 10, 12, 0)
DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)
# (station, known at, rain in mm, wet): around a decision at T0, the edges of its windows
EVENTS = [
    ("SEA", T0 - MINUTE, 4, 1),  # one minute before: counts
    ("SEA", T0, 50, 1),  # at the decision: does not
    ("SEA", T0 - DAY, 2, 1),  # exactly a day before: in the 1-day window
    ("SEA", T0 - DAY - MINUTE, 0, 0),  # a minute earlier: 3-day window only
    ("SEA", T0 - 3 * DAY, 7, 1),  # exactly three days before: in the 3-day window
    ("SEA", T0 - 3 * DAY - MINUTE, 9, 1),  # outside both
    ("PDX", T0 - 2 * MINUTE, 30, 1),  # another station's
    ("SEA", T0 + DAY, 3, 1),  # later: only for the later decision
]
# (id, station, decided at)
DECISIONS = [
    (1, "SEA", T0),
    (2, "SEA", T0 + DAY + MINUTE),
    (3, "PDX", T0),
    (4, "BOS", T0),  # no events at all
]
WINDOWS = (1, 3)

MODEL = """
{{ point_in_time_history(
    decisions=ref('requests'), events=ref('readings'), key_columns=['station'], prefix='st',
    decision_id='request_id', decision_date='asked_on', decision_at='asked_at',
    event_date='read_on', event_at='read_at', count_name='n_readings',
    means=[['wet_rate', 'wet'], ['mean_rain_mm', 'rain_mm']],
    sums=[['rain_mm', 'rain_mm']],
    windows_days=[1, 3], lookback_days=4,
) }}
"""


def _brute_force(station: str, at: datetime, days: int) -> dict:
    inside = [e for e in EVENTS if e[0] == station and at - days * DAY <= e[1] < at]
    n = len(inside)
    return {
        f"st_{days}d_n_readings": n,
        f"st_{days}d_wet_rate": sum(e[3] for e in inside) / n if n else None,
        f"st_{days}d_mean_rain_mm": sum(e[2] for e in inside) / n if n else None,
        f"st_{days}d_rain_mm": sum(e[2] for e in inside) if n else None,
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[int, dict]:
    root = tmp_path_factory.mktemp("history_probe")
    shutil.copytree(REPO / "dbt_project" / "macros", root / "macros")
    (root / "seeds").mkdir()
    (root / "models").mkdir()
    (root / "seeds" / "readings.csv").write_text(
        "station,read_on,read_at,rain_mm,wet\n"
        + "".join(f"{s},{t.date()},{t.isoformat(' ')},{r},{w}\n" for s, t, r, w in EVENTS)
    )
    (root / "seeds" / "requests.csv").write_text(
        "request_id,station,asked_on,asked_at\n"
        + "".join(f"{i},{s},{t.date()},{t.isoformat(' ')}\n" for i, s, t in DECISIONS)
    )
    (root / "models" / "station_history.sql").write_text(MODEL)
    types = "      +column_types: {{{}}}\n"
    (root / "dbt_project.yml").write_text(
        "name: history_probe\nversion: '1.0'\nconfig-version: 2\nprofile: history_probe\n"
        "models:\n  history_probe:\n    +materialized: table\n"
        "seeds:\n  history_probe:\n    readings:\n"
        + types.format("read_at: timestamp, read_on: date, rain_mm: integer, wet: integer")
        + "    requests:\n"
        + types.format("asked_at: timestamp, asked_on: date")
    )
    database = root / "probe.duckdb"
    (root / "profiles.yml").write_text(
        "history_probe:\n  target: local\n  outputs:\n    local:\n      type: duckdb\n"
        f"      path: '{database}'\n      threads: 1\n"
    )
    result = run_cli(
        ["dbt", "build", "--project-dir", str(root), "--profiles-dir", str(root)],
        env={"DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
    )
    assert result.returncode == 0, result.stdout[-3000:]
    with duckdb.connect(str(database), read_only=True) as conn:
        relation = conn.sql("SELECT * FROM main.station_history ORDER BY request_id")
        columns = relation.columns
        return {row[0]: dict(zip(columns, row, strict=True)) for row in relation.fetchall()}


def test_every_decision_has_one_row_with_each_window_of_its_own_station(built):
    assert sorted(built) == [i for i, _, _ in DECISIONS]
    for request_id, station, at in DECISIONS:
        row = built[request_id]
        expected = {k: v for days in WINDOWS for k, v in _brute_force(station, at, days).items()}
        got = {k: row[k] for k in expected}
        assert got == pytest.approx(expected), (request_id, got, expected)


def test_the_window_edges_are_the_online_stores(built):
    """[t - D days, t): the minute before the decision counts, the decision's minute does not,
    exactly D days before does; an entity without events has a count of 0 and null means."""
    first = built[1]
    assert first["st_1d_n_readings"] == 2 and first["st_1d_rain_mm"] == 6
    assert first["st_3d_n_readings"] == 4 and first["st_3d_rain_mm"] == 13
    assert built[4]["st_3d_n_readings"] == 0
    assert built[4]["st_3d_wet_rate"] is None and built[4]["st_3d_rain_mm"] is None
