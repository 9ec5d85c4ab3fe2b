"""Flight requests for the tests: the dicts the service's request model gives the lookup."""

from datetime import datetime

import polars as pl


def flight(carrier, flight_number, origin, dest, scheduled_departure, tailnum=None) -> dict:
    """One request, positional as a schedule line reads."""
    return {
        "carrier": carrier,
        "flight_number": flight_number,
        "origin": origin,
        "dest": dest,
        "scheduled_departure": scheduled_departure,
        "tailnum": tailnum,
    }


def flight_requests(flights: pl.DataFrame) -> list[dict]:
    """Requests for scheduled flights given as a polars frame of ``int_flights`` columns."""
    return [
        flight(
            f["carrier"],
            f["flight_number"],
            f["origin"],
            f["dest"],
            datetime(
                f["flight_date"].year,
                f["flight_date"].month,
                f["flight_date"].day,
                f["sched_dep_hour"],
                f["sched_dep_minute"],
            ),
            f["tailnum"],
        )
        for f in flights.iter_rows(named=True)
    ]
