"""Time-based splits of the feature mart: train on a trailing window, validate on the next
month, test on the month after. Rows are never shuffled across time."""

from dataclasses import asdict, dataclass, field
from datetime import date

import duckdb
import polars as pl

from mlops_assets.core.training.data_size import data_size, named
from mlops_assets.dataset import problem


class TrainingDataError(ValueError):
    """A training set that cannot train a model: too small, one class, missing labels."""


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class SplitSpec:
    """Which months go where; the whole identity of a training set besides the data."""

    test_month: str = field(default_factory=lambda: problem.DEFAULT_TEST_MONTH)
    train_months: int = 6
    min_rows_per_split: int = field(default_factory=lambda: data_size("min_rows_per_split"))

    def bounds(self) -> dict[str, tuple[date, date]]:
        """[start, end) dates of each split."""
        test_start = date.fromisoformat(f"{self.test_month}-01")
        valid_start = _add_months(test_start, -1)
        train_start = _add_months(valid_start, -self.train_months)
        return {
            "train": (train_start, valid_start),
            "valid": (valid_start, test_start),
            "test": (test_start, _add_months(test_start, 1)),
        }

    def as_dict(self) -> dict:
        return asdict(self)


def split_query(
    spec: SplitSpec, table: str, columns: list[str], date_column: str, order_by: list[str]
) -> str:
    """The exact SQL that selects a training set; recorded with the model for lineage."""
    cases = " ".join(
        f"WHEN {date_column} >= DATE '{lo}' AND {date_column} < DATE '{hi}' THEN '{name}'"
        for name, (lo, hi) in spec.bounds().items()
    )
    lo = spec.bounds()["train"][0]
    hi = spec.bounds()["test"][1]
    cols = ", ".join(columns)
    return (
        f"SELECT {cols}, CASE {cases} END AS split FROM {table} "
        f"WHERE {date_column} >= DATE '{lo}' AND {date_column} < DATE '{hi}' "
        f"ORDER BY {', '.join(order_by)}"
    )


def load_split(conn: duckdb.DuckDBPyConnection, query: str) -> pl.DataFrame:
    """Run a split query; the frame's row order is the query's ORDER BY."""
    return pl.from_arrow(conn.sql(query).to_arrow_table())


def validate_split(
    frame: pl.DataFrame, label: str, spec: SplitSpec, task_kind: str = "binary"
) -> None:
    """Refuse a training set that cannot give a meaningful model, naming what is wrong: too
    few rows, null labels, one class (classification) or a constant label (regression)."""
    if frame.get_column(label).null_count():
        raise TrainingDataError(
            f"label '{label}' has {frame.get_column(label).null_count()} null values"
        )
    for split in ("train", "valid", "test"):
        part = frame.filter(pl.col("split") == split)
        if part.height < spec.min_rows_per_split:
            lo, hi = spec.bounds()[split]
            raise TrainingDataError(
                f"split '{split}' ({lo} .. {hi}) has {part.height} rows, fewer than "
                f"{named('min_rows_per_split', spec.min_rows_per_split)}; load those months "
                "first, or lower it if a month of this dataset is that small"
            )
        classes = part.get_column(label).n_unique()
        if classes < 2:
            what = "a constant value" if task_kind == "regression" else "a single class"
            raise TrainingDataError(f"split '{split}' has {what} in label '{label}'")
