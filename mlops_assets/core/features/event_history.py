"""Request-time history windows: every event of one entity type as running sums.

The offline mart counts, for a decision at minute t, the events (e.g. arrivals) of the same
entity known in [t - w, t) (the int_history__* models for flights). Here all events of one
entity type are sorted by (entity, minute) into one array of codes ``entity id << 32 | minute``
with a running count and running sums of the averaged columns beside it; a window is then two
binary searches and a few subtractions, for one request (``window``) or for a whole batch at
once with numpy (``windows``), and it counts only what was known before t however much later
data the store holds. Sums are integers, so the means are the same IEEE divisions the warehouse
does.
"""

import numpy as np
import polars as pl

MINUTES_PER_DAY = 1440
_SHIFT = 32  # minutes since 1970 stay below 2**32 until the year 10136


class EntityHistory:
    def __init__(
        self,
        events: pl.DataFrame,
        key_columns: tuple[str, ...],
        time_column: str,
        sum_columns: tuple[str, ...],
    ):
        """``events``: the time column (minutes), the summed columns and the key columns (rows
        with a null key are left out, as the mart leaves them out)."""
        frame = events.drop_nulls(list(key_columns)).with_columns(
            key_id=(pl.struct(key_columns).rank("dense") - 1).cast(pl.Int64)
        )
        ids = frame.select(*key_columns, "key_id").unique()
        self.ids = {tuple(row[:-1]): row[-1] for row in ids.iter_rows()}
        codes = frame.get_column("key_id") * (1 << _SHIFT) + frame.get_column(time_column).cast(
            pl.Int64
        )
        order = codes.arg_sort()
        self.codes = codes.gather(order).to_numpy()
        count = np.arange(len(self.codes) + 1, dtype=np.int64)
        sums = [_running(frame.get_column(c).gather(order)) for c in sum_columns]
        # one row per quantity (count, then each sum): a window reads all of them at once
        self.running = np.vstack([count, *sums])

    def key_ids(self, keys: list[tuple]) -> np.ndarray:
        """Entity ids of the keys; -1 for an entity with no events (no history)."""
        return np.fromiter((self.ids.get(k, -1) for k in keys), dtype=np.int64, count=len(keys))

    def window(self, key: tuple, minute: int, days: tuple[int, ...]) -> list[tuple[int, ...]]:
        """(count, *sums) of one entity over [minute - d, minute) for each window length d:
        one binary search for all bounds."""
        key_id = self.ids.get(key)
        if key_id is None:
            return [(0,) * len(self.running)] * len(days)
        code = key_id * (1 << _SHIFT) + minute
        bounds = [code - d * MINUTES_PER_DAY for d in days] + [code]
        running = self.running[:, self.codes.searchsorted(bounds)].tolist()
        last = len(days)
        return [tuple(r[last] - r[i] for r in running) for i in range(last)]

    def windows(
        self, key_ids: np.ndarray, minutes: np.ndarray, days: int
    ) -> tuple[np.ndarray, ...]:
        """The same for many requests at once (key id -1: no events)."""
        base = np.where(key_ids >= 0, key_ids * (1 << _SHIFT), -(1 << 62))
        hi = self.codes.searchsorted(base + minutes)
        lo = self.codes.searchsorted(base + minutes - days * MINUTES_PER_DAY)
        return tuple(self.running[:, hi] - self.running[:, lo])


def _running(values: pl.Series) -> np.ndarray:
    """Running sums with a leading 0, so that a range's sum is one subtraction (integers stay
    integers: exact, like the warehouse's sums)."""
    exact = values.dtype.is_integer() or values.dtype == pl.Boolean
    kind = np.int64 if exact else np.float64
    out = np.zeros(len(values) + 1, dtype=kind)
    np.cumsum(values.cast(pl.Int64 if exact else pl.Float64).fill_null(0).to_numpy(), out=out[1:])
    return out
