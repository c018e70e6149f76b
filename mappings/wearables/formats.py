"""The wearable formats the importer knows, by their CLI name."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import tzinfo
from pathlib import Path

from mappings.wearables import apple_health, fitbit, openmhealth
from mappings.wearables.reading import Parsed

Reader = Callable[[Path, tzinfo], Iterator[Parsed]]

READERS: dict[str, Reader] = {
    "openmhealth": lambda path, zone: openmhealth.parse_file(path),
    "apple-health": lambda path, zone: apple_health.parse_file(path),
    "fitbit": fitbit.parse_file,
}
