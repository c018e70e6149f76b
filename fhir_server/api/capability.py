"""GET /fhir/metadata: a CapabilityStatement generated from what the server really wires up.

Resource types and search parameters come from the registry that drives indexing; interactions and
operations come from the routes and the operation table, so the statement cannot drift from the code.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from fhir_server.api.deps import services
from fhir_server.api.negotiation import check_accept, json_response
from fhir_server.search.registry import SearchRegistry
from fhir_server.storage.clock import now_us, to_instant

router = APIRouter(prefix="/fhir")

TYPE_INTERACTIONS = (
    "read",
    "vread",
    "update",
    "patch",
    "delete",
    "history-instance",
    "history-type",
    "create",
    "search-type",
)
SEARCH_MODIFIERS_NOTE = (
    "Modifiers :exact :contains :missing :not :text :[type] :identifier; prefixes eq ne gt lt ge le sa eb ap; "
    "chaining, _has, _include/_revinclude (:iterate), _sort, _count, _total, _summary, _elements."
)
RESULT_PARAMS = (
    ("_sort", "string", "Sort keys, comma separated; '-' for descending."),
    ("_count", "number", "Page size."),
    ("_include", "special", "Include referenced resources (Type:param[:target], :iterate)."),
    ("_revinclude", "special", "Include referring resources (Type:param[:target], :iterate)."),
    ("_summary", "token", "true | text | data | count | false"),
    ("_elements", "string", "Comma-separated top-level elements to return."),
    ("_total", "token", "none | estimate | accurate"),
    ("_has", "special", "Reverse chaining: _has:Type:param:searchParam=value"),
)


def build_capability(
    registry: SearchRegistry,
    resource_types: frozenset[str],
    operations: dict[str, tuple[str, ...]],
    *,
    base: str,
    software_version: str,
    canonical_base: str,
    extra_rest: dict[str, Any] | None = None,
    served_elsewhere: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """`operations` maps an operation name to the resource types it is offered on ('*' = system);
    `served_elsewhere` gives the entries of types a dedicated router serves (e.g. the read-only AuditEvent)."""
    resources = []
    for res_type in sorted(resource_types):
        if served_elsewhere and res_type in served_elsewhere:
            resources.append(served_elsewhere[res_type])
            continue
        params = [
            {"name": code, "definition": d.url, "type": d.type}
            for code, d in sorted(registry.for_type(res_type).items())
            if d.url
        ]
        params += [{"name": name, "type": ty, "documentation": doc} for name, ty, doc in RESULT_PARAMS]
        entry: dict[str, Any] = {
            "type": res_type,
            "interaction": [{"code": code} for code in TYPE_INTERACTIONS],
            "versioning": "versioned-update",
            "readHistory": True,
            "updateCreate": True,
            "conditionalCreate": True,
            "conditionalRead": "not-supported",
            "conditionalUpdate": True,
            "conditionalDelete": "single",
            "referencePolicy": ["literal", "logical"],
            "searchInclude": [
                "*",
                *sorted(f"{res_type}:{c}" for c, d in registry.for_type(res_type).items() if d.type == "reference"),
            ],
            "searchRevInclude": ["*"],
            "searchParam": params,
        }
        ops = [
            {"name": name.lstrip("$"), "definition": _operation_definition(name, res_type, canonical_base)}
            for name, types in sorted(operations.items())
            if res_type in types
        ]
        if ops:
            entry["operation"] = ops
        resources.append(entry)
    rest: dict[str, Any] = {
        "mode": "server",
        "documentation": SEARCH_MODIFIERS_NOTE,
        "resource": resources,
        "interaction": [
            {"code": "transaction"},
            {"code": "batch"},
            {"code": "search-system"},
            {"code": "history-system"},
        ],
        "searchParam": [
            {"name": code, "definition": d.url, "type": d.type}
            for code, d in sorted(registry.common().items())
            if d.url
        ],
        "operation": [
            {"name": name.lstrip("$"), "definition": _operation_definition(name, None, canonical_base)}
            for name, types in sorted(operations.items())
            if "*" in types
        ],
        "compartment": ["http://hl7.org/fhir/CompartmentDefinition/patient"],
    }
    if extra_rest:
        rest.update(extra_rest)
    if not rest["operation"]:
        del rest["operation"]
    return {
        "resourceType": "CapabilityStatement",
        "id": "novamind",
        "status": "active",
        "date": to_instant(now_us())[:10],
        "publisher": "NovaMind Twin",
        "kind": "instance",
        "software": {"name": "NovaMind Twin", "version": software_version},
        "implementation": {"description": "NovaMind Twin FHIR server", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "patchFormat": ["application/json-patch+json"],
        "rest": [rest],
    }


SECURITY_SERVICE_SYSTEM = "http://terminology.hl7.org/CodeSystem/restful-security-service"
OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"


def smart_security(auth_base: str) -> dict[str, Any]:
    """`rest.security` for SMART on FHIR; some clients (the Python fhirclient) read only its oauth-uris."""
    endpoints = {name: f"{auth_base}/{name}" for name in ("authorize", "token", "introspect", "revoke")}
    return {
        "service": [
            {
                "coding": [{"system": SECURITY_SERVICE_SYSTEM, "code": "SMART-on-FHIR", "display": "SMART-on-FHIR"}],
                "text": "OAuth2 using SMART-on-FHIR profile (see http://docs.smarthealthit.org)",
            }
        ],
        "extension": [
            {
                "url": OAUTH_URIS,
                "extension": [{"url": name, "valueUri": url} for name, url in endpoints.items()],
            }
        ],
        "description": "SMART App Launch 2.2; discovery at .well-known/smart-configuration",
    }


CORE_OPERATION_DEFINITIONS = "http://hl7.org/fhir/OperationDefinition"
# Operations the core specification defines, each as <Type>-<code> ($validate once, for every type).
CORE_OPERATIONS = frozenset(
    {"$everything", "$validate", "$lookup", "$validate-code", "$expand", "$translate", "$subsumes"}
)


def _operation_definition(name: str, res_type: str | None, canonical_base: str) -> str:
    """The canonical URL of an operation's definition as offered on `res_type` (None: system level).

    Core operations point at the specification's own definitions, which differ per type ($validate-code is
    CodeSystem-validate-code on CodeSystem and ValueSet-validate-code on ValueSet); ours at the configured
    canonical base.
    """
    code = name.lstrip("$")
    if name in CORE_OPERATIONS:
        owner = "Resource" if name == "$validate" or res_type is None else res_type
        return f"{CORE_OPERATION_DEFINITIONS}/{owner}-{code}"
    return f"{canonical_base.rstrip('/')}/OperationDefinition/{code}"


@router.get("/metadata")
async def metadata(request: Request) -> Response:
    check_accept(request)
    return json_response(services(request).capability_json)
