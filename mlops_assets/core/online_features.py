"""Flight-delay feature rows from what a caller knows at decision time plus the online store.

The online service and the batch-scoring asset both call ``OnlineFeatures.rows``, so they score
identical inputs for identical flights."""

from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from mlops_assets.core.online_store import current_store, read_tables

# The module, not its names: a fork's contract need not define these serving-only ones.
from mlops_assets.dataset import problem

DEPARTURE_TZ = ZoneInfo("America/New_York")  # every origin in this dataset is in New York
DECISION_LEAD = timedelta(minutes=120)


class UnknownEntityError(ValueError):
    """A request naming an entity the store does not know; ``field`` says which input."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class FlightRequest:
    carrier: str
    flight_number: int
    origin: str
    dest: str
    scheduled_departure: datetime  # local wall-clock time at the origin
    tailnum: str | None = None


def _history(row: dict | None, prefix: str) -> dict:
    out = {}
    for days in problem.HISTORY_WINDOWS_DAYS:
        for stat in problem.HISTORY_STATS:
            name = f"{prefix}_{days}d_{stat}"
            value = row.get(name) if row else None
            out[name] = (value or 0) if stat == "n_arrived" else value
    return out


class OnlineFeatures:
    """The current online store, held in memory as dicts."""

    def __init__(self, tables: dict[str, list[dict]], path: Path | None = None):
        self.path = path
        self.routes = {(r["origin"], r["dest"]): r for r in tables["online_routes"]}
        self.carriers = {r["carrier"]: r for r in tables["online_carriers"]}
        self.origin_hours = {
            (r["origin"], r["sched_dep_hour"]): r for r in tables["online_origin_hours"]
        }
        self.planes = {r["tailnum"]: r for r in tables["online_planes"]}
        self.weather: dict[str, list[dict]] = {}
        for r in sorted(tables["online_origin_weather"], key=lambda r: r["observed_at_utc"]):
            self.weather.setdefault(r["origin"], []).append(r)
        self.weather_times = {
            o: [datetime.fromisoformat(r["observed_at_utc"]) for r in rows]
            for o, rows in self.weather.items()
        }
        self.calendar = {
            date.fromisoformat(r["calendar_date"]): r["days_to_nearest_holiday"]
            for r in tables["online_calendar"]
        }

    @classmethod
    def open(cls, root: Path) -> "OnlineFeatures":
        path = current_store(root)
        return cls(read_tables(path), path)

    def row(self, request: FlightRequest) -> dict:
        """One feature row, or UnknownEntityError naming the offending field."""
        if request.origin not in self.weather:
            raise UnknownEntityError(
                "origin",
                f"unknown origin airport {request.origin!r}; known: {sorted(self.weather)}",
            )
        if request.carrier not in self.carriers:
            raise UnknownEntityError("carrier", f"unknown carrier {request.carrier!r}")
        route = self.routes.get((request.origin, request.dest))
        if route is None:
            raise UnknownEntityError(
                "dest", f"no flights known from {request.origin} to {request.dest!r}"
            )
        local = request.scheduled_departure.replace(tzinfo=None)
        if local.date() not in self.calendar:
            raise UnknownEntityError(
                "scheduled_departure", f"date {local.date()} is outside the store's calendar"
            )
        departure_utc = local.replace(tzinfo=DEPARTURE_TZ).astimezone(UTC).replace(tzinfo=None)
        decision = departure_utc - DECISION_LEAD
        plane = self.planes.get(request.tailnum) if request.tailnum else None
        # the latest observation at or before decision time, as in the offline mart
        index = bisect_right(self.weather_times[request.origin], decision) - 1
        weather = self.weather[request.origin][index] if index >= 0 else {}
        observed = self.weather_times[request.origin][index] if index >= 0 else None
        return {
            "carrier": request.carrier,
            "origin": request.origin,
            "dest": request.dest,
            "plane_type": plane["plane_type"] if plane else "unknown",
            "month": local.month,
            "day_of_week": local.isoweekday(),
            "sched_dep_hour": local.hour,
            "days_to_nearest_holiday": self.calendar[local.date()],
            "distance_miles": route["distance_miles"],
            "is_plane_known": plane is not None,
            "plane_age_years": (
                local.year - plane["year_built"]
                if plane and plane["year_built"] is not None
                else None
            ),
            "plane_seats": plane["plane_seats"] if plane else None,
            "plane_engines": plane["plane_engines"] if plane else None,
            "weather_age_minutes": (
                int((decision - observed).total_seconds() // 60) if observed else None
            ),
            **{w: weather.get(w) for w in problem.WEATHER_FEATURES},
            **_history(route, "route"),
            **_history(self.carriers[request.carrier], "carrier"),
            **_history(self.origin_hours.get((request.origin, local.hour)), "origin_hour"),
            **_history(plane, "tailnum"),
        }

    def rows(self, requests: list[FlightRequest]) -> list[dict]:
        """Feature rows for many requests, in request order, for ``Predictor.predict_rows``."""
        return [self.row(r) for r in requests]
