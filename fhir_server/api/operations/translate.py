"""`ConceptMap/$translate`: a code's counterparts through our maps, in either direction, with equivalence.

`reverse=true` reads a map from target to source (SNOMED CT to ICD-10-CM for ours), turning `wider` into
`narrower` and back, since the relationship is then seen from the other side.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from fhir_server.api.negotiation import json_response
from fhir_server.api.operations.terminology_io import (
    Coding,
    OperationInput,
    operation_input,
    param,
    parameters,
    terminology_errors,
)
from fhir_server.errors import InvalidRequest
from terminology.model import TranslationMatch

OFFERED_ON: tuple[str, ...] = ("ConceptMap",)
router = APIRouter(prefix="/fhir")


def _coding(given: OperationInput) -> Coding:
    code = given.text("code")
    if code is not None:
        return Coding(given.text("system"), code, None, given.text("version"))
    coding = given.coding("coding")
    if coding is None:
        codings = given.codings("codeableConcept")
        coding = codings[0] if codings else None
    if coding is None:
        raise InvalidRequest("$translate needs a 'code' with its 'system', a 'coding' or a 'codeableConcept'.")
    return coding


async def _translate(request: Request, cm_id: str | None) -> Response:
    given, terminology = await operation_input(request, "ConceptMap", "translate")
    coding = _coding(given)
    if not coding.system or not coding.code:
        raise InvalidRequest("$translate needs both the code and its 'system'.")
    with terminology_errors():
        url = terminology.concept_map_by_id(cm_id).url if cm_id else given.text("url")
        if url:
            terminology.concept_map(url, given.text("conceptMapVersion"))
        translation = terminology.translate(
            url,
            coding.system,
            coding.code,
            reverse=given.boolean("reverse"),
            target=given.text("targetsystem"),
        )
    return json_response(
        parameters(
            param("result", "valueBoolean", translation.result),
            param("message", "valueString", translation.message),
            *(_match(m) for m in translation.matches),
        )
    )


def _match(match: TranslationMatch) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"name": "equivalence", "valueCode": match.equivalence.value}]
    if match.code:
        concept = {"system": match.system, "code": match.code, **({"display": match.display} if match.display else {})}
        parts.append({"name": "concept", "valueCoding": concept})
    parts.append({"name": "source", "valueUri": match.source})
    return {"name": "match", "part": parts}


@router.api_route("/ConceptMap/$translate", methods=["GET", "POST"])
async def translate_type(request: Request) -> Response:
    return await _translate(request, None)


@router.api_route("/ConceptMap/{cm_id}/$translate", methods=["GET", "POST"])
async def translate_instance(request: Request, cm_id: str) -> Response:
    return await _translate(request, cm_id)
