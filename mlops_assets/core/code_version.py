"""Code versions from the code itself: a hash of the source files that define an asset's
behaviour, so Dagster's "code changed" and stale markers are true, and a change to training
code is seen by the automation that retrains on it (instead of a hand-bumped "1")."""

import hashlib
import importlib.util
from pathlib import Path


def source_version(paths: list[Path]) -> str:
    """A short hash of the files' contents, in the given order."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def module_paths(*modules: str) -> list[Path]:
    """The source files of dotted module names (found without importing them)."""
    paths = []
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            raise ModuleNotFoundError(f"no source for module {name}")
        paths.append(Path(spec.origin))
    return paths


def code_version(*modules: str) -> str:
    """The code version of an asset defined by ``modules`` (its own module first)."""
    return source_version(module_paths(*modules))
