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

from fhir_server.api import capability, interactions
from fhir_server.api.deps import Services
from fhir_server.api.negotiation import json_response
from fhir_server.api.operations import OPERATIONS, ROUTERS
from fhir_server.api.outcomes import operation_outcome, outcome_for, status_for
from fhir_server.errors import FhirError
from fhir_server.search.extract import IndexExtractor
from fhir_server.search.registry import SearchRegistry
from fhir_server.services.bundles import BundleService
from fhir_server.services.resources import ResourceService
from fhir_server.services.search import SearchService
from fhir_server.settings import Settings
from fhir_server.storage.db import create_engine
from fhir_server.storage.migrate import upgrade
from fhir_server.storage.repository import ResourceRepository

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
    search = SearchService(registry, settings, repository)
    resources = ResourceService(search, resource_types, referential_integrity=settings.referential_integrity)
    operations = {
        name: tuple(sorted(resource_types)) if types == ("*",) else types for name, types in OPERATIONS.items()
    }
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
        ),
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    services = build_services(settings)
    engine = services.repository.engine

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await upgrade(engine)
        await services.repository.start()
        yield
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
    app.include_router(capability.router)
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(interactions.router)
    _install_error_handlers(app)
    return app


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(FhirError)
    async def fhir_error(_: Request, exc: FhirError) -> Response:
        return json_response(outcome_for(exc), status_for(exc))

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
