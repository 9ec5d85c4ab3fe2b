"""The DuckDB warehouse: one file, one name (``DUCKDB_DATABASE``) shared with dbt's profile.

DuckDB admits one writing process per file. Every asset that opens it runs in the ``duckdb``
concurrency pool (limit 1, set in the instance's dagster.yaml), and the connection waits for
the file lock instead of failing, so a step started by another tool (a notebook, the dbt CLI)
queues rather than crashes.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource
from pydantic import Field

from mlops_assets.settings import DUCKDB_MEMORY_LIMIT

WAREHOUSE_POOL = "duckdb"


class WarehouseResource(DuckDBResource):
    """dagster-duckdb's resource, closing the connection on errors too and waiting for the lock.

    The upstream resource leaves the connection open when the body raises; in-process runs
    (tests, ``materialize``) would then keep the file locked for the rest of the process.
    """

    lock_timeout_seconds: float = Field(
        default=600.0, description="How long to wait for another process to release the file."
    )

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        deadline = time.monotonic() + self.lock_timeout_seconds
        if self.database != ":memory:":
            Path(self.database).parent.mkdir(parents=True, exist_ok=True)  # a fresh data folder
        while True:
            try:
                conn = duckdb.connect(self.database, config=dict(self.connection_config))
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        try:
            yield conn
        finally:
            conn.close()


def warehouse_resource() -> WarehouseResource:
    """The warehouse resource, configured from the shared environment variable."""
    return WarehouseResource(
        database=dg.EnvVar("DUCKDB_DATABASE"),
        connection_config={"memory_limit": DUCKDB_MEMORY_LIMIT},
    )
