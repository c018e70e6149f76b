"""`CodeSystem/$subsumes`: how two codes relate in a code system's hierarchy (ICD-10-CM, twin concepts).

Code systems shipped without their hierarchy (SNOMED CT, LOINC subsets) answer 400: 'not-subsumed' would be
a guess, not an answer.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from fhir_server.api.negotiation import json_response
from fhir_server.api.operations.terminology_io import (
    OperationInput,
    operation_input,
    param,
    parameters,
    terminology_errors,
)
from fhir_server.errors import InvalidRequest

OFFERED_ON: tuple[str, ...] = ("CodeSystem",)
router = APIRouter(prefix="/fhir")


def _code(given: OperationInput, which: str, system: str | None) -> tuple[str, str | None]:
    """(code, its system) from `codeX` or `codingX`."""
    code = given.text(f"code{which}")
    if code is not None:
        return code, system
    coding = given.coding(f"coding{which}")
    if coding is None or not coding.code:
        raise InvalidRequest(f"$subsumes needs 'code{which}' or 'coding{which}'.")
    return coding.code, coding.system or system


async def _subsumes(request: Request, cs_id: str | None) -> Response:
    given, terminology = await operation_input(request, "CodeSystem", "subsumes")
    with terminology_errors():
        system = terminology.code_system_by_id(cs_id).url if cs_id else given.text("system")
        code_a, system_a = _code(given, "A", system)
        code_b, system_b = _code(given, "B", system)
        if not system_a or system_a != system_b:
            raise InvalidRequest("$subsumes compares two codes of one code system: give 'system' (or codings in it).")
        outcome = terminology.subsumes(system_a, code_a, code_b, given.text("version"))
    return json_response(parameters(param("outcome", "valueCode", outcome.value)))


@router.api_route("/CodeSystem/$subsumes", methods=["GET", "POST"])
async def subsumes_type(request: Request) -> Response:
    return await _subsumes(request, None)


@router.api_route("/CodeSystem/{cs_id}/$subsumes", methods=["GET", "POST"])
async def subsumes_instance(request: Request, cs_id: str) -> Response:
    return await _subsumes(request, cs_id)
