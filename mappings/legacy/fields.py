"""The one structural rule every entry of a legacy payload follows: a JSON object with exactly its fields."""

from __future__ import annotations

from typing import Any

from mappings.legacy.errors import LegacyEntryError


def check_fields(entry: object, fields: tuple[str, ...]) -> dict[str, Any]:
    """The entry as a dict holding exactly `fields`; otherwise what is missing or extra."""
    wanted = ", ".join(fields)
    if not isinstance(entry, dict):
        raise LegacyEntryError(f"an entry must be a JSON object with {wanted}, not {type(entry).__name__}")
    extra = sorted(str(k) for k in entry if k not in fields)
    if extra:
        raise LegacyEntryError(f"unknown field(s) {', '.join(extra)}; an entry holds only {wanted}")
    missing = [f for f in fields if entry.get(f) is None]
    if missing:
        raise LegacyEntryError(f"no {', '.join(missing)}; an entry needs {wanted}")
    return entry
