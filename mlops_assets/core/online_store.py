"""The online feature store: the latest feature values per entity in an embedded SQLite file.

Writers build a complete new file beside the old one and then swap a one-line ``CURRENT``
pointer with an atomic rename, so a reader opens either the old store or the new one, never a
half-written one. Readers load the (small) tables into memory once: lookups are dict gets.
"""

import os
import sqlite3
import tempfile
import time
from pathlib import Path

import polars as pl

POINTER = "CURRENT"
KEEP_STORES = 3


def write_store(root: Path, tables: dict[str, pl.DataFrame]) -> Path:
    """Write every table into a fresh SQLite file, then make it current. Returns its path."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"store-{time.time_ns()}.sqlite"
    partial = path.with_suffix(".partial")
    with sqlite3.connect(partial) as conn:
        for name, frame in tables.items():
            columns = ", ".join(f'"{c}"' for c in frame.columns)
            conn.execute(f'CREATE TABLE "{name}" ({columns})')
            rows = [tuple(_plain(v) for v in row) for row in frame.iter_rows()]
            marks = ", ".join("?" for _ in frame.columns)
            conn.executemany(f'INSERT INTO "{name}" VALUES ({marks})', rows)
    os.replace(partial, path)
    fd, tmp = tempfile.mkstemp(dir=root, prefix=".pointer.")
    with os.fdopen(fd, "w") as handle:
        handle.write(path.name)
    os.replace(tmp, root / POINTER)
    for old in sorted(root.glob("store-*.sqlite"))[:-KEEP_STORES]:
        old.unlink(missing_ok=True)
    return path


def _plain(value):
    """SQLite stores ISO text for dates and times; everything else as is."""
    return value.isoformat() if hasattr(value, "isoformat") else value


def current_store(root: Path) -> Path:
    pointer = root / POINTER
    if not pointer.exists():
        raise FileNotFoundError(f"no online store under {root}: materialize the online_store asset")
    return root / pointer.read_text().strip()


def read_tables(path: Path) -> dict[str, list[dict]]:
    """Every table as a list of row dicts (read-only open: serving never writes)."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        conn.row_factory = sqlite3.Row
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {n: [dict(r) for r in conn.execute(f'SELECT * FROM "{n}"')] for n in names}
