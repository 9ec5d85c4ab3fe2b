"""Whether the monitoring findings justify a retrain, under the loop's guardrails.

Pure: the sensor gathers the facts (check outcomes, the production model's test month, row
counts, the time of the last request) and this decides, so every guardrail is unit-testable.
"""

from dataclasses import dataclass

from mlops_assets.core.training.data_size import named

TRIGGERS = {"drift": "drift", "past_limit": "quality"}


@dataclass(frozen=True)
class Finding:
    """One monitoring outcome: ``status`` as the drift and feedback assets record it."""

    month: str  # YYYY-MM
    source: str  # "serving_drift" or "live_quality"
    status: str


@dataclass(frozen=True)
class Decision:
    retrain: bool
    reason: str
    month: str | None = None
    trigger: str | None = None


def decide_retrain(
    findings: list[Finding],
    production_test_month: str | None,
    labelled_rows_after: dict[str, int],
    seconds_since_last_request: float | None,
    cooldown_seconds: float,
    min_new_labelled_rows: int,
) -> Decision:
    """Retrain on the latest month whose drift or live quality crossed its threshold, unless
    the production model already learnt from it, the cooldown is running, or too few new
    labelled rows exist since the production model's test month."""
    crossed = sorted((f for f in findings if f.status in TRIGGERS), key=lambda f: f.month)
    if not crossed:
        return Decision(False, "no drift or quality finding crossed its threshold")
    latest = crossed[-1]
    trigger = TRIGGERS[latest.status]
    if production_test_month is not None and production_test_month >= latest.month:
        return Decision(
            False,
            f"{trigger} in {latest.month}, but production was already evaluated on "
            f"{production_test_month}: nothing new to learn",
        )
    if seconds_since_last_request is not None and seconds_since_last_request < cooldown_seconds:
        return Decision(
            False,
            f"{trigger} in {latest.month}; cooldown: last retrain requested "
            f"{seconds_since_last_request:.0f} s ago (< {cooldown_seconds:.0f} s)",
        )
    new_rows = sum(
        rows
        for month, rows in labelled_rows_after.items()
        if (production_test_month or "") < month <= latest.month
    )
    if new_rows < min_new_labelled_rows:
        return Decision(
            False,
            f"{trigger} in {latest.month}, but only {new_rows:,} new labelled rows "
            f"(< {named('min_new_labelled_rows', min_new_labelled_rows)})",
        )
    return Decision(
        True,
        f"{trigger} in {latest.month} ({latest.source}); {new_rows:,} new labelled rows",
        latest.month,
        trigger,
    )
