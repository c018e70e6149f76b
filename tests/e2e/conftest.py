"""A real `novamind serve` process on a free port, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

POSTGRES_URL = os.environ.get("NOVAMIND_TEST_POSTGRES_URL")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wipe_postgres(url: str) -> None:
    import asyncio

    from tests.conftest import _reset_postgres

    asyncio.run(_reset_postgres(url))


def novamind(*args: str) -> str:
    """Run the `novamind` CLI as a user would; its standard output."""
    done = subprocess.run(
        [sys.executable, "-m", "fhir_server.cli", *args], check=True, capture_output=True, text=True, timeout=300
    )
    return done.stdout


def script_token(base: str, args: list[str], scope: str = "system/*.cruds", lifetime: int | None = None) -> str:
    """An access token for scripts, minted with `novamind clients add` + `novamind token` as the README shows;
    `lifetime` (seconds) for scripts that run longer than the server's default token lifetime."""
    port = base.split(":")[-1].split("/")[0]
    client = f"e2e-{uuid.uuid4().hex[:8]}"
    novamind(
        "clients", "add", client, "--kind", "public", "--redirect-uri", "http://127.0.0.1/cb", "--scope", scope, *args
    )
    extra = ["--lifetime", str(lifetime)] if lifetime else []
    return novamind("token", "--client-id", client, "--scope", scope, "--port", port, *extra, *args).strip()


@contextlib.contextmanager
def running_server(args: list[str], log_dir: Path) -> Iterator[str]:
    """`novamind serve ARGS` on a free port until the block ends; yields the FHIR base URL."""
    port = _free_port()
    cmd = [sys.executable, "-m", "fhir_server.cli", "serve", "--port", str(port), *args]
    log_path = log_dir / f"server-{port}.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}/fhir"
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(f"{base}/metadata", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(log_path.read_text())
                time.sleep(0.2)
            yield base
        finally:
            proc.terminate()
            proc.wait(timeout=20)


@dataclass(frozen=True)
class RunningServer:
    base: str
    args: list[str]  # --data-dir / --database-url: what CLI commands need to work on the same server


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def running(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """Start the server as users do."""
    data_dir: Path = tmp_path_factory.mktemp("novamind-data")
    args = ["--data-dir", str(data_dir)]
    if request.param == "postgres":
        if not POSTGRES_URL:
            pytest.skip("NOVAMIND_TEST_POSTGRES_URL is not set")
        _wipe_postgres(POSTGRES_URL)
        args += ["--database-url", POSTGRES_URL]
    with running_server(args, data_dir) as base:
        yield RunningServer(base, args)


@pytest.fixture(scope="module")
def server(running: RunningServer) -> str:
    """The FHIR base URL of the running server."""
    return running.base


@pytest.fixture(scope="module")
def token(running: RunningServer) -> str:
    """A full-access (`system/*.cruds`) token for the running server, minted through the CLI."""
    return script_token(running.base, running.args)


@pytest.fixture(scope="module")
def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_patient(server: str, auth: dict[str, str], prefix: str) -> str:
    """A fresh Patient with a unique id, so each module's data is its own on a shared server."""
    pid = f"{prefix}-{uuid.uuid4().hex[:8]}"
    r = httpx.put(f"{server}/Patient/{pid}", json={"resourceType": "Patient", "id": pid}, headers=auth)
    assert r.status_code == 201, r.text
    return pid
