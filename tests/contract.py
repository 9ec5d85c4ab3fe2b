"""What the lifecycle tests know of the dataset, read from its contracts (``dataset/``).

Tests outside ``tests/dataset/`` name no month, model, request or column of their own: a fork
that swaps the dataset package and its dbt models runs them unchanged.
"""

from mlops_assets.core.features.online_features import serving_contract
from mlops_assets.core.months import month_after, month_range
from mlops_assets.core.training.tasks import current_task
from mlops_assets.dataset import problem, raw_tables

SERVING = serving_contract()
MODEL = problem.MODEL_NAME

FIRST_MONTH = raw_tables.PARTITIONS_START[:7]
LAST_MONTH = month_after(raw_tables.PARTITIONS_END[:7], -1)  # the end is exclusive
MONTHS = month_range(FIRST_MONTH, LAST_MONTH)
TEST_MONTH = problem.DEFAULT_TEST_MONTH
PREVIOUS_MONTH = month_after(TEST_MONTH, -1)


def partition(month: str) -> str:
    """The partition key of a month ("2013-12" -> "2013-12-01")."""
    return f"{month}-01"


def month_number(month: str) -> int:
    """A month as the prediction log and batch scores store it ("2013-12" -> 201312)."""
    return int(month.replace("-", ""))


# Requests: one real request of the dataset, and the batch endpoint's field.
EXAMPLE = SERVING.example
PLURAL = SERVING.plural
# The served prediction's fields, as the service names them (e.g. probability ->
# delay_probability), by the task's own names.
OUTPUT = {name: SERVING.output_names.get(name, name) for name in current_task().output_fields()}


def traffic(month: str = TEST_MONTH, n: int = 200) -> list[dict]:
    """``n`` real requests of a month as a client sends them (JSON values), drawn from the raw
    files by the dataset's own demo (``dataset/demo.py``)."""
    from mlops_assets.dataset import demo
    from mlops_assets.resources.raw_files import RawFilesResource

    return demo.month_traffic(RawFilesResource(), month, n)


def as_served(request: dict) -> dict:
    """A JSON request as the service's request model hands it to the lookup: values parsed,
    optional fields it leaves out set to None."""
    return {f.name: None for f in SERVING.request_fields} | SERVING.parse(request)


# The task's first output, the score (probability, value or class): its column in batch scores
# and its field in a served prediction.
SCORE = next(iter(current_task().output_fields()))
SERVED_SCORE = OUTPUT[SCORE]


def _example_month() -> str:
    values = {**as_served(EXAMPLE), **SERVING.context(as_served(EXAMPLE))}
    return values[SERVING.event_date].strftime("%Y-%m")


# The month the example request's row belongs to (its serving profiles and log records).
EXAMPLE_MONTH = _example_month()


def mart_sample(warehouse, where: str, n: int, seed: int, columns=problem.FEATURES):
    """``n`` rows of the feature mart matching ``where`` (SQL over its columns), a fixed sample
    per seed, as a polars frame of ``columns``."""
    import duckdb
    import polars as pl

    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return pl.from_arrow(
            conn.sql(
                f"SELECT {', '.join(dict.fromkeys(columns))} FROM {problem.FEATURE_TABLE} "
                f"WHERE {where} ORDER BY hash({problem.ENTITY_KEY} || '{seed}') LIMIT {n}"
            ).to_arrow_table()
        )


def in_month(month: str) -> str:
    """SQL: the mart's row belongs to ``month`` (by its event date)."""
    return f"strftime({problem.EVENT_DATE}, '%Y-%m') = '{month}'"
