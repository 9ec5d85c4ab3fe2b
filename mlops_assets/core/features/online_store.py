"""The online feature store: entity attributes and every arrival, in an embedded SQLite file.

Writers build a complete new file beside the old one and then swap a one-line ``CURRENT``
pointer with an atomic rename, so a reader opens either the old store or the new one, never a
half-written one. A landed month is appended to a copy of the current file (``append_store``),
not rebuilt. Readers load the tables into memory once: lookups are dict gets and binary
searches.
"""

import io
import os
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

import polars as pl

POINTER = "CURRENT"
KEEP_STORES = 3


def write_store(root: Path, tables: dict[str, pl.DataFrame], frames: tuple[str, ...] = ()) -> Path:
    """Write every table into a fresh SQLite file, then make it current. Returns its path.
    Tables named in ``frames`` are stored whole, as Arrow IPC, and read back as one frame."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"store-{time.time_ns()}.sqlite"
    partial = path.with_suffix(".partial")
    with sqlite3.connect(partial) as conn:
        for name, frame in tables.items():
            if name in frames:
                write_frame(conn, name, frame)
            else:
                _replace_table(conn, name, frame)
    return _publish(root, partial, path)


def append_store(
    root: Path,
    tables: dict[str, pl.DataFrame],
    append_keys: dict[str, tuple[str, ...]],
    frames: tuple[str, ...] = (),
) -> tuple[Path, dict[str, int]]:
    """A new store from a copy of the current one: tables named in ``append_keys`` keep their
    rows and gain the rows whose keys are new; the others are replaced whole. So a landed month
    costs its own rows, not a rebuild. Returns the path and the rows added per appended table."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"store-{time.time_ns()}.sqlite"
    partial = path.with_suffix(".partial")
    shutil.copyfile(current_store(root), partial)
    added = {}
    with sqlite3.connect(partial) as conn:
        for name, frame in tables.items():
            keys = append_keys.get(name)
            if name in frames:
                known = frame_of(conn, name, list(keys)) if keys else None
                if known is None:
                    write_frame(conn, name, frame)
                    added[name] = frame.height
                else:
                    new = frame.join(known, on=list(keys), how="anti")
                    append_chunk(conn, name, new)
                    added[name] = new.height
            elif keys is None:
                _replace_table(conn, name, frame)
            else:
                columns = ", ".join(f'"{k}"' for k in keys)
                known = set(conn.execute(f'SELECT {columns} FROM "{name}"'))
                at = [frame.columns.index(k) for k in keys]
                rows = [row for row in _rows(frame) if tuple(row[i] for i in at) not in known]
                _insert(conn, name, frame.columns, rows)
                added[name] = len(rows)
    return _publish(root, partial, path), added


def write_frame(conn: sqlite3.Connection, name: str, frame: pl.DataFrame) -> None:
    """Store ``frame`` as the whole of table ``name``: one compressed Arrow IPC chunk."""
    conn.execute(_FRAMES_DDL)
    conn.execute("DELETE FROM online_frames WHERE name = ?", [name])
    append_chunk(conn, name, frame)


def append_chunk(conn: sqlite3.Connection, name: str, frame: pl.DataFrame) -> None:
    """Add rows to table ``name`` as one more chunk: a landed month costs its own rows."""
    conn.execute(_FRAMES_DDL)
    buffer = io.BytesIO()
    frame.write_ipc(buffer, compression="zstd")
    conn.execute(
        "INSERT INTO online_frames SELECT ?, coalesce(max(seq), -1) + 1, ? FROM online_frames "
        "WHERE name = ?",
        [name, buffer.getvalue(), name],
    )


def frame_of(
    conn: sqlite3.Connection, name: str, columns: list[str] | None = None
) -> pl.DataFrame | None:
    """Table ``name``: its chunks in order (only ``columns`` if given); None if absent."""
    try:
        chunks = conn.execute(
            "SELECT ipc FROM online_frames WHERE name = ? ORDER BY seq", [name]
        ).fetchall()
    except sqlite3.OperationalError:  # no frames in this store
        return None
    if not chunks:
        return None
    return pl.concat([pl.read_ipc(io.BytesIO(ipc), columns=columns) for (ipc,) in chunks])


_FRAMES_DDL = (
    "CREATE TABLE IF NOT EXISTS online_frames "
    "(name TEXT, seq INTEGER, ipc BLOB, PRIMARY KEY (name, seq))"
)


def _replace_table(conn: sqlite3.Connection, name: str, frame: pl.DataFrame) -> None:
    columns = ", ".join(f'"{c}"' for c in frame.columns)
    conn.execute(f'DROP TABLE IF EXISTS "{name}"')
    conn.execute(f'CREATE TABLE "{name}" ({columns})')
    _insert(conn, name, frame.columns, _rows(frame))


def _rows(frame: pl.DataFrame) -> list[tuple]:
    return [tuple(_plain(v) for v in row) for row in frame.iter_rows()]


def _insert(conn: sqlite3.Connection, name: str, columns: list[str], rows: list[tuple]) -> None:
    marks = ", ".join("?" for _ in columns)
    conn.executemany(f'INSERT INTO "{name}" VALUES ({marks})', rows)


def _publish(root: Path, partial: Path, path: Path) -> Path:
    """Make a complete store file current with one atomic pointer swap; keep a few old ones."""
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
    """Every table as a list of row dicts (read-only: serving never writes); frames stay out."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        conn.row_factory = sqlite3.Row
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {
            n: [dict(r) for r in conn.execute(f'SELECT * FROM "{n}"')]
            for n in names
            if n != "online_frames"
        }


def read_frame(path: Path, name: str) -> pl.DataFrame:
    """A table stored as a frame (``write_store(frames=...)``), without a Python object per row."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        frame = frame_of(conn, name)
    if frame is None:
        raise FileNotFoundError(f"online store {path} holds no frame '{name}': rebuild it")
    return frame


def store_meta(root: Path) -> dict[str, str]:
    """The current store's ``online_meta`` table as a dict ({} when there is none yet)."""
    try:
        path = current_store(root)
    except FileNotFoundError:
        return {}
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        try:
            return dict(conn.execute("SELECT name, value FROM online_meta"))
        except sqlite3.OperationalError:  # a store written before the table existed
            return {}
