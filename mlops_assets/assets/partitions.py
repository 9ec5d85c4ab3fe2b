"""Time partitions: 2013 arrives month by month."""

from datetime import datetime

import dagster as dg

from mlops_assets.dataset.raw_tables import PARTITIONS_END, PARTITIONS_START

# dbt models with this tag are partitioned by month (``assets/features.py``)
MONTHLY_TAG = "monthly"

monthly_partitions = dg.MonthlyPartitionsDefinition(
    start_date=PARTITIONS_START, end_date=PARTITIONS_END
)


def months_in(window: dg.TimeWindow) -> list[tuple[int, int]]:
    """(year, month) pairs covered by a partition time window, in order."""
    months, current = [], datetime(window.start.year, window.start.month, 1)
    while current < window.end.replace(tzinfo=None):
        months.append((current.year, current.month))
        current = datetime(current.year + current.month // 12, current.month % 12 + 1, 1)
    return months
