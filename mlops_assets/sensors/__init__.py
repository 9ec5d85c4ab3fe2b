"""Sensors and schedules. They select assets by key and never run asset code themselves."""

from mlops_assets.sensors.automation import feature_store_automation
from mlops_assets.sensors.delivery import raw_delivery_sensor
from mlops_assets.sensors.monitoring import (
    model_health_sensor,
    served_traffic_sensor,
)

sensors = [
    raw_delivery_sensor,
    feature_store_automation,
    served_traffic_sensor,
    model_health_sensor,
]
schedules = []
