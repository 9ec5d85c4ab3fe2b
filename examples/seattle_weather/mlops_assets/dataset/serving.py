"""How the service answers for Seattle: a caller names the day (the forecast is made at its
end), and the online tables (``dbt_project/models/online/``) give that day's record and the
windows over the days before it, exactly as the mart computes them.

The online store, the lookup, the request model and its OpenAPI schema are derived from
``SERVING`` (``core/features/feature_views.py``).
"""

from datetime import date, timedelta

from mlops_assets.core.features.feature_views import (
    History,
    Lookup,
    RequestField,
    ServingContract,
    Window,
)

_EPOCH = date(1970, 1, 1).toordinal()


def context(request: dict) -> dict:
    """The calendar of the day, the day before (for the change in maximum temperature), and
    the decision minute: midnight at the day's end, UTC."""
    day = request["day"]
    return {
        "station": "SEA",
        "yesterday": day - timedelta(days=1),
        "month": day.month,
        "day_of_year": day.timetuple().tm_yday,
        "decision_minute": (day.toordinal() + 1 - _EPOCH) * 1440,
    }


def finish(row: dict, values: dict) -> None:
    """The mart's differences: today's temperature range and change since yesterday."""
    yesterday = row.pop("temp_max_yesterday_c")
    high, low = row["temp_max_c"], row["temp_min_c"]
    row["temp_range_c"] = high - low if high is not None and low is not None else None
    changed = high is not None and yesterday is not None
    row["temp_max_change_c"] = high - yesterday if changed else None


SERVING = ServingContract(
    request_fields=(
        RequestField("day", date, "The day at whose end the forecast is made", "2015-12-10"),
    ),
    context=context,
    views=(
        Lookup(
            "online_days",
            key={"day": "day"},
            features={
                "weather_today": "weather",
                "precipitation_mm": "precipitation_mm",
                "temp_max_c": "temp_max_c",
                "temp_min_c": "temp_min_c",
                "wind_ms": "wind_ms",
            },
            required="no record of {day} in the online store",
        ),
        Lookup(
            "online_days", key={"day": "yesterday"}, features={"temp_max_yesterday_c": "temp_max_c"}
        ),
        History(
            "online_day_events",
            id_column="day",
            time_column="known_minute",
            entities={"station": {"station": "station"}},
            windows=(
                Window("precip_3d_mm", "station", 3, "sum", "precipitation_mm"),
                Window("precip_7d_mm", "station", 7, "sum", "precipitation_mm"),
                Window("rain_rate_7d", "station", 7, "mean", "rained"),
                Window("temp_max_3d_avg_c", "station", 3, "mean", "temp_max_c"),
                Window("temp_max_7d_avg_c", "station", 7, "mean", "temp_max_c"),
            ),
        ),
    ),
    entity_id="{day}",  # the mart's day_id
    event_date="day",
    decision_minute="decision_minute",
    entity_name="day",
    plural="days",
    example={"day": "2015-11-20"},  # inside the demo's served months (dataset/demo.py)
    finish=finish,
)
