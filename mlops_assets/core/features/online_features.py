"""Feature rows from what a caller knows at decision time plus the online store.

Derived entirely from the dataset's serving declaration (``core/features/feature_views.py``):
attributes are dict gets, as-of observations and history windows are binary searches over
arrays sorted by (entity, minute), counting only what was known before the request's decision
time, with the mart's own window rules. So the online features of a row equal its offline
(mart) features whatever later data the store holds: the ``serving_skew`` asset checks it for
each month's logged requests, on any dataset (for flights,
``tests/dataset/test_online_parity.py`` checks every flight of the year). ``row`` serves one
request; ``frame`` serves many at once, columnar, with the same values.
"""

import calendar
from bisect import bisect_right
from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl

from mlops_assets.core.features.event_history import EntityHistory
from mlops_assets.core.features.feature_views import (
    AsOf,
    History,
    Lookup,
    ServingContract,
)
from mlops_assets.core.features.online_store import current_store, read_frame, read_tables
from mlops_assets.dataset import problem

_SHIFT = 1 << 32


class UnknownEntityError(ValueError):
    """A request naming an entity the store does not know; ``field`` says which input."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def serving_contract() -> ServingContract:
    """The dataset's declaration (imported late: the dataset module imports this package)."""
    from mlops_assets.dataset.serving import SERVING

    return SERVING


def _plain(value):
    """Keys as the SQLite store holds them: ISO text for dates and times."""
    return value.isoformat() if isinstance(value, (date, datetime)) else value


def _minute(value) -> int:
    """Minutes since the epoch, UTC, from an ISO timestamp (naive = UTC) or a minute count."""
    if isinstance(value, (int, np.integer)):
        return int(value)
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return calendar.timegm(moment.utctimetuple()) // 60


def _refuse(view, values: dict, key: tuple) -> UnknownEntityError:
    field = view.field or next(iter(view.key.values()))
    value = values.get(field, key[-1])
    return UnknownEntityError(field, view.required.format(**values, value=value))


class _LookupIndex:
    def __init__(self, view: Lookup, rows: list[dict]):
        self.view = view
        self.rows: dict[tuple, tuple[list, list[dict]]] = {}
        since = view.effective_from[0] if view.effective_from else None
        for r in sorted(rows, key=lambda r: r[since]) if since else rows:
            dates, found = self.rows.setdefault(tuple(r[c] for c in view.key), ([], []))
            dates.append(date.fromisoformat(r[since]) if since else None)
            found.append(r)

    def features(self, values: dict) -> dict:
        view = self.view
        key = tuple(_plain(values[name]) for name in view.key.values())
        entry = self.rows.get(key)
        if entry is None:
            if view.required:
                raise _refuse(view, values, key)
            out = {f: view.defaults.get(f) for f in view.features}
        else:
            dates, rows = entry
            at = 0
            if view.effective_from:
                at = max(0, bisect_right(dates, values[view.effective_from[1]]) - 1)
            out = {f: rows[at][c] for f, c in view.features.items()}
        if view.found_feature:
            out[view.found_feature] = entry is not None
        return out


class _AsOfIndex:
    """Observations sorted by (key, minute), coded as key id << 32 | minute, with a row of nulls
    at the end for a decision before a key's first observation."""

    def __init__(self, view: AsOf, rows: list[dict]):
        self.view = view
        key_of = {k: i for i, k in enumerate(sorted({tuple(r[c] for c in view.key) for r in rows}))}
        self.key_ids = key_of
        ordered = sorted(
            rows,
            key=lambda r: (key_of[tuple(r[c] for c in view.key)], _minute(r[view.time_column])),
        )
        minutes = [_minute(r[view.time_column]) for r in ordered]
        self.codes = np.array(
            [
                key_of[tuple(r[c] for c in view.key)] * _SHIFT + m
                for r, m in zip(ordered, minutes, strict=True)
            ],
            dtype=np.int64,
        )
        self.by_key: dict[tuple, tuple[list[int], list[dict]]] = {}
        for r, m in zip(ordered, minutes, strict=True):
            times, found = self.by_key.setdefault(tuple(r[c] for c in view.key), ([], []))
            times.append(m)
            found.append(r)
        self.frame = pl.DataFrame(
            {f: [r.get(f) for r in [*ordered, {}]] for f in view.features}, strict=True
        )

    def key(self, values: dict) -> tuple:
        key = tuple(_plain(values[name]) for name in self.view.key.values())
        if self.view.required and key not in self.key_ids:
            raise _refuse(self.view, {**values, "known": sorted(k[-1] for k in self.key_ids)}, key)
        return key

    def features(self, values: dict, minute: int) -> dict:
        times, rows = self.by_key.get(self.key(values), ([], []))
        at = bisect_right(times, minute) - 1  # the latest observation at or before decision
        observed = rows[at] if at >= 0 else {}
        out = {}
        if self.view.age_feature:
            out[self.view.age_feature] = minute - times[at] if at >= 0 else None
        out.update({f: observed.get(f) for f in self.view.features})
        return out

    def columns(self, keys: list[tuple], minutes: np.ndarray) -> dict[str, pl.Series]:
        ids = np.fromiter((self.key_ids.get(k, -1) for k in keys), np.int64, len(keys))
        at = self.codes.searchsorted(ids * _SHIFT + minutes, "right") - 1
        found = (ids >= 0) & (at >= 0) & (self.codes[np.maximum(at, 0)] // _SHIFT == ids)
        index = np.where(found, at, len(self.codes))
        out = {}
        if self.view.age_feature:
            observed = self.codes[np.where(found, at, 0)] % _SHIFT
            out[self.view.age_feature] = (
                pl.Series(np.where(found, minutes - observed, np.nan)).fill_nan(None).cast(pl.Int64)
            )
        rows = self.frame[index]
        out.update({f: rows.get_column(f) for f in self.view.features})
        return out


class _HistoryIndex:
    """Per entity: its events as running sums, and the plan of which window reads what."""

    def __init__(self, view: History, events: pl.DataFrame):
        self.view = view
        self.latest = int(events.get_column(view.time_column).max() or 0)
        # per entity: key names, history, the window lengths, and per feature
        # (feature, index of its length, stat, index of its summed column)
        self.plan = []
        for entity, key in view.entities.items():
            windows = [w for w in view.windows if w.entity == entity]
            columns = tuple(dict.fromkeys(w.column for w in windows if w.column))
            days = tuple(sorted({w.days for w in windows}))
            history = EntityHistory(events, tuple(key), view.time_column, columns)
            reads = [
                (
                    w.feature,
                    days.index(w.days),
                    w.stat,
                    columns.index(w.column) + 1 if w.column else 0,
                )
                for w in windows
            ]
            self.plan.append((tuple(key.values()), history, days, reads))

    def features(self, values: dict, minute: int) -> dict:
        out = {}
        for key_names, history, days, reads in self.plan:
            sums = history.window(tuple(values[name] for name in key_names), minute, days)
            for feature, at, stat, column in reads:
                n = sums[at][0]
                if stat == "count":
                    out[feature] = n
                elif stat == "sum":
                    out[feature] = sums[at][column] if n else None  # SQL: no rows, no sum
                else:
                    out[feature] = sums[at][column] / n if n else None
        return out

    def columns(self, values: list[dict], minutes: np.ndarray) -> dict[str, pl.Series]:
        out = {}
        for key_names, history, days, reads in self.plan:
            ids = history.key_ids([tuple(v[name] for name in key_names) for v in values])
            sums = [history.windows(ids, minutes, d) for d in days]
            for feature, at, stat, column in reads:
                n = sums[at][0]
                if stat == "count":
                    out[feature] = pl.Series(n, dtype=pl.Int64)
                    continue
                total = pl.Series(sums[at][column])
                if stat == "sum":
                    out[feature] = total.set(pl.Series(n == 0), None)
                else:
                    with np.errstate(divide="ignore", invalid="ignore"):  # 0 / 0: null
                        out[feature] = pl.Series(sums[at][column] / n).fill_nan(None)
        return out


class OnlineFeatures:
    """The current online store, held in memory and indexed as the declaration says."""

    def __init__(
        self,
        tables: dict[str, list[dict]],
        frames: dict[str, pl.DataFrame],
        path: Path | None,
        contract: ServingContract | None = None,
    ):
        self.path = path
        self.contract = contract or serving_contract()
        self.lookups = [_LookupIndex(v, tables[v.table]) for v in self._views(Lookup)]
        self.as_ofs = [_AsOfIndex(v, tables[v.table]) for v in self._views(AsOf)]
        self.histories = [_HistoryIndex(v, frames[v.table]) for v in self._views(History)]
        self.ordered = [*self.as_ofs, *self.lookups]
        self.ordered.sort(key=lambda index: self.contract.views.index(index.view))
        # The first decision minute the store may not cover: its as_of (it holds what was
        # known before), or a minute after its latest event (windows count events before the
        # decision). A later decision is answered with the history known then, and says by how
        # much (stale_minutes).
        as_of = {r["name"]: r["value"] for r in tables.get("online_meta", [])}.get("as_of")
        self.horizon_minute = (
            _minute(as_of)
            if as_of and as_of != "latest"
            else max((h.latest + 1 for h in self.histories), default=0)
        )
        self.feature_names = set(problem.FEATURES)

    def _views(self, kind) -> list:
        return [v for v in self.contract.views if isinstance(v, kind)]

    @classmethod
    def open(cls, root: Path, contract: ServingContract | None = None) -> "OnlineFeatures":
        contract = contract or serving_contract()
        path = current_store(root)
        histories = {v.table for v in contract.views if isinstance(v, History)}
        frames = {t: read_frame(path, t) for t in histories}
        return cls(read_tables(path), frames, path, contract)

    def values(self, request: dict) -> dict:
        """The request with its derived context (calendar fields, decision minute)."""
        return {**request, **self.contract.context(request)}

    def _static(self, values: dict) -> tuple[dict, int | None]:
        """Request/context features and looked-up attributes; raises on an unknown entity."""
        minute_name = self.contract.decision_minute
        minute = values[minute_name] if minute_name else None
        row = {k: v for k, v in values.items() if k in self.feature_names}
        for index in self.ordered:
            if isinstance(index, _LookupIndex):
                row.update(index.features(values))
            else:
                index.key(values)  # refuses an unknown key in declaration order
        if self.contract.finish:
            self.contract.finish(row, values)
        return row, minute

    def row(self, request: dict) -> dict:
        """One feature row, or UnknownEntityError naming the offending field."""
        values = self.values(request)
        row, minute = self._static(values)
        for index in self.as_ofs:
            row.update(index.features(values, minute))
        for index in self.histories:
            row.update(index.features(values, minute))
        return row

    def rows(self, requests: list[dict]) -> list[dict]:
        """Feature rows for many requests, in request order, for ``Predictor.predict_rows``."""
        return [self.row(r) for r in requests]

    def frame(self, requests: list[dict]) -> pl.DataFrame:
        """The same feature rows for many requests as one frame, computed column-wise: the
        many-row path (``Predictor.predict_frame``). Raises as ``row`` does."""
        values = [self.values(r) for r in requests]
        static, minutes = [], []
        for v in values:
            row, minute = self._static(v)
            static.append(row)
            minutes.append(minute or 0)
        at = np.array(minutes, dtype=np.int64)
        columns: dict[str, pl.Series] = {}
        for index in self.as_ofs:
            keys = [tuple(_plain(v[n]) for n in index.view.key.values()) for v in values]
            columns.update(index.columns(keys, at))
        for index in self.histories:
            columns.update(index.columns(values, at))
        return pl.DataFrame(static, infer_schema_length=None).hstack(
            [s.alias(name) for name, s in columns.items()]
        )

    def stale_minutes(self, request: dict) -> int:
        """How far the request's decision time lies past what the store knows (0: covered)."""
        if not self.contract.decision_minute:
            return 0
        return max(0, self.values(request)[self.contract.decision_minute] - self.horizon_minute)

    def entity_id(self, request: dict) -> str:
        """The mart's entity key for the request's row (the prediction log's join key)."""
        return self.contract.entity_id.format(**self.values(request))

    def month(self, request: dict) -> str:
        """The ``YYYY-MM`` the request's row belongs to (serving profiles, the log)."""
        return self.values(request)[self.contract.event_date].strftime("%Y-%m")
