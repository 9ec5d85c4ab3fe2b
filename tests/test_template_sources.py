"""What the template ships, from any source, and how a rendered project takes template updates.

`template-manifest.txt` decides what a render ships. These tests check it against this
repository's `git ls-files`, render from a plain folder (cookiecutter's Python API), a zip
(cookiecutter's CLI) and a git checkout with untracked files lying around, and take one
template change into a rendered project with cruft (create, check, update), all for real in
temp folders.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from hooks.derive import MANIFEST, OPTION_FILES, Manifest, TemplateError, source_files
from tests.conftest import BIN, REPO

ANSWERS = {"project_name": "Gate Watch", "include_pytorch": "no"}
SLUG, PACKAGE = "gate-watch", "gate_watch"
# not in the manifest, or excluded by it: never shipped, wherever a pattern is near
JUNK = (
    "notes.txt",
    "mlops_assets/notes.md",
    "bento/scratch.ipynb",
    "docs/draft.txt",
    "data/warehouse.duckdb",
    "mlops_assets/__pycache__/settings.cpython-311.pyc",
    "mlops_assets.egg-info/PKG-INFO",
    ".venv/lib/site.py",
    "dbt_project/target/manifest.json",
)


def git(cwd: Path, *args: str) -> str:
    identity = ("-c", "user.name=Template Test", "-c", "user.email=template@example.com")
    return subprocess.run(
        ["git", *identity, *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout


def tracked(root: Path) -> set[str]:
    return {p for p in git(root, "ls-files", "-z", "--cached").split("\0") if p}


def working_tree() -> list[str]:
    """This checkout's files as a commit of it would hold them (tracked, untracked, not ignored)."""
    listed = git(REPO, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    return sorted(p for p in listed.split("\0") if p and (REPO / p).is_file())


def copy_template(target: Path, junk: bool = True) -> Path:
    """The template as a plain folder, like `git archive | tar -x`, with junk lying around."""
    for path in working_tree():
        (target / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / path, target / path)
    for path in JUNK if junk else ():
        (target / path).parent.mkdir(parents=True, exist_ok=True)
        (target / path).write_text("mlops_assets junk\n")
    return target


def expected_files(template: Path, candidates) -> set[str]:
    """What the manifest ships of ``candidates``, as named in a project without PyTorch."""
    manifest = Manifest.read(template)
    dropped = set(OPTION_FILES["pytorch"])
    shipped = {p for p in candidates if manifest.ships(p) and p not in dropped}
    return {p.replace("mlops_assets", PACKAGE) for p in shipped} | {".cookiecutter.json"}


def files_in(root: Path) -> set[str]:
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def cookiecutter_config(tmp: Path) -> Path:
    """A user config that keeps cookiecutter's clones and replays out of the home folder."""
    config = tmp / "cookiecutter-config.yaml"
    config.write_text(f"cookiecutters_dir: {tmp / 'clones'}\nreplay_dir: {tmp / 'replay'}\n")
    return config


def assert_renamed(project: Path) -> None:
    assert (project / PACKAGE / "definitions.py").is_file()
    assert not (project / "mlops_assets").exists()
    for name in files_in(project) - {".cookiecutter.json", ".cruft.json"}:  # template's path
        try:
            text = (project / name).read_text()
        except UnicodeDecodeError:
            continue
        assert "mlops_assets" not in text and "mlops-assets" not in text, name


# --- the manifest --------------------------------------------------------------------------


def test_every_tracked_file_is_shipped_or_explicitly_kept_out_and_every_rule_is_used():
    manifest = Manifest.read(REPO)
    files = tracked(REPO)
    unlisted = sorted(p for p in files if manifest.decide(p) is None)
    assert unlisted == [], f"tracked files {MANIFEST} neither ships nor excludes: {unlisted}"
    for ship, pattern, regex in manifest.rules:
        if ship:
            assert any(regex.match(p) for p in files), f"{MANIFEST}: {pattern!r} matches nothing"
    # what a checkout ships is tracked, whatever lies around untracked
    assert set(source_files(REPO)) <= files
    shipped = set(source_files(REPO))
    assert {"README.md", "mlops_assets/definitions.py", ".ci/run"} <= shipped
    assert (
        not {MANIFEST, "cookiecutter.json", "hooks/derive.py", __name__.replace(".", "/") + ".py"}
        & shipped
    )


def test_manifest_globs_stay_within_folders_and_the_last_matching_line_decides():
    manifest = Manifest("# comment\n\na/*.py\nb/**/*.sql\n**/*.md\n!b/**\n!a/x.py\na/x.py\n")
    assert manifest.ships("a/m.py") and not manifest.ships("a/sub/m.py")
    assert manifest.decide("b/deep/er/q.sql") is False  # a later `!b/**` wins
    assert manifest.ships("README.md") and manifest.ships("docs/deep/x.md")
    assert manifest.decide("b/r.md") is False
    assert manifest.ships("a/x.py")  # excluded, then shipped again: the last line decides
    assert manifest.decide("notes.txt") is None and manifest.decide("a/m.pyc") is None
    with pytest.raises(TemplateError, match=r"f:1: '\.\./up' is not relative"):
        Manifest("../up\n", where="f")


def test_a_template_without_a_manifest_is_refused(tmp_path):
    (tmp_path / "README.md").write_text("x\n")
    with pytest.raises(TemplateError, match="template-manifest.txt is missing"):
        source_files(tmp_path)


# --- rendering from a plain folder, a zip and a git checkout -------------------------------


@pytest.fixture(scope="module")
def plain_render(tmp_path_factory) -> tuple[Path, Path]:
    """A render from a plain folder (no .git) through cookiecutter's Python API, in-process."""
    from cookiecutter.main import cookiecutter

    tmp = tmp_path_factory.mktemp("plain")
    template = copy_template(tmp / "mlops-assets")
    with (template / "README.md").open("a") as readme:
        readme.write("\nRendered from the plain folder.\n")
    # hooks.derive is imported from this checkout already: the render must not use it instead
    project = cookiecutter(
        str(template),
        no_input=True,
        extra_context=ANSWERS,
        output_dir=str(tmp / "out"),
        config_file=str(cookiecutter_config(tmp)),
    )
    return template, Path(project)


def test_a_plain_folder_renders_what_the_manifest_lists_and_no_junk(plain_render):
    template, project = plain_render
    assert not (template / ".git").exists()
    assert project.name == SLUG
    rendered = files_in(project)
    assert rendered == expected_files(template, files_in(template))
    assert not [p for p in JUNK if p.replace("mlops_assets", PACKAGE) in rendered]
    assert (project / "README.md").read_text().endswith("Rendered from the plain folder.\n")
    assert_renamed(project)
    assert not (project / PACKAGE / "core" / "training" / "torch_trainer.py").exists()
    # still a git repository from the start, with every rendered file staged
    assert set(git(project, "ls-files").splitlines()) == rendered


def test_a_zip_of_the_template_renders_the_same_project(plain_render, tmp_path):
    template, from_folder = plain_render
    archive = shutil.make_archive(
        str(tmp_path / "mlops-assets"), "zip", root_dir=template.parent, base_dir=template.name
    )
    result = subprocess.run(
        [
            *(str(BIN / "cookiecutter"), archive, "--no-input", "-o", str(tmp_path / "out")),
            *("--config-file", str(cookiecutter_config(tmp_path))),
            *(f"{key}={value}" for key, value in ANSWERS.items()),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    project = tmp_path / "out" / SLUG
    assert files_in(project) == files_in(from_folder)
    different = [
        name
        for name in files_in(project)
        if name != ".cookiecutter.json"  # it records the template's path
        and (project / name).read_bytes() != (from_folder / name).read_bytes()
    ]
    assert different == []
    # zip extraction keeps no file modes; a script is made runnable again
    assert os.access(project / ".ci" / "run", os.X_OK)


def test_a_git_checkout_ships_only_tracked_files(tmp_path):
    template = copy_template(tmp_path / "mlops-assets", junk=False)
    git(template, "init", "--quiet")
    git(template, "add", "--all")
    git(template, "commit", "--quiet", "-m", "template")
    # matches `mlops_assets/**/*.py`, but is not tracked
    (template / "mlops_assets" / "scratch.py").write_text("print('mine')\n")
    (template / "notes.txt").write_text("todo\n")
    result = subprocess.run(
        [
            *(str(BIN / "cookiecutter"), "mlops-assets", "--no-input", "-o", "out"),
            *("--config-file", str(cookiecutter_config(tmp_path))),
            *(f"{key}={value}" for key, value in ANSWERS.items()),
        ],
        cwd=tmp_path,  # a relative template path, as a user types it
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    project = tmp_path / "out" / SLUG
    rendered = files_in(project)
    assert rendered == expected_files(template, tracked(template))
    assert f"{PACKAGE}/scratch.py" not in rendered and "notes.txt" not in rendered


# --- the upgrade path: cruft -----------------------------------------------------------------


def cruft(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "cruft"), *args], cwd=cwd, capture_output=True, text=True, timeout=300
    )


def test_cruft_creates_a_project_and_updates_it_to_a_new_template_commit(tmp_path):
    template = copy_template(tmp_path / "template", junk=False)
    git(template, "init", "--quiet")
    git(template, "add", "--all")
    git(template, "commit", "--quiet", "-m", "v1")
    v1 = git(template, "rev-parse", "HEAD").strip()

    created = cruft(
        tmp_path,
        *("create", str(template), "--no-input", "--output-dir", "projects"),
        *("--extra-context", json.dumps(ANSWERS)),
    )
    assert created.returncode == 0, created.stdout[-3000:] + created.stderr[-3000:]
    project = tmp_path / "projects" / SLUG
    state = json.loads((project / ".cruft.json").read_text())
    assert state["commit"] == v1 and state["template"] == str(template)
    assert state["context"]["cookiecutter"]["package_name"] == PACKAGE
    assert files_in(project) == expected_files(template, tracked(template)) | {".cruft.json"}
    assert_renamed(project)
    # under cruft the project's repository is made by its owner (see hooks/derive.py)
    assert not (project / ".git").exists()
    git(project, "init", "--quiet")
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "-m", "rendered from the template")
    assert cruft(project, "check").returncode == 0

    # the fork's own change, and the template's v2 in the same file and in a new one
    readme = (project / "README.md").read_text()
    (project / "README.md").write_text("Gate Watch: our fork.\n" + readme)
    git(project, "commit", "--quiet", "-am", "our README")
    with (template / "README.md").open("a") as upstream:
        upstream.write("\nTemplate v2: see `mlops_assets/core/v2_note.py`.\n")
    (template / "mlops_assets" / "core" / "v2_note.py").write_text(
        '"""Added by template v2."""\n\nPACKAGE = "mlops_assets"\n'
    )
    with (template / MANIFEST).open("a") as manifest:  # a new kind of file, shipped by v2
        manifest.write("docs/*.txt\n")
    (template / "docs" / "v2.txt").write_text("v2 of mlops-assets\n")
    git(template, "add", "--all")
    git(template, "commit", "--quiet", "-m", "v2")
    v2 = git(template, "rev-parse", "HEAD").strip()

    checked = cruft(project, "check")
    assert checked.returncode == 1 and "out of date" in checked.stdout
    updated = cruft(project, "update", "-y")
    assert updated.returncode == 0, updated.stdout[-3000:] + updated.stderr[-3000:]
    assert "Good work" in updated.stdout, updated.stdout[-3000:] + updated.stderr[-3000:]

    readme = (project / "README.md").read_text()
    assert readme.startswith("Gate Watch: our fork.\n")
    assert readme.endswith(f"\nTemplate v2: see `{PACKAGE}/core/v2_note.py`.\n")
    note = project / PACKAGE / "core" / "v2_note.py"
    assert note.read_text() == f'"""Added by template v2."""\n\nPACKAGE = "{PACKAGE}"\n'
    assert (project / "docs" / "v2.txt").read_text() == f"v2 of {SLUG}\n"
    assert json.loads((project / ".cruft.json").read_text())["commit"] == v2
    assert not list(project.rglob("*.rej"))
    changed = {line[3:] for line in git(project, "status", "--porcelain").splitlines()}
    assert changed == {".cruft.json", "README.md", f"{PACKAGE}/core/v2_note.py", "docs/v2.txt"}
    assert cruft(project, "check").returncode == 0
