"""The injectable notion of "now" used by everything in `fhir_server.auth` (tests pass a fixed clock)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)
