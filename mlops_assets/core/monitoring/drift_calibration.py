"""Per-feature drift thresholds calibrated on the months a model was trained on.

One fixed threshold flags what always moves (30-day delay rates, the weather) every month, so
drift always fires and says nothing. Instead, each training month is compared with the other
training months merged (leave-one-out, the same statistic as monitoring uses): that is how far
a month the model already learnt from can stand from the rest. A feature's threshold is
``max(floor, tolerance x the largest of those)``: a new month must be more different than the
most different training month, by a margin, before the feature counts. The margin because two
or three months are a small sample of how months vary: a month exchangeable with k training
months beats the largest of their k statistics with odds 1/(k+1), per feature. The floor (the
policy's fixed thresholds) keeps small serving windows' sampling noise out.

What is stored is the statistics, not the thresholds, so a change of tolerance or floor in the
policy applies without profiling the training set again. Fewer than two training months give
nothing to compare: ``calibrate`` returns None and monitoring keeps its fixed thresholds.

Seasonal features (the calendar, temperature) are a separate case: the data has one year, so
no training set holds the same season twice, and a retrain cannot catch up with them either (a
retrain's train split ends two months before the month it is tested on). Passed as
``seasonal``, they keep their statistic in the report but get a threshold of 1.0, which no
statistic exceeds: reported, never counted.
"""

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

import polars as pl

from mlops_assets.core.monitoring.drift import feature_drift
from mlops_assets.core.monitoring.profiling import ProfileView, merge, profile_frame, row_count

FORMAT = 1
NEVER = 1.0  # every statistic is in [0, 1] and drift is "statistic > threshold"


class CalibrationError(ValueError):
    """A calibration file that cannot be read."""


@dataclass(frozen=True)
class FeatureCalibration:
    method: str  # "ks" or "hellinger", as feature_drift chose it
    month_vs_rest: dict[str, float]  # training month -> its statistic against the others

    @property
    def largest(self) -> float:
        return max(self.month_vs_rest.values(), default=0.0)


@dataclass(frozen=True)
class Calibration:
    """How far each training month stands from the rest, per feature; JSON-able."""

    months: dict[str, int]  # training month (YYYY-MM) -> rows profiled
    features: dict[str, FeatureCalibration]

    def thresholds(
        self,
        tolerance: float,
        ks_floor: float,
        hellinger_floor: float,
        seasonal: Iterable[str] = (),
    ) -> dict[str, float]:
        """Feature -> threshold for ``feature_drift``: max(floor, tolerance x largest
        month-vs-rest statistic), at most 1.0; seasonal features 1.0 (never counted)."""
        seasonal = set(seasonal)
        out = {}
        for name, feature in self.features.items():
            floor = ks_floor if feature.method == "ks" else hellinger_floor
            limit = max(floor, tolerance * feature.largest)
            out[name] = NEVER if name in seasonal else min(NEVER, limit)
        return out

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "months": self.months,
                "features": {name: asdict(feature) for name, feature in self.features.items()},
            },
            indent=1,
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str | bytes, name: str = "calibration") -> "Calibration":
        """Parse ``to_json``'s output, or raise CalibrationError naming the file."""
        try:
            data = json.loads(text)
            if data.get("format") != FORMAT:
                raise ValueError(f"format {data.get('format')!r}, expected {FORMAT}")
            features = {
                feature: FeatureCalibration(
                    str(value["method"]),
                    {str(m): float(s) for m, s in value["month_vs_rest"].items()},
                )
                for feature, value in data["features"].items()
            }
            return cls({str(m): int(n) for m, n in data["months"].items()}, features)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise CalibrationError(f"{name} is not a readable drift calibration ({exc})") from exc


def monthly_profiles(
    frame: pl.DataFrame, date_column: str, columns: Iterable[str]
) -> dict[str, ProfileView]:
    """One profile of ``columns`` per calendar month of ``date_column`` (YYYY-MM -> profile).
    Merged, they stand in for the profile of the whole frame (drift statistics within 0.002 on
    the flights), so the reference needs no second pass."""
    columns = list(columns)
    months = frame.with_columns(pl.col(date_column).dt.strftime("%Y-%m").alias("__month"))
    return {
        part.get_column("__month")[0]: profile_frame(part.select(columns))
        for part in sorted(months.partition_by("__month"), key=lambda p: p["__month"][0])
    }


def calibrate(
    month_profiles: Mapping[str, ProfileView],
    categorical: tuple[str, ...],
    numeric: tuple[str, ...],
) -> Calibration | None:
    """Each month's drift statistic against the other months merged, per feature; None with
    fewer than two months (nothing to compare a month with)."""
    if len(month_profiles) < 2:
        return None
    features: dict[str, FeatureCalibration] = {}
    for month, view in month_profiles.items():
        rest = merge([v for m, v in month_profiles.items() if m != month])
        for drift in feature_drift(view, rest, categorical, numeric, NEVER, NEVER).features:
            entry = features.setdefault(drift.feature, FeatureCalibration(drift.method, {}))
            entry.month_vs_rest[month] = drift.statistic
    months = {month: row_count(view) for month, view in month_profiles.items()}
    return Calibration(months, features)
