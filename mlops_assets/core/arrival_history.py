"""Request-time history windows: every arrival of one entity type as running sums.

The offline mart counts, for a decision at minute t, the flights of the same entity that
arrived in [t - w, t) (int_history__* models). Here all arrivals of one entity type are sorted
by (entity, minute) into one array of codes ``entity id << 32 | minute`` with running sums of
arrivals, delayed arrivals and delay minutes beside it; a window is then two binary searches
and three subtractions, for one request (``window``) or for a whole batch at once with numpy
(``windows``), and it counts only what had arrived before t however much later data the store
holds. Sums are integers, so the rates are the same IEEE divisions the warehouse does.
"""

import numpy as np
import polars as pl

MINUTES_PER_DAY = 1440
_SHIFT = 32  # minutes since 1970 stay below 2**32 until the year 10136


class EntityHistory:
    def __init__(self, arrivals: pl.DataFrame, key_columns: tuple[str, ...]):
        """``arrivals``: arrived_minute, delayed, arr_delay and the key columns (rows with a
        null key are left out, as the mart leaves them out)."""
        frame = arrivals.drop_nulls(list(key_columns)).with_columns(
            key_id=(pl.struct(key_columns).rank("dense") - 1).cast(pl.Int64)
        )
        ids = frame.select(*key_columns, "key_id").unique()
        self.ids = {tuple(row[:-1]): row[-1] for row in ids.iter_rows()}
        codes = frame.get_column("key_id") * (1 << _SHIFT) + frame.get_column(
            "arrived_minute"
        ).cast(pl.Int64)
        order = codes.arg_sort()
        self.codes = codes.gather(order).to_numpy()
        self.arrived = np.arange(len(self.codes) + 1, dtype=np.int64)
        self.delayed = _running(frame.get_column("delayed").gather(order))
        self.delay = _running(frame.get_column("arr_delay").gather(order))

    def key_ids(self, keys: list[tuple]) -> np.ndarray:
        """Entity ids of the keys; -1 for an entity with no arrivals (no history)."""
        return np.fromiter((self.ids.get(k, -1) for k in keys), dtype=np.int64, count=len(keys))

    def window(self, key: tuple, minute: int, days: tuple[int, ...]) -> list[tuple[int, int, int]]:
        """(arrived, delayed, delay minutes) of one entity over [minute - d, minute) for each
        window length d: one binary search for all bounds."""
        key_id = self.ids.get(key)
        if key_id is None:
            return [(0, 0, 0)] * len(days)
        code = key_id * (1 << _SHIFT) + minute
        bounds = [code - d * MINUTES_PER_DAY for d in days] + [code]
        at = self.codes.searchsorted(bounds)
        delayed, delay = self.delayed[at].tolist(), self.delay[at].tolist()
        at, last = at.tolist(), len(days)
        return [
            (at[last] - at[i], delayed[last] - delayed[i], delay[last] - delay[i])
            for i in range(last)
        ]

    def windows(
        self, key_ids: np.ndarray, minutes: np.ndarray, days: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The same for many requests at once (key id -1: nothing arrived)."""
        base = np.where(key_ids >= 0, key_ids * (1 << _SHIFT), -(1 << 62))
        hi = self.codes.searchsorted(base + minutes)
        lo = self.codes.searchsorted(base + minutes - days * MINUTES_PER_DAY)
        return hi - lo, self.delayed[hi] - self.delayed[lo], self.delay[hi] - self.delay[lo]


def _running(values: pl.Series) -> np.ndarray:
    """Running sums with a leading 0, so that a range's sum is one subtraction."""
    out = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(values.cast(pl.Int64).to_numpy(), out=out[1:])
    return out


def features(prefix: str, days: int, n, delayed, delay) -> dict:
    """The mart's three history features from a window's sums (0 arrivals: rates null)."""
    if isinstance(n, (int, np.integer)):
        return {
            f"{prefix}_{days}d_n_arrived": int(n),
            f"{prefix}_{days}d_delay_rate": delayed / n if n else None,
            f"{prefix}_{days}d_mean_arr_delay": delay / n if n else None,
        }
    with np.errstate(divide="ignore", invalid="ignore"):
        return {  # 0 / 0 is NaN here, and null in the mart
            f"{prefix}_{days}d_n_arrived": pl.Series(n, dtype=pl.Int64),
            f"{prefix}_{days}d_delay_rate": pl.Series(delayed / n).fill_nan(None),
            f"{prefix}_{days}d_mean_arr_delay": pl.Series(delay / n).fill_nan(None),
        }
