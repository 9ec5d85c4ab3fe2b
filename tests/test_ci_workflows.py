"""The CI/CD shipped with the template only calls what the project has: every `make` target a
workflow step runs exists, CI's test job runs README's test command, and `.ci/run` does too."""

import re
from pathlib import Path

import yaml

from tests.conftest import readme_commands

REPO = Path(__file__).resolve().parent.parent
WORKFLOWS = REPO / ".github" / "workflows"


def _make_targets() -> set[str]:
    text = (REPO / "Makefile").read_text()
    return set(re.findall(r"^([a-z][a-z0-9-]*):", text, re.MULTILINE))


def _steps(workflow: str) -> dict[str, list[dict]]:
    jobs = yaml.safe_load((WORKFLOWS / workflow).read_text())["jobs"]
    return {name: job["steps"] for name, job in jobs.items()}


def test_every_workflow_step_runs_a_make_target_that_exists():
    targets = _make_targets()
    runs = [
        step["run"]
        for workflow in ("ci.yml", "deploy.yml")
        for steps in _steps(workflow).values()
        for step in steps
        if "run" in step
    ]
    assert len(runs) >= 8
    for command in runs:
        assert command.startswith("make "), command
        assert command.split()[1] in targets, f"{command!r}: no such Makefile target"


def test_ci_runs_the_readme_test_command_and_uploads_the_bento():
    demo, test = readme_commands()
    assert (demo, test) == ("make demo", "make test")
    jobs = _steps("ci.yml")
    assert {"run": test} in jobs["test"] and {"run": "make test-slow"} in jobs["test"]
    deliver = [s.get("run") or s.get("uses") for s in jobs["deliver"]]
    assert "make dbt-build" in deliver and "make demo" in deliver
    assert any(str(s).startswith("make export-bento") for s in deliver)
    assert any(str(s).startswith("actions/upload-artifact") for s in deliver)
    assert test in (REPO / ".ci" / "run").read_text().splitlines()
