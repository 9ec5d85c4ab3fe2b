"""Load raw CSV files into the warehouse: validate first, write second, all or nothing.

The checks run on a temporary copy; only when every check passes does one transaction replace
the target rows, so a bad file leaves the previous good table in place.
"""

from dataclasses import dataclass
from pathlib import Path

import duckdb

from mlops_assets.core.ingestion.raw_contract import (
    STORAGE_TYPES,
    RawDataError,
    RawTable,
    check_columns,
)

RAW_SCHEMA = "raw"


@dataclass(frozen=True)
class LoadReport:
    """What one load wrote, for the asset's materialization metadata."""

    rows: int
    rows_by_month: dict[str, int]
    null_counts: dict[str, int]
    content_hash: str


def _incoming(table: RawTable) -> str:
    """The temp table a load stages ``table`` in (one per table: a month's tables are staged
    together before any is written)."""
    return f"incoming_{table.name}"


def _stage(conn: duckdb.DuckDBPyConnection, table: RawTable, csv_path: Path) -> None:
    """Read the file into a temp table with the contract's types, after checking its schema."""
    source = (
        f"read_csv('{csv_path}', header = true, nullstr = '{table.null_string}', sample_size = -1)"
    )
    try:
        detected = dict(
            (row[0], row[1]) for row in conn.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
        )
        conn.execute(f"CREATE OR REPLACE TEMP TABLE sniffed AS SELECT * FROM {source}")
    except duckdb.Error as exc:
        raise RawDataError(
            f"raw table '{table.name}': cannot parse {csv_path.name} ({exc.__class__.__name__}: "
            f"{str(exc).splitlines()[0]})"
        ) from exc
    present = [c for c in table.columns if c in detected]
    all_null = set()
    if present:
        counts = conn.execute(
            "SELECT " + ", ".join(f'count("{c}")' for c in present) + " FROM sniffed"
        ).fetchone()
        all_null = {c for c, n in zip(present, counts, strict=True) if n == 0}
    check_columns(table, detected, all_null)
    casts = ", ".join(
        f'CAST("{c}" AS {STORAGE_TYPES[t]}) AS "{c}"' for c, t in table.columns.items()
    )
    conn.execute(f"CREATE OR REPLACE TEMP TABLE {_incoming(table)} AS SELECT {casts} FROM sniffed")
    conn.execute("DROP TABLE sniffed")


def _month_filter(table: RawTable, months: list[tuple[int, int]]) -> str:
    wanted = ", ".join(str(y * 100 + m) for y, m in months)
    return f"{table.month_sql()} IN ({wanted})"


def _check_keys(conn: duckdb.DuckDBPyConnection, table: RawTable) -> None:
    key = ", ".join(f'"{c}"' for c in table.key)
    null_keys = conn.execute(
        f"SELECT count(*) FROM {_incoming(table)} WHERE "
        + " OR ".join(f'"{c}" IS NULL' for c in table.key)
    ).fetchone()[0]
    if null_keys:
        raise RawDataError(
            f"raw table '{table.name}': {null_keys} rows have a null key column {table.key}"
        )
    dupes = conn.execute(
        f"SELECT {key}, count(*) AS n FROM {_incoming(table)} GROUP BY ALL HAVING n > 1 LIMIT 3"
    ).fetchall()
    if dupes:
        raise RawDataError(
            f"raw table '{table.name}': duplicate keys {table.key}, e.g. {dupes} "
            f"(each key must appear once)"
        )


def _report(conn: duckdb.DuckDBPyConnection, table: RawTable) -> LoadReport:
    nulls = conn.execute(
        "SELECT "
        + ", ".join(f'count(*) - count("{c}")' for c in table.columns)
        + f" FROM {_incoming(table)}"
    ).fetchone()
    rows, content_hash = conn.execute(
        f"SELECT count(*), coalesce(sum(hash(t)), 0) FROM {_incoming(table)} t"
    ).fetchone()
    by_month = {}
    if table.monthly:
        by_month = {
            f"{ym // 100:04d}-{ym % 100:02d}": n
            for ym, n in conn.execute(
                f"SELECT {table.month_sql()} AS ym, count(*) FROM {_incoming(table)} "
                "GROUP BY ALL ORDER BY ALL"
            ).fetchall()
        }
    return LoadReport(
        rows=rows,
        rows_by_month=by_month,
        null_counts=dict(zip(table.columns, nulls, strict=True)),
        content_hash=f"{int(content_hash):x}",
    )


def _swap_in(conn: duckdb.DuckDBPyConnection, table: RawTable, where: str) -> None:
    """Replace the target rows matching ``where`` with the staged rows (inside the caller's
    transaction)."""
    target = f"{RAW_SCHEMA}.{table.name}"
    columns = ", ".join(f'"{c}" {STORAGE_TYPES[t]}' for c, t in table.columns.items())
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
    conn.execute(f"CREATE TABLE IF NOT EXISTS {target} ({columns})")
    conn.execute(f"DELETE FROM {target} WHERE {where}")
    conn.execute(f"INSERT INTO {target} SELECT * FROM {_incoming(table)}")
    conn.execute(f"DROP TABLE {_incoming(table)}")


def _in_one_transaction(conn: duckdb.DuckDBPyConnection, swaps: list[tuple[RawTable, str]]):
    conn.execute("BEGIN TRANSACTION")
    try:
        for table, where in swaps:
            _swap_in(conn, table, where)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def stage_months(
    conn: duckdb.DuckDBPyConnection,
    table: RawTable,
    sources: dict[Path, list[tuple[int, int]]],
    deliveries: frozenset[Path] = frozenset(),
) -> LoadReport:
    """Stage and check the given months of a monthly table, each read from its source file;
    every month must be present and clean. Nothing is written yet (``swap_months``).

    A source file may hold other months too (the package's whole-year files): those rows are
    left out. A delivery (``deliveries``) holds its month only: a row of another month is
    refused, not dropped, because the month it belongs to has its own file, and its features
    were built without it."""
    staged = []
    for csv_path, months in sources.items():
        _stage(conn, table, csv_path)
        if csv_path in deliveries:
            _refuse_other_months(conn, table, csv_path, months)
        conn.execute(f"DELETE FROM {_incoming(table)} WHERE NOT {_month_filter(table, months)}")
        rows = dict(
            conn.execute(
                f"SELECT {table.month_sql()} AS ym, count(*) FROM {_incoming(table)} GROUP BY ALL"
            ).fetchall()
        )
        missing = [f"{y:04d}-{m:02d}" for y, m in months if y * 100 + m not in rows]
        if missing:
            raise RawDataError(
                f"raw table '{table.name}': month(s) {missing} have no rows in {csv_path.name}; "
                "an empty month is refused so it cannot silently erase loaded data"
            )
        conn.execute(f"ALTER TABLE {_incoming(table)} RENAME TO staged_{len(staged)}")
        staged.append(f"staged_{len(staged)}")
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE {_incoming(table)} AS "
        + " UNION ALL ".join(f"SELECT * FROM {name}" for name in staged)
    )
    for name in staged:
        conn.execute(f"DROP TABLE {name}")
    _check_keys(conn, table)
    return _report(conn, table)


def _refuse_other_months(conn, table: RawTable, csv_path: Path, months) -> None:
    others = conn.execute(
        f"SELECT {table.month_sql()} AS ym, count(*) FROM {_incoming(table)} "
        f"WHERE NOT {_month_filter(table, months)} GROUP BY ALL ORDER BY ym"
    ).fetchall()
    if others:
        found = ", ".join(f"{ym // 100:04d}-{ym % 100:02d}: {n}" for ym, n in others)
        raise RawDataError(
            f"raw table '{table.name}': the delivery {csv_path.name} holds rows of other months "
            f"({found}); a delivery holds its own month only: deliver late rows in their "
            "month's file again (a corrected month is loaded again, with the months after it "
            "whose features read it)"
        )


def swap_months(
    conn: duckdb.DuckDBPyConnection, staged: list[tuple[RawTable, list[tuple[int, int]]]]
) -> None:
    """Replace the staged months of every table in one transaction: a month's delivery lands
    whole or not at all."""
    _in_one_transaction(conn, [(table, _month_filter(table, months)) for table, months in staged])


def load_table(conn: duckdb.DuckDBPyConnection, table: RawTable, csv_path: Path) -> LoadReport:
    """Replace a small reference table whole."""
    _stage(conn, table, csv_path)
    report = _report(conn, table)
    if report.rows == 0:
        raise RawDataError(f"raw table '{table.name}': {csv_path.name} has no rows")
    _check_keys(conn, table)
    _in_one_transaction(conn, [(table, "true")])
    return report
