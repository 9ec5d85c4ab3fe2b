"""What `make` needs to know about the dataset, printed, so no target names its months.

python -m mlops_assets.demo.facts all-months     # Dagster tags for a run over every partition
python -m mlops_assets.demo.facts last-served    # the demo's last month, as a partition key
python -m mlops_assets.demo.facts model-name     # the registered model (and the Bento's name)
"""

import json
import sys

from mlops_assets.core.months import month_after


def all_months_tags() -> str:
    from mlops_assets.dataset.raw_tables import PARTITIONS_END, PARTITIONS_START

    last = month_after(PARTITIONS_END[:7], -1)  # the end is exclusive
    return json.dumps(
        {
            "dagster/asset_partition_range_start": PARTITIONS_START,
            "dagster/asset_partition_range_end": f"{last}-01",
        }
    )


def last_served() -> str:
    from mlops_assets.dataset import demo

    return f"{demo.LAST}-01"


def model_name() -> str:
    from mlops_assets.dataset import problem

    return problem.MODEL_NAME


FACTS = {"all-months": all_months_tags, "last-served": last_served, "model-name": model_name}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in FACTS:
        raise SystemExit(f"usage: python -m mlops_assets.demo.facts {{{','.join(FACTS)}}}")
    print(FACTS[sys.argv[1]]())
