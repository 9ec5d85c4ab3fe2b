"""Sensors and schedules. They select assets by key and never run asset code themselves."""

from mlops_assets.sensors.automation import feature_store_automation

sensors = [feature_store_automation]
schedules = []
