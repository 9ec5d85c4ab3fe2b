"""A blocking check on the feature mart: its columns are exactly the reviewed feature contract.

It runs after ``dbt build`` as its own step, so it reads the warehouse when dbt has let go of it.
"""

import dagster as dg

from mlops_assets.assets.features import FEATURE_MART
from mlops_assets.core.training.tasks import current_task
from mlops_assets.dataset import problem
from mlops_assets.resources.warehouse import WAREHOUSE_POOL, WarehouseResource


@dg.asset_check(asset=FEATURE_MART, blocking=True, pool=WAREHOUSE_POOL)
def features_match_contract(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Columns equal the feature contract (nothing unreviewed slips in) and the label is sane."""
    with warehouse.get_connection() as conn:
        columns = {r[0] for r in conn.execute(f"DESCRIBE {problem.FEATURE_TABLE}").fetchall()}
        task = current_task()
        [(rows, label_mean, distinct)] = conn.execute(
            task.label_summary_query(problem.FEATURE_TABLE, problem.LABEL)
        ).fetchall()
        # label bookkeeping (for flights: scheduled, labelled, excluded without an arrival)
        counts = (
            conn.sql(f"SELECT * FROM {problem.LABEL_COUNTS_TABLE}").to_arrow_table()
            if problem.LABEL_COUNTS_TABLE
            else None
        )
    expected = problem.expected_columns()
    problems = []
    if columns - expected:
        problems.append(f"columns not in the contract: {sorted(columns - expected)}")
    if expected - columns:
        problems.append(f"contract columns missing: {sorted(expected - columns)}")
    label_problem = task.label_summary_problem(rows, label_mean, distinct)
    if label_problem:
        problems.append(label_problem)
    return dg.AssetCheckResult(
        passed=not problems,
        description="; ".join(problems) or "columns match the feature contract",
        metadata={
            "rows": rows,
            "features": len(problem.FEATURES),
            "label_mean": float(label_mean or 0.0),  # binary: the positive rate
            **({k: v[0] for k, v in counts.to_pydict().items()} if counts is not None else {}),
        },
    )
