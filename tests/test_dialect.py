"""Dialect honesty: the dbt models name no DuckDB-only SQL; it lives in dispatched macros.

Only DuckDB is tested (docs/warehouse-dialects.md). What DuckDB spells its own way sits in a
few macros that dispatch through `adapter.dispatch`, each with a `duckdb__` implementation, so
a port to another warehouse adds `<adapter>__<macro>` implementations and leaves the models as
they are. Reads files only: no dbt run, well under a second.
"""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MODELS = REPO / "dbt_project" / "models"
MACROS = REPO / "dbt_project" / "macros"
DOC = REPO / "docs" / "warehouse-dialects.md"

# Functions DuckDB has and other warehouses lack or spell differently, matched as `name(`.
DUCKDB_FUNCTIONS = (
    "getvariable",
    "to_minutes",
    "to_hours",
    "to_days",
    "to_seconds",
    "timezone",
    "epoch",
    "epoch_ms",
    "epoch_us",
    "make_date",
    "make_timestamp",
    "last_day",
    "dayofweek",
    "dayofmonth",
    "dayofyear",
    "isodow",
    "date_diff",
    "date_sub",
    "strftime",
    "strptime",
    "generate_series",
    "range",
    "unnest",
    "list_value",
    "columns",
    "exclude",
)
# Keywords matched as whole words: ASOF joins and QUALIFY.
DUCKDB_KEYWORDS = ("asof", "qualify")
# Operators: `//` is DuckDB's integer division.
DUCKDB_OPERATORS = ("//",)

# The dialect macros (docs/warehouse-dialects.md): each dispatches, DuckDB's spelling is
# `duckdb__<name>`.
DIALECT_MACROS = {
    "asof_left_join",
    "local_to_utc",
    "utc_to_local",
    "instant_to_utc",
    "add_minutes",
    "minutes_between",
    "epoch_minute",
    "hhmm_to_minutes",
    "date_from_parts",
    "month_last_day",
    "day_of_week",
    "iso_day_of_week",
    "days_between",
    "integer_rows",
    "date_rows",
    "online_as_of",
}

PATTERN = re.compile(
    "|".join(
        [rf"\b{f}\s*\(" for f in DUCKDB_FUNCTIONS]
        + [rf"\b{k}\b" for k in DUCKDB_KEYWORDS]
        + [re.escape(o) for o in DUCKDB_OPERATORS]
    ),
    re.IGNORECASE,
)
MACRO = re.compile(r"{%-?\s*macro\s+(\w+)\s*\(.*?\)\s*-?%}(.*?){%-?\s*endmacro\s*-?%}", re.DOTALL)


def _without_comments(text: str) -> str:
    """Jinja and SQL comments blanked out (line breaks kept, so line numbers hold)."""

    def blank(match: re.Match) -> str:
        return re.sub(r"[^\n]", " ", match.group(0))

    text = re.sub(r"{#.*?#}", blank, text, flags=re.DOTALL)
    text = re.sub(r"/\*.*?\*/", blank, text, flags=re.DOTALL)
    return re.sub(r"--[^\n]*", blank, text)


def _duckdb_only(text: str) -> list[tuple[int, str]]:
    """(line, what) for each DuckDB-only spelling in ``text``, comments left out."""
    code = _without_comments(text)
    return [(code.count("\n", 0, m.start()) + 1, m.group(0)) for m in PATTERN.finditer(code)]


def _macros() -> dict[str, str]:
    """Every macro under dbt_project/macros: name -> body."""
    found = {}
    for path in sorted(MACROS.glob("*.sql")):
        for name, body in MACRO.findall(_without_comments(path.read_text())):
            assert name not in found, f"macro {name} defined twice"
            found[name] = body
    return found


def test_the_check_sees_duckdb_only_sql():
    sample = "select to_minutes(5), timezone('UTC', t), a // 2 from t asof join u -- getvariable("
    assert [what for _, what in _duckdb_only(sample)] == ["to_minutes(", "timezone(", "//", "asof"]
    assert _duckdb_only("select timezones.tz, range between 1 preceding, a / 2") == []


def test_models_name_no_duckdb_only_sql():
    found = [
        f"{path.relative_to(REPO)}:{line}: {what}"
        for path in sorted(MODELS.rglob("*.sql"))
        for line, what in _duckdb_only(path.read_text())
    ]
    assert found == [], "DuckDB-only SQL in models (use a dialect macro):\n" + "\n".join(found)


def test_duckdb_only_sql_in_macros_is_in_duckdb_implementations_only():
    outside = [
        f"{name}: {what}"
        for name, body in _macros().items()
        if not name.startswith("duckdb__")
        for _, what in _duckdb_only(body)
    ]
    assert outside == []


def test_every_dialect_macro_dispatches_to_a_duckdb_implementation():
    macros = _macros()
    for name in sorted(DIALECT_MACROS):
        assert name in macros, f"dialect macro {name} is missing"
        assert re.search(rf"adapter\.dispatch\(\s*['\"]{name}['\"]", macros[name]), name
        assert f"duckdb__{name}" in macros, f"{name} has no duckdb__ implementation"
    implementations = {m.split("__", 1)[1] for m in macros if "__" in m}
    assert implementations == DIALECT_MACROS, "an implementation of an unlisted macro"


def test_the_dialect_doc_names_every_dialect_macro():
    doc = DOC.read_text()
    assert [name for name in sorted(DIALECT_MACROS) if f"`{name}" not in doc] == []
