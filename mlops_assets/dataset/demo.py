"""The demo's world for flights: which months it plays, what clients ask, how it breaks.

``mlops-demo`` (and `make demo`) read these; the loop itself is the dataset's own: a fork sets
its months and writes how its requests are drawn from its raw data.
"""

from typing import TYPE_CHECKING

from mlops_assets.dataset.raw_tables import MONTHLY_TABLES

if TYPE_CHECKING:  # read by `make` before the venv exists: no heavy imports at the top
    from mlops_assets.resources.raw_files import RawFilesResource

# Delivered before serving starts (from HISTORY to the month before FIRST), then served month by
# month from FIRST to LAST; INJECT_DRIFT months get a skewed traffic mix.
HISTORY = "2013-01"
FIRST = "2013-05"
LAST = "2013-07"
INJECT_DRIFT = ("2013-06",)
REQUESTS_PER_MONTH = 2000
# The injected schema fault of `mlops-demo --bad-month`: (table, column, renamed to).
SCHEMA_FAULT = ("flights", "dep_delay", "departure_delay")

TRAFFIC_SEED = 13
# Injected drift: the traffic mix becomes evening departures from Newark only.
DRIFT = "evening departures from Newark only"
DRIFTED_MIX = "origin = 'EWR' AND CAST(sched_dep_time AS INTEGER) >= 1700"


def month_traffic(
    raw_files: "RawFilesResource", month: str, flights: int, drifted: bool = False
) -> list[dict]:
    """A fixed sample of the month's scheduled flights as service requests (the schedule is
    known ahead; outcomes are not sent)."""
    import duckdb

    year, m = month.split("-")
    mix = f"AND {DRIFTED_MIX}" if drifted else ""
    source = raw_files.csv_path(next(t for t in MONTHLY_TABLES if t.name == "flights"))
    with duckdb.connect() as conn:
        rows = conn.execute(
            "SELECT carrier, CAST(flight AS INTEGER), origin, dest, NULLIF(tailnum, 'NA'), "
            "printf('%04d-%02d-%02dT%02d:%02d:00', CAST(year AS INTEGER), "
            "CAST(month AS INTEGER), CAST(day AS INTEGER), "
            "CAST(sched_dep_time AS INTEGER) // 100, CAST(sched_dep_time AS INTEGER) % 100) "
            f"FROM read_csv('{source}', header = true, all_varchar = true) "
            f"WHERE CAST(year AS INTEGER) = {int(year)} AND CAST(month AS INTEGER) = {int(m)} "
            f"{mix} ORDER BY hash(year || month || day || carrier || flight || origin || ?) "
            "LIMIT ?",
            [str(TRAFFIC_SEED), flights],
        ).fetchall()
    return [
        {
            "carrier": carrier,
            "flight_number": number,
            "origin": origin,
            "dest": dest,
            "scheduled_departure": departure,
            **({"tailnum": tailnum} if tailnum else {}),
        }
        for carrier, number, origin, dest, tailnum, departure in rows
    ]
