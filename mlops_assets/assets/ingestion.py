"""Raw assets: the raw table contract's tables loaded into the warehouse's ``raw`` schema.

The monthly tables (for flights: ``flights`` and ``weather``) are partitioned by month and load
together, in one step and one transaction: a month's delivery is in the warehouse whole or not
at all, and the feature store never sees flights without their weather. A month delivered to
the landing folder is read from its own file, the others from the source file; a backfill of
many months runs as one step, in a single pass over that file.
"""

from collections.abc import Iterator

import dagster as dg

from mlops_assets.assets.partitions import monthly_partitions, months_in
from mlops_assets.core.code_version import code_version
from mlops_assets.core.ingestion.raw_contract import RawTable
from mlops_assets.core.ingestion.raw_loader import (
    RAW_SCHEMA,
    LoadReport,
    load_table,
    stage_months,
    swap_months,
)
from mlops_assets.dataset.raw_tables import MONTHLY_TABLES, STATIC_TABLES
from mlops_assets.resources.raw_files import RawFilesResource
from mlops_assets.resources.warehouse import WAREHOUSE_POOL, WarehouseResource

RAW_GROUP = "raw"
RAW_CODE_VERSION = code_version(
    __name__,
    "mlops_assets.core.ingestion.raw_loader",
    "mlops_assets.core.ingestion.raw_contract",
    "mlops_assets.dataset.raw_tables",
)


def _result(table: RawTable, report: LoadReport) -> dg.MaterializeResult:
    nulls = "\n".join(f"| {c} | {n:,} |" for c, n in report.null_counts.items())
    metadata = {
        "dagster/row_count": report.rows,
        "table": f"{RAW_SCHEMA}.{table.name}",
        "content_hash": report.content_hash,
        "null_counts": dg.MetadataValue.md(f"| column | nulls |\n| --- | --- |\n{nulls}"),
        "columns_with_nulls": sum(1 for n in report.null_counts.values() if n),
    }
    if report.rows_by_month:
        metadata["rows_by_month"] = dg.MetadataValue.json(report.rows_by_month)
    return dg.MaterializeResult(
        asset_key=dg.AssetKey([RAW_SCHEMA, table.name]),
        metadata=metadata,
        data_version=dg.DataVersion(report.content_hash),
    )


def _spec_kwargs(table: RawTable) -> dict:
    return dict(
        key=dg.AssetKey([RAW_SCHEMA, table.name]),
        group_name=RAW_GROUP,
        description=table.description,
        kinds={"duckdb", "csv"},
        code_version=RAW_CODE_VERSION,
        metadata={
            "dagster/column_schema": dg.TableSchema(
                columns=[dg.TableColumn(c, t) for c, t in table.columns.items()]
            ),
            "dagster/table_name": f"{RAW_SCHEMA}.{table.name}",
        },
    )


def _sources(raw_files: RawFilesResource, table: RawTable, months: list[tuple[int, int]]):
    """Landed months from their own files, the rest from the source file."""
    landed = {m: raw_files.landed_path(table, *m) for m in months}
    sources = {path: [m] for m, path in landed.items() if path.exists()}
    rest = [m for m in months if not landed[m].exists()]
    if rest:
        sources[raw_files.csv_path(table)] = rest
    return sources


@dg.multi_asset(
    specs=[dg.AssetSpec(**_spec_kwargs(table)) for table in MONTHLY_TABLES],
    partitions_def=monthly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WAREHOUSE_POOL,
    name="raw_monthly_tables",
)
def raw_monthly_tables(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, raw_files: RawFilesResource
) -> Iterator[dg.MaterializeResult]:
    """Every monthly table's months, checked first and written together."""
    months = months_in(context.partition_time_window)
    reports = {}
    with warehouse.get_connection() as conn:
        for table in MONTHLY_TABLES:
            sources = _sources(raw_files, table, months)
            context.log.info(f"staging {table.name}: {[(str(p), m) for p, m in sources.items()]}")
            delivered = frozenset(raw_files.landed_path(table, *m) for m in months)
            reports[table.name] = stage_months(conn, table, sources, delivered)
        swap_months(conn, [(table, months) for table in MONTHLY_TABLES])
    for table in MONTHLY_TABLES:
        yield _result(table, reports[table.name])


def build_static_raw_asset(table: RawTable) -> dg.AssetsDefinition:
    """An unpartitioned reference table, replaced whole."""

    @dg.asset(pool=WAREHOUSE_POOL, **_spec_kwargs(table))
    def _raw_static(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, raw_files: RawFilesResource
    ) -> dg.MaterializeResult:
        csv_path = raw_files.csv_path(table)
        with warehouse.get_connection() as conn:
            report = load_table(conn, table, csv_path)
        return _result(table, report)

    return _raw_static


raw_assets = [raw_monthly_tables] + [build_static_raw_asset(t) for t in STATIC_TABLES]
