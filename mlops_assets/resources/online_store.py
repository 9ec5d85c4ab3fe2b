"""Where the online feature store lives (a folder of SQLite files with a CURRENT pointer)."""

from pathlib import Path

import dagster as dg
from pydantic import Field

from mlops_assets.settings import DATA_DIR


class OnlineStoreResource(dg.ConfigurableResource):
    """Embedded by default, like Feast's local mode; serving reads the same folder."""

    root: str = Field(default=str(DATA_DIR / "online_store"))

    @property
    def path(self) -> Path:
        return Path(self.root)
