"""`ValueSet/$expand`: the value set with its members listed, narrowed by `filter` and paged by `offset`/`count`.

The answer is the ValueSet itself (the operation's single `return` parameter), as FHIR prescribes.
`displayLanguage`, `includeDesignations` and `activeOnly` are accepted and change nothing: our content has
one language and no inactive codes.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from fhir_server.api.negotiation import json_response
from fhir_server.api.operations.terminology_io import operation_input, terminology_errors
from fhir_server.errors import InvalidRequest
from fhir_server.storage.clock import now_us, to_instant
from terminology.resources import expansion_resource

OFFERED_ON: tuple[str, ...] = ("ValueSet",)
router = APIRouter(prefix="/fhir")


async def _expand(request: Request, vs_id: str | None) -> Response:
    given, terminology = await operation_input(request, "ValueSet", "expand")
    if given.has("valueSet"):
        raise InvalidRequest("Expanding an inline 'valueSet' is not supported; name it by 'url'.")
    offset = given.whole_number("offset") or 0
    count = given.whole_number("count")
    with terminology_errors():
        if vs_id:
            vs = terminology.value_set_by_id(vs_id)
        else:
            url = given.text("url")
            if not url:
                raise InvalidRequest("ValueSet/$expand needs the value set's 'url' (or call it on ValueSet/{id}).")
            vs = terminology.value_set(url, given.text("valueSetVersion"))
        expansion = terminology.expand_value_set(vs, given.text("filter"), offset, count)
    return json_response(expansion_resource(expansion, to_instant(now_us())))


@router.api_route("/ValueSet/$expand", methods=["GET", "POST"])
async def expand_type(request: Request) -> Response:
    return await _expand(request, None)


@router.api_route("/ValueSet/{vs_id}/$expand", methods=["GET", "POST"])
async def expand_instance(request: Request, vs_id: str) -> Response:
    return await _expand(request, vs_id)
