"""The import formats `novamind import FORMAT` knows, by their CLI name.

Each reader takes the file and the zone of local times without an offset. The CLI passes
`mappings.legacy.NO_TIMEZONE` when the user gave no `--timezone`: the legacy payload then refuses such times,
while Fitbit (whose exports never carry offsets) keeps reading them as UTC, its documented default.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, tzinfo
from pathlib import Path

from mappings import legacy
from mappings.wearables import apple_health, fitbit, openmhealth
from mappings.wearables.reading import Parsed

Reader = Callable[[Path, tzinfo], Iterator[Parsed]]
NO_TIMEZONE = legacy.NO_TIMEZONE


def _fitbit(path: Path, zone: tzinfo) -> Iterator[Parsed]:
    return fitbit.parse_file(path, UTC if zone is NO_TIMEZONE else zone)


READERS: dict[str, Reader] = {
    "openmhealth": lambda path, zone: openmhealth.parse_file(path),
    "apple-health": lambda path, zone: apple_health.parse_file(path),
    "fitbit": _fitbit,
    "legacy": legacy.parse_file,
}
