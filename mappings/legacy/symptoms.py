"""`symptom_history` entries -> survey Readings: which symptom types we know, and the scale of each.

| symptom_type (any case; `_`, `-`, space alike) | measure (code) | severity |
| --- | --- | --- |
| `phq9`, `phq-9`, `depression` | PHQ-9 total score (LOINC, from loinc.csv) | integer 0–27 |
| `gad7`, `gad-7`, `anxiety` | GAD-7 total score (LOINC, from loinc.csv) | integer 0–21 |
| `mood`, `mood-rating` | twin-concepts `mood-rating` | integer 0–10, 10 = best mood |
| `sleep-quality` | twin-concepts `sleep-quality-rating` | integer 0–10, 10 = excellent sleep |
| `energy` | twin-concepts `energy-rating` | integer 0–10, 10 = full of energy |
| `stress` | twin-concepts `stress-rating` | integer 0–10, 10 = worst stress |

`depression` and `anxiety` are read as the PHQ-9 and GAD-7 totals because those are the instruments the twin
tracks and their ranges are what the design documents' examples used; a client that meant another depression
scale must not send it under these names. Totals are the instruments' sums, so they are whole numbers; the
ratings are 11-point numeric rating scales, also whole. Values are stored as `valueQuantity` in UCUM `{score}`
(the LOINC table allows "integer or Quantity {score}" for the totals; the shared builder emits quantities, which
R4's `value-quantity` search indexes and `valueInteger` is not) and `mappings.frames` reads both forms. Codes
are never spelled here: each scale names a row of the measure table, which checks them against the terminology.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo

from mappings.legacy.errors import LegacyEntryError
from mappings.legacy.fields import check_fields
from mappings.legacy.times import parse_when
from mappings.wearables.reading import DeviceInfo, Quantity, Reading

FIELDS = ("date", "symptom_type", "severity")
SCORE_UNIT = "{score}"


@dataclass(frozen=True, slots=True)
class Scale:
    measure: str  # key of mappings/wearables/data/measures.csv
    title: str  # how a reason names the scale ("outside PHQ-9's 0–27")
    low: int
    high: int
    aliases: tuple[str, ...]  # normalised symptom_type spellings (see `normalise`)


SCALES: tuple[Scale, ...] = (
    Scale("phq9-total", "PHQ-9", 0, 27, ("phq9", "phq-9", "depression")),
    Scale("gad7-total", "GAD-7", 0, 21, ("gad7", "gad-7", "anxiety")),
    Scale("mood-rating", "the mood rating", 0, 10, ("mood", "mood-rating")),
    Scale("sleep-quality-rating", "the sleep quality rating", 0, 10, ("sleep-quality", "sleep-quality-rating")),
    Scale("energy-rating", "the energy rating", 0, 10, ("energy", "energy-rating")),
    Scale("stress-rating", "the stress rating", 0, 10, ("stress", "stress-rating")),
)
_BY_ALIAS = {alias: scale for scale in SCALES for alias in scale.aliases}


def normalise(symptom_type: str) -> str:
    """`PHQ_9`, `phq 9` and `phq-9` are the same type; so are `Sleep_Quality` and `sleep-quality`."""
    return "-".join(symptom_type.strip().lower().replace("_", " ").replace("-", " ").split())


def scale_for(symptom_type: object) -> Scale:
    if not isinstance(symptom_type, str):
        raise LegacyEntryError(f"symptom_type {symptom_type!r} is not a string")
    scale = _BY_ALIAS.get(normalise(symptom_type))
    if scale is None:
        known = "; ".join(f"{', '.join(s.aliases)} ({s.title.removeprefix('the ')})" for s in SCALES)
        raise LegacyEntryError(f"unknown symptom_type {symptom_type!r}; the known types are {known}")
    return scale


def _severity(value: object, scale: Scale) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise LegacyEntryError(f"severity {value!r} is not a number ({scale.title} is a whole number)")
    if not float(value).is_integer():
        raise LegacyEntryError(f"severity {value!r} is not a whole number ({scale.title} has no fractions)")
    if not scale.low <= value <= scale.high:
        raise LegacyEntryError(f"severity {int(value)} is outside {scale.title}'s {scale.low}–{scale.high}")
    return int(value)


def symptom_reading(entry: object, zone: tzinfo, device: DeviceInfo) -> Reading:
    """One `symptom_history` entry as a Reading at its date; raises LegacyEntryError saying what is wrong."""
    fields = check_fields(entry, FIELDS)
    scale = scale_for(fields["symptom_type"])
    severity = _severity(fields["severity"], scale)
    when = parse_when(fields["date"], "date", zone)
    return Reading(scale.measure, when.text, None, Quantity(float(severity), SCORE_UNIT), device)
