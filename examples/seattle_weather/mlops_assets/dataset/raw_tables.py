"""Seattle's daily weather 2012-2015, as shipped by the PyPI package ``vega_datasets``."""

from pathlib import Path

from mlops_assets.core.ingestion.package_files import installed_package_folder
from mlops_assets.core.ingestion.raw_contract import RawTable

# Monthly partitions 2012-01 .. 2015-12 (the end is exclusive).
PARTITIONS_START = "2012-01-01"
PARTITIONS_END = "2016-01-01"


def package_data_dir() -> Path:
    """The package's data folder."""
    return installed_package_folder("vega_datasets", "_data")


WEATHER = RawTable(
    name="weather",
    file_name="seattle-weather.csv",
    description="Daily weather at Seattle-Tacoma airport (NOAA), 2012-2015.",
    columns={
        "date": "date",
        "precipitation": "float",
        "temp_max": "float",
        "temp_min": "float",
        "wind": "float",
        "weather": "str",
    },
    key=("date",),
    date_column="date",
)

MONTHLY_TABLES = (WEATHER,)
# The table whose rows become labelled examples: the loop counts its new rows before retraining.
EVENT_TABLE = WEATHER
STATIC_TABLES = ()
