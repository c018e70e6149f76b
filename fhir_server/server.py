"""Running the app under uvicorn (what `novamind serve` does)."""

from __future__ import annotations

import asyncio
import logging
import sys

import uvicorn

from fhir_server.settings import Settings, is_loopback
from fhir_server.storage.db import is_sqlite


def serve(settings: Settings, *, demo: bool = False, workers: int = 1) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if settings.insecure_no_auth and not is_loopback(settings.host):
        print(
            f"novamind serve: --no-auth is for local development and only binds to loopback "
            f"(127.0.0.1, ::1, localhost), not {settings.host}.",
            file=sys.stderr,
        )
        return 2
    if workers > 1 and is_sqlite(settings.resolved_database_url()):
        print(
            "novamind serve: --workers > 1 needs PostgreSQL (--database-url postgresql+asyncpg://…); "
            "the embedded SQLite database is for one process.",
            file=sys.stderr,
        )
        return 2
    if demo:
        from fhir_server.demo import load_demo

        count = asyncio.run(load_demo(settings))
        logging.getLogger("novamind").info("demo data ready (%d resources)", count)
        print(
            "Every FHIR request needs an access token. For the demo, in another terminal:\n"
            "  TOKEN=$(.venv/bin/novamind token --client-id demo-scripts --scope 'system/*.rs')\n"
            f'  curl -H "Authorization: Bearer $TOKEN" {settings.base_url()}/Patient',
            flush=True,
        )
    print(f"NovaMind Twin FHIR server: {settings.base_url()}", flush=True)
    if settings.insecure_no_auth:
        logging.getLogger("novamind").warning(
            "AUTHORIZATION IS OFF (--no-auth): anyone who can reach %s:%s can read and write every record. "
            "For local development with synthetic data only.",
            settings.host,
            settings.port,
        )
    if workers > 1:
        # Each worker builds its own app from the environment (uvicorn imports the factory).
        import os

        for key, value in settings.model_dump(exclude_none=True).items():
            os.environ[f"NOVAMIND_{key.upper()}"] = str(value)
        uvicorn.run(
            "fhir_server.app:create_app",
            factory=True,
            host=settings.host,
            port=settings.port,
            workers=workers,
            log_level="warning",
            access_log=False,
        )
        return 0
    from fhir_server.app import create_app

    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="warning", access_log=False)
    return 0
