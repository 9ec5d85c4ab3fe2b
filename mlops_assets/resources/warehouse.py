"""The DuckDB warehouse: one file, one name (``DUCKDB_DATABASE``) shared with dbt's profile.

DuckDB admits one writing process per file. Every asset that opens it runs in the ``duckdb``
concurrency pool (limit 1, set in the instance's dagster.yaml), and the connection waits for
the file lock instead of failing, so a step started by another tool (a notebook, the dbt CLI)
queues rather than crashes. Past ``lock_timeout_seconds`` it raises ``WarehouseLockedError``,
which names the file, the time waited and what to do.
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
# Every session reads and writes time in UTC, whatever the machine's zone: a raw table's
# date_expression (e.g. CAST(to_timestamp(epoch) AS DATE)) and every TIMESTAMPTZ cast then date a
# row the same on a laptop in New York and a CI runner (dbt's profile sets the same).
TIME_ZONE = "UTC"
# How often a blocked connection tries the file lock again.
LOCK_RETRY_SECONDS = 0.5


class WarehouseLockedError(duckdb.IOException):
    """Another process kept the warehouse file locked for longer than the resource waits.

    A subclass of DuckDB's IOException, so code that handles DuckDB's own error still does.
    """


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
        conn = self._connect()
        try:
            yield conn
        finally:
            conn.close()

    def _connect(self) -> duckdb.DuckDBPyConnection:
        """Open the file, retrying while another process holds DuckDB's lock on it."""
        if self.database != ":memory:":
            Path(self.database).parent.mkdir(parents=True, exist_ok=True)  # a fresh data folder
        started = time.monotonic()
        told = False
        while True:
            try:
                conn = duckdb.connect(self.database, config=dict(self.connection_config))
                conn.execute(f"SET TimeZone = '{TIME_ZONE}'")  # ICU loads after the connect
                return conn
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower():
                    raise
                waited = time.monotonic() - started
                if waited >= self.lock_timeout_seconds:
                    raise WarehouseLockedError(self._locked_message(exc, waited)) from exc
                if not told:  # once, so a step that waits says why in its log
                    dg.get_dagster_logger().info(
                        f"warehouse {self.database} is locked by another process; waiting up "
                        f"to {self.lock_timeout_seconds:g} s for it ({exc})"
                    )
                    told = True
                time.sleep(min(LOCK_RETRY_SECONDS, self.lock_timeout_seconds - waited))

    def _locked_message(self, exc: duckdb.IOException, waited: float) -> str:
        return (
            f"warehouse {self.database} is still locked by another process after {waited:.1f} s "
            f"(lock_timeout_seconds={self.lock_timeout_seconds:g}). DuckDB admits one process per "
            "file: let that process finish or close it (a Dagster run outside the 'duckdb' pool, "
            "`dbt build`, a notebook or DuckDB shell holding a connection), or raise "
            f"lock_timeout_seconds on the warehouse resource. DuckDB said: {exc}"
        )


def warehouse_resource() -> WarehouseResource:
    """The warehouse resource, configured from the shared environment variable."""
    return WarehouseResource(
        database=dg.EnvVar("DUCKDB_DATABASE"),
        connection_config={"memory_limit": DUCKDB_MEMORY_LIMIT},
    )
