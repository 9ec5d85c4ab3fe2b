"""The template renders a project that passes its own tests.

Cookiecutter's real CLI renders this repository into a temp folder under a new name with the
PyTorch option off; the rendered project is then set up and tested by its own README test
command, in an environment that shares nothing with this one but the pip cache.
"""

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import BIN, REPO, readme_commands
from tests.rendered_project import (
    PACKAGE,
    SLUG,
    outside_env,
    project,
    render,
    wait_for_setup,
)

CODE = ("*.py", "*.toml", "*.yml", "*.yaml", "Makefile", ".ci/run")


def text_files(root: Path) -> dict[str, str]:
    """The rendered files (staged by the render's `git init`; caches and venvs excluded)."""
    listed = subprocess.run(
        ["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    files = {}
    for name in listed:
        try:
            files[name] = (root / name).read_text()
        except UnicodeDecodeError:
            continue
    return files


@pytest.fixture(scope="module")
def rendered() -> Path:
    return project()


def test_the_package_is_renamed_everywhere_and_template_machinery_stays_behind(rendered):
    assert (rendered / PACKAGE / "definitions.py").is_file()
    assert not (rendered / "mlops_assets").exists()
    files = text_files(rendered)
    assert len(files) > 100
    assert not [name for name, text in files.items() if "mlops_assets" in text]
    assert not [name for name, text in files.items() if "mlops-assets" in text]
    assert f'name = "{SLUG}"' in files["pyproject.toml"]
    assert f"-m {PACKAGE}.definitions" in files["Makefile"]
    assert not {"cookiecutter.json", "template-manifest.txt", "tests/test_template.py"} & set(files)
    assert not (rendered / "hooks").exists()
    # a git repository from the start, with every rendered file staged (`files` are those)
    assert (rendered / ".git").is_dir() and f"{PACKAGE}/definitions.py" in files


def test_without_pytorch_no_code_or_pin_mentions_torch_and_no_marker_survives(rendered):
    assert not (rendered / PACKAGE / "core" / "training" / "torch_trainer.py").exists()
    files = text_files(rendered)
    code = {
        name: text
        for name, text in files.items()
        if any(Path(name).match(pattern) for pattern in CODE)
    }
    assert "pyproject.toml" in code and "bento/bentofile.yaml" in code
    for name, text in code.items():
        for word in ("import torch", "torch==", "torch_candidate", "torch_trainer"):
            assert word not in text, f"{name} mentions {word!r}"
    for name, text in files.items():
        for marker in (">>> pytorch", "<<< pytorch", "[pytorch]", "[template]", "[!template]"):
            assert marker not in text, f"{name} keeps the marker {marker!r}"
    assert "| C2 source repository | this repo: code" in files["README.md"]


# not named test_the_rendered…: that prefix starts the slow test's `make setup` (conftest.py)
def test_ruff_finds_nothing_in_the_rendered_project(rendered):
    paths = [PACKAGE, "tests", "benchmarks", "bento"]
    check = subprocess.run(
        [str(BIN / "ruff"), "check", *paths], cwd=rendered, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout[-3000:]
    formatted = subprocess.run(
        [str(BIN / "ruff"), "format", "--check", *paths], cwd=rendered, capture_output=True
    )
    assert formatted.returncode == 0, formatted.stdout[-3000:]


def test_recorded_answers_render_the_same_project_again(rendered, tmp_path):
    recorded = json.loads((rendered / ".cookiecutter.json").read_text())["cookiecutter"]
    assert recorded["package_name"] == PACKAGE and recorded["include_pytorch"] == "no"
    again = subprocess.run(
        [
            str(BIN / "cookiecutter"),
            "--replay-file",
            str(rendered / ".cookiecutter.json"),
            "-o",
            str(tmp_path),
            str(REPO),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 0, again.stderr[-3000:]
    first, second = text_files(rendered), text_files(tmp_path / SLUG)
    assert first.keys() == second.keys()
    assert [name for name in first if first[name] != second[name]] == []


def test_a_name_that_is_not_a_python_package_is_refused_and_nothing_is_written(tmp_path):
    result = render(tmp_path, "package_name=2fast")
    assert result.returncode != 0
    assert "package_name must be a lowercase Python identifier" in result.stderr
    assert "'2fast'" in result.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow  # its own default suite, after a fresh install: ~9 minutes
def test_the_rendered_project_passes_its_own_readme_test_command(rendered):
    demo, test = readme_commands(rendered)
    assert test == "make test"
    # `make test` sets up first; that part ran in the background since collection
    code, log = wait_for_setup()
    assert code == 0, log
    result = subprocess.run(
        test.split(),
        cwd=rendered,
        # the slow fault and parity tests ran above on the same code, unrenamed
        env={**outside_env(), "PYTEST_ADDOPTS": "-m 'not slow and not stack'"},
        capture_output=True,
        text=True,
        timeout=1800,
    )
    tail = result.stdout[-4000:] + result.stderr[-2000:]
    assert result.returncode == 0, tail
    summary = result.stdout.strip().splitlines()[-1]
    assert " passed" in summary and "failed" not in summary and "error" not in summary, summary
    assert (rendered / ".venv" / "bin" / "dagster").exists()
    assert not (rendered / ".venv" / "lib" / "python3.11" / "site-packages" / "torch").exists()


def test_option_markers_keep_drop_and_name_the_line_of_a_broken_block():
    from hooks.derive import TemplateError, apply_markers

    text = "a\n# >>> pytorch\nb\n# <<< pytorch\nc  # [pytorch]\nd  # [!pytorch]\n"
    assert apply_markers(text, {"pytorch": True}, "f.py") == "a\nb\nc\n"
    assert apply_markers(text, {"pytorch": False}, "f.py") == "a\nd\n"
    with pytest.raises(TemplateError, match=r"f\.py:2: '>>> pytorch' is never closed"):
        apply_markers("a\n# >>> pytorch\nb\n", {"pytorch": True}, "f.py")
    with pytest.raises(TemplateError, match=r"f\.py:1: unknown template option 'gpu'"):
        apply_markers("x  # [gpu]\n", {"pytorch": True}, "f.py")
