"""The dbt project, prepared once: dagster-dbt needs its manifest when definitions load.

dbt is run from the venv of the Python that loads the project (``<venv>/bin/dbt``), not looked
up on PATH: IDEs, cron, process managers and ``.venv/bin/dagster dev`` run without an activated
venv, and dagster-dbt's default preparer and resource would then fail with "The dbt executable
'dbt' was not found on PATH" and the code location would load no assets.
"""

import shutil
import sys
from functools import cached_property
from importlib.metadata import version
from pathlib import Path

from dagster_dbt import DagsterDbtProjectPreparer, DbtCliResource, DbtProject
from dagster_shared.record import replace
from packaging.version import Version

from mlops_assets.settings import DBT_PROJECT_DIR


def dbt_executable() -> str:
    """dbt beside this Python (the project's venv) even when the venv is not activated."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else (shutil.which("dbt") or "dbt")


class VenvDbtProjectPreparer(DagsterDbtProjectPreparer):
    """dagster-dbt's preparer (``dbt deps`` + ``dbt parse`` under its concurrent-update guard),
    running :func:`dbt_executable` instead of whatever ``dbt`` PATH holds.

    dagster-dbt's DbtProject has no ``dbt_executable`` option; its preparer builds a
    DbtCliResource with the PATH default in these two steps, so they are the seam to override.
    """

    def _cli(self, project: DbtProject) -> DbtCliResource:
        return DbtCliResource(project_dir=project, dbt_executable=dbt_executable())

    def _prepare_packages(self, project: DbtProject) -> None:
        self._cli(project).cli(["deps", "--quiet"], target_path=project.target_path).wait()

    def _prepare_manifest(self, project: DbtProject) -> None:
        self._cli(project).cli(
            self._prepare_project_cli_args, target_path=project.target_path
        ).wait()
        self._invalidate_seeds_in_partial_parse(project)


dbt_project = replace(
    DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR),
    preparer=VenvDbtProjectPreparer(),
)
# Under `dagster dev` the manifest is rebuilt on load; tests and CI call
# `dbt_project.preparer.prepare(dbt_project)` (or `dbt parse`) themselves.
dbt_project.prepare_if_dev()


class FeatureStoreDbtCliResource(DbtCliResource):
    """dagster-dbt's dbt CLI without two start-up costs it pays on every ``cli()`` call, which
    this project does not use (measured: 6.9 s of a one-month build's 20 s step, see
    docs/benchmarks.md):

    - ``dbt --version`` in a subprocess (2.7 s), to tell dbt Core from the Fusion engine: the
      project pins dbt-core, so its installed version is the answer;
    - an in-process dbt adapter with every macro loaded (4.1 s), used only by
      ``fetch_row_counts()`` / ``fetch_column_metadata()``, which the assets do not call.
    """

    @cached_property
    def _cli_version(self) -> Version:
        return Version(version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args):
        return None


def dbt_resource() -> DbtCliResource:
    """The dbt CLI, pointed at the project and its in-repo profiles.yml."""
    return FeatureStoreDbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable())
