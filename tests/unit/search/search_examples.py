"""Loads the official example resources from the shared data, for parametrised tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EXAMPLES: Path = Path(__file__).resolve().parents[4] / "shared" / "data" / "fhir-examples"


def load_examples() -> list[dict[str, Any]]:
    """Every official example resource we ship with the shared data (none when it is not there)."""
    found = []
    for path in sorted(EXAMPLES.rglob("*.json")):
        try:
            data = json.loads(path.read_text("utf-8"))
        except (ValueError, UnicodeDecodeError):
            continue
        if isinstance(data, dict) and "resourceType" in data:
            found.append(data)
    return found
