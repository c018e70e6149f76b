"""The dataclasses the terminology API hands out: plain values, no FHIR types, so any layer may use them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

PropertyValue = str | int | bool


class PropertyType(StrEnum):
    """The FHIR CodeSystem property types our content uses (so the FHIR renderer picks `value[x]`)."""

    CODE = "code"
    STRING = "string"
    INTEGER = "integer"
    BOOLEAN = "boolean"


class Equivalence(StrEnum):
    """R4 ConceptMapEquivalence codes (http://hl7.org/fhir/concept-map-equivalence) that our map uses."""

    EQUIVALENT = "equivalent"
    EQUAL = "equal"
    WIDER = "wider"
    SUBSUMES = "subsumes"
    NARROWER = "narrower"
    SPECIALIZES = "specializes"
    INEXACT = "inexact"
    UNMATCHED = "unmatched"
    DISJOINT = "disjoint"


# Read in the other direction, a relationship turns around (A wider than B <=> B narrower than A).
REVERSED_EQUIVALENCE: dict[Equivalence, Equivalence] = {
    Equivalence.WIDER: Equivalence.NARROWER,
    Equivalence.NARROWER: Equivalence.WIDER,
    Equivalence.SUBSUMES: Equivalence.SPECIALIZES,
    Equivalence.SPECIALIZES: Equivalence.SUBSUMES,
}


class Subsumption(StrEnum):
    """$subsumes outcomes (http://hl7.org/fhir/concept-subsumption-outcome)."""

    EQUIVALENT = "equivalent"
    SUBSUMES = "subsumes"
    SUBSUMED_BY = "subsumed-by"
    NOT_SUBSUMED = "not-subsumed"


@dataclass(frozen=True, slots=True)
class PropertyDefinition:
    code: str
    type: PropertyType
    description: str


@dataclass(frozen=True, slots=True)
class Designation:
    value: str
    language: str | None = None
    use: str | None = None  # a short label of what the designation is (e.g. "CPIC term")


@dataclass(frozen=True, slots=True)
class Concept:
    code: str
    display: str
    definition: str | None = None
    parent: str | None = None
    abstract: bool = False
    properties: tuple[tuple[str, PropertyValue], ...] = ()
    designations: tuple[Designation, ...] = ()

    def property(self, code: str) -> PropertyValue | None:
        return next((value for name, value in self.properties if name == code), None)


@dataclass(frozen=True, slots=True)
class CodeSystem:
    """A code system as shipped: for LOINC, SNOMED CT and the others a subset (`content` = fragment)."""

    id: str
    url: str
    version: str
    name: str
    title: str
    description: str
    copyright: str
    content: str  # FHIR CodeSystemContentMode: "fragment" for subsets, "complete" for our own
    publisher: str
    properties: tuple[PropertyDefinition, ...]
    concepts: dict[str, Concept]
    hierarchical: bool = False
    case_sensitive: bool = True

    def children(self, code: str | None) -> list[Concept]:
        return [c for c in self.concepts.values() if c.parent == code]

    def ancestors(self, code: str) -> list[str]:
        chain: list[str] = []
        parent = self.concepts[code].parent
        while parent is not None:
            chain.append(parent)
            parent = self.concepts[parent].parent
        return chain


@dataclass(frozen=True, slots=True)
class ValueSetMember:
    system: str
    code: str
    ordinal: int | None = None  # the answer's score, for scored answer lists


@dataclass(frozen=True, slots=True)
class ValueSet:
    """An enumerated value set: its members are listed code by code (our code systems are subsets anyway)."""

    id: str
    url: str
    version: str
    name: str
    title: str
    description: str
    copyright: str
    publisher: str
    members: tuple[ValueSetMember, ...]


@dataclass(frozen=True, slots=True)
class MapElement:
    source_code: str
    source_display: str
    target_code: str | None
    target_display: str | None
    equivalence: Equivalence
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class ConceptMap:
    id: str
    url: str
    version: str
    name: str
    title: str
    description: str
    copyright: str
    publisher: str
    source_system: str
    target_system: str
    source_value_set: str | None
    target_value_set: str | None
    elements: tuple[MapElement, ...]


@dataclass(frozen=True, slots=True)
class Lookup:
    system: str
    name: str
    version: str
    code: str
    display: str
    definition: str | None
    abstract: bool
    parent: str | None
    children: tuple[str, ...]
    properties: tuple[tuple[str, PropertyValue], ...]
    designations: tuple[Designation, ...]


@dataclass(frozen=True, slots=True)
class Validation:
    """`result` False comes with a `message` saying why; `display` is the display we hold, when the code is known."""

    result: bool
    message: str | None = None
    display: str | None = None
    system: str | None = None
    code: str | None = None


@dataclass(frozen=True, slots=True)
class ExpansionEntry:
    system: str
    code: str
    display: str
    abstract: bool = False
    ordinal: int | None = None


@dataclass(frozen=True, slots=True)
class Expansion:
    value_set: ValueSet
    total: int
    offset: int
    entries: tuple[ExpansionEntry, ...]
    filter: str | None = None


@dataclass(frozen=True, slots=True)
class TranslationMatch:
    equivalence: Equivalence
    system: str | None
    code: str | None
    display: str | None
    source: str  # the ConceptMap's url
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class Translation:
    result: bool
    message: str
    matches: tuple[TranslationMatch, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class HealthKitMapping:
    """One HealthKit type and the coding it maps to (LOINC when one is verified, else the HealthKit code)."""

    identifier: str
    loinc_code: str | None
    loinc_display: str | None
    fallback_system: str
    ucum_unit: str | None
    category: str
    open_mhealth_schema: str | None
