"""The serving declaration: what a caller sends and which online tables turn it into a row.

A dataset declares it once (``mlops_assets/dataset/serving.py``); the online store's tables,
the request-time lookup (``online_features.OnlineFeatures``), the service's request model and
its OpenAPI schema are all derived from it, so a fork serves its own data without writing
Python in ``core/`` or ``bento/``.

A request is a dict of the declared ``RequestField`` values. ``context`` (the dataset's one
function) adds derived values, such as calendar fields and the decision minute; every view then
reads its keys from request + context by name:

- ``Lookup``: attributes of an entity by key (optionally as of a date: the latest row whose
  ``effective_from`` is on or before it). ``required`` refuses an unknown key, naming ``field``.
- ``AsOf``: the latest observation at or before the decision minute, per key (e.g. weather).
- ``History``: counts, sums and means of past events per entity over trailing windows
  (``Window``), counting only events before the decision minute (running sums and binary
  searches).
"""

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date, datetime
from typing import Any

KeyMap = dict[str, str]  # table column -> request/context name


@dataclass(frozen=True)
class RequestField:
    """One input of a request, with the constraints its OpenAPI schema publishes."""

    name: str
    type: type  # str, int, float, bool, date or datetime
    description: str = ""
    example: Any = None
    required: bool = True
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    ge: float | None = None
    le: float | None = None


@dataclass(frozen=True)
class Lookup:
    table: str
    key: KeyMap
    features: KeyMap = dc_field(default_factory=dict)  # feature name -> table column
    # message (str.format over request + context, plus ``value``) for an unknown key; None:
    # an unknown key gives null features (and ``defaults``)
    required: str | None = None
    field: str | None = None  # the request field an unknown key is blamed on (default: key's)
    effective_from: tuple[str, str] | None = None  # (table date column, request/context date)
    defaults: dict[str, Any] = dc_field(default_factory=dict)  # features when the key is unknown
    found_feature: str | None = None  # a boolean feature: was the key found?


@dataclass(frozen=True)
class AsOf:
    table: str
    key: KeyMap
    time_column: str  # UTC ISO timestamp or minutes since the epoch
    features: tuple[str, ...]
    age_feature: str | None = None  # minutes between the observation and the decision
    required: str | None = None  # message for a key with no observations at all
    field: str | None = None


@dataclass(frozen=True)
class Window:
    """One history feature: a statistic of one entity's events over the ``days`` before the
    decision (the count, or the sum or mean of an event column; a mean of no events is null)."""

    feature: str
    entity: str  # a name in History.entities
    days: int
    stat: str  # "count", "sum" or "mean"
    column: str | None = None  # the event column summed or averaged

    def __post_init__(self) -> None:
        if self.stat not in ("count", "sum", "mean") or (self.stat != "count") != bool(self.column):
            raise ValueError(f"window {self.feature!r}: count, or sum/mean of a column")


@dataclass(frozen=True)
class History:
    table: str
    id_column: str  # the event's own key: a landed month appends only new ids
    time_column: str  # minutes since the epoch when the event became known
    entities: dict[str, KeyMap]  # entity name -> key (event column -> request/context name)
    windows: tuple[Window, ...]


View = Lookup | AsOf | History


@dataclass(frozen=True)
class ServingContract:
    request_fields: tuple[RequestField, ...]
    context: Callable[[dict], dict]  # request -> derived values (decision minute, calendar)
    views: tuple[View, ...]
    entity_id: str  # str.format over request + context: the mart's ENTITY_KEY for the row
    event_date: str  # request/context date naming the row's month (profiles, prediction log)
    decision_minute: str | None  # context value: minutes since the epoch, UTC
    entity_name: str  # one request (the service's name); its plural names the batch field
    plural: str
    example: dict  # one real request, for the docs, the demo and the tests
    finish: Callable[[dict], dict] | None = None  # last per-row derivations, in place
    # served output fields renamed for this problem (e.g. probability -> delay_probability)
    output_names: dict[str, str] = dc_field(default_factory=dict)

    def tables(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v.table for v in self.views))

    def parse(self, request: dict) -> dict:
        """A request from JSON-like values: dates and datetimes parsed from ISO text."""
        out = dict(request)
        for f in self.request_fields:
            value = out.get(f.name)
            if isinstance(value, str) and f.type is datetime:
                out[f.name] = datetime.fromisoformat(value)
            elif isinstance(value, str) and f.type is date:
                out[f.name] = date.fromisoformat(value)
        return out
