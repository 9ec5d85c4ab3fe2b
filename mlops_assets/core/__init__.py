"""Framework-free core: imports neither Dagster nor BentoML, so serving and assets can share it."""
