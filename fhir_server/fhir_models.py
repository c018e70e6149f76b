"""Validation and (de)serialisation over `fhir.resources.R4B`, the closest pydantic model set to R4.

We validate once, on write, and store the client's JSON (with `id`/`meta` set by us) rather than the model's
re-serialisation, so a resource reads back exactly as it was sent. Never import the package's R5 default
models: everything goes through `fhir.resources.R4B`.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import orjson
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from fhir_server.errors import InvalidRequest, InvalidResource

# R4 (4.0.1) types that R4B renamed or removed: validated structurally only (resourceType, id syntax).
# Source: FHIR R4B "Version differences" page (hl7.org/fhir/R4B/diff.html).
R4_ONLY_TYPES = frozenset(
    {
        "EffectEvidenceSynthesis",
        "MedicinalProduct",
        "MedicinalProductAuthorization",
        "MedicinalProductContraindication",
        "MedicinalProductIndication",
        "MedicinalProductIngredient",
        "MedicinalProductInteraction",
        "MedicinalProductManufactured",
        "MedicinalProductPackaged",
        "MedicinalProductPharmaceutical",
        "MedicinalProductUndesirableEffect",
        "RiskEvidenceSynthesis",
        "SubstanceNucleicAcid",
        "SubstancePolymer",
        "SubstanceProtein",
        "SubstanceReferenceInformation",
        "SubstanceSourceMaterial",
        "SubstanceSpecification",
    }
)


def parse_json(body: bytes) -> Any:
    """Parse a request body; syntax errors become an actionable 400."""
    if not body:
        raise InvalidRequest("The request body is empty; send a FHIR resource as JSON.")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequest(f"The request body is not valid JSON: {exc}") from exc


def dumps(data: Any) -> bytes:
    return orjson.dumps(data)


@cache
def _model(res_type: str) -> Any:
    return get_fhir_model_class(res_type)


def _loc_to_expression(res_type: str, loc: tuple[Any, ...]) -> str:
    parts = [res_type]
    for item in loc:
        if isinstance(item, int):
            parts[-1] = f"{parts[-1]}[{item}]"
        elif isinstance(item, str) and not item.startswith(("function-", "model-")):
            parts.append(item.removesuffix("__ext"))
    return ".".join(parts)


def validate_resource(data: Any, expected_type: str | None = None) -> str:
    """Check `data` is a valid R4 resource (of `expected_type` when given) and return its type.

    Raises InvalidResource with one message per problem found, each naming the element (FHIRPath) so the
    client can fix the payload without guessing.
    """
    if not isinstance(data, dict):
        raise InvalidRequest("The body must be a JSON object holding one FHIR resource.")
    res_type = data.get("resourceType")
    if not isinstance(res_type, str) or not res_type:
        raise InvalidResource("The resource has no 'resourceType'.", expression=["resourceType"])
    if expected_type is not None and res_type != expected_type:
        raise InvalidRequest(
            f"The body is a {res_type} but the URL names {expected_type}; send a {expected_type}.",
            expression=["resourceType"],
        )
    if res_type in R4_ONLY_TYPES:
        return res_type
    try:
        model = _model(res_type)
    except Exception as exc:  # fhir.resources raises a bare Exception/KeyError for unknown names
        raise InvalidResource(f"'{res_type}' is not a FHIR R4 resource type.") from exc
    try:
        model.model_validate(data)
    except ValidationError as exc:
        problems = exc.errors(include_url=False)
        messages = []
        expressions = []
        for problem in problems[:20]:
            expr = _loc_to_expression(res_type, tuple(problem.get("loc", ())))
            expressions.append(expr)
            messages.append(f"{expr}: {problem.get('msg')}")
        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        raise InvalidResource(
            f"The {res_type} is not valid FHIR R4: " + "; ".join(messages) + more, expression=expressions
        ) from exc
    except (TypeError, ValueError) as exc:
        raise InvalidResource(f"The {res_type} is not valid FHIR R4: {exc}") from exc
    return res_type


@cache
def summary_elements(res_type: str) -> frozenset[str]:
    """Top-level JSON names marked `isSummary` in the spec, for `_summary=true`."""
    if res_type in R4_ONLY_TYPES:
        return frozenset({"id", "meta"})
    names = {"id", "meta", "implicitRules"}
    for name, field in _model(res_type).model_fields.items():
        extra = field.json_schema_extra
        if isinstance(extra, dict) and extra.get("summary_element_property"):
            names.add(field.alias or name)
    return frozenset(names)
