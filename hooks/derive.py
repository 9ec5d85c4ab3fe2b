"""Derive a new project from this repository: the template is the working project itself.

There is no second copy to keep in step. Rendering copies the files that ``template-manifest.txt``
lists (in a git checkout, only tracked ones), renames the package, and applies option markers:

    # >>> pytorch            lines up to the matching `# <<< pytorch` are kept only when
    ...                      the option is on (`<!-- >>> pytorch -->` in Markdown)
    # <<< pytorch
    some line  # [pytorch]   one line kept only when the option is on
    # >>> !pytorch           `!` inverts: kept only when the option is off

The markers themselves never reach the new project. ``template`` is an option that is always
off in a rendered project: it wraps what only makes sense in this repository.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

MANIFEST = "template-manifest.txt"
# Whole files that exist only for an option.
OPTION_FILES = {
    "pytorch": ("mlops_assets/core/training/torch_trainer.py", "benchmarks/torch_device.py"),
}
BLOCK = re.compile(r"^\s*(?:#|<!--)\s*(>>>|<<<)\s*(!?)([\w-]+)\s*(?:-->)?\s*$")
INLINE = re.compile(r"\s*(?:#|<!--)\s*\[(!?)([\w-]+)\]\s*(?:-->)?\s*$")


class TemplateError(Exception):
    """The template cannot be rendered; the message says why and where."""


def glob_regex(pattern: str) -> re.Pattern:
    """A manifest glob as a regex: `*` and `?` stay within one folder name, `**/` spans any."""
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + r"\Z")


class Manifest:
    """What the template ships: ordered glob rules, `!` for an exclusion, the last match wins."""

    def __init__(self, text: str, where: str = MANIFEST):
        self.rules: list[tuple[bool, str, re.Pattern]] = []
        for number, line in enumerate(text.splitlines(), start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            ship = not line.startswith("!")
            pattern = line.lstrip("!").strip()
            if pattern.startswith("/") or ".." in pattern.split("/"):
                raise TemplateError(f"{where}:{number}: {pattern!r} is not relative to the root")
            self.rules.append((ship, pattern, glob_regex(pattern)))

    @classmethod
    def read(cls, root: Path) -> "Manifest":
        path = root / MANIFEST
        if not path.is_file():
            raise TemplateError(f"{path} is missing: the template ships only what it lists")
        return cls(path.read_text(encoding="utf-8"), where=str(path))

    def decide(self, path: str) -> bool | None:
        """True: shipped; False: explicitly excluded; None: no rule mentions it (not shipped)."""
        verdict = None
        for ship, _, regex in self.rules:
            if regex.match(path):
                verdict = ship
        return verdict

    def ships(self, path: str) -> bool:
        return self.decide(path) is True

    def roots(self) -> set[str]:
        """The literal folder or file each include rule starts from: all a walk needs to visit."""
        found = set()
        for ship, pattern, _ in self.rules:
            if ship:
                literal = []
                for part in pattern.split("/"):
                    if "*" in part or "?" in part:
                        break
                    literal.append(part)
                found.add("/".join(literal))
        return found


def tracked_files(root: Path) -> list[str] | None:
    """Files git tracks in ``root`` when it is a git checkout with git at hand, else None."""
    if not (root / ".git").exists() or not shutil.which("git"):
        return None
    listed = subprocess.run(["git", "ls-files", "-z", "--cached"], cwd=root, capture_output=True)
    if listed.returncode != 0:  # say so rather than guess: a walk could ship untracked files
        raise TemplateError(f"git ls-files failed in {root}: {listed.stderr.decode().strip()}")
    return [p for p in listed.stdout.decode().split("\0") if p]


def candidate_files(root: Path, manifest: Manifest) -> list[str]:
    """Files under the folders the manifest's include rules name (no .git, no symlinked dirs)."""
    found = set()
    for start in manifest.roots():
        base = root / start if start else root
        if base.is_file():
            found.add(start)
            continue
        for folder, dirs, files in os.walk(base):
            dirs[:] = [d for d in dirs if d != ".git"]
            rel = Path(folder).relative_to(root).as_posix()
            found.update(name if rel == "." else f"{rel}/{name}" for name in files)
    return sorted(found)


def source_files(root: Path) -> list[str]:
    """What the template at ``root`` ships, as POSIX paths relative to it.

    The manifest decides. In a git checkout only tracked files are candidates, so nothing a
    developer has lying around is shipped even where a pattern would match it; a plain folder
    or an unpacked archive (no .git) is taken as it is.
    """
    manifest = Manifest.read(root)
    tracked = tracked_files(root)
    candidates = tracked if tracked is not None else candidate_files(root, manifest)
    return sorted(p for p in candidates if manifest.ships(p) and (root / p).is_file())


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
        if path in dropped:
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
        if data.startswith(b"#!"):  # a script stays runnable from a zip, which keeps no modes
            destination.chmod(destination.stat().st_mode | 0o111)
        written.append(path)
    # A repository from the first minute: provenance, `git ls-files` and CI expect one. Not
    # under cruft (it adds `_commit`): `cruft update` renders the old and the new template and
    # diffs the two folders whole, a `.git` included; after `cruft create`, run `git init`.
    if shutil.which("git") and "_commit" not in answers:
        subprocess.run(["git", "init", "--quiet"], cwd=target, check=True)
        subprocess.run(["git", "add", "--all"], cwd=target, check=True)
    return written
