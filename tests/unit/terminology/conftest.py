from __future__ import annotations

import pytest

from terminology import Terminology


@pytest.fixture(scope="session")
def terminology() -> Terminology:
    return Terminology.load_default()
