"""Model facts of the flights: a binary task whose first small-budget model clearly beats chance,
with lineage down to the history models the mart reads."""

from mlops_assets.core.training.tasks import current_task
from mlops_assets.dataset import problem
from tests.model_lab import MODEL


def test_flights_stay_a_binary_task():
    assert current_task().kind == problem.TASK_TYPE == "binary"


def test_a_small_budget_model_ranks_delays_well_above_chance(served):
    production = served.registry.production(MODEL)
    assert production.metadata["metrics"]["test"]["roc_auc"] > 0.6


def test_lineage_names_the_mart_and_the_history_models_it_reads(served):
    lineage = served.registry.production(MODEL).metadata["lineage"]
    assert "flight_features" in lineage["dbt_models"]
    assert "int_history__route" in lineage["dbt_models"]
