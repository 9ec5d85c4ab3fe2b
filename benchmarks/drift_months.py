"""Does drift mean something? Months April..December judged under today's fixed thresholds and
under thresholds calibrated on the training months, plus an injected shift that must still fire.

    DUCKDB_DATABASE=data/warehouse.duckdb python benchmarks/drift_months.py

Reads ``marts.flight_features`` (read-only; all of 2013 must be there: `make features`). Each
month is profiled once, as arrival_drift does (every flight of the month); a reference is the
merge of its train months' profiles (within 0.002 of profiling them at once), and its
calibration compares each train month with the others (core/monitoring/drift_calibration.py).

Two ways to pick the reference a month M is judged against:
  fresh  the train split of the retrain tested on M (``train_months`` months, then one
         validation month, then M), as if a model were always retrained just in time;
  loop   what the retraining loop does: the bootstrap model of ``make demo`` (trained on
         January only, tested on March) until a month fires, then the retrain tested on that
         month; each rule runs its own loop, so a quiet rule keeps an older reference.
The injected shift is month M's evening Newark departures only (origin EWR, scheduled hour
>= 17), what the demo injects; in each mode it is judged against the calibrated rule's
reference for M. Tolerance and seasonal features come from MonitoringPolicy once it has
``drift_tolerance`` and ``seasonal_drift_features`` (until then 2.0 and temp_f, dewpoint_f), or
from --tolerance / --seasonal. Exits 1 if a step fails (missing months, an error), 2 if the
calibrated rule misses an injected shift.
"""

import argparse
import os
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
import polars as pl  # noqa: E402

from mlops_assets.core.monitoring.drift import feature_drift  # noqa: E402
from mlops_assets.core.monitoring.drift_calibration import calibrate, monthly_profiles  # noqa: E402
from mlops_assets.core.monitoring.profiling import merge  # noqa: E402
from mlops_assets.core.training.training_data import SplitSpec  # noqa: E402
from mlops_assets.dataset.problem import (  # noqa: E402
    CATEGORICAL_FEATURES,
    EVENT_DATE,
    FEATURE_TABLE,
    NUMERIC_FEATURES,
)
from mlops_assets.resources.monitoring_policy import MonitoringPolicy  # noqa: E402

MONTHS = [f"2013-{m:02d}" for m in range(1, 13)]
JUDGED = MONTHS[3:]  # April..December: January..March are what the first model learns from
INJECTED = (pl.col("origin") == "EWR") & (pl.col("sched_dep_hour") >= 17)
BOOTSTRAP = SplitSpec(test_month="2013-03", train_months=1)  # replay.bootstrap for April
# Until MonitoringPolicy has drift_tolerance and seasonal_drift_features, these stand in.
DEFAULT_TOLERANCE = 2.0
DEFAULT_SEASONAL = ("temp_f", "dewpoint_f")


@dataclass(frozen=True)
class Verdict:
    flagged: list[str]
    fires: bool


def train_months(spec: SplitSpec) -> list[str]:
    lo, hi = spec.bounds()["train"]
    return [m for m in MONTHS if lo <= date.fromisoformat(f"{m}-01") < hi]


class Judge:
    """The month profiles, and both rules against any training set's months."""

    def __init__(self, frame: pl.DataFrame, args, policy: MonitoringPolicy):
        columns = (*CATEGORICAL_FEATURES, *NUMERIC_FEATURES)
        self.months = monthly_profiles(frame, EVENT_DATE, columns)
        missing = [m for m in MONTHS if m not in self.months]
        if missing:
            raise SystemExit(f"{FEATURE_TABLE} lacks months {missing}: run `make features`")
        self.injected = monthly_profiles(frame.filter(INJECTED), EVENT_DATE, columns)
        self.cat = tuple(c for c in CATEGORICAL_FEATURES if c not in policy.exclude_features)
        self.num = tuple(c for c in NUMERIC_FEATURES if c not in policy.exclude_features)
        self.policy, self.args = policy, args
        self._cache: dict[tuple[str, ...], tuple] = {}

    def reference(self, months: list[str]):
        key = tuple(months)
        if key not in self._cache:
            views = {m: self.months[m] for m in months}
            calibration = calibrate(views, self.cat, self.num)
            thresholds = None
            if calibration is not None:
                thresholds = calibration.thresholds(
                    self.args.tolerance,
                    self.policy.ks_threshold,
                    self.policy.hellinger_threshold,
                    self.args.seasonal,
                )
            self._cache[key] = (merge(list(views.values())), thresholds)
        return self._cache[key]

    def verdict(self, view, months: list[str], calibrated: bool) -> Verdict:
        reference, thresholds = self.reference(months)
        report = feature_drift(
            view,
            reference,
            self.cat,
            self.num,
            self.policy.ks_threshold,
            self.policy.hellinger_threshold,
            thresholds if calibrated else None,
        )
        flagged = [f.feature for f in report.drifted]
        return Verdict(flagged, len(flagged) >= self.policy.min_drifted_features)


def fresh(judge: Judge, policy: MonitoringPolicy) -> list[dict]:
    rows = []
    for month in JUDGED:
        train = train_months(SplitSpec(test_month=month, train_months=policy.train_months))
        rows.append(
            {
                "month": month,
                "fixed_train": train,
                "calibrated_train": train,
                "fixed": judge.verdict(judge.months[month], train, False),
                "calibrated": judge.verdict(judge.months[month], train, True),
                "injected": judge.verdict(judge.injected[month], train, True),
            }
        )
    return rows


def loop(judge: Judge, policy: MonitoringPolicy) -> list[dict]:
    production = {"fixed": BOOTSTRAP, "calibrated": BOOTSTRAP}
    rows = []
    for month in JUDGED:
        row = {"month": month}
        for rule in production:
            train = train_months(production[rule])
            row[f"{rule}_train"] = train
            row[rule] = judge.verdict(judge.months[month], train, rule == "calibrated")
            if rule == "calibrated":
                row["injected"] = judge.verdict(judge.injected[month], train, True)
            if row[rule].fires:  # the retrain the sensor asks for, promoted
                production[rule] = SplitSpec(test_month=month, train_months=policy.train_months)
        rows.append(row)
    return rows


def span(months: list[str]) -> str:
    return months[0][5:] if len(months) == 1 else f"{months[0][5:]}..{months[-1][5:]}"


def show(mode: str, rows: list[dict], policy: MonitoringPolicy) -> int:
    """Print one mode's table and summary; return how many injected shifts were missed."""
    fails = policy.min_drifted_features

    def cell(v: Verdict) -> str:
        return f"{len(v.flagged):>2} {'FIRE' if v.fires else 'ok  '}"

    print(f"\n{mode}: features flagged (a month fires at >= {fails})")
    print("month    train(fixed/calib)  fixed    calibrated  injected   calibrated flags")
    for r in rows:
        trains = f"{span(r['fixed_train'])}/{span(r['calibrated_train'])}"
        print(
            f"{r['month']}  {trains:<18}  {cell(r['fixed'])}  {cell(r['calibrated'])}   "
            f"{cell(r['injected'])}    {', '.join(r['calibrated'].flagged) or '-'}"
        )
    fixed = sum(r["fixed"].fires for r in rows)
    calibrated = sum(r["calibrated"].fires for r in rows)
    caught = sum(r["injected"].fires for r in rows)
    print(
        f"{mode}: fixed rule: {fixed} of {len(rows)} months fire; calibrated: {calibrated} of "
        f"{len(rows)}; injected caught: {caught} of {len(rows)}"
    )
    return len(rows) - caught


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    policy = MonitoringPolicy()
    parser.add_argument(
        "--tolerance", type=float, default=getattr(policy, "drift_tolerance", DEFAULT_TOLERANCE)
    )
    parser.add_argument(
        "--seasonal",
        type=lambda s: tuple(x for x in s.split(",") if x),
        default=tuple(getattr(policy, "seasonal_drift_features", DEFAULT_SEASONAL)),
        help="comma-separated features reported but never counted ('' for none)",
    )
    parser.add_argument("--mode", choices=("fresh", "loop", "both"), default="both")
    args = parser.parse_args()
    database = os.environ.get("DUCKDB_DATABASE", str(ROOT / "data" / "warehouse.duckdb"))
    columns = ", ".join((EVENT_DATE, *CATEGORICAL_FEATURES, *NUMERIC_FEATURES))
    with duckdb.connect(database, read_only=True) as conn:
        frame = pl.from_arrow(
            conn.sql(
                f"SELECT {columns} FROM {FEATURE_TABLE} WHERE {EVENT_DATE} >= DATE '2013-01-01' "
                f"AND {EVENT_DATE} < DATE '2014-01-01'"
            ).to_arrow_table()
        )
    judge = Judge(frame, args, policy)
    print(
        f"{database}: {frame.height:,} rows; floors KS {policy.ks_threshold}, Hellinger "
        f"{policy.hellinger_threshold}; tolerance {args.tolerance}; seasonal (not counted) "
        f"{', '.join(args.seasonal) or 'none'}; excluded {', '.join(policy.exclude_features)}"
    )
    missed = 0
    for mode in ("fresh", "loop") if args.mode == "both" else (args.mode,):
        missed += show(mode, (fresh if mode == "fresh" else loop)(judge, policy), policy)
    return 2 if missed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SystemExit:
        raise
    except Exception as exc:  # a measured step failed: no summary line, non-zero exit
        print(f"drift_months: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(1)
