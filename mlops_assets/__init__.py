"""mlops-assets: the ML lifecycle as software-defined Dagster assets."""
