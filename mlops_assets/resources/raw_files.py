"""Where raw source files come from: a month delivered to the landing folder, else the source
folder (the installed dataset package by default).

A delivery is one CSV per table and month, ``<landing_dir>/<table>/<YYYY-MM>.csv``, with the
source's header. ``raw_delivery_sensor`` watches the folder and loads what lands; a landed file
wins over the source file for its month, so a correction is a new file in the same place.
"""

import os
import shutil
import zipfile
from pathlib import Path

import dagster as dg
from pydantic import Field

from mlops_assets.core.ingestion.raw_contract import RawTable
from mlops_assets.dataset.raw_tables import package_data_dir
from mlops_assets.settings import DATA_DIR


class RawFilesResource(dg.ConfigurableResource):
    """A folder of raw CSV (or zipped CSV) files; zips are extracted once to a cache."""

    source_dir: str | None = Field(
        default=None,
        description="Folder with the raw files; unset means the dataset package's data folder.",
    )
    landing_dir: str = Field(
        default=str(DATA_DIR / "landing"),
        description="Where monthly deliveries land: <landing_dir>/<table>/<YYYY-MM>.csv.",
    )
    cache_dir: str = Field(
        default=str(DATA_DIR / "raw_cache"),
        description="Where zipped sources are extracted (DuckDB's CSV reader cannot open zips).",
    )

    def landed_path(self, table: RawTable, year: int, month: int) -> Path:
        """Where a delivery of ``table`` for one month lands (it may not exist)."""
        return Path(self.landing_dir) / table.name / f"{year:04d}-{month:02d}.csv"

    def csv_path(self, table: RawTable) -> Path:
        """A readable CSV for ``table``, extracting it first if the source is zipped."""
        source = Path(self.source_dir) if self.source_dir else package_data_dir()
        path = source / table.file_name
        if not path.exists():
            raise FileNotFoundError(f"raw table '{table.name}': {path} does not exist")
        if path.suffix != ".zip":
            return path
        return _extract_once(path, Path(self.cache_dir))


def _extract_once(archive: Path, cache_dir: Path) -> Path:
    """Extract the single CSV in ``archive``; re-extract only when the archive changed."""
    with zipfile.ZipFile(archive) as zf:
        members = [m for m in zf.infolist() if m.filename.endswith(".csv")]
        if len(members) != 1:
            raise ValueError(f"{archive} must hold exactly one .csv file, found {len(members)}")
        member = members[0]
        stamp = f"{archive.stat().st_size}-{member.CRC:08x}"
        target = cache_dir / stamp / Path(member.filename).name
        if target.exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(f".partial-{os.getpid()}")
        with zf.open(member) as src, open(partial, "wb") as dst:
            shutil.copyfileobj(src, dst, length=1 << 20)
        partial.replace(target)  # atomic: readers never see half a file
        return target
