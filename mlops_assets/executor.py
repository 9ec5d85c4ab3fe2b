"""Which executor runs the steps: chosen by configuration (``MLOPS_EXECUTOR``), not by code.

``in_process`` (the default): steps run in their run's process. Each step process would import
the project again (~8 s here), and the "duckdb" pool serializes the warehouse steps anyway.
``celery``: each step is a Celery task, executed by whichever dagster-celery worker takes it
(the scale-out stack, ``mlops-stack``); broker and result backend from ``MLOPS_CELERY_BROKER``
and ``MLOPS_CELERY_BACKEND``.
"""

import os

import dagster as dg

EXECUTORS = ("in_process", "celery")


def project_executor() -> dg.ExecutorDefinition:
    name = os.environ.get("MLOPS_EXECUTOR", "in_process")
    if name == "in_process":
        return dg.in_process_executor
    if name == "celery":
        from dagster_celery import celery_executor

        return celery_executor.configured(
            {
                "broker": {"env": "MLOPS_CELERY_BROKER"},
                "backend": {"env": "MLOPS_CELERY_BACKEND"},
            },
            name="celery",
        )
    raise ValueError(f"MLOPS_EXECUTOR={name!r}: choose one of {', '.join(EXECUTORS)}")
