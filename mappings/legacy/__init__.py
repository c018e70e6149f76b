"""The design documents' legacy JSON payload -> Readings (and so FHIR Observations): `novamind import legacy`.

The team's design documents named this payload (`symptom_history` entries with date, symptom_type and severity;
`biometric_data` by type with timestamp and value) but gave no schema, so this package is where it is defined.
Clients of the old shape feed the twin through it; everything outside the shape below is rejected with a reason
that names the entry (`symptom_history[3]: severity 31 is outside PHQ-9's 0–27`), never dropped silently.

```json
{
  "patient_id": "optional and informational: the import's --patient decides whose records these are",
  "symptom_history": [{"date": "2024-05-01", "symptom_type": "depression", "severity": 14}],
  "biometric_data": {
    "heart_rate": [{"timestamp": "2024-05-01T08:00:00Z", "value": 62}],
    "sleep_duration": [{"timestamp": "2024-05-01", "value": 7.5}]
  }
}
```

- The document is one JSON object with only these three keys; at least one of `symptom_history` and
  `biometric_data` must be there. It is read whole, so a file over 50 MiB is refused (`MAX_BYTES`).
- `symptom_history`: a list of objects with exactly `date`, `symptom_type` and `severity`. `symptom_type` is
  matched without regard to case, `_` or spaces; the types and their scales are in `mappings.legacy.symptoms`
  (PHQ-9 and GAD-7 totals under their LOINC codes, 0-10 self-ratings under our twin-concepts codes). `severity`
  is a whole number inside the scale. Each entry becomes a `survey` Observation at `effectiveDateTime = date`.
- `biometric_data`: an object whose keys are biometric types (`mappings.legacy.biometrics`: heart_rate,
  resting_heart_rate, hrv, hrv_sdnn, hrv_rmssd, steps, sleep_duration, weight, calories), each a list of objects
  with exactly `timestamp` and `value`. The unit of `value` is fixed by the type (there is no unit field).
- Times (`mappings.legacy.times`): ISO 8601. A date-time must carry its UTC offset unless the import names a
  `--timezone`; a date alone means that whole day (for the types where a daily value makes sense).

Every Observation goes through the wearable `ObservationBuilder`, like the other formats: codes, categories
and UCUM units from `mappings/wearables/data/measures.csv`, one Device for the legacy client, and a stable
identifier, so importing the same payload twice stores nothing twice.
"""

from __future__ import annotations

from mappings.legacy.payload import LEGACY_CLIENT, MAX_BYTES, parse_file, parse_payload
from mappings.legacy.times import NO_TIMEZONE

__all__ = ["LEGACY_CLIENT", "MAX_BYTES", "NO_TIMEZONE", "parse_file", "parse_payload"]
