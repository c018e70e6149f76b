"""`CodeSystem/$validate-code` and `ValueSet/$validate-code`: is the code known (a member), is its display right?

An unknown code is an answer (`result` false with a message), not an error; an unknown code system or value
set is a 404, since nothing can be said about codes in it.
"""

from __future__ import annotations

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
from terminology import Terminology
from terminology.model import Validation

OFFERED_ON: tuple[str, ...] = ("CodeSystem", "ValueSet")
router = APIRouter(prefix="/fhir")


def _codings(given: OperationInput, system_param: str | None) -> list[Coding]:
    """The coding(s) to validate: `code` (+ system and display), a `coding`, or a `codeableConcept`."""
    code = given.text("code")
    if code is not None:
        system = given.text(system_param) if system_param else None
        return [Coding(system, code, given.text("display"), given.text("systemVersion"))]
    coding = given.coding("coding")
    if coding is not None:
        return [coding]
    codings = given.codings("codeableConcept")
    if codings:
        return codings
    raise InvalidRequest("$validate-code needs a 'code', a 'coding' or a 'codeableConcept'.")


def _answer(results: list[Validation]) -> Response:
    """A CodeableConcept is valid when one of its codings is; otherwise every coding's reason is reported."""
    valid = next((v for v in results if v.result), None)
    chosen = valid or results[0]
    message = chosen.message if valid else " ".join(v.message or "" for v in results).strip()
    return json_response(
        parameters(
            param("result", "valueBoolean", chosen.result),
            param("message", "valueString", message or None),
            param("display", "valueString", chosen.display),
        )
    )


async def _code_system(request: Request, cs_id: str | None) -> Response:
    given, terminology = await operation_input(request, "CodeSystem", "validate-code")
    with terminology_errors():
        url = terminology.code_system_by_id(cs_id).url if cs_id else given.text("url")
        results = []
        for coding in _codings(given, None):
            system = url or coding.system
            if not system:
                raise InvalidRequest("CodeSystem/$validate-code needs the code system: 'url' or a coding's system.")
            if url and coding.system and coding.system != url:
                results.append(Validation(False, f"The coding's system {coding.system} is not {url}."))
                continue
            results.append(terminology.validate(system, coding.code or "", coding.display, given.text("version")))
    return _answer(results)


async def _value_set(request: Request, vs_id: str | None) -> Response:
    given, terminology = await operation_input(request, "ValueSet", "validate-code")
    if given.has("valueSet"):
        raise InvalidRequest("Validating against an inline 'valueSet' is not supported; name it by 'url'.")
    with terminology_errors():
        url = _value_set_url(terminology, given, vs_id)
        results = [
            terminology.validate_in_value_set(
                url, coding.system, coding.code or "", coding.display, given.text("valueSetVersion")
            )
            for coding in _codings(given, "system")
        ]
    return _answer(results)


def _value_set_url(terminology: Terminology, given: OperationInput, vs_id: str | None) -> str:
    if vs_id:
        return terminology.value_set_by_id(vs_id).url
    url = given.text("url")
    if not url:
        raise InvalidRequest("ValueSet/$validate-code needs the value set's 'url' (or call it on ValueSet/{id}).")
    return url


@router.api_route("/CodeSystem/$validate-code", methods=["GET", "POST"])
async def code_system_type(request: Request) -> Response:
    return await _code_system(request, None)


@router.api_route("/CodeSystem/{cs_id}/$validate-code", methods=["GET", "POST"])
async def code_system_instance(request: Request, cs_id: str) -> Response:
    return await _code_system(request, cs_id)


@router.api_route("/ValueSet/$validate-code", methods=["GET", "POST"])
async def value_set_type(request: Request) -> Response:
    return await _value_set(request, None)


@router.api_route("/ValueSet/{vs_id}/$validate-code", methods=["GET", "POST"])
async def value_set_instance(request: Request, vs_id: str) -> Response:
    return await _value_set(request, vs_id)
