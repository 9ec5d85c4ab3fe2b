"""The feature mart `flight_features` rebuilt in pandas from the raw tables: the third anchor
of benchmarks/features.py (what a data scientist might write without dbt or SQL).

Same definitions as the dbt models (decision = scheduled departure - 120 min; arrivals made
DST-safe in the destination's zone; weather as-of decision time; history over arrivals before
decision time in 7 and 30 day windows), vectorized per entity with sorted searches. `--check`
compares every column with the warehouse's `marts.flight_features`; `--compare` does the same
for a mart written earlier with `--out`, inside DuckDB (what benchmarks/features.py runs: at
10 M rows the two marts do not fit in memory together).

    python benchmarks/features_pandas.py data/warehouse.duckdb --check
    python benchmarks/features_pandas.py data/warehouse.duckdb --out mart.parquet
    python benchmarks/features_pandas.py data/warehouse.duckdb --compare mart.parquet
"""

import argparse
import os
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
DECISION_LEAD_MINUTES = 120
DELAY_THRESHOLD_MINUTES = 15
WINDOWS_DAYS = (7, 30)
HISTORY = {
    "route": ["origin", "dest"],
    "carrier": ["carrier"],
    "origin_hour": ["origin", "sched_dep_hour"],
    "tailnum": ["tailnum"],
}
WEATHER = {
    "temp": "temp_f",
    "dewp": "dewpoint_f",
    "humid": "humidity_pct",
    "wind_dir": "wind_dir_deg",
    "wind_speed": "wind_speed_mph",
    "wind_gust": "wind_gust_mph",
    "precip": "precip_inches",
    "pressure": "pressure_mb",
    "visib": "visibility_miles",
}
# (month, fixed day, weekday Sunday=0, nth; -1 = last), as in int_us_holidays.sql
HOLIDAY_RULES = [
    (1, 1, None, None),
    (1, None, 1, 3),
    (2, None, 1, 3),
    (5, None, 1, -1),
    (7, 4, None, None),
    (9, None, 1, 1),
    (10, None, 1, 2),
    (11, 11, None, None),
    (11, None, 4, 4),
    (12, 25, None, None),
]


def _naive_utc(series: pd.Series) -> pd.Series:
    return series.dt.tz_convert("UTC").dt.tz_localize(None)


def flights_frame(raw: pd.DataFrame) -> pd.DataFrame:
    f = pd.DataFrame(
        {
            "flight_id": raw["year"].astype(str)
            + "-"
            + raw["month"].astype(str).str.zfill(2)
            + "-"
            + raw["day"].astype(str).str.zfill(2)
            + "_"
            + raw["carrier"]
            + "_"
            + raw["flight"].astype(str)
            + "_"
            + raw["origin"],
            "flight_date": pd.to_datetime(
                dict(year=raw["year"], month=raw["month"], day=raw["day"])
            ),
            "year": raw["year"],
            "month": raw["month"],
            "carrier": raw["carrier"],
            "flight_number": raw["flight"],
            "tailnum": raw["tailnum"],
            "origin": raw["origin"],
            "dest": raw["dest"],
            "distance_miles": raw["distance"],
            "sched_dep_hour": raw["hour"],
            "sched_dep_minute": raw["minute"],
        }
    )
    f["day_of_week"] = f["flight_date"].dt.day_of_week + 1
    hour_utc = _naive_utc(raw["time_hour"])
    f["scheduled_departure_utc"] = hour_utc + pd.to_timedelta(raw["minute"], unit="m")
    f["decision_at_utc"] = f["scheduled_departure_utc"] - pd.Timedelta(
        minutes=DECISION_LEAD_MINUTES
    )
    f["_hour_utc"] = hour_utc
    return f


def _local_to_utc(local: pd.Series, zone: str) -> pd.Series:
    return (
        local.dt.tz_localize(zone, ambiguous=True, nonexistent="shift_forward")
        .dt.tz_convert("UTC")
        .dt.tz_localize(None)
    )


def outcomes_frame(raw: pd.DataFrame, f: pd.DataFrame, zones: pd.Series) -> pd.DataFrame:
    """Arrived flights with the instant their outcome became known (int_flight_outcomes)."""
    keep = raw["arr_delay"].notna() & raw["dep_delay"].notna() & raw["arr_time"].notna()
    o = f.loc[keep, ["flight_id", "carrier", "origin", "dest", "tailnum", "sched_dep_hour"]]
    raw = raw[keep]
    departed = f.loc[keep, "_hour_utc"] + pd.to_timedelta(
        raw["minute"] + raw["dep_delay"], unit="m"
    )
    arr_minutes = raw["arr_time"] // 100 * 60 + raw["arr_time"] % 100
    arrived = pd.Series(pd.NaT, index=o.index, dtype="datetime64[ns]")
    zone = o["dest"].map(zones)
    for name, rows in zone.groupby(zone).groups.items():
        dep = departed.loc[rows]
        local_date = (
            dep.dt.tz_localize("UTC").dt.tz_convert(name).dt.tz_localize(None).dt.floor("D")
        )
        same_local = local_date + pd.to_timedelta(arr_minutes.loc[rows], unit="m")
        same = _local_to_utc(same_local, name)
        nxt = _local_to_utc(same_local + pd.Timedelta(days=1), name)
        arrived.loc[rows] = same.where(same >= dep, nxt)
    o = o.assign(
        arrived_at_utc=arrived,
        arr_delay_minutes=raw["arr_delay"],
        is_delayed=raw["arr_delay"] > DELAY_THRESHOLD_MINUTES,
    )
    return o


def holidays(years: range) -> np.ndarray:
    out = []
    for year in years:
        for month, fixed, weekday, nth in HOLIDAY_RULES:
            first = date(year, month, 1)
            if fixed is not None:
                out.append(date(year, month, fixed))
                continue
            dow = lambda d: (d.weekday() + 1) % 7  # noqa: E731  Sunday = 0, as DuckDB
            if nth > 0:
                out.append(
                    first + pd.Timedelta(days=(weekday - dow(first) + 7) % 7 + 7 * (nth - 1))
                )
            else:
                end = (pd.Timestamp(first) + pd.offsets.MonthEnd(0)).date()
                out.append(end - pd.Timedelta(days=(dow(end) - weekday + 7) % 7))
    return np.sort(pd.to_datetime(out).values)


def days_to_nearest_holiday(dates: pd.Series, years: range) -> pd.Series:
    h = holidays(years)
    d = dates.values
    i = np.clip(np.searchsorted(h, d), 1, len(h) - 1)
    before, after = np.abs(d - h[i - 1]), np.abs(h[i] - d)
    return pd.Series(np.minimum(before, after) // np.timedelta64(1, "D"), index=dates.index)


def weather_asof(f: pd.DataFrame, weather: pd.DataFrame) -> pd.DataFrame:
    w = weather.rename(columns=WEATHER)[["origin", *WEATHER.values()]].assign(
        observed_at_utc=_naive_utc(weather["time_hour"])
    )
    left = f[["flight_id", "origin", "decision_at_utc"]].sort_values("decision_at_utc")
    joined = pd.merge_asof(
        left,
        w.sort_values("observed_at_utc"),
        left_on="decision_at_utc",
        right_on="observed_at_utc",
        by="origin",
        direction="backward",
    )
    joined["weather_age_minutes"] = (
        joined["decision_at_utc"] - joined["observed_at_utc"]
    ) // pd.Timedelta(minutes=1)
    return joined.drop(columns=["origin", "decision_at_utc", "observed_at_utc"])


def _epoch_minute(ts: pd.Series) -> np.ndarray:
    return ts.values.astype("datetime64[m]").astype(np.int64)


def history(f: pd.DataFrame, o: pd.DataFrame, prefix: str, keys: list[str]) -> pd.DataFrame:
    """Arrivals in (decision - days, decision) per entity, by sorted search per group."""
    arrivals = o.dropna(subset=keys)
    decisions = f.dropna(subset=keys)
    groups = pd.concat([arrivals[keys], decisions[keys]]).drop_duplicates().reset_index(drop=True)
    groups["_g"] = np.arange(len(groups), dtype=np.int64)
    span = np.int64(1) << 32
    a = arrivals.merge(groups, on=keys)
    a_key = a["_g"].values * span + _epoch_minute(a["arrived_at_utc"])
    order = np.argsort(a_key, kind="stable")
    a_key = a_key[order]
    sums = {
        "n": np.ones(len(a)),
        "delayed": a["is_delayed"].values.astype(float),
        "delay": a["arr_delay_minutes"].values.astype(float),
    }
    cum = {k: np.concatenate([[0.0], np.cumsum(v[order])]) for k, v in sums.items()}
    d = decisions[["flight_id", "decision_at_utc", *keys]].merge(groups, on=keys)
    last = d["_g"].values * span + _epoch_minute(d["decision_at_utc"]) - 1
    out = pd.DataFrame({"flight_id": d["flight_id"].values})
    for days in WINDOWS_DAYS:
        hi = np.searchsorted(a_key, last, side="right")
        lo = np.searchsorted(a_key, last - (days * 1440 - 1), side="left")
        n = cum["n"][hi] - cum["n"][lo]
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"{prefix}_{days}d_n_arrived"] = n.astype(np.int64)
            out[f"{prefix}_{days}d_delay_rate"] = np.where(
                n > 0, (cum["delayed"][hi] - cum["delayed"][lo]) / n, np.nan
            )
            out[f"{prefix}_{days}d_mean_arr_delay"] = np.where(
                n > 0, (cum["delay"][hi] - cum["delay"][lo]) / n, np.nan
            )
    return out


def build(raw: dict[str, pd.DataFrame], overrides: pd.DataFrame) -> pd.DataFrame:
    f = flights_frame(raw["flights"])
    zones = pd.concat(
        [
            raw["airports"][["faa", "tzone"]],
            overrides[~overrides["faa"].isin(raw["airports"]["faa"])][["faa", "tzone"]],
        ]
    ).set_index("faa")["tzone"]
    o = outcomes_frame(raw["flights"], f, zones)
    years = range(int(f["year"].min()) - 1, int(f["year"].max()) + 2)
    planes = raw["planes"].rename(
        columns={
            "year": "year_built",
            "type": "plane_type",
            "seats": "plane_seats",
            "engines": "plane_engines",
        }
    )[["tailnum", "year_built", "plane_type", "plane_seats", "plane_engines"]]
    mart = f.merge(o[["flight_id", "is_delayed"]], on="flight_id", how="inner")
    mart["days_to_nearest_holiday"] = days_to_nearest_holiday(mart["flight_date"], years)
    mart = mart.merge(planes, on="tailnum", how="left", indicator=True)
    mart["is_plane_known"] = mart.pop("_merge") == "both"
    mart["plane_age_years"] = mart["year"] - mart.pop("year_built")
    mart["plane_type"] = mart["plane_type"].fillna("unknown")
    mart = mart.merge(weather_asof(f, raw["weather"]), on="flight_id", how="left")
    for prefix, keys in HISTORY.items():
        mart = mart.merge(history(f, o, prefix, keys), on="flight_id", how="left")
        for days in WINDOWS_DAYS:
            column = f"{prefix}_{days}d_n_arrived"
            mart[column] = mart[column].fillna(0).astype(np.int64)
    return mart.drop(columns=["_hour_utc", "year"])


def read_raw(database: str) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    with duckdb.connect(database, read_only=True) as conn:
        raw = {
            t: conn.sql(f"SELECT * FROM raw.{t}").df()
            for t in ("flights", "weather", "planes", "airports")
        }
    overrides = pd.read_csv(ROOT / "dbt_project" / "seeds" / "airport_timezone_overrides.csv")
    return raw, overrides


def compare(mart: pd.DataFrame, database: str) -> dict[str, int]:
    """Mismatching rows per column against the dbt mart (numbers to 1e-9, NaN = NaN)."""
    with duckdb.connect(database, read_only=True) as conn:
        dbt = conn.sql("SELECT * FROM marts.flight_features").df()
    if len(dbt) != len(mart):
        return {"<row count>": abs(len(dbt) - len(mart))}
    a = dbt.sort_values("flight_id").reset_index(drop=True)
    b = mart.sort_values("flight_id").reset_index(drop=True)
    mismatches = {}
    for column in a.columns:
        x, y = a[column], b.get(column)
        if y is None:
            mismatches[column] = len(a)
            continue
        if pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x):
            xv, yv = x.astype(float).values, pd.to_numeric(y).astype(float).values
            bad = ~(np.isclose(xv, yv, atol=1e-9, rtol=0) | (np.isnan(xv) & np.isnan(yv)))
        else:
            bad = ~((x.astype(str).values == y.astype(str).values) | (x.isna() & y.isna()).values)
        if bad.sum():
            mismatches[column] = int(bad.sum())
    return mismatches


def compare_parquet(parquet: str, database: str) -> dict[str, int]:
    """The same comparison for a mart already written as Parquet, done inside DuckDB (a join
    that spills to disk) instead of holding both marts in memory, which at 10 M rows does not
    fit in 24 GB: each Parquet value cast to the mart column's type, numbers to 1e-9, NULL =
    NULL."""
    with duckdb.connect(database, read_only=True) as conn:
        conn.execute("SET memory_limit = ?", [os.environ.get("DUCKDB_MEMORY_LIMIT", "80%")])
        ours = conn.execute("DESCRIBE marts.flight_features").fetchall()
        theirs = {
            row[0] for row in conn.execute(f"DESCRIBE FROM read_parquet('{parquet}')").fetchall()
        }
        rows = conn.execute("SELECT count(*) FROM marts.flight_features").fetchone()[0]
        mismatches = {name: rows for name, *_ in ours if name not in theirs}
        counts = []
        for name, kind, *_ in ours:
            if name in mismatches:
                continue
            a, b = f'm."{name}"', f'TRY_CAST(p."{name}" AS {kind})'
            if kind in ("DOUBLE", "FLOAT") or kind.startswith("DECIMAL"):
                close = f"coalesce({a} = {b} OR abs({a} - {b}) <= 1e-9, false)"
                bad = f"NOT ({close} OR ({a} IS NULL AND {b} IS NULL))"
            else:
                bad = f"{a} IS DISTINCT FROM {b}"
            counts.append(f'count(*) FILTER (WHERE {bad}) AS "{name}"')
        row = conn.execute(
            f"SELECT {', '.join(counts)} FROM marts.flight_features AS m "
            f"FULL JOIN read_parquet('{parquet}') AS p ON m.flight_id = p.flight_id"
        )
        names = [d[0] for d in row.description]
        mismatches.update({n: v for n, v in zip(names, row.fetchone(), strict=True) if v})
    return mismatches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database")
    parser.add_argument("--out", help="write the mart as Parquet here")
    parser.add_argument("--check", action="store_true")
    parser.add_argument(
        "--compare", metavar="PARQUET", help="no build: compare a mart written by --out"
    )
    args = parser.parse_args()
    if args.compare:
        mismatches = compare_parquet(args.compare, args.database)
    else:
        started = time.perf_counter()
        raw, overrides = read_raw(args.database)
        mart = build(raw, overrides)
        if args.out:
            mart.to_parquet(args.out)
        print(f"pandas mart: {len(mart):,} rows in {time.perf_counter() - started:.1f} s")
        if not args.check:
            return
        mismatches = compare(mart, args.database)
    print("identical to marts.flight_features" if not mismatches else f"differs: {mismatches}")
    sys.exit(1 if mismatches else 0)


if __name__ == "__main__":
    main()
