"""A step whose run has already ended must not change the registry.

When a run worker is killed (kill -9, the OOM killer), the code server marks the run FAILURE
within a second, but the step processes it started can live on: measured, an orphaned
`lightgbm_candidate` registered a version 16 s after its run was marked failed, and an orphaned
`production_model` could promote. Registry writes ask first.
"""

import dagster as dg


def refuse_if_run_ended(context, action: str) -> None:
    """Raise instead of doing ``action`` when this step's run is already finished."""
    run = context.instance.get_run_by_id(context.run.run_id)
    if run is not None and run.is_finished:
        raise dg.Failure(
            f"run {context.run.run_id} already ended ({run.status.value}); not {action}: "
            "a step left running by a killed run worker changes nothing"
        )
