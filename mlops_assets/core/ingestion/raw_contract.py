"""The schema contract for raw tables: what a source must look like before anything reads it.

A raw file whose columns go missing, get renamed or change type must stop the pipeline at the
door with a message naming the table and the column, not three models later inside dbt.
"""

from dataclasses import dataclass, field

# Logical types of the contract, mapped to the DuckDB type the warehouse stores.
STORAGE_TYPES = {
    "int": "BIGINT",
    "float": "DOUBLE",
    "str": "VARCHAR",
    "date": "DATE",
    "timestamp": "TIMESTAMPTZ",
}

# DuckDB types the CSV sniffer may report, by the logical type they satisfy.
_ACCEPTED_DETECTED_TYPES = {
    "int": {
        "TINYINT",
        "SMALLINT",
        "INTEGER",
        "BIGINT",
        "HUGEINT",
        "UTINYINT",
        "USMALLINT",
        "UINTEGER",
        "UBIGINT",
    },
    "float": {"FLOAT", "DOUBLE", "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"},
    "str": {"VARCHAR"},
    "date": {"DATE"},
    "timestamp": {"TIMESTAMP WITH TIME ZONE", "TIMESTAMP"},
}


class RawDataError(ValueError):
    """Raw data that breaks its contract; raised before anything is written."""


@dataclass(frozen=True)
class RawTable:
    """One source table: its file, its columns with logical types, and its primary key."""

    name: str
    file_name: str
    columns: dict[str, str]
    key: tuple[str, ...]
    # Columns holding the calendar year and month, for tables that arrive month by month.
    month_columns: tuple[str, str] | None = None
    # ...or one DATE column, for tables dated that way.
    date_column: str | None = None
    # ...or a DuckDB expression over the source's own fields that gives the row's DATE, for a
    # source with neither (e.g. "CAST(to_timestamp(CAST(epoch AS BIGINT)) AS DATE)"); cast
    # explicitly: deliveries are read as text before the contract's types apply.
    date_expression: str | None = None
    null_string: str = "NA"
    description: str = ""
    column_descriptions: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = {c: t for c, t in self.columns.items() if t not in STORAGE_TYPES}
        if unknown:
            raise ValueError(f"raw table '{self.name}': unknown logical types {unknown}")
        dated = [bool(self.month_columns), bool(self.date_column), bool(self.date_expression)]
        if sum(dated) > 1:
            raise ValueError(
                f"raw table '{self.name}': one of month_columns, date_column, date_expression"
            )

    @property
    def monthly(self) -> bool:
        return bool(self.month_columns or self.date_column or self.date_expression)

    def month_sql(self, typed: bool = True) -> str:
        """SQL for the row's month as the integer yyyymm; ``typed=False`` for the source's
        text as delivered (before the contract's types apply)."""
        if self.date_expression or self.date_column:
            day = self.date_expression or f'"{self.date_column}"'
            if not typed and not self.date_expression:
                day = f"CAST({day} AS DATE)"
            return f"(year({day}) * 100 + month({day}))"
        if self.month_columns:
            year_col, month_col = (
                f'"{c}"' if typed else f'CAST("{c}" AS INTEGER)' for c in self.month_columns
            )
            return f"({year_col} * 100 + {month_col})"
        raise ValueError(f"raw table '{self.name}' is not monthly: it has no month columns")


def check_columns(
    table: RawTable, detected: dict[str, str], all_null_columns: set[str] = frozenset()
) -> None:
    """Raise RawDataError naming the first missing, unexpected or retyped column.

    ``all_null_columns`` are columns with no value at all: the CSV sniffer calls those VARCHAR,
    which says nothing about their type, so they pass the type check.
    """
    missing = [c for c in table.columns if c not in detected]
    unexpected = [c for c in detected if c not in table.columns]
    if missing and unexpected:
        raise RawDataError(
            f"raw table '{table.name}' lacks column '{missing[0]}' and has unexpected column "
            f"'{unexpected[0]}' (renamed?); rename it back or update the contract in "
            "mlops_assets/dataset/"
        )
    if missing:
        raise RawDataError(
            f"raw table '{table.name}' lacks column '{missing[0]}' (got: {list(detected)}); "
            "fix the source file or update the contract in mlops_assets/dataset/"
        )
    if unexpected:
        raise RawDataError(
            f"raw table '{table.name}' has unexpected column '{unexpected[0]}' "
            f"(expected: {list(table.columns)}); add it to the contract in mlops_assets/dataset/"
        )
    for column, logical in table.columns.items():
        found = detected[column]
        if found in _ACCEPTED_DETECTED_TYPES[logical] or column in all_null_columns:
            continue
        raise RawDataError(
            f"raw table '{table.name}' column '{column}' has type {found}, "
            f"expected {logical} ({STORAGE_TYPES[logical]})"
        )
