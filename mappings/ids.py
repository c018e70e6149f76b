"""Content-derived ids: the same patient and subject always give the same id, so a rerun updates, never duplicates."""

from __future__ import annotations

import hashlib
import re


def stable_id(prefix: str, *parts: str) -> str:
    """`prefix-<40 hex>` from the parts (a valid FHIR id: 64 characters at most)."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[: 63 - len(prefix)]
    return f"{prefix}-{digest}"


def slug(text: str) -> str:
    """`escitalopram`, `lithium-carbonate`: a drug name as an id fragment."""
    return re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")
