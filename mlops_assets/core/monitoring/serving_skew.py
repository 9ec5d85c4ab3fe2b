"""Training-serving skew: the features the service computes for a request, against the mart's
row for the same entity (the features the model learnt from).

The mart computes features in SQL (dbt); the service computes them again from the online store,
as ``dataset/serving.py`` declares (lookups, as-of joins, history windows, ``finish``). The two
are written separately, so nothing but a comparison shows that they agree. Requests come from
the prediction log (what callers really asked, as the service parsed them); their features are
computed again from the current online store, which, counting only what was known before each
decision, gives what the service computes for that request. So this judges the declaration:
a feature the service computes differently from the mart. (Answers served while the store was
behind are reported per request as ``stale_minutes``, not here.)
"""

import json

import polars as pl

from mlops_assets.core.serving.prediction_log import REDACTED

TOLERANCE = 1e-9  # numbers closer than this agree (sums of floats in another order)


def logged_requests(log: pl.DataFrame, limit: int, seed: int = 0) -> tuple[list[dict], int]:
    """Up to ``limit`` logged requests of distinct entities (a fixed random sample), as the
    service parsed them; and how many were left out because an input was redacted."""
    if log.is_empty():
        return [], 0
    distinct = log.filter(pl.col("request").is_not_null()).unique("entity_id", keep="first")
    requests = [json.loads(text) for text in distinct.sort("entity_id").get_column("request")]
    kept = [r for r in requests if REDACTED not in r.values()]
    redacted = len(requests) - len(kept)
    if len(kept) > limit:
        picked = pl.Series(range(len(kept))).sample(limit, seed=seed).sort().to_list()
        kept = [kept[i] for i in picked]
    return kept, redacted


def _differ(a: pl.Series, b: pl.Series) -> pl.Series:
    """Where two columns disagree: numbers beyond ``TOLERANCE``, other values unequal, or a
    null on one side only."""
    if a.dtype.is_numeric() or a.dtype == pl.Boolean:
        a, b = a.cast(pl.Float64), b.cast(pl.Float64, strict=False)
        return (a - b).abs().gt(TOLERANCE).fill_null(False) | (a.is_null() != b.is_null())
    a, b = a.cast(pl.String), b.cast(pl.String)
    return (a != b).fill_null(True) & ~(a.is_null() & b.is_null())


def feature_differences(
    offline: pl.DataFrame, online: pl.DataFrame, features: list[str]
) -> dict[str, int]:
    """Rows per feature where the two frames (same rows, same order) differ."""
    return {name: int(_differ(offline[name], online[name]).sum()) for name in features}


def _plain(value):
    """A value as JSON metadata holds it (dates and times as ISO text)."""
    return value if value is None or isinstance(value, (bool, int, float, str)) else str(value)


def first_differences(
    offline: pl.DataFrame, online: pl.DataFrame, ids: pl.Series, features: list[str], n: int = 5
) -> list[dict]:
    """The first differing value of up to ``n`` features, to show where to look."""
    out = []
    for name in features:
        rows = _differ(offline[name], online[name]).arg_true()
        if len(rows):
            i = int(rows[0])
            out.append(
                {
                    "entity_id": ids[i],
                    "feature": name,
                    "mart": _plain(offline[name][i]),
                    "served": _plain(online[name][i]),
                }
            )
        if len(out) >= n:
            break
    return out
