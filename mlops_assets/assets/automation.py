"""Declarative automation conditions of the feature store, evaluated by
``feature_store_automation`` under the daemon.

A delivery's run (``jobs.land_months``) updates the feature store itself; these conditions serve
raw months loaded any other way (a materialization from the UI), and never repeat a delivery's
work: an update made in the same run as its upstream does not count as new.

- Monthly models: Dagster's ``eager()`` targets only the latest time partition (2013-12 here,
  not the month that landed), so theirs drops that restriction: a month updates once its raw
  month has landed, whichever month it is.
- Everything else reads whole tables, whose later months have not arrived yet: missing monthly
  partitions do not hold it back, so each landed month updates it.
"""

import dagster as dg

from mlops_assets.assets.partitions import MONTHLY_TAG
from mlops_assets.jobs import MONTHLY_RAW

AC = dg.AutomationCondition
PARTITIONED = dg.AssetSelection.assets(*MONTHLY_RAW) | dg.AssetSelection.tag(MONTHLY_TAG, "")

monthly_condition = (
    AC.eager()
    .without(AC.in_latest_time_window())
    .with_label("eager, for any month whose raw data landed")
)

feature_store_condition = (
    AC.eager().without(~AC.any_deps_missing()) & ~AC.any_deps_missing().ignore(PARTITIONED)
).with_label("eager; months not landed yet are not missing")
