"""The composition root: `create_app(settings)` wires settings, storage and services. Nothing else does."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from fhir_server.api import audit, capability, cds_hooks, interactions, oauth
from fhir_server.api.auditing import audit_failure
from fhir_server.api.deps import Services
from fhir_server.api.negotiation import json_response
from fhir_server.api.oauth.authorize import BrowserKit
from fhir_server.api.operations import OPERATIONS, ROUTERS
from fhir_server.api.outcomes import challenge_for, operation_outcome, outcome_for, status_for
from fhir_server.audit.search import capability_resource as audit_capability
from fhir_server.audit.trail import AuditTrail
from fhir_server.auth.components import build_auth_components
from fhir_server.errors import FhirError
from fhir_server.search.extract import IndexExtractor
from fhir_server.search.registry import SearchRegistry
from fhir_server.services.bundles import BundleService
from fhir_server.services.observation_check import ObservationCodingCheck
from fhir_server.services.pgx import publish_catalogue
from fhir_server.services.resources import ResourceService
from fhir_server.services.search import SearchService
from fhir_server.services.terminology_loader import publish_terminology
from fhir_server.services.value_sets import terminology_lookups
from fhir_server.settings import Settings, is_loopback
from fhir_server.storage.db import create_engine
from fhir_server.storage.migrate import upgrade
from fhir_server.storage.repository import ResourceRepository
from mappings.pharmacogenomics import PgxAdvisor
from terminology import Terminology

log = logging.getLogger("novamind")

# R4 resource types with no search parameters of their own (so absent from the registry's bases); they
# are still stored and searchable by the common parameters (_id, _lastUpdated, _tag, ...).
TYPES_WITHOUT_OWN_PARAMS = frozenset(
    {
        "Binary",
        "OperationOutcome",
        "Parameters",
        "MedicinalProductIngredient",
        "MedicinalProductManufactured",
        "SubstanceNucleicAcid",
        "SubstancePolymer",
        "SubstanceProtein",
        "SubstanceReferenceInformation",
        "SubstanceSourceMaterial",
    }
)


def software_version() -> str:
    try:
        return version("novamind")
    except PackageNotFoundError:  # running from a source tree that was not installed
        return "0.0.0"


def build_services(settings: Settings) -> Services:
    """Everything the server runs on, wired once; also used by CLI commands that work without HTTP."""
    registry = SearchRegistry.load_default()
    engine = create_engine(settings.resolved_database_url(), echo=settings.log_sql)
    repository = ResourceRepository(engine, IndexExtractor(registry, base_url=settings.base_url()))
    resource_types = frozenset(registry.resource_types()) | TYPES_WITHOUT_OWN_PARAMS
    terminology = Terminology.load_default(settings.canonical_base)
    search = SearchService(registry, settings, repository, value_sets=terminology_lookups(terminology))
    check = settings.observation_coding_check
    resources = ResourceService(
        search,
        resource_types,
        referential_integrity=settings.referential_integrity,
        observation_check=None if check == "off" else ObservationCodingCheck(terminology, check),
    )
    operations = {
        name: tuple(sorted(resource_types)) if types == ("*",) else types for name, types in OPERATIONS.items()
    }
    auth = build_auth_components(settings, engine, probe=repository.probe)
    return Services(
        settings=settings,
        repository=repository,
        registry=registry,
        resources=resources,
        search=search,
        bundles=BundleService(resources, search),
        capability=capability.build_capability(
            registry,
            resource_types,
            operations,
            base=settings.base_url(),
            software_version=software_version(),
            canonical_base=settings.canonical_base,
            extra_rest={"security": capability.smart_security(settings.auth_base_url())},
            served_elsewhere={"AuditEvent": audit_capability()},
        ),
        auth=auth,
        audit=AuditTrail(engine, base_url=settings.base_url()),
        terminology=terminology,
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    if settings.insecure_no_auth and not is_loopback(settings.host):
        raise ValueError("NOVAMIND_INSECURE_NO_AUTH is for local development: it needs a loopback host.")
    services = build_services(settings)
    engine = services.repository.engine
    pgx_advisor = PgxAdvisor(services.terminology, settings.canonical_base)  # loads CPIC tables on first use

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await upgrade(engine)
        await services.repository.start()
        await services.audit.start()
        try:
            if settings.publish_terminology:
                await publish_terminology(
                    services.terminology, services.repository, services.resources, services.registry
                )
                await publish_catalogue(pgx_advisor, services.repository, services.resources, services.registry)
            yield
        finally:
            try:
                await services.audit.close()  # writes and seals what is still queued
            finally:
                await services.repository.close()

    app = FastAPI(
        title="NovaMind Twin FHIR server",
        version=software_version(),
        lifespan=lifespan,
        docs_url="/docs",
        openapi_url="/openapi.json",
        redirect_slashes=False,
    )
    app.state.services = services
    app.state.pgx_advisor = pgx_advisor
    app.state.browser_kit = BrowserKit.open(services)  # login/consent pages: templates, CSRF, signed state
    app.include_router(capability.router)
    for router in oauth.ROUTERS:  # before the FHIR interactions, whose /fhir/{type}/{id} would take .well-known
        app.include_router(router)
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(cds_hooks.router)
    app.include_router(audit.router)  # before the generic interactions, which would take /fhir/AuditEvent
    app.include_router(interactions.router)
    _install_error_handlers(app)
    return app


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(FhirError)
    async def fhir_error(request: Request, exc: FhirError) -> Response:
        status = status_for(exc)
        audit_failure(request, exc, status)
        return json_response(outcome_for(exc), status, challenge_for(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:
            message = f"{request.method} is not allowed on {request.url.path}."
            code = "not-supported"
        elif exc.status_code == 404:
            message = f"Nothing is served at {request.url.path}; the FHIR base is /fhir."
            code = "not-found"
        else:
            message = str(exc.detail)
            code = "processing"
        return json_response(operation_outcome("error", code, message), exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def request_error(_: Request, exc: RequestValidationError) -> Response:
        return json_response(operation_outcome("error", "invalid", f"Malformed request: {exc.errors()}"), 400)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> Response:
        log.exception("unhandled error")
        return json_response(
            operation_outcome("fatal", "exception", "The server failed unexpectedly; the error has been logged."),
            500,
        )
