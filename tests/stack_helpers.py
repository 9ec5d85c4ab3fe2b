"""A scale-out stack for a test: up in a fresh folder, always stopped and removed after."""

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def temporary_stack(prefix: str, workers: int = 2) -> Iterator:
    from mlops_assets.stack import cli, services

    # not under pytest's mode-700 tmp folder: PostgreSQL's own user must reach its cluster
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    os.chmod(folder, 0o755)
    try:
        yield cli.up(folder / "servers", folder / "data", workers=workers)
    finally:
        services.stop_all(folder / "servers")
        shutil.rmtree(folder, ignore_errors=True)
