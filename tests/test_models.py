"""Models as assets: reproducible training, the promotion gate, rollback, lineage, and refusal
of damaged files. Real data from the session's warehouse, real Dagster runs, a real registry
folder; small training budgets keep it quick."""

from pathlib import Path

import duckdb
import pytest

from mlops_assets.assets.evaluation import model_evaluation
from mlops_assets.assets.promotion import production_model
from mlops_assets.assets.training import CANDIDATES, FRAMEWORKS, training_set
from mlops_assets.core.registry.registry import CorruptModelError
from mlops_assets.core.serving.predictor import load_predictor
from mlops_assets.core.training.encoding import FeatureSchemaError
from mlops_assets.core.training.fingerprint import frame_fingerprint
from mlops_assets.core.training.reproduce import load_training_set, reproduce
from mlops_assets.core.training.tasks import current_task
from mlops_assets.core.training.training_data import load_split
from mlops_assets.dataset import problem
from mlops_assets.dataset.problem import LABEL
from tests.conftest import run_cli
from tests.contract import FIRST_MONTH
from tests.model_lab import MODEL, SMALL, WORSE, Lab


@pytest.fixture(scope="module")
def lab(built_warehouse, tmp_path_factory) -> Lab:
    """A lab whose first full run trained, evaluated and promoted a first model."""
    lab = Lab(tmp_path_factory.mktemp("models"), built_warehouse)
    first = lab.run(SMALL)
    assert first.success
    return lab


def test_first_model_is_promoted_because_it_beats_the_baseline(lab):
    production = lab.registry.production(MODEL)
    assert production is not None
    [event] = [e for e in lab.registry.events(MODEL) if e["stage"] == "production"]
    assert "beats baseline" in event["reason"]
    versions = lab.registry.versions(MODEL)
    assert {v.metadata["framework"] for v in versions} == set(FRAMEWORKS)
    assert all(v.metadata["device"] == "cpu" for v in versions)  # CPU fallback without a GPU
    # the task's gate metric on the test month (flights: its level, tests/dataset)
    assert current_task().gate_metric in production.metadata["metrics"]["test"]


def test_retraining_with_same_inputs_reproduces_metrics_and_lightgbm_file(lab):
    before = {v.version for v in lab.registry.versions(MODEL)}
    result = lab.run(SMALL, selection=[training_set, *CANDIDATES])
    assert result.success
    new = [v for v in lab.registry.versions(MODEL) if v.version not in before]
    old = [v for v in lab.registry.versions(MODEL) if v.version in before]
    for framework in FRAMEWORKS:
        [a] = [v for v in old if v.metadata["framework"] == framework]
        [b] = [v for v in new if v.metadata["framework"] == framework]
        assert a.metadata["metrics"] == b.metadata["metrics"], framework
    [a] = [v for v in old if v.metadata["framework"] == "lightgbm"]
    [b] = [v for v in new if v.metadata["framework"] == "lightgbm"]
    assert lab.registry.read_file(a, "model.txt") == lab.registry.read_file(b, "model.txt")


def test_promotion_refuses_a_worse_challenger_in_the_same_run(lab):
    production = lab.registry.production(MODEL)
    result = lab.run(WORSE)
    # a refused challenger is an expected outcome: the run is green, production unchanged, the
    # Bento step skipped, the reason on the gate check and the run's tags
    assert result.success
    assert not result.asset_materializations_for_node("production_model")
    evaluations = [
        e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    assert [e.passed for e in evaluations] == [False]
    assert evaluations[0].description.startswith(f"kept v{production.version}: challenger v")
    assert "does not beat production" in evaluations[0].description
    run = lab.instance.get_run_by_id(result.run_id)
    assert run.tags["mlops/outcome"].startswith(f"kept v{production.version}")
    assert lab.registry.production(MODEL).version == production.version


def test_promotion_refuses_a_worse_challenger_in_a_run_of_its_own(lab):
    # The latest evaluation (from the refused run above, or made here) names a worse challenger.
    production = lab.registry.production(MODEL)
    assert lab.run(WORSE, selection=[training_set, *CANDIDATES, model_evaluation]).success
    alone = lab.run({}, selection=[production_model])
    assert alone.success and not alone.asset_materializations_for_node("production_model")
    outcome = lab.instance.get_run_by_id(alone.run_id).tags["mlops/outcome"]
    assert outcome.startswith(f"kept v{production.version}") and "does not beat" in outcome
    assert lab.registry.production(MODEL).version == production.version


def test_rollback_is_one_command_and_round_trips(lab):
    registry = lab.registry
    first = registry.production(MODEL)
    other = next(v for v in registry.versions(MODEL) if v.version != first.version)
    registry.promote(MODEL, other.version, reason="test: switch", actor="pytest")
    env = {"MLOPS_DATA_DIR": str(lab.root / "data")}
    result = run_cli(
        ["mlops-registry", "rollback", str(first.version), "--reason", "round trip"], env=env
    )
    assert result.returncode == 0, result.stderr
    assert registry.production(MODEL).version == first.version
    assert registry.stages(MODEL)[other.version] == "archived"
    last = registry.events(MODEL)[-2:]
    assert last[0]["reason"] == "rollback: round trip" and last[0]["version"] == first.version
    listing = run_cli(["mlops-registry", "list"], env=env).stdout
    assert f"v{first.version}\tproduction" in listing
    assert f"test_{current_task().gate_metric}=" in listing  # the task's gate metric


def test_lineage_rebuilds_the_exact_training_set_from_the_warehouse(lab, built_warehouse):
    version = lab.registry.production(MODEL)
    lineage = version.metadata["lineage"]
    with duckdb.connect(str(built_warehouse), read_only=True) as conn:
        rebuilt = load_split(conn, lineage["training_set_query"])
    assert frame_fingerprint(rebuilt) == lineage["training_set_hash"]
    # the mart (flights: and the models it reads, tests/dataset)
    assert problem.FEATURE_TABLE.split(".")[-1] in lineage["dbt_models"]
    assert len(lineage["git_commit"]) >= 40 or lineage["git_commit"] == "unknown"
    assert lineage["training_code_version"]


def test_a_past_training_rerun_from_its_version_reproduces_its_metrics(lab):
    version = next(v for v in lab.registry.versions(MODEL) if v.metadata["framework"] == "lightgbm")
    result = reproduce(lab.registry, version, LABEL)
    assert result["reproduced"] == result["registered"]
    assert all(result["files_identical"].values())


def test_a_tampered_or_truncated_model_file_is_refused(lab, tmp_path):
    registry = lab.registry
    version = next(v for v in registry.versions(MODEL) if v.metadata["framework"] == "lightgbm")
    path = Path(registry.store.root) / f"models/{MODEL}/versions/{version.version}/model.txt"
    original = path.read_bytes()
    try:
        path.write_bytes(original.replace(b"leaf_value=", b"leaf_value=9", 1))
        with pytest.raises(CorruptModelError, match="refusing to load"):
            load_predictor(registry, version)
        path.write_bytes(original[: len(original) // 2])
        with pytest.raises(CorruptModelError, match="model.txt"):
            load_predictor(registry, version)
    finally:
        path.write_bytes(original)
    assert load_predictor(registry, version)  # intact again


def test_rows_without_a_registered_feature_are_refused_by_name(lab):
    version = lab.registry.production(MODEL)
    frame = load_training_set(lab.registry, version.metadata["lineage"]["training_set_hash"])
    missing = problem.FEATURES[-1]
    with pytest.raises(FeatureSchemaError, match=missing):
        load_predictor(lab.registry, version).predict_frame(frame.drop(missing))


def test_too_few_rows_fail_training_and_leave_production_alone(lab):
    production = lab.registry.production(MODEL)
    # the first month as test month: nothing before it to train on
    result = lab.run({"training_set": {"test_month": FIRST_MONTH, "train_months": 6}})
    assert not result.success
    error = result.failure_data_for_node("training_set").error.to_string()
    assert "split 'train'" in error and "DATA_SIZE['min_rows_per_split']" in error
    assert lab.registry.production(MODEL).version == production.version
