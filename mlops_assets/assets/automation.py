"""Declarative automation condition of the feature store, evaluated by
``feature_store_automation`` under the daemon.

Dagster's ``eager()`` waits while any upstream partition is missing, and the feature store reads
the monthly raw tables whole, whose later months have not arrived yet: here missing monthly
partitions do not hold it back, so each landed month updates it. (``eager()`` on a
time-partitioned asset targets only the calendar's last partition, 2013-12, not the month that
landed: ``arrival_drift`` runs in the delivery's own run instead, see ``jobs.land_months``.)
A delivery's run updates the feature store itself; this condition serves raw tables loaded any
other way (a materialization from the UI), and never repeats a delivery's work: an update made
in the same run as its upstream does not count as new.
"""

import dagster as dg

from mlops_assets.jobs import MONTHLY_RAW

AC = dg.AutomationCondition

feature_store_condition = (
    AC.eager().without(~AC.any_deps_missing())
    & ~AC.any_deps_missing().ignore(dg.AssetSelection.assets(*MONTHLY_RAW))
).with_label("eager; months not landed yet are not missing")
