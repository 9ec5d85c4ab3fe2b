"""Training-set validation on small real frames: bad labels stop training with a reason."""

import polars as pl
import pytest

from mlops_assets.core.training.training_data import SplitSpec, TrainingDataError, validate_split


def _frame(labels: dict[str, list]) -> pl.DataFrame:
    return pl.DataFrame(
        [{"split": s, "label": v} for s, values in labels.items() for v in values],
        schema={"split": pl.String, "label": pl.Boolean},
    )


SPEC = SplitSpec(min_rows_per_split=2)


def test_split_bounds_follow_the_calendar_without_overlap():
    bounds = SplitSpec(test_month="2013-02", train_months=6).bounds()
    assert [str(d) for d in bounds["train"]] == ["2012-07-01", "2013-01-01"]
    assert [str(d) for d in bounds["valid"]] == ["2013-01-01", "2013-02-01"]
    assert [str(d) for d in bounds["test"]] == ["2013-02-01", "2013-03-01"]


def test_a_single_class_is_refused():
    frame = _frame({"train": [True, True], "valid": [True, False], "test": [True, False]})
    with pytest.raises(TrainingDataError, match="split 'train' has a single class"):
        validate_split(frame, "label", SPEC)


def test_null_labels_are_refused():
    frame = _frame({"train": [True, None, False], "valid": [True, False], "test": [True, False]})
    with pytest.raises(TrainingDataError, match="1 null values"):
        validate_split(frame, "label", SPEC)


def test_a_good_split_passes():
    frame = _frame({"train": [True, False], "valid": [True, False], "test": [True, False]})
    validate_split(frame, "label", SPEC)


def test_a_constant_regression_label_is_refused_as_such():
    frame = pl.DataFrame(
        {"split": ["train", "train", "valid", "valid", "test", "test"], "t": [1.0] * 6}
    )
    with pytest.raises(TrainingDataError, match="split 'train' has a constant value"):
        validate_split(frame, "t", SPEC, "regression")
