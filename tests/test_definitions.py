"""The project's definitions and the feature graph they build, read through the contracts: the
raw tables of ``dataset/raw_tables.py`` land every month and feed the mart of
``dataset/problem.py``, whose contract check passes (the flights' own counts and models:
tests/dataset/test_feature_store.py)."""

import os

import dagster as dg
import duckdb

from mlops_assets.dataset import problem
from mlops_assets.dataset.raw_tables import EVENT_TABLE, MONTHLY_TABLES, STATIC_TABLES
from tests.conftest import run_cli
from tests.contract import MONTHS

FEATURE_MART = dg.AssetKey(problem.FEATURE_TABLE.split("."))


def test_definitions_validate_for_dagster_dev():
    result = run_cli(["dagster", "definitions", "validate", "-w", "workspace.yaml"])
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]


def test_asset_graph_runs_from_the_raw_tables_to_the_mart():
    from mlops_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    raw = [dg.AssetKey(["raw", t.name]) for t in (*MONTHLY_TABLES, *STATIC_TABLES)]
    assert {graph.get(k).group_name for k in raw} == {"raw"}
    assert graph.get(FEATURE_MART).group_name == "marts"
    ancestors, frontier = set(), set(graph.get(FEATURE_MART).parent_keys)
    while frontier:
        key = frontier.pop()
        ancestors.add(key)
        frontier |= set(graph.get(key).parent_keys) - ancestors
    assert dg.AssetKey(["raw", EVENT_TABLE.name]) in ancestors
    assert {k.path[0] for k in ancestors} >= {"raw", "staging"}
    assert os.environ["DUCKDB_DATABASE"]  # profiles.yml and the resource share it


def test_the_feature_build_lands_every_month_and_passes_the_contract_check(built_warehouse):
    instance = dg.DagsterInstance.get()
    for table in MONTHLY_TABLES:
        landed = instance.get_materialized_partitions(dg.AssetKey(["raw", table.name]))
        assert sorted(landed) == [f"{m}-01" for m in MONTHS], table.name
    assert instance.get_latest_materialization_event(FEATURE_MART)
    check = dg.AssetCheckKey(FEATURE_MART, "features_match_contract")
    [record] = instance.event_log_storage.get_asset_check_execution_history(check, limit=1)
    evaluation = record.event.dagster_event.event_specific_data
    assert evaluation.passed, evaluation.description
    assert evaluation.metadata["features"].value == len(problem.FEATURES)
    with duckdb.connect(str(built_warehouse), read_only=True) as conn:
        columns = {r[0] for r in conn.execute(f"DESCRIBE {problem.FEATURE_TABLE}").fetchall()}
    assert columns == problem.expected_columns()


def test_a_declared_feature_missing_from_the_mart_stops_the_blocking_check_naming_it(
    built_warehouse, tmp_path
):
    """The mart's real rows, with one declared feature dropped and an undeclared column added:
    the blocking check (which keeps training from running on it) fails naming both."""
    from mlops_assets.assets.feature_checks import features_match_contract
    from mlops_assets.resources.warehouse import WarehouseResource

    missing = problem.NUMERIC_FEATURES[-1]
    broken = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(broken)) as conn:
        conn.execute(f"ATTACH '{built_warehouse}' AS built (READ_ONLY)")
        for table in filter(None, (problem.FEATURE_TABLE, problem.LABEL_COUNTS_TABLE)):
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {table.split('.')[0]}")
            conn.execute(f"CREATE TABLE {table} AS SELECT * FROM built.{table} LIMIT 500")
        conn.execute(f"ALTER TABLE {problem.FEATURE_TABLE} DROP COLUMN {missing}")
        conn.execute(f"ALTER TABLE {problem.FEATURE_TABLE} ADD COLUMN unreviewed_feature DOUBLE")
    result = features_match_contract(warehouse=WarehouseResource(database=str(broken)))
    assert not result.passed
    assert f"contract columns missing: ['{missing}']" in result.description
    assert "columns not in the contract: ['unreviewed_feature']" in result.description
    assert features_match_contract.check_specs and all(
        spec.blocking for spec in features_match_contract.check_specs
    )
