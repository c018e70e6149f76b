"""`CodeSystem/$lookup`: a code's display, designations and properties (parent/child where there is hierarchy)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from fhir_server.api.negotiation import json_response
from fhir_server.api.operations.terminology_io import (
    operation_input,
    param,
    parameters,
    required,
    terminology_errors,
)
from terminology.model import Lookup
from terminology.resources import property_value

OFFERED_ON: tuple[str, ...] = ("CodeSystem",)
router = APIRouter(prefix="/fhir")


@router.api_route("/CodeSystem/$lookup", methods=["GET", "POST"])
async def lookup(request: Request) -> Response:
    given, terminology = await operation_input(request, "CodeSystem", "lookup")
    coding = given.coding("coding")
    system = given.text("system") or (coding.system if coding else None)
    code = given.text("code") or (coding.code if coding else None)
    required(system, "$lookup needs the code system: 'system' (or a 'coding' with a system).")
    required(code, "$lookup needs the 'code' to look up (or a 'coding' with a code).")
    wanted = set(given.texts("property"))
    with terminology_errors():
        found = terminology.lookup(str(system), str(code), given.text("version"))
        cs = terminology.code_system(found.system, found.version)
    properties = [
        _property(name, property_value(cs, name, value)) for name, value in found.properties if _asked(name, wanted)
    ]
    properties += _standard_properties(found, wanted)
    designations = [
        {
            "name": "designation",
            "part": [
                p
                for p in (
                    param("language", "valueCode", d.language),
                    param("use", "valueCoding", {"display": d.use} if d.use else None),
                    param("value", "valueString", d.value),
                )
                if p
            ],
        }
        for d in found.designations
        if _asked("designation", wanted)
    ]
    body = parameters(
        param("name", "valueString", found.name),
        param("version", "valueString", found.version),
        param("display", "valueString", found.display),
        *designations,
        *properties,
    )
    return json_response(body)


def _asked(name: str, wanted: set[str]) -> bool:
    return not wanted or name in wanted


def _property(code: str, value: dict[str, Any]) -> dict[str, Any]:
    return {"name": "property", "part": [{"name": "code", "valueCode": code}, {"name": "value", **value}]}


def _standard_properties(found: Lookup, wanted: set[str]) -> list[dict[str, Any]]:
    """The properties FHIR defines for every code system (definition, parent, child)."""
    out = []
    if found.definition and _asked("definition", wanted):
        out.append(_property("definition", {"valueString": found.definition}))
    if found.parent and _asked("parent", wanted):
        out.append(_property("parent", {"valueCode": found.parent}))
    if _asked("child", wanted):
        out += [_property("child", {"valueCode": child}) for child in found.children]
    return out
