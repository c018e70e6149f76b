"""What the consent page shows for a set of scopes, and which scopes the user's ticked boxes grant.

Each scope of the (already down-scoped) request becomes one `ConsentItem` whose form field is `scope-<i>`,
`i` being the scope's position in the `ScopeSet`; the pending request is signed, so the same scopes come back
with the form and the positions are stable. Resource scopes and `offline_access`/`online_access` can be
unticked; identity and launch-context scopes are shown but not optional, because an app launched without its
context cannot work and asking would only confuse.

Observation and Condition scopes without a category restriction offer one box per well-known category
(`scope-<i>-<code>`). Unticking a category narrows the scope to the ticked ones, one v2 query scope per
category (`patient/Observation.rs?category=<system>|laboratory`), since a scope query cannot say "all but".
A scope the user leaves untouched keeps the syntax the client asked in (v1 stays v1); a narrowed v1 scope is
necessarily written in v2, the only syntax with queries.

https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, replace

from fhir_server.auth.scopes import NamedScope, ResourceScope, ScopeContext, ScopeSet

OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"


@dataclass(frozen=True, slots=True)
class Category:
    system: str
    code: str
    label: str

    @property
    def token(self) -> str:
        return f"{self.system}|{self.code}"


CATEGORIES: dict[str, tuple[Category, ...]] = {
    "Observation": (
        Category(OBSERVATION_CATEGORY, "vital-signs", "Vital signs (heart rate, blood pressure, sleep, activity)"),
        Category(OBSERVATION_CATEGORY, "laboratory", "Laboratory results"),
        Category(OBSERVATION_CATEGORY, "survey", "Questionnaire scores (for example PHQ-9, GAD-7)"),
        Category(OBSERVATION_CATEGORY, "social-history", "Social history (for example smoking, alcohol, housing)"),
    ),
    "Condition": (
        Category(CONDITION_CATEGORY, "problem-list-item", "Problem list"),
        Category(CONDITION_CATEGORY, "encounter-diagnosis", "Diagnoses made during visits"),
    ),
}

_TYPE_NOUNS = {
    "*": "health records",
    "Patient": "demographics (name, birth date, contact details)",
    "Observation": "observations (measurements, test results and questionnaire scores)",
    "Condition": "conditions and diagnoses",
    "MedicationRequest": "prescriptions",
    "MedicationStatement": "medication history",
    "MedicationKnowledge": "medication information",
    "AllergyIntolerance": "allergies",
    "Encounter": "visits",
    "QuestionnaireResponse": "questionnaire answers",
    "DocumentReference": "documents",
    "DiagnosticReport": "reports",
    "RiskAssessment": "risk assessments",
    "Practitioner": "clinician details",
    "AuditEvent": "audit records",
}

_NAMED_LABELS = {
    "openid": "Confirm your identity to the app",
    "fhirUser": "Know which user record you are",
    "profile": "See your name and profile",
    "launch": "Open in the context of your current EHR session",
    "launch/patient": "Know which patient's record is open",
    "launch/encounter": "Know which visit is open",
    "offline_access": "Keep access when you are offline (until you revoke it)",
    "online_access": "Keep access while you stay signed in",
}
_OPTIONAL_NAMED = frozenset({"offline_access", "online_access"})

# The order verbs read naturally in ("Read and search", not "create, read, ..."), with their scope letters.
_VERBS = (("r", "read"), ("s", "search"), ("c", "create"), ("u", "update"), ("d", "delete"))


@dataclass(frozen=True, slots=True)
class CategoryChoice:
    field: str
    label: str
    category: Category


@dataclass(frozen=True, slots=True)
class ConsentItem:
    """One line of the consent page; `optional` items are checkboxes, ticked by default."""

    field: str
    label: str
    optional: bool
    categories: tuple[CategoryChoice, ...] = ()


def describe(scopes: ScopeSet, *, patient_is_user: bool) -> tuple[ConsentItem, ...]:
    """The consent page's items, one per scope in order, in plain language."""
    items: list[ConsentItem] = []
    for index, scope in enumerate(scopes):
        field = f"scope-{index}"
        if isinstance(scope, NamedScope):
            label = _NAMED_LABELS.get(scope.name, scope.name)
            items.append(ConsentItem(field, label, optional=scope.name in _OPTIONAL_NAMED))
            continue
        choices = tuple(CategoryChoice(f"{field}-{c.code}", c.label, c) for c in _categories_for(scope))
        items.append(ConsentItem(field, describe_scope(scope, patient_is_user=patient_is_user), True, choices))
    return tuple(items)


def describe_scope(scope: ResourceScope, *, patient_is_user: bool) -> str:
    """E.g. "Read and search your observations (...)"; the sentence names whose data and what may be done."""
    verbs = [word for letter, word in _VERBS if scope.allows(letter)]
    action = verbs[0] if len(verbs) == 1 else ", ".join(verbs[:-1]) + " and " + verbs[-1]
    noun = _noun(scope.resource_type)
    if scope.context is ScopeContext.PATIENT:
        phrase = f"{'your' if patient_is_user else 'this patient’s'} {noun}"
    elif scope.context is ScopeContext.USER:
        phrase = f"{noun} you have access to"
    else:
        phrase = f"all {noun}"
    text = f"{action.capitalize()} {phrase}"
    if scope.query:
        text += f" (only {_describe_query(scope)})"
    return text


def offers_offline_access(scopes: ScopeSet) -> bool:
    """Whether the page must warn that approval lets the app keep access until the user revokes it."""
    return "offline_access" in scopes


def apply_choices(scopes: ScopeSet, ticked: Collection[str]) -> ScopeSet:
    """The scopes granted when the boxes named in `ticked` are ticked (a field absent from a form is unticked)."""
    granted: list[NamedScope | ResourceScope] = []
    for item, scope in zip(describe(scopes, patient_is_user=False), scopes, strict=True):
        if item.optional and item.field not in ticked:
            continue
        if not isinstance(scope, ResourceScope) or not item.categories:
            granted.append(scope)
            continue
        chosen = [choice.category for choice in item.categories if choice.field in ticked]
        if len(chosen) == len(item.categories):
            granted.append(scope)
            continue
        granted.extend(replace(scope, query=(*scope.query, ("category", c.token)), v1=False) for c in chosen)
    return ScopeSet(tuple(dict.fromkeys(granted)))


def _categories_for(scope: ResourceScope) -> tuple[Category, ...]:
    if any(name.split(":", 1)[0] == "category" for name, _ in scope.query):
        return ()
    return CATEGORIES.get(scope.resource_type, ())


def _noun(resource_type: str) -> str:
    if resource_type in _TYPE_NOUNS:
        return _TYPE_NOUNS[resource_type]
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", resource_type).lower()
    return f"{words} records"


def _describe_query(scope: ResourceScope) -> str:
    known = {c.token: c.label for c in CATEGORIES.get(scope.resource_type, ())}
    parts = [
        known.get(value, f"{name} = {value}") if name == "category" else f"{name} = {value}"
        for name, value in scope.query
    ]
    return "; ".join(parts)
