"""What the routers get from the composition root, and the request-derived values they share."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import orjson
from fastapi import Request

from fhir_server.audit.trail import AuditTrail
from fhir_server.auth.components import AuthComponents
from fhir_server.search.registry import SearchRegistry
from fhir_server.services.bundles import BundleService
from fhir_server.services.resources import ResourceService
from fhir_server.services.search import SearchService
from fhir_server.settings import Settings
from fhir_server.storage.repository import ResourceRepository
from terminology import Terminology


@dataclass(frozen=True)
class Services:
    settings: Settings
    repository: ResourceRepository
    registry: SearchRegistry
    resources: ResourceService
    search: SearchService
    bundles: BundleService
    capability: dict[str, Any]
    auth: AuthComponents
    audit: AuditTrail
    terminology: Terminology

    @cached_property
    def capability_json(self) -> bytes:
        """The CapabilityStatement is half a megabyte of JSON: serialise it once, not per request."""
        return orjson.dumps(self.capability)


def services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def base_url(request: Request) -> str:
    """Absolute FHIR base for Location headers and Bundle links (configured, or as the client reached us)."""
    configured = request.app.state.services.settings.public_base_url
    if configured:
        return str(configured).rstrip("/")
    return f"{str(request.base_url).rstrip('/')}/fhir"
