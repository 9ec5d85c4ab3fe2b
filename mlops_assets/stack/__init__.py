"""The scale-out stack (PostgreSQL, Redis, S3, Celery workers) on 127.0.0.1."""
