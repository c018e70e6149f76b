"""A patient's FHIR record -> what the response model needs: diagnosis, age, sex, comorbidities, failed trials.

Rules (conservative, written down so a reviewer can check them):
- diagnosis from active Conditions coded in ICD-10-CM: F32/F33 -> MDD, F41.1 -> GAD, F31.3-F31.5 (bipolar,
  current episode depressed) -> bipolar_depression; otherwise words in the Condition's text. Bipolar depression
  wins over MDD over GAD (antidepressant risk in bipolar disorder matters most). None when nothing matches: the
  model then gives no estimate rather than guessing a diagnosis.
- comorbidities: G47.0/F51.0 insomnia, F10-F19 substance use, G89.2/G89.4 chronic pain.
- failed trials: MedicationStatements/MedicationRequests with status `stopped`.
- age is counted at `as_of` (the caller's date); sex is `female` only when `Patient.gender` says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
INACTIVE = frozenset({"inactive", "remission", "resolved"})
_DIAGNOSIS_PRIORITY = ("bipolar_depression", "MDD", "GAD")
DIAGNOSIS_WORDS: Mapping[str, str] = {
    "bipolar": "bipolar_depression",
    "bipolar_depression": "bipolar_depression",
    "mdd": "MDD",
    "depression": "MDD",
    "depressive": "MDD",
    "gad": "GAD",
    "anxiety": "GAD",
}


@dataclass(frozen=True, slots=True)
class ClinicalContext:
    """The non-genetic inputs of the response model, with the references they came from."""

    diagnosis: str | None
    age: int | None
    female: bool
    comorbidities: frozenset[str]
    failed_medications: tuple[str, ...]
    condition_refs: tuple[str, ...]
    medication_refs: tuple[str, ...]


def diagnosis_of_code(system: str | None, code: str) -> str | None:
    """The model's diagnosis for an ICD-10-CM code (or a diagnosis word when `system` is None)."""
    if system is None and code.casefold() in DIAGNOSIS_WORDS:
        return DIAGNOSIS_WORDS[code.casefold()]
    if system not in (None, ICD10CM):
        return None
    upper = code.upper()
    if upper.startswith(("F31.3", "F31.4", "F31.5")):
        return "bipolar_depression"
    if upper.startswith(("F32", "F33")):
        return "MDD"
    if upper.startswith("F41.1"):
        return "GAD"
    return None


def _comorbidity(code: str) -> str | None:
    upper = code.upper()
    if upper.startswith(("G47.0", "F51.0")):
        return "insomnia"
    if upper[:3] in {f"F1{i}" for i in range(10)}:
        return "substance_use"
    if upper.startswith(("G89.2", "G89.4")):
        return "chronic_pain"
    return None


def _active(condition: Mapping[str, Any]) -> bool:
    codes = {c.get("code") for c in (condition.get("clinicalStatus") or {}).get("coding", [])}
    return not codes & INACTIVE


def _text_diagnosis(text: str) -> str | None:
    words = {w.strip(".,;()").casefold() for w in text.split()}
    found = {DIAGNOSIS_WORDS[w] for w in words if w in DIAGNOSIS_WORDS}
    return next((d for d in _DIAGNOSIS_PRIORITY if d in found), None)


def _conditions(conditions: Iterable[Mapping[str, Any]]) -> tuple[str | None, frozenset[str], tuple[str, ...]]:
    diagnoses: set[str] = set()
    comorbid: set[str] = set()
    refs: list[str] = []
    for cond in conditions:
        if not _active(cond):
            continue
        code = cond.get("code") or {}
        before = len(diagnoses) + len(comorbid)
        for coding in code.get("coding", []):
            if coding.get("system") == ICD10CM and coding.get("code"):
                if found := diagnosis_of_code(ICD10CM, coding["code"]):
                    diagnoses.add(found)
                if extra := _comorbidity(coding["code"]):
                    comorbid.add(extra)
        if len(diagnoses) + len(comorbid) == before and (found := _text_diagnosis(str(code.get("text") or ""))):
            diagnoses.add(found)
        if len(diagnoses) + len(comorbid) > before and cond.get("id"):
            refs.append(f"Condition/{cond['id']}")
    diagnosis = next((d for d in _DIAGNOSIS_PRIORITY if d in diagnoses), None)
    return diagnosis, frozenset(comorbid), tuple(sorted(refs))


def _age(birth_date: str | None, as_of: date) -> int | None:
    if not birth_date or len(birth_date) < 4:
        return None
    year = int(birth_date[:4])
    month, day = (int(birth_date[5:7]), int(birth_date[8:10])) if len(birth_date) >= 10 else (7, 1)
    return as_of.year - year - ((as_of.month, as_of.day) < (month, day))


def medication_name(concept: Mapping[str, Any] | None) -> str | None:
    if not concept:
        return None
    for coding in concept.get("coding", []):
        if coding.get("display"):
            return str(coding["display"]).casefold()
    return str(concept["text"]).casefold() if concept.get("text") else None


def clinical_context(
    patient: Mapping[str, Any],
    conditions: Iterable[Mapping[str, Any]],
    medications: Iterable[Mapping[str, Any]],
    as_of: date,
) -> ClinicalContext:
    diagnosis, comorbid, condition_refs = _conditions(conditions)
    failed: list[str] = []
    med_refs: list[str] = []
    for med in medications:
        if med.get("id"):
            med_refs.append(f"{med['resourceType']}/{med['id']}")
        name = medication_name(med.get("medicationCodeableConcept"))
        if med.get("status") == "stopped" and name:
            failed.append(name)
    return ClinicalContext(
        diagnosis=diagnosis,
        age=_age(patient.get("birthDate"), as_of),
        female=patient.get("gender") == "female",
        comorbidities=comorbid,
        failed_medications=tuple(sorted(failed)),
        condition_refs=condition_refs,
        medication_refs=tuple(sorted(med_refs)),
    )
