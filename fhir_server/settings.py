"""Runtime configuration, read from `NOVAMIND_*` environment variables (the same names as the CLI options)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATA_DIR = Path("novamind-data")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})


def is_loopback(host: str) -> bool:
    return host in LOOPBACK_HOSTS or host.startswith("127.")


class Settings(BaseSettings):
    """Everything the app factory needs; one instance per process, passed down explicitly."""

    model_config = SettingsConfigDict(env_prefix="NOVAMIND_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8080
    database_url: str | None = None
    data_dir: Path = DEFAULT_DATA_DIR
    # Where clients reach us; used for absolute URLs (Location, Bundle links). Derived from host/port if unset.
    public_base_url: str | None = None
    canonical_base: str = "http://novamind.example.org/fhir"
    default_page_size: int = 20
    max_page_size: int = 1000
    # How long a search's frozen result list stays available for paging.
    search_cache_seconds: int = 3600
    # Refuse writes whose relative references (Type/id) point at nothing, as HAPI FHIR does by default.
    referential_integrity: bool = True
    # Observations coded with a LOINC measure must carry a value in a UCUM unit commensurable with the one our
    # LOINC table records (heart rate 8867-4 in /min): "warn" stores and reports, "reject" answers 422.
    observation_coding_check: Literal["off", "warn", "reject"] = "warn"
    log_sql: bool = False
    # Serve the FHIR API without authorization: local development only, refused unless bound to loopback.
    insecure_no_auth: bool = False
    # Signing keys (private, mode 0600); defaults to <data_dir>/keys. Share it between API processes.
    keys_dir: Path | None = None
    access_token_seconds: int = 3600
    # Store the shipped CodeSystems/ValueSets/ConceptMaps as resources at start-up (idempotent). Test suites
    # that never read them turn it off: validating them costs ~0.4 s per fresh database.
    publish_terminology: bool = True
    # offline_access refresh tokens live this long; online_access ones live as long as the login session.
    refresh_token_days: int = 90
    # A login session at the authorization server (its cookie) ends after this long, or at logout.
    session_seconds: int = 43_200
    # argon2id cost for passwords and client secrets (RFC 9106's second recommended setting by default).
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65_536

    def resolved_database_url(self) -> str:
        """The embedded SQLite file is the default so `novamind serve` works with nothing installed."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'novamind.sqlite3').resolve()}"

    def resolved_keys_dir(self) -> Path:
        return self.keys_dir or self.data_dir / "keys"

    def auth_base_url(self) -> str:
        """Where the authorization server's endpoints live: `/auth` beside the FHIR base (`/fhir`)."""
        base = self.base_url()
        return f"{base.removesuffix('/fhir')}/auth"

    def base_url(self) -> str:
        if self.public_base_url:
            return self.public_base_url.rstrip("/")
        return f"http://{self.host}:{self.port}/fhir"
