"""The Seattle fork: this template rendered as cookiecutter renders it (hooks/derive.py), with
`examples/seattle_weather/` laid over it as a team forking it for its own data would.

A fork replaces the dbt models, seeds and dbt tests, and the dataset's own tests
(`tests/dataset/`), wholesale; it writes only the dataset contracts, its dbt models and its
dataset tests. tests/test_bring_your_own_data.py runs its lifecycle with this checkout's CLIs;
tests/test_seattle_fork.py runs its own `make test` and `make demo` after a fresh install.
"""

import shutil
from pathlib import Path

from hooks.derive import derive_project
from tests.conftest import REPO, SESSION_DIR
from tests.rendered_project import BackgroundSetup

EXAMPLE = REPO / "examples" / "seattle_weather"
SLUG, PACKAGE = "temp-watch", "temp_watch"
ANSWERS = {"project_slug": SLUG, "package_name": PACKAGE, "include_pytorch": "no"}
MODEL = "temp_max_tomorrow"  # MODEL_NAME in the example's problem.py
# Replaced wholesale: the flight models, seeds and data tests, and the flight dataset's tests.
REPLACED = ("dbt_project/models", "dbt_project/seeds", "dbt_project/tests", "tests/dataset")
# ...and written only here: the dataset contracts, its dbt models and its dataset tests.
ALLOWED = (
    *(f"{PACKAGE}/dataset/{name}.py" for name in ("raw_tables", "problem", "serving", "demo")),
    "dbt_project/models/",
    "tests/dataset/",
)
# the files docs/bring-your-own-data.md counts ("A fork writes 14 files")
FILES_WRITTEN = 14


def render_fork(root: Path) -> list[str]:
    """Render the fork into ``root``; the paths it wrote, relative to ``root``."""
    derive_project(REPO, root, ANSWERS)
    for folder in REPLACED:
        shutil.rmtree(root / folder, ignore_errors=True)
    written = []
    for path in sorted(EXAMPLE.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.parent != EXAMPLE:
            relative = path.relative_to(EXAMPLE).as_posix().replace("mlops_assets", PACKAGE)
            (root / relative).parent.mkdir(parents=True, exist_ok=True)
            (root / relative).write_text(path.read_text().replace("mlops_assets", PACKAGE))
            written.append(relative)
    return written


def fork_project() -> Path:
    """The session's fork for its own `make test` and `make demo` (rendered on first use)."""
    root = SESSION_DIR / "seattle" / SLUG
    if not root.exists():
        render_fork(root)
    return root


FORK_SETUP = BackgroundSetup(fork_project, SESSION_DIR / "seattle-setup.log")
