"""Shared, read-only fixtures for the search unit tests."""

from __future__ import annotations

import pytest

from fhir_server.search.registry import SearchRegistry


@pytest.fixture(scope="session")
def registry() -> SearchRegistry:
    return SearchRegistry.load_default()
