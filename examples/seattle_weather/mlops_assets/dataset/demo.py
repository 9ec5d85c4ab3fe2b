"""The demo's world for Seattle: which months it plays, what clients ask, how it breaks.

``mlops-demo`` (and `make demo`) read these: a year of history is delivered first, then each
served month's days are asked about (one request per day, at its end).
"""

from typing import TYPE_CHECKING

from mlops_assets.dataset.raw_tables import WEATHER

if TYPE_CHECKING:  # read by `make` before the venv exists: no heavy imports at the top
    from mlops_assets.resources.raw_files import RawFilesResource

HISTORY = "2014-09"
FIRST = "2015-09"
LAST = "2015-11"
INJECT_DRIFT = ("2015-10",)
# A month of ~30 days varies as much as any skew of it, so the calibrated drift check rightly
# stays quiet on one month's traffic mix; what the model feels is asked about instead: clients
# ask about the days the weather turns, and live RMSE crosses its ceiling (a quality trigger).
DRIFT = "days the weather turns only (tomorrow's maximum 4 °C or more from today's)"
REQUESTS_PER_MONTH = 31
# The injected schema fault of `mlops-demo --bad-month`: (table, column, renamed to).
SCHEMA_FAULT = ("weather", "temp_max", "max_temp")


def month_traffic(
    raw_files: "RawFilesResource", month: str, requests: int, drifted: bool = False
) -> list[dict]:
    """The month's days as requests, in turn until there are ``requests``; injected drift asks
    about the days before the weather turns only (as often as the whole month would be)."""
    import duckdb

    turns = "AND abs(tomorrow - temp_max) >= 4" if drifted else ""
    with duckdb.connect() as conn:
        days = conn.execute(
            "WITH weather AS ("
            'SELECT CAST("date" AS DATE) AS day, CAST(temp_max AS DOUBLE) AS temp_max '
            f"FROM read_csv('{raw_files.csv_path(WEATHER)}', header = true, all_varchar = true)"
            "), days AS ("
            "SELECT strftime(day, '%Y-%m-%d') AS day, temp_max, "
            "lead(temp_max) OVER (ORDER BY day) AS tomorrow FROM weather"
            ") "
            "SELECT day FROM days, range(?) AS turn "
            f"WHERE day LIKE ? || '-%' {turns} ORDER BY turn.range, day LIMIT ?",
            [requests, month, requests],
        ).fetchall()
    return [{"day": day} for (day,) in days]
