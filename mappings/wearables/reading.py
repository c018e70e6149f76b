"""What a vendor parser hands the Observation builder: one measured value, or why a record was not taken.

Readings are plain frozen values (no FHIR), so every vendor module can be tested without the builder and
the builder never branches on the vendor.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """The device or app a record came from, as far as the export says."""

    name: str
    manufacturer: str | None = None
    model: str | None = None
    hardware: str | None = None
    app: str | None = None  # the app that wrote the record (HealthKit sourceName), when it differs from name


@dataclass(frozen=True, slots=True)
class Quantity:
    value: float
    unit: str  # UCUM code; must equal the measure's unit


@dataclass(frozen=True, slots=True)
class Concept:
    """A coded or text-only value (workout type, sleep stage)."""

    text: str
    system: str | None = None
    code: str | None = None


@dataclass(frozen=True, slots=True)
class Component:
    measure: str
    value: Quantity | Concept | bool


@dataclass(frozen=True, slots=True)
class Reading:
    """One observation's worth of data.

    `start`/`end` are FHIR dateTime strings; `end is None` means an instant (effectiveDateTime), otherwise
    the reading covers a period (effectivePeriod). `native` is the vendor's own code for the measure
    (e.g. the HealthKit type identifier), kept as a second coding for provenance.
    """

    measure: str
    start: str
    end: str | None
    value: Quantity | Concept | None
    device: DeviceInfo
    components: tuple[Component, ...] = ()
    native: tuple[str, str] | None = None
    statistic: str | None = None  # Open mHealth descriptive_statistic (average, maximum, ...)
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Rejection:
    """A record that fails validation: importing it would store something wrong."""

    location: str  # where in the file (file name, element, index), so the user can find it
    reason: str


@dataclass(frozen=True, slots=True)
class Skipped:
    """A valid record we do not map (a type outside the supported measures); counted, not an error."""

    kind: str
    reason: str = field(default="not a supported measure")


Parsed = Reading | Rejection | Skipped
