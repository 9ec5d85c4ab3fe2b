"""Sensors and schedules. They select assets by key and never run asset code themselves."""

from mlops_assets.sensors.automation import feature_store_automation
from mlops_assets.sensors.monitoring import model_health_sensor, new_month_sensor

sensors = [feature_store_automation, new_month_sensor, model_health_sensor]
schedules = []
