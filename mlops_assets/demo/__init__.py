"""`mlops-demo`: the loop on Dagster's daemon, driven only by what the outside world does."""
