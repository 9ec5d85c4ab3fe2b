"""C9 monitoring: whylogs profiles, drift, thresholds, live quality, retrain decisions."""
