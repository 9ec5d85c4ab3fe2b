"""The dbt project, prepared once: dagster-dbt needs its manifest when definitions load."""

import shutil
import sys
from pathlib import Path

from dagster_dbt import DbtCliResource, DbtProject

from mlops_assets.settings import DBT_PROJECT_DIR

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
# Under `dagster dev` the manifest is rebuilt on load; tests and CI call
# `dbt_project.preparer.prepare(dbt_project)` (or `dbt parse`) themselves.
dbt_project.prepare_if_dev()


def dbt_executable() -> str:
    """dbt beside this Python (the project's venv) even when the venv is not activated."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


def dbt_resource() -> DbtCliResource:
    """The dbt CLI, pointed at the project and its in-repo profiles.yml."""
    return DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable())
