"""The service's pydantic models, generated from the serving declaration and the task.

The request model (and so the OpenAPI schema BentoML publishes) has one field per
``RequestField`` with its constraints; the batch model wraps up to ``max_batch`` of them under
the declaration's plural; a prediction holds the task's output fields (renamed as the
declaration says), the model version and how stale the store was for it.
"""

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, create_model

from mlops_assets.core.features.feature_views import RequestField, ServingContract

_JSON_TYPES = {str: "string", int: "integer", float: "number", bool: "boolean"}
_FORMATS = {date: "date", datetime: "date-time"}
_CONSTRAINTS = ("min_length", "max_length", "pattern", "ge", "le")
_JSON_NAMES = {
    "min_length": "minLength",
    "max_length": "maxLength",
    "pattern": "pattern",
    "ge": "minimum",
    "le": "maximum",
}


def _field(spec: RequestField) -> tuple[Any, Any]:
    constraints = {c: getattr(spec, c) for c in _CONSTRAINTS if getattr(spec, c) is not None}
    info = Field(
        ... if spec.required else None,
        description=spec.description or None,
        examples=[spec.example] if spec.example is not None else None,
        **constraints,
    )
    if spec.required:
        return spec.type, info
    # OpenAPI 3.0 (what BentoML publishes) spells "or null" as `nullable`, not a null type
    schema = {"nullable": True, **{_JSON_NAMES[c]: v for c, v in constraints.items()}}
    if spec.type in _FORMATS:
        schema.update(type="string", format=_FORMATS[spec.type])
    else:
        schema["type"] = _JSON_TYPES[spec.type]
    return Annotated[spec.type | None, WithJsonSchema(schema)], info


def request_model(contract: ServingContract) -> type[BaseModel]:
    """One request: what a caller knows at decision time; unknown fields are refused."""
    return create_model(
        contract.entity_name.title().replace("_", ""),
        __config__=ConfigDict(extra="forbid"),
        __doc__=f"One {contract.entity_name} to predict for.",
        **{f.name: _field(f) for f in contract.request_fields},
    )


def batch_model(
    contract: ServingContract, request: type[BaseModel], max_batch: int
) -> type[BaseModel]:
    """Up to ``max_batch`` requests in one call, under the declaration's plural."""
    return create_model(
        contract.plural.title().replace("_", ""),
        __config__=ConfigDict(extra="forbid"),
        **{contract.plural: (list[request], Field(min_length=1, max_length=max_batch))},
    )


def prediction_model(contract: ServingContract, outputs: dict[str, type]) -> type[BaseModel]:
    """One answer: the task's outputs, the model version, and the store's staleness."""
    renamed = {contract.output_names.get(name, name): kind for name, kind in outputs.items()}
    return create_model(
        "Prediction",
        request_id=(str, ...),
        **{name: (kind, ...) for name, kind in renamed.items()},
        model_version=(int, ...),
        stale_minutes=(
            int,
            Field(
                description="How far the decision time lies past the latest data in the online "
                "store: 0 when the store covers it; otherwise the history features are those "
                "known at the store's horizon"
            ),
        ),
    )


def predictions_model(prediction: type[BaseModel]) -> type[BaseModel]:
    """The answer to a batch: one prediction per request, in request order."""
    return create_model("Predictions", predictions=(list[prediction], ...))
