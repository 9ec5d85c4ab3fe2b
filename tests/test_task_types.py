"""Task types from the problem contract: binary, regression and multiclass, each trained with
real LightGBM and PyTorch on a small synthetic frame with signal, evaluated against its naive
baseline, judged by the gate in its own direction, served through the registry, and refused
when the label does not fit the declared TASK_TYPE."""

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from mlops_assets.core.blob_store import LocalBlobStore
from mlops_assets.core.monitoring.live_quality import daily_quality, overall_quality
from mlops_assets.core.registry.model_card import metrics_table
from mlops_assets.core.registry.promotion import decide
from mlops_assets.core.registry.registry import ModelRegistry
from mlops_assets.core.serving.predictor import load_predictor
from mlops_assets.core.training.candidates import (
    Problem,
    fit_lightgbm,
    fit_torch,  # [pytorch]
)
from mlops_assets.core.training.tasks import (
    TASK_TYPES,
    current_task,
    score_columns,
    task_for,
)
from mlops_assets.dataset import problem as contract

KINDS = TASK_TYPES
ROWS = {"train": 2400, "valid": 800, "test": 800}
LGB_PARAMS = {"num_leaves": 15, "min_data_in_leaf": 20, "learning_rate": 0.1}
LGB_ROUNDS = {"num_boost_round": 200, "early_stopping_rounds": 20}
# >>> pytorch
TORCH_PARAMS = {"hidden": [32, 16], "max_epochs": 12, "batch_size": 256, "lr": 5e-3}
# <<< pytorch


def synthetic(kind: str, seed: int = 0) -> pl.DataFrame:
    """Rows whose label depends on x1 and the category; ``persist`` is a noisy copy of the
    label (regression's persistence baseline) or a noisy rate (binary's baseline column)."""
    rng = np.random.default_rng(seed)
    n = sum(ROWS.values())
    split = [s for s, k in ROWS.items() for _ in range(k)]
    cat = rng.choice(["a", "b", "c"], n)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    signal = 1.5 * x1 + np.where(cat == "a", 1.0, 0.0) - np.where(cat == "c", 1.0, 0.0)
    noise = rng.normal(scale=0.5, size=n)
    if kind == "binary":
        label = pl.Series("y", signal + noise > 0)
        persist = np.clip(0.5 + rng.normal(scale=0.2, size=n), 0, 1)
    elif kind == "regression":
        label = pl.Series("y", 10 + 3 * signal + noise)
        persist = label.to_numpy() + rng.normal(scale=3.0, size=n)
    else:
        value = signal + noise
        label = pl.Series("y", np.where(value < -1, "low", np.where(value < 1, "mid", "high")))
        persist = rng.uniform(size=n)
    start = date(2014, 1, 1)
    return pl.DataFrame(
        {
            "day": [start + timedelta(days=i // 10) for i in range(n)],
            "cat": cat,
            "x1": x1,
            "x2": x2,
            "persist": persist,
            "y": label,
            "split": split,
        }
    )


def problem_for(kind: str) -> Problem:
    return Problem(categorical=("cat",), numeric=("x1", "x2"), label="y", task=kind)


@pytest.fixture(scope="module")
def trained() -> dict:
    """Per task: the frame, both candidates, and the naive baseline's test report."""
    out = {}
    for kind in KINDS:
        frame = synthetic(kind)
        problem = problem_for(kind)
        candidates = {
            "lightgbm": fit_lightgbm(frame, problem, LGB_PARAMS, LGB_ROUNDS),
            "torch": fit_torch(frame, problem, TORCH_PARAMS),  # [pytorch]
        }
        task = task_for(kind).fitted(frame.filter(pl.col("split") == "train")["y"])
        train, test = (frame.filter(pl.col("split") == s) for s in ("train", "test"))
        baseline = task.baseline_report(test, "y", task.targets(train["y"]), ("persist",))
        out[kind] = {"frame": frame, "candidates": candidates, "baseline": baseline}
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_both_candidates_of_each_task_beat_the_naive_baseline(trained, kind):
    task = task_for(kind)
    baseline = trained[kind]["baseline"][task.gate_metric]
    for framework, candidate in trained[kind]["candidates"].items():
        assert candidate.metadata["task"] == kind
        score = candidate.metadata["metrics"]["test"][task.gate_metric]
        assert task.better(score, baseline, 0.02), (framework, score, baseline)
    metric_names = {
        "binary": {"roc_auc", "log_loss", "brier", "precision", "recall", "threshold"},
        "regression": {"rmse", "mae", "r2"},
        "multiclass": {"macro_f1", "log_loss", "accuracy"},
    }[kind]
    assert metric_names <= set(candidate.metadata["metrics"]["test"])


def test_each_task_has_its_gate_metric_and_direction():
    assert [(task_for(k).gate_metric, task_for(k).higher_is_better) for k in KINDS] == [
        ("roc_auc", True),
        ("rmse", False),
        ("macro_f1", True),
    ]
    assert current_task().kind == contract.TASK_TYPE  # flights stay binary: tests/dataset


@pytest.mark.parametrize("kind", KINDS)
def test_the_gate_refuses_a_worse_challenger_and_takes_a_better_one(trained, kind):
    task = task_for(kind)
    model = trained[kind]["candidates"]["lightgbm"].metadata["metrics"]["test"]
    baseline = trained[kind]["baseline"]
    better = decide(model, None, baseline, 0.002, task.gate_metric, task.higher_is_better)
    assert better.passed and "beats baseline" in better.reason
    worse = decide(baseline, model, baseline, 0.002, task.gate_metric, task.higher_is_better)
    assert not worse.passed and "does not beat production" in worse.reason
    # the direction comes with the metric when not given: RMSE lower, the others higher
    assert decide(model, None, baseline, 0.002, task.gate_metric).passed
    # within the margin is not enough, in either direction
    tied = decide(model, model, baseline, 0.002, task.gate_metric)
    assert not tied.passed


def test_regression_gate_prefers_the_lower_rmse():
    low, high = {"rmse": 1.0}, {"rmse": 2.0}
    assert decide(low, high, high, 0.1, "rmse").passed
    refused = decide(high, low, low, 0.1, "rmse")
    assert not refused.passed and "lower is better" in refused.reason


@pytest.mark.parametrize("kind", KINDS)
def test_registered_versions_load_and_serve_exactly_the_output_fields(trained, kind, tmp_path):
    registry = ModelRegistry(LocalBlobStore(tmp_path))
    frame = trained[kind]["frame"]
    test = frame.filter(pl.col("split") == "test")
    for framework, candidate in trained[kind]["candidates"].items():
        version = registry.register(f"m_{kind}", candidate.files, candidate.metadata)
        predictor = load_predictor(registry, version)
        task = current_task(version.metadata)
        assert task.kind == kind
        scores = predictor.predict_frame(test)
        assert scores.shape == ((test.height, 3) if kind == "multiclass" else (test.height,))
        rows = predictor.predict_rows(test.head(5).to_dicts())
        np.testing.assert_allclose(rows, scores[:5], rtol=0, atol=1e-9)
        # the registered model scores what training measured
        again = task.report(task.targets(test["y"]), scores, version.metadata)
        gate = task.gate_metric
        assert again[gate] == pytest.approx(candidate.metadata["metrics"]["test"][gate], abs=1e-6)
        outputs = task.outputs(scores, version.metadata)
        assert len(outputs) == test.height
        assert all(set(o) == set(task.output_fields()) for o in outputs), framework
        for o in outputs[:20]:
            for field, kind_of in task.output_fields().items():
                assert isinstance(o[field], dict if kind_of == dict[str, float] else kind_of)
        if kind == "multiclass":
            assert version.metadata["classes"] == ["high", "low", "mid"]
            assert {o["predicted_class"] for o in outputs} <= {"high", "low", "mid"}
            assert sum(outputs[0]["probabilities"].values()) == pytest.approx(1.0)
        if kind == "binary":
            assert all(
                o["predicted_label"] == (o["probability"] >= o["threshold"]) for o in outputs
            )


@pytest.mark.parametrize("kind", KINDS)
def test_training_is_deterministic_for_every_task(trained, kind):
    frame, problem = trained[kind]["frame"], problem_for(kind)
    again = {
        "lightgbm": fit_lightgbm(frame, problem, LGB_PARAMS, LGB_ROUNDS),
        "torch": fit_torch(frame, problem, TORCH_PARAMS),  # [pytorch]
    }
    for framework, candidate in trained[kind]["candidates"].items():
        assert again[framework].metadata["metrics"] == candidate.metadata["metrics"], framework
    assert again["lightgbm"].files == trained[kind]["candidates"]["lightgbm"].files


@pytest.mark.parametrize(
    ("kind", "labels", "hint"),
    [
        ("binary", [0.2, 1.7, 3.1], "regression"),
        ("binary", ["x", "y", "z"], "binary label is a boolean"),
        ("regression", [True, False], "binary"),
        ("regression", ["x", "y"], "multiclass"),
        ("multiclass", [0.2, 1.7], "regression"),
        ("multiclass", [True, False], "binary"),
    ],
)
def test_a_label_that_does_not_fit_the_task_type_is_refused_by_name(kind, labels, hint):
    with pytest.raises(ValueError, match=f"label '{contract.LABEL}'") as error:
        task_for(kind).check_labels(pl.Series(labels))
    assert f"TASK_TYPE = '{kind}'" in str(error.value) and hint in str(error.value)


@pytest.mark.parametrize(
    ("kind", "labels"),
    [
        ("binary", [True, False]),
        ("binary", [0, 1, 1]),
        ("regression", [1.5, 2.0]),
        ("regression", [3, 4]),
        ("multiclass", ["a", "b", "c"]),
        ("multiclass", [0, 1, 2]),
    ],
)
def test_a_fitting_label_passes(kind, labels):
    task_for(kind).check_labels(pl.Series(labels))


def test_training_refuses_a_label_of_the_wrong_type_before_fitting(trained):
    frame = trained["regression"]["frame"]
    with pytest.raises(ValueError, match="TASK_TYPE = 'binary'"):
        fit_lightgbm(frame, problem_for("binary"), LGB_PARAMS, LGB_ROUNDS)


def test_an_unknown_task_type_is_refused_naming_the_kinds():
    with pytest.raises(ValueError, match="not one of"):
        task_for("ranking")


@pytest.mark.parametrize("kind", KINDS)
def test_live_quality_and_prediction_profiles_work_for_every_task(trained, kind):
    task = task_for(kind).fitted(trained[kind]["frame"]["y"])
    frame = trained[kind]["frame"].filter(pl.col("split") == "test")
    candidate = trained[kind]["candidates"]["lightgbm"]
    registry = ModelRegistry(LocalBlobStore(__import__("tempfile").mkdtemp()))
    version = registry.register("m", candidate.files, candidate.metadata)
    scores = load_predictor(registry, version).predict_frame(frame)
    labelled = pl.DataFrame(
        {
            "event_date": frame["day"],
            "label": frame["y"],
            "score": scores.tolist(),
            "model_version": [1] * frame.height,
        }
    )
    overall = overall_quality(labelled, task, label="label")
    days = daily_quality(labelled, task, label="label")
    assert overall["rows"] == frame.height and len(days) == frame["day"].n_unique()
    assert set(task.live_metrics) <= set(overall)
    test_metrics = candidate.metadata["metrics"]["test"]
    for metric in set(task.live_metrics) & set(test_metrics):
        assert overall[metric] == pytest.approx(test_metrics[metric], abs=1e-9)
    columns = score_columns(scores)
    assert len(columns["prediction"]) == frame.height
    assert ("predicted_class" in columns) == (kind == "multiclass")
    assert metrics_table({"test": test_metrics}, task=task).count("\n") == 2


def test_the_marts_label_as_a_whole_is_judged_per_task():
    """What the feature-contract check asks of the whole label: a rate in (0, 1) for binary,
    more than one value otherwise (a temperature's mean of 16 is no problem)."""
    assert task_for("binary").label_summary_problem(100, 0.3, 2) is None
    assert "not in (0, 1)" in task_for("binary").label_summary_problem(100, 1.0, 1)
    assert task_for("regression").label_summary_problem(100, 16.2, 80) is None
    assert "1 distinct" in task_for("regression").label_summary_problem(100, 16.0, 1)
    assert task_for("multiclass").label_summary_problem(100, None, 3) is None
    assert "NULL" in task_for("multiclass").label_summary_query("t", "y")


def test_the_monitoring_policy_judges_live_quality_per_task():
    from mlops_assets.resources.monitoring_policy import MonitoringPolicy

    policy = MonitoringPolicy(auc_floor=0.6, max_rmse_ratio=1.5, macro_f1_floor=0.4)
    binary = policy.live_quality_limit(task_for("binary"), None)
    assert (binary.metric, binary.value) == ("roc_auc", 0.6)
    assert binary.holds(0.61) and not binary.holds(0.59)
    # regression: relative to the production model's own test RMSE, lower is better
    regression = policy.live_quality_limit(
        task_for("regression"), {"metrics": {"test": {"rmse": 2.0}}}
    )
    assert (regression.metric, regression.value) == ("rmse", 3.0)
    assert regression.holds(2.9) and not regression.holds(3.1)
    multiclass = policy.live_quality_limit(task_for("multiclass"), None)
    assert multiclass.metric == "macro_f1" and not multiclass.holds(0.3)
