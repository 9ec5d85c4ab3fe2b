"""A content hash of a frame that depends only on its column names, order of rows and values.

Parquet bytes and polars' row hashes change with library versions; this does not, so a training
set can be rebuilt months later and proven identical.
"""

import hashlib

import polars as pl


def frame_fingerprint(frame: pl.DataFrame) -> str:
    """sha256 over every column's null mask and values, columns in name order."""
    digest = hashlib.sha256()
    for name in sorted(frame.columns):
        column = frame.get_column(name)
        digest.update(name.encode())
        digest.update(column.is_null().to_numpy().tobytes())
        if column.dtype.is_numeric() or column.dtype == pl.Boolean:
            values = column.cast(pl.Float64).fill_null(0.0).to_numpy()
            digest.update(values.tobytes())
        else:
            digest.update("\x1f".join(column.cast(pl.String).fill_null("").to_list()).encode())
    return digest.hexdigest()
