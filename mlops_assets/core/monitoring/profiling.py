"""whylogs profiles: fixed-size, mergeable sketches of a feature table.

This is the one module that imports whylogs. whylogs 1.6.4 (its last release) still refers to
``np.unicode_``, which NumPy 2 removed; the alias below, set once before whylogs is imported,
is the whole workaround. Everything else asks this module for profiles.
"""

import os
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import stats

os.environ.setdefault("WHYLOGS_NO_ANALYTICS", "True")
if not hasattr(np, "unicode_"):
    np.unicode_ = np.str_  # whylogs 1.6.4 + NumPy 2: see the module docstring

import whylogs as why  # noqa: E402
from whylogs.core.view.dataset_profile_view import DatasetProfileView  # noqa: E402

ProfileView = DatasetProfileView


class ProfileError(ValueError):
    """A profile that cannot be read (truncated, corrupted, or not a whylogs profile)."""


def profile_frame(frame: pl.DataFrame) -> ProfileView:
    """Profile every column of a polars frame (strings as categories, numbers as sketches)."""
    return why.log(pandas=frame.to_pandas()).view()


def profile_rows(rows: list[dict]) -> ProfileView:
    """Profile feature rows as the service builds them (one dict per scored flight)."""
    return profile_frame(pl.DataFrame(rows, infer_schema_length=None))


def merge(views: list[ProfileView]) -> ProfileView | None:
    """One profile from many (replicas, flush intervals); None when there is nothing."""
    merged = None
    for view in views:
        merged = view if merged is None else merged.merge(view)
    return merged


def row_count(view: ProfileView) -> int:
    """Rows the profile has seen (the largest column count; every column sees every row)."""
    counts = [
        column.get_metric("counts").n.value
        for column in view.get_columns().values()
        if column.get_metric("counts") is not None
    ]
    return int(max(counts, default=0))


def to_bytes(view: ProfileView) -> bytes:
    return view.serialize()


def from_bytes(data: bytes, name: str = "profile") -> ProfileView:
    """Parse a serialized profile, or raise ProfileError naming it."""
    if not data:
        raise ProfileError(f"{name} is empty")
    try:
        return DatasetProfileView.deserialize(data)
    except Exception as exc:  # whylogs raises protobuf and struct errors of several kinds
        raise ProfileError(f"{name} is not a readable whylogs profile ({exc})") from exc


@dataclass(frozen=True)
class KSScore:
    statistic: float
    pvalue: float


class SketchKS:
    """Two-sample Kolmogorov-Smirnov test on two columns' KLL sketches, whylogs' own method:
    the largest CDF gap over both sketches' quantile grids, its p-value from the KS
    distribution. Here because whylogs ships it only inside its ``viz`` extra, whose import
    pulls IPython and a Pillow with published advisories; tests/test_monitoring.py checks the
    figures against whylogs' where the extra is installed."""

    quantiles = np.linspace(0, 1, 100)

    def calculate(self, target_column_view, reference_column_view) -> KSScore | None:
        target = target_column_view.get_metric("distribution")
        reference = reference_column_view.get_metric("distribution")
        if target is None or reference is None:
            return None
        target, reference = target.kll.value, reference.kll.value
        if target.is_empty() or reference.is_empty():
            return None
        grid = sorted(
            {*target.get_quantiles(self.quantiles), *reference.get_quantiles(self.quantiles)}
        )
        gap = np.abs(np.asarray(target.get_cdf(grid)) - np.asarray(reference.get_cdf(grid)))
        statistic = float(gap[: len(grid)].max())
        m, n = target.get_n(), reference.get_n()
        pvalue = float(stats.distributions.kstwo.sf(statistic, np.round(m * n / (m + n))))
        return None if np.isnan(pvalue) else KSScore(statistic, pvalue)


def ks_test() -> SketchKS:
    """The KS test the drift checks use."""
    return SketchKS()
