"""Derive a new project from this repository: the template is the working project itself.

There is no second copy to keep in step. Rendering copies the repository's git-tracked files
(plus untracked ones git does not ignore), renames the package, and applies option markers:

    # >>> pytorch            lines up to the matching `# <<< pytorch` are kept only when
    ...                      the option is on (`<!-- >>> pytorch -->` in Markdown)
    # <<< pytorch
    some line  # [pytorch]   one line kept only when the option is on
    # >>> !pytorch           `!` inverts: kept only when the option is off

The markers themselves never reach the new project. ``template`` is an option that is always
off in a rendered project: it wraps what only makes sense in this repository.
"""

import re
import shutil
import subprocess
from pathlib import Path

# Template machinery: never copied into a rendered project.
TEMPLATE_ONLY = (
    "cookiecutter.json",
    "hooks/",
    "{{cookiecutter.project_slug}}/",
    "tests/test_template.py",
    # the second-dataset proof forks the template itself (docs/bring-your-own-data.md)
    "examples/",
    "tests/test_bring_your_own_data.py",
)
# Whole files that exist only for an option.
OPTION_FILES = {
    "pytorch": ("mlops_assets/core/torch_trainer.py", "benchmarks/torch_device.py"),
}
BLOCK = re.compile(r"^\s*(?:#|<!--)\s*(>>>|<<<)\s*(!?)([\w-]+)\s*(?:-->)?\s*$")
INLINE = re.compile(r"\s*(?:#|<!--)\s*\[(!?)([\w-]+)\]\s*(?:-->)?\s*$")


class TemplateError(Exception):
    """The template cannot be rendered; the message says why and where."""


def source_files(root: Path) -> list[str]:
    """Tracked and untracked-but-not-ignored files, as POSIX paths relative to ``root``."""
    if not (root / ".git").exists():
        raise TemplateError(f"{root} is not a git checkout: render from a clone or a git URL")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return sorted({p for p in listed.split("\0") if p and (root / p).is_file()})


def apply_markers(text: str, options: dict[str, bool], where: str) -> str:
    """Keep or drop marked lines; raise on an unknown option or an unbalanced block."""
    kept, stack = [], []
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        block = BLOCK.match(line)
        if block:
            kind, negate, name = block.groups()
            if name not in options:
                raise TemplateError(f"{where}:{number}: unknown template option {name!r}")
            if kind == ">>>":
                stack.append((name, options[name] != bool(negate), number))
            elif not stack or stack[-1][0] != name:
                raise TemplateError(f"{where}:{number}: '<<< {name}' closes no open block")
            else:
                stack.pop()
            continue
        if not all(keep for _, keep, _ in stack):
            continue
        inline = INLINE.search(line)
        if inline:
            negate, name = inline.groups()
            if name not in options:
                raise TemplateError(f"{where}:{number}: unknown template option {name!r}")
            if options[name] == bool(negate):
                continue
            line = line[: inline.start()] + line[len(line.rstrip("\r\n")) :]
        kept.append(line)
    if stack:
        name, _, number = stack[-1]
        raise TemplateError(f"{where}:{number}: '>>> {name}' is never closed")
    return "".join(kept)


def tidy_python(text: str) -> str:
    """Dropped blocks can leave three blank lines or a blank file end; ruff format would not."""
    text = re.sub(r"\n{4,}", "\n\n\n", text)
    return text.rstrip("\n") + "\n"


def derive_project(source: Path, target: Path, answers: dict) -> list[str]:
    """Write the rendered project into ``target``; return the files written."""
    package, slug = answers["package_name"], answers["project_slug"]
    options = {"pytorch": answers["include_pytorch"] == "yes", "template": False}
    dropped = {path for name, paths in OPTION_FILES.items() if not options[name] for path in paths}
    written = []
    for path in source_files(source):
        if path.startswith(TEMPLATE_ONLY) or path in dropped:
            continue
        destination = target / path.replace("mlops_assets", package)
        destination.parent.mkdir(parents=True, exist_ok=True)
        data = (source / path).read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            destination.write_bytes(data)  # images and other binaries, as they are
        else:
            text = apply_markers(text, options, path)
            text = text.replace("mlops_assets", package).replace("mlops-assets", slug)
            if path.endswith(".py"):
                text = tidy_python(text)
            destination.write_text(text, encoding="utf-8")
        shutil.copymode(source / path, destination)
        written.append(path)
    if shutil.which("git"):
        # a repository from the first minute: provenance, `git ls-files` and CI expect one
        subprocess.run(["git", "init", "--quiet"], cwd=target, check=True)
        subprocess.run(["git", "add", "--all"], cwd=target, check=True)
    return written
