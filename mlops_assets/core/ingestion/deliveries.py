"""Which delivered months to load, in what order: the pure decision behind
``raw_delivery_sensor``, so its rules are unit-testable.

A month is delivered when every monthly table has its file. Months load in calendar order: a
month after a gap (not delivered, incomplete, still loading, or whose load failed) waits for it;
a month whose files changed since they were loaded is loaded again (a correction), together with
the loaded months just after it whose features read it (history windows reach back
``FEATURE_LOOKBACK_DAYS`` of the problem contract: ``FEATURES_READ_BACK`` months); an unchanged
re-delivery is nothing to do.
"""

import math
from dataclasses import dataclass, field

from mlops_assets.core.months import month_after
from mlops_assets.dataset import problem

LOADED, LOADING, FAILED = "loaded", "loading", "failed"
# A month's features read rows this many months back (flights: 30-day windows from the 1st of a
# month reach into the month before last after a February): a corrected month rebuilds these too.
FEATURES_READ_BACK = math.ceil(getattr(problem, "FEATURE_LOOKBACK_DAYS", 30) / 28)


@dataclass(frozen=True)
class Attempt:
    """The latest load of a month: the delivery fingerprint it loaded and how it went."""

    fingerprint: str
    state: str  # LOADED, LOADING or FAILED
    run_id: str = ""


@dataclass(frozen=True)
class DeliveryPlan:
    # contiguous runs of months to load now, each as (first, last), with their fingerprints
    loads: list[tuple[str, str]] = field(default_factory=list)
    fingerprints: dict[str, str] = field(default_factory=dict)
    # month -> why it is not loaded now
    waiting: dict[str, str] = field(default_factory=dict)


def plan_deliveries(
    files: dict[str, dict[str, str]], tables: tuple[str, ...], attempts: dict[str, Attempt]
) -> DeliveryPlan:
    """``files``: month -> table -> fingerprint of the delivered file; ``attempts``: month ->
    its latest load."""
    waiting: dict[str, str] = {}
    complete: dict[str, str] = {}
    for month, by_table in sorted(files.items()):
        missing = [t for t in tables if t not in by_table]
        if missing:
            waiting[month] = f"incomplete delivery: no file yet for {', '.join(missing)}"
        else:
            complete[month] = "+".join(by_table[t] for t in tables)
    due = [m for m, fp in complete.items() if m not in attempts or attempts[m].fingerprint != fp]
    blocked = {}
    for month, attempt in attempts.items():
        if month in due or attempt.state == LOADED:
            continue
        blocked[month] = (
            f"its load failed in run {attempt.run_id[:8]}; deliver a corrected file"
            if attempt.state == FAILED
            else "it is loading"
        )
    ready = {m for m, a in attempts.items() if a.state == LOADED} | set(due)
    gap, why = None, ""
    if due:
        month = min(ready | set(blocked))
        while month < max(due):
            if month not in ready:
                gap = month
                why = blocked.get(month) or (
                    "it is incomplete" if month in waiting else "it has not been delivered"
                )
                break
            month = month_after(month)
    loads: list[tuple[str, str]] = []
    for month in due:
        if gap is not None and month > gap:
            waiting[month] = f"waits for {gap}: {why}"
        elif loads and loads[-1][1] == month_after(month, -1):
            loads[-1] = (loads[-1][0], month)
        else:
            loads.append((month, month))
    loaded = {m for m, a in attempts.items() if a.state == LOADED and m in complete}
    loads = [(first, _extend(last, loaded - set(due))) for first, last in loads]
    loading = {m: complete[m] for a, b in loads for m in complete if a <= m <= b}
    return DeliveryPlan(loads, loading, waiting)


def _extend(last: str, loaded: set[str]) -> str:
    """``last``, or the last of the loaded months right after it whose features read it."""
    for _ in range(FEATURES_READ_BACK):
        if month_after(last) not in loaded:
            break
        last = month_after(last)
    return last
