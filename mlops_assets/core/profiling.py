"""whylogs profiles: fixed-size, mergeable sketches of a feature table.

This is the one module that imports whylogs. whylogs 1.6.4 (its last release) still refers to
``np.unicode_``, which NumPy 2 removed; the alias below, set once before whylogs is imported,
is the whole workaround. Everything else asks this module for profiles.
"""

import os

import numpy as np
import polars as pl

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


def ks_test():
    """whylogs' sketch-based KS test (its viz extra needs the NumPy alias above, too)."""
    from whylogs.viz.drift.column_drift_algorithms import KS

    return KS()
