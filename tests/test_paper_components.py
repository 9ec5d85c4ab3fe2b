"""One test per component (C1-C9) and principle (P1-P9) of Kreuzberger, Kuehl and Hirschl
(2023), each exercising the part of this project that implements it, on the session's real
warehouse and the `served` lab (a trained, promoted model with its online store)."""

import json
import subprocess
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import polars as pl

from mlops_assets.assets.training import FRAMEWORKS
from mlops_assets.core.blob_store import LocalBlobStore
from mlops_assets.core.features.online_features import OnlineFeatures
from mlops_assets.core.monitoring.drift import feature_drift
from mlops_assets.core.monitoring.live_quality import overall_quality, read_prediction_log
from mlops_assets.core.monitoring.profile_store import ProfileStore
from mlops_assets.core.monitoring.profiling import profile_frame
from mlops_assets.core.monitoring.retrain_decision import Finding, decide_retrain
from mlops_assets.core.registry.registry import ModelRegistry
from mlops_assets.core.serving.predictor import load_predictor
from mlops_assets.core.serving.serving_profiler import ServingProfiler
from mlops_assets.core.training.data_size import data_size
from mlops_assets.core.training.fingerprint import frame_fingerprint
from mlops_assets.core.training.reproduce import load_training_set
from mlops_assets.core.training.tasks import current_task, task_for
from mlops_assets.dataset import problem
from mlops_assets.dataset.problem import CATEGORICAL_FEATURES, LABEL, NUMERIC_FEATURES
from tests.conftest import BIN, REPO
from tests.contract import EXAMPLE, MODEL, MONTHS, TEST_MONTH, as_served, in_month


def _request() -> dict:
    return as_served(EXAMPLE)


def _production(served):
    return served.registry, served.registry.production(MODEL)


# -- components ---------------------------------------------------------------------------
def test_C1_ci_cd_runs_the_readme_tests_and_ships_the_bento():
    dry = subprocess.run(
        ["make", "-n", "test", "export-bento"], cwd=REPO, capture_output=True, text=True
    )
    assert dry.returncode == 0, dry.stderr
    assert "pytest" in dry.stdout and f"bentoml export {MODEL}:latest" in dry.stdout
    assert "make test" in (REPO / ".ci" / "run").read_text()
    from mlops_assets.definitions import defs

    retrain = defs.resolve_job_def("retrain")
    assert dg.AssetKey("bento") in retrain.asset_layer.executable_asset_keys


def test_C2_the_repository_holds_code_not_state():
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert "pyproject.toml" in tracked and "dbt_project/profiles.yml" in tracked
    assert not [p for p in tracked if p.startswith("data/") or p.endswith((".duckdb", ".bento"))]


def test_C3_orchestration_has_jobs_partitions_and_running_sensors():
    from mlops_assets.definitions import defs

    for job in ("build_features", "land_months", "retrain", "monitor"):
        assert defs.resolve_job_def(job) is not None
    sensors = {s.name: s for s in defs.sensors}
    assert set(sensors) == {
        "raw_delivery_sensor",
        "feature_store_automation",
        "served_traffic_sensor",
        "model_health_sensor",
    }
    assert all(s.default_status == dg.DefaultSensorStatus.RUNNING for s in sensors.values())
    drift = defs.resolve_assets_def("serving_drift")
    assert len(drift.partitions_def.get_partition_keys()) == len(MONTHS)


def test_C4_offline_and_online_feature_stores_serve_the_same_contract(served, built_warehouse):
    schema, table = problem.FEATURE_TABLE.split(".")
    with duckdb.connect(str(built_warehouse), read_only=True) as conn:
        rows, columns = conn.execute(
            "SELECT count(*), (SELECT count(*) FROM information_schema.columns "
            f"WHERE table_schema = '{schema}' AND table_name = '{table}') "
            f"FROM {problem.FEATURE_TABLE}"
        ).fetchone()
    # the mart's exact row count is a fact of the data: tests/dataset/test_feature_store.py
    assert rows > 0 and columns > len(CATEGORICAL_FEATURES + NUMERIC_FEATURES)
    online = OnlineFeatures.open(Path(served.resources["online"].root)).row(_request())
    assert set(CATEGORICAL_FEATURES + NUMERIC_FEATURES) <= set(online)


def test_C5_training_produces_every_framework_on_the_available_device(served):
    versions = served.registry.versions(MODEL)
    assert {v.metadata["framework"] for v in versions} >= set(FRAMEWORKS)
    assert all(v.metadata["device"] in ("cpu", "cuda") for v in versions)


def test_C6_registry_versions_stages_and_rollback(tmp_path):
    registry = ModelRegistry(LocalBlobStore(tmp_path))
    first = registry.register("m", {"model.txt": b"one"}, {"framework": "x"})
    second = registry.register("m", {"model.txt": b"two"}, {"framework": "x"})
    registry.promote("m", second.version, reason="better")
    registry.rollback("m", first.version, reason="incident")
    assert registry.production("m").version == first.version
    assert registry.read_file(first, "model.txt") == b"one"


def test_C7_metadata_is_recorded_per_materialization(served):
    event = served.instance.get_latest_materialization_event(dg.AssetKey("training_set"))
    metadata = event.asset_materialization.metadata
    assert len(metadata["training_set_hash"].value) >= 16
    # every split holds at least the contract's minimum
    assert metadata["dagster/row_count"].value >= 3 * data_size("min_rows_per_split")


def test_C8_serving_predicts_from_the_registry_and_the_online_store(served):
    registry, production = _production(served)
    features = OnlineFeatures.open(Path(served.resources["online"].root))
    p = load_predictor(registry, production).predict_rows(features.rows([_request()]))
    score = np.asarray(p[0], dtype=np.float64)
    assert np.isfinite(score).all()
    if current_task().kind == "binary":  # a probability
        assert 0.0 < float(score) < 1.0


def test_C9_monitoring_finds_no_drift_in_a_profile_against_itself(built_warehouse):
    with duckdb.connect(str(built_warehouse), read_only=True) as conn:
        frame = pl.from_arrow(
            conn.sql(
                f"SELECT {', '.join(CATEGORICAL_FEATURES + NUMERIC_FEATURES)} "
                f"FROM {problem.FEATURE_TABLE} "
                f"WHERE {in_month(TEST_MONTH)}"
            ).to_arrow_table()
        )
    view = profile_frame(frame)
    report = feature_drift(view, view, CATEGORICAL_FEATURES, NUMERIC_FEATURES, 0.3, 0.3)
    assert report.target_rows == frame.height > 0 and report.drifted == []


# -- principles ---------------------------------------------------------------------------
def test_P1_ci_cd_automation_lints_clean():
    ruff = subprocess.run(
        [str(BIN / "ruff"), "check", "mlops_assets", "bento"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert ruff.returncode == 0, ruff.stdout


def test_P2_workflow_orchestration_orders_training_before_promotion():
    from mlops_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    upstream = graph.get(dg.AssetKey("production_model")).parent_keys
    assert dg.AssetKey("model_evaluation") in upstream


def test_P3_reproducibility_the_stored_training_set_matches_its_hash(served):
    registry, production = _production(served)
    lineage = production.metadata["lineage"]
    frame = load_training_set(registry, lineage["training_set_hash"])
    assert frame_fingerprint(frame) == lineage["training_set_hash"]


def test_P4_versioning_of_data_model_and_code(served):
    _, production = _production(served)
    lineage = production.metadata["lineage"]
    assert lineage["training_set_hash"] and lineage["git_commit"]
    assert lineage["dbt_models"] and production.checksums


def test_P5_collaboration_one_contract_names_the_features():
    from mlops_assets.assets.training import PROBLEM

    assert PROBLEM.categorical == CATEGORICAL_FEATURES and PROBLEM.numeric == NUMERIC_FEATURES
    assert PROBLEM.label == LABEL


def test_P6_continuous_training_is_requested_on_drift_and_not_twice():
    findings = [Finding("2013-06", "serving_drift", "drift")]
    rows = {"2013-05": 28_000, "2013-06": 28_000}
    assert decide_retrain(findings, "2013-04", rows, None, 0, 1000).retrain
    assert not decide_retrain(findings, "2013-06", rows, None, 0, 1000).retrain


def test_P7_metadata_tracking_links_each_version_to_its_run(served):
    _, production = _production(served)
    run = served.instance.get_run_by_id(production.metadata["lineage"]["dagster_run_id"])
    assert run is not None and run.is_success


def test_P8_continuous_monitoring_profiles_served_rows(served, tmp_path):
    features = OnlineFeatures.open(Path(served.resources["online"].root))
    store = ProfileStore(LocalBlobStore(tmp_path))
    profiler = ServingProfiler(store, MODEL)
    profiler.add(TEST_MONTH, features.rows([_request()] * 50), [0.2] * 50)
    assert len(profiler.flush()) == 1
    assert store.serving_window(MODEL, TEST_MONTH).rows == 50


def test_P9_feedback_loop_joins_predictions_with_outcomes(tmp_path):
    log = tmp_path / "prediction_log" / MODEL / "predictions-1.jsonl"
    log.parent.mkdir(parents=True)
    records = [
        {
            "request_id": f"r{i}",
            "entity_id": f"e{i % 2}",
            "month": TEST_MONTH,
            "score": p,
            "model_version": 1,
        }
        for i, p in enumerate([0.9, 0.1, 0.8, 0.2])
    ]
    log.write_text("".join(json.dumps(r) + "\n" for r in records))
    frame = read_prediction_log(LocalBlobStore(tmp_path), MODEL, TEST_MONTH).join(
        pl.DataFrame({"request_id": ["r0", "r1", "r2", "r3"], LABEL: [1, 0, 1, 0]}),
        on="request_id",
    )
    quality = overall_quality(frame, task_for("binary"), LABEL)
    assert quality["rows"] == 4 and quality["roc_auc"] == 1.0
