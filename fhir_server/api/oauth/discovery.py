"""Public discovery documents: SMART configuration, OpenID configuration, our JWKS and the SMART style.

All are unauthenticated and CORS-open (browser apps read them before they have any token), and every URL
in them is absolute, built from the configured public base URL so that apps behind a proxy get the address
they can reach.

https://hl7.org/fhir/smart-app-launch/conformance.html
https://openid.net/specs/openid-connect-discovery-1_0.html
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from fhir_server.api.deps import services
from fhir_server.auth.components import AuthComponents

fhir_router = APIRouter(prefix="/fhir/.well-known")
auth_router = APIRouter(prefix="/auth")

PUBLIC = {"Access-Control-Allow-Origin": "*", "Cache-Control": "public, max-age=300"}

CAPABILITIES = (
    "launch-ehr",
    "launch-standalone",
    "authorize-post",
    "client-public",
    "client-confidential-symmetric",
    "client-confidential-asymmetric",
    "sso-openid-connect",
    "context-banner",
    "context-style",
    "context-ehr-patient",
    "context-ehr-encounter",
    "context-standalone-patient",
    "permission-offline",
    "permission-online",
    "permission-patient",
    "permission-user",
    "permission-v1",
    "permission-v2",
)
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
ASSERTION_ALGORITHMS = ("RS384", "ES384")
SCOPES = (
    "openid",
    "fhirUser",
    "profile",
    "launch",
    "launch/patient",
    "launch/encounter",
    "offline_access",
    "online_access",
    "patient/*.cruds",
    "patient/*.rs",
    "patient/*.read",
    "patient/*.write",
    "user/*.cruds",
    "user/*.rs",
    "user/*.read",
    "user/*.write",
    "system/*.cruds",
    "system/*.rs",
    "system/*.read",
    "system/*.write",
)
STYLE = {
    "color_background": "#f6f7f9",
    "color_error": "#b3261e",
    "color_highlight": "#2f6f9f",
    "color_modal_backdrop": "#00000066",
    "color_success": "#2e7d32",
    "color_text": "#1d232a",
    "dim_border_radius": "6px",
    "dim_font_size": "16px",
    "dim_spacing_size": "16px",
    "font_family_body": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    "font_family_heading": "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
}


def _endpoints(auth: AuthComponents) -> dict[str, str]:
    return {
        "issuer": auth.issuer,
        "jwks_uri": f"{auth.auth_base}/jwks",
        "authorization_endpoint": f"{auth.auth_base}/authorize",
        "token_endpoint": auth.token_endpoint,
        "introspection_endpoint": f"{auth.auth_base}/introspect",
        "revocation_endpoint": f"{auth.auth_base}/revoke",
    }


def smart_configuration(auth: AuthComponents) -> dict[str, Any]:
    return {
        **_endpoints(auth),
        "grant_types_supported": list(GRANT_TYPES),
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "scopes_supported": list(SCOPES),
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "capabilities": list(CAPABILITIES),
    }


def openid_configuration(auth: AuthComponents) -> dict[str, Any]:
    return {
        **_endpoints(auth),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "fhirUser", "profile", "offline_access", "online_access"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "nonce", "fhirUser", "name"],
        "grant_types_supported": list(GRANT_TYPES),
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "code_challenge_methods_supported": ["S256"],
    }


def _public_json(body: Any) -> Response:
    return Response(content=orjson.dumps(body), media_type="application/json", headers=PUBLIC)


@fhir_router.get("/smart-configuration")
async def smart_configuration_document(request: Request) -> Response:
    return _public_json(smart_configuration(services(request).auth))


@fhir_router.get("/openid-configuration")
async def openid_configuration_document(request: Request) -> Response:
    return _public_json(openid_configuration(services(request).auth))


@auth_router.get("/jwks")
async def jwks(request: Request) -> Response:
    return _public_json(services(request).auth.keys.jwks())


@auth_router.get("/smart-style.json")
async def smart_style() -> Response:
    return _public_json(STYLE)
