"""Multiclass on real rows: the flights' arrival as early, on time or late, learnt from the mart's
own features with the same candidate, baseline, gate and predictor the binary delay model uses.
The other task types are proved on synthetic frames (tests/test_task_types.py) and regression on
the Seattle example; this is the multiclass question a flights team would actually ask."""

import numpy as np
import polars as pl
import pytest

from mlops_assets.assets.training import training_set_query
from mlops_assets.core.blob_store import LocalBlobStore
from mlops_assets.core.registry.promotion import decide
from mlops_assets.core.registry.registry import ModelRegistry
from mlops_assets.core.serving.predictor import load_predictor
from mlops_assets.core.training.candidates import Problem, fit_lightgbm, fitted_task
from mlops_assets.core.training.training_data import SplitSpec, load_split
from mlops_assets.dataset import problem
from mlops_assets.resources.warehouse import WarehouseResource
from tests.dataset import LAB_TRAIN_MONTHS

EARLY_BY_MINUTES = 10  # more than this ahead of schedule
LATE_BY_MINUTES = 15  # more than this behind: the binary task's own delay threshold
ARRIVAL = "arrival"
CLASSES = ["early", "late", "on_time"]
PROBLEM = Problem(
    categorical=problem.CATEGORICAL_FEATURES,
    numeric=problem.NUMERIC_FEATURES,
    label=ARRIVAL,
    task="multiclass",
)
# Train on Jan-Feb, stop early on March, test on April 2013.
SPEC = SplitSpec(test_month="2013-04", train_months=LAB_TRAIN_MONTHS)
PARAMS = {"learning_rate": 0.05, "num_leaves": 31, "min_data_in_leaf": 100, "seed": 42}
ROUNDS = {"num_boost_round": 400, "early_stopping_rounds": 30}
ARRIVAL_CLASS = (
    f"CASE WHEN arr_delay_minutes < -{EARLY_BY_MINUTES} THEN 'early' "
    f"WHEN arr_delay_minutes > {LATE_BY_MINUTES} THEN 'late' ELSE 'on_time' END"
)


@pytest.fixture(scope="module")
def arrivals(built_warehouse) -> pl.DataFrame:
    """The training set's own rows in its own order, each labelled with its arrival class."""
    with WarehouseResource(database=str(built_warehouse)).get_connection() as conn:
        frame = load_split(conn, training_set_query(SPEC))
        classes = load_split(
            conn,
            f"SELECT {problem.ENTITY_KEY}, {ARRIVAL_CLASS} AS {ARRIVAL} "
            "FROM intermediate.int_flight_outcomes",
        )
    return frame.join(classes, on=problem.ENTITY_KEY, how="inner", maintain_order="left")


@pytest.fixture(scope="module")
def trained(arrivals):
    candidate = fit_lightgbm(arrivals, PROBLEM, PARAMS, ROUNDS)
    task = fitted_task(arrivals, PROBLEM)
    train, test = (arrivals.filter(pl.col("split") == s) for s in ("train", "test"))
    baseline = task.baseline_report(
        test, ARRIVAL, task.targets(train.get_column(ARRIVAL)), problem.BASELINE_COLUMNS
    )
    return candidate, task, baseline


def test_every_arrived_flight_gets_one_of_three_classes(arrivals):
    assert sorted(arrivals.get_column(ARRIVAL).unique().to_list()) == CLASSES
    counts = arrivals.filter(pl.col("split") == "test").get_column(ARRIVAL).value_counts()
    assert counts.height == 3 and counts.get_column("count").min() > 1000


def test_the_model_beats_the_most_frequent_class_and_the_gate_takes_it(trained):
    candidate, task, baseline = trained
    test = candidate.metadata["metrics"]["test"]
    assert candidate.metadata["classes"] == CLASSES
    assert test["macro_f1"] > baseline["macro_f1"] + 0.1, (test, baseline)
    assert test["log_loss"] < baseline["log_loss"], (test, baseline)
    assert test["accuracy"] > baseline["accuracy"], (test, baseline)
    verdict = decide(test, None, baseline, 0.002, task.gate_metric, task.higher_is_better)
    assert verdict.passed and "beats baseline" in verdict.reason


def test_the_registered_model_serves_each_row_as_the_frame_scored_it(trained, arrivals, tmp_path):
    candidate, task, _ = trained
    registry = ModelRegistry(LocalBlobStore(tmp_path))
    version = registry.register("flight_arrival", candidate.files, candidate.metadata)
    predictor = load_predictor(registry, version)
    test = arrivals.filter(pl.col("split") == "test").sample(200, seed=7)
    scores = predictor.predict_frame(test)
    assert scores.shape == (test.height, len(CLASSES))
    rows = np.vstack([predictor.predict_rows([row]) for row in test.to_dicts()])
    np.testing.assert_allclose(rows, scores, rtol=0, atol=1e-9)
    outputs = task.outputs(scores, version.metadata)
    assert {o["predicted_class"] for o in outputs} <= set(CLASSES)
    assert all(sum(o["probabilities"].values()) == pytest.approx(1.0) for o in outputs)
