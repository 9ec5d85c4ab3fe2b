"""Dataset-specific parts: a fork swaps its data by replacing this package and the dbt models."""
