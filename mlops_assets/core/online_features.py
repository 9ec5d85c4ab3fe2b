"""Flight-delay feature rows from what a caller knows at decision time plus the online store.

History features are computed at request time from every arrival the store holds, counting
only flights arrived before the request's decision time, with the mart's own window rules
(core/arrival_history.py): so the online features of a flight equal its offline (mart)
features whatever later data the store holds (tests/test_online_parity.py checks every flight
of the year). ``row`` serves one request; ``frame`` serves many at once, columnar, with the
same values.
"""

import calendar
from bisect import bisect_right
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from mlops_assets.core.arrival_history import EntityHistory, features
from mlops_assets.core.online_store import current_store, read_frame, read_tables

# The module, not its names: a fork's contract need not define these serving-only ones.
from mlops_assets.dataset import problem

DEPARTURE_TZ = ZoneInfo("America/New_York")  # every origin in this dataset is in New York
DECISION_LEAD_MINUTES = 120
# The history entities: their feature prefix and the arrival columns that key them, exactly as
# the mart's int_history__* models (dbt_project/models/intermediate).
HISTORY_KEYS = {
    "route": ("origin", "dest"),
    "carrier": ("carrier",),
    "origin_hour": ("origin", "sched_dep_hour"),
    "tailnum": ("tailnum",),
}
_SHIFT = 1 << 32
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


def _minute(iso_utc: str) -> int:
    return calendar.timegm(datetime.fromisoformat(iso_utc).timetuple()) // 60


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


class OnlineFeatures:
    """The current online store, held in memory: entity attributes as dicts, arrivals as
    running sums per entity type, weather as observations sorted by (origin, minute)."""

    def __init__(self, tables: dict[str, list[dict]], arrivals: pl.DataFrame, path: Path | None):
        self.path = path
        # per route: the dates its distance took effect, sorted, and the distances
        self.routes: dict[tuple[str, str], tuple[list[date], list[int]]] = {}
        for r in sorted(tables["online_routes"], key=lambda r: r["distance_since"]):
            since, miles = self.routes.setdefault((r["origin"], r["dest"]), ([], []))
            since.append(date.fromisoformat(r["distance_since"]))
            miles.append(r["distance_miles"])
        self.carriers = {r["carrier"] for r in tables["online_carriers"]}
        self.planes = {r["tailnum"]: r for r in tables["online_planes"]}
        self.history = {p: EntityHistory(arrivals, keys) for p, keys in HISTORY_KEYS.items()}
        self._load_weather(tables["online_origin_weather"])
        self.calendar = {
            date.fromisoformat(r["calendar_date"]): r["days_to_nearest_holiday"]
            for r in tables["online_calendar"]
        }
        # What the store knows up to: its as_of, or its latest arrival. A decision later than
        # that is answered with the history known then, and says by how much (stale_minutes).
        as_of = {r["name"]: r["value"] for r in tables.get("online_meta", [])}.get("as_of")
        self.horizon_minute = (
            _minute(as_of)
            if as_of and as_of != "latest"
            else int(arrivals.get_column("arrived_minute").max() or 0)
        )

    def _load_weather(self, observations: list[dict]) -> None:
        """Observations sorted by (origin, minute), coded as origin id << 32 | minute, with a
        row of nulls at the end for a decision before an origin's first observation."""
        self.origins = {o: i for i, o in enumerate(sorted({r["origin"] for r in observations}))}
        ordered = sorted(
            observations, key=lambda r: (self.origins[r["origin"]], r["observed_at_utc"])
        )
        self.weather_rows = [*ordered, {}]
        self.weather_codes = np.array(
            [self.origins[r["origin"]] * _SHIFT + _minute(r["observed_at_utc"]) for r in ordered],
            dtype=np.int64,
        )
        self.weather_by_origin: dict[str, tuple[list[int], list[dict]]] = {}
        for r in ordered:
            times, rows = self.weather_by_origin.setdefault(r["origin"], ([], []))
            times.append(_minute(r["observed_at_utc"]))
            rows.append(r)
        self.weather_frame = pl.DataFrame(
            {w: [r.get(w) for r in self.weather_rows] for w in problem.WEATHER_FEATURES},
            strict=False,
        )

    @classmethod
    def open(cls, root: Path) -> "OnlineFeatures":
        path = current_store(root)
        return cls(read_tables(path), read_frame(path, "online_arrivals"), path)

    def _check(self, request: FlightRequest) -> None:
        """UnknownEntityError naming the field a request gets wrong."""
        if request.origin not in self.origins:
            raise UnknownEntityError(
                "origin",
                f"unknown origin airport {request.origin!r}; known: {sorted(self.origins)}",
            )
        if request.carrier not in self.carriers:
            raise UnknownEntityError("carrier", f"unknown carrier {request.carrier!r}")
        if (request.origin, request.dest) not in self.routes:
            raise UnknownEntityError(
                "dest", f"no flights known from {request.origin} to {request.dest!r}"
            )
        if request.scheduled_departure.date() not in self.calendar:
            raise UnknownEntityError(
                "scheduled_departure",
                f"date {request.scheduled_departure.date()} is outside the store's calendar",
            )

    def _weather_index(self, origin_ids: np.ndarray, minutes: np.ndarray) -> np.ndarray:
        """The latest observation at or before each decision minute at its origin (as the
        mart's as-of join), or the null row."""
        at = self.weather_codes.searchsorted(origin_ids * _SHIFT + minutes, "right") - 1
        found = (at >= 0) & (self.weather_codes[np.maximum(at, 0)] // _SHIFT == origin_ids)
        return np.where(found, at, len(self.weather_rows) - 1)

    def _static(self, request: FlightRequest, local: datetime) -> dict:
        """Everything but weather and history: schedule, calendar, route, plane."""
        plane = self.planes.get(request.tailnum) if request.tailnum else None
        since, miles = self.routes[(request.origin, request.dest)]
        return {
            "carrier": request.carrier,
            "origin": request.origin,
            "dest": request.dest,
            "plane_type": plane["plane_type"] if plane else "unknown",
            "month": local.month,
            "day_of_week": local.isoweekday(),
            "sched_dep_hour": local.hour,
            "days_to_nearest_holiday": self.calendar[local.date()],
            "distance_miles": miles[max(0, bisect_right(since, local.date()) - 1)],
            "is_plane_known": plane is not None,
            "plane_age_years": (
                local.year - plane["year_built"]
                if plane and plane["year_built"] is not None
                else None
            ),
            "plane_seats": plane["plane_seats"] if plane else None,
            "plane_engines": plane["plane_engines"] if plane else None,
        }

    @staticmethod
    def _keys(request: FlightRequest, hour: int) -> dict[str, tuple]:
        return {
            "route": (request.origin, request.dest),
            "carrier": (request.carrier,),
            "origin_hour": (request.origin, hour),
            "tailnum": (request.tailnum,),
        }

    def row(self, request: FlightRequest) -> dict:
        """One feature row, or UnknownEntityError naming the offending field."""
        self._check(request)
        local = request.scheduled_departure.replace(tzinfo=None)
        minute = decision_minute(local)
        times, rows = self.weather_by_origin[request.origin]
        at = bisect_right(times, minute) - 1  # the latest observation at or before decision
        weather = rows[at] if at >= 0 else {}
        row = self._static(request, local)
        row["weather_age_minutes"] = minute - times[at] if at >= 0 else None
        row.update({w: weather.get(w) for w in problem.WEATHER_FEATURES})
        windows = problem.HISTORY_WINDOWS_DAYS
        for prefix, key in self._keys(request, local.hour).items():
            sums_by_window = self.history[prefix].window(key, minute, windows)
            for days, sums in zip(windows, sums_by_window, strict=True):
                row.update(features(prefix, days, *sums))
        return row

    def rows(self, requests: list[FlightRequest]) -> list[dict]:
        """Feature rows for many requests, in request order, for ``Predictor.predict_rows``."""
        return [self.row(r) for r in requests]

    def frame(self, requests: list[FlightRequest]) -> pl.DataFrame:
        """The same feature rows for many requests as one frame, computed column-wise: the
        many-row path (``Predictor.predict_proba``). Raises as ``row`` does."""
        locals_ = [r.scheduled_departure.replace(tzinfo=None) for r in requests]
        static = []
        for request, local in zip(requests, locals_, strict=True):
            self._check(request)
            static.append(self._static(request, local))
        minutes = np.fromiter((decision_minute(t) for t in locals_), np.int64, len(requests))
        origin_ids = np.fromiter((self.origins[r.origin] for r in requests), np.int64)
        index = self._weather_index(origin_ids, minutes)
        has = index < len(self.weather_codes)
        observed = self.weather_codes[np.where(has, index, 0)] % _SHIFT
        columns: dict[str, pl.Series] = {
            "weather_age_minutes": pl.Series(np.where(has, minutes - observed, np.nan))
            .fill_nan(None)
            .cast(pl.Int64)
        }
        weather = self.weather_frame[index]
        columns.update({w: weather.get_column(w) for w in problem.WEATHER_FEATURES})
        keys = {
            "route": [(r.origin, r.dest) for r in requests],
            "carrier": [(r.carrier,) for r in requests],
            "origin_hour": [(r.origin, t.hour) for r, t in zip(requests, locals_, strict=True)],
            "tailnum": [(r.tailnum,) for r in requests],
        }
        for prefix, history in self.history.items():
            ids = history.key_ids(keys[prefix])
            for days in problem.HISTORY_WINDOWS_DAYS:
                columns.update(features(prefix, days, *history.windows(ids, minutes, days)))
        return pl.DataFrame(static, infer_schema_length=None).hstack(
            [s.alias(name) for name, s in columns.items()]
        )

    def stale_minutes(self, request: FlightRequest) -> int:
        """How far the request's decision time lies past what the store knows (0: covered)."""
        local = request.scheduled_departure.replace(tzinfo=None)
        return max(0, decision_minute(local) - self.horizon_minute)


def flight_requests(flights: pl.DataFrame) -> list[FlightRequest]:
    """Requests for scheduled flights given as a polars frame of ``int_flights`` columns."""
    return [
        FlightRequest(
            carrier=f["carrier"],
            flight_number=f["flight_number"],
            origin=f["origin"],
            dest=f["dest"],
            tailnum=f["tailnum"],
            scheduled_departure=datetime(
                f["flight_date"].year,
                f["flight_date"].month,
                f["flight_date"].day,
                f["sched_dep_hour"],
                f["sched_dep_minute"],
            ),
        )
        for f in flights.iter_rows(named=True)
    ]
