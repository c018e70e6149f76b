"""The authorization server's back end over HTTP: token, introspection, revocation, discovery,
the authorization endpoint with its pages, and the EHR launch API.

`ROUTERS` are included by the composition root before the FHIR interactions router, whose `/fhir/{type}/{id}`
route would otherwise take `/fhir/.well-known/...`.
"""

from __future__ import annotations

from fhir_server.api.oauth import authorize, discovery, introspect, launch, revoke, token

ROUTERS = (
    discovery.fhir_router,
    discovery.auth_router,
    token.router,
    introspect.router,
    revoke.router,
    authorize.router,
    launch.router,
)
