"""QuestionnaireResponse -> scored Observation, and the self-harm safety Flag.

The total is always recomputed from the coded answers: a total, score or `ordinalValue` present in the
response is ignored, because a client's arithmetic is not evidence. The safety check runs first and on its
own, so a positive PHQ-9 item 9 raises its Flag even when the rest of the response is incomplete or invalid.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mappings.questionnaires.errors import IncompleteResponse, InvalidResponse, UnknownAnswer, UnknownQuestionnaire
from mappings.questionnaires.instruments import LOINC, Band, Instrument, Item, instrument_for, instruments
from terminology import Terminology

CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
FLAG_CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/flag-category"
FLAG_PRIORITY = "http://hl7.org/fhir/StructureDefinition/flag-priority"
FLAG_PRIORITY_SYSTEM = "http://hl7.org/fhir/flag-priority-code"
SCORE_SYSTEM = "http://novamind.example.org/fhir/sid/questionnaire-score"
SNOMED = "http://snomed.info/sct"
TWIN_CONCEPTS_ID = "twin-concepts"
SELF_HARM_CONCEPT = "self-harm-alert"
# SNOMED CT finding the flag names (terminology/data/snomed.csv, NOTES 4.2: "Suicidal thoughts (finding)").
SUICIDAL_THOUGHTS_DISPLAY = "Suicidal thoughts (finding)"
_SCORABLE_STATUSES = ("completed", "amended")


@dataclass(frozen=True, slots=True)
class ScoredResult:
    instrument: Instrument
    total: int
    band: Band
    observation: dict[str, Any]
    flag: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class _Context:
    reference: str
    subject: dict[str, Any]
    authored: str


class QuestionnaireScorer:
    """Scores responses to our PHQ-9, PHQ-2 and GAD-7 Questionnaires; built once from the terminology."""

    def __init__(self, terminology: Terminology) -> None:
        self._terminology = terminology
        self.instruments = instruments(terminology)
        twin = terminology.code_system_by_id(TWIN_CONCEPTS_ID)
        self._self_harm = (twin.url, terminology.concept(twin.url, SELF_HARM_CONCEPT))
        self._suicidal_thoughts = next(
            c for c in terminology.code_system(SNOMED).concepts.values() if c.display == SUICIDAL_THOUGHTS_DISPLAY
        )

    # ---- safety --------------------------------------------------------------------------------------------

    def safety_flag(self, response: dict[str, Any], reference: str | None = None) -> dict[str, Any] | None:
        """The high-priority Flag due for this response, or None. Needs only the subject and item 9."""
        instrument = self._instrument_or_none(response)
        if instrument is None or instrument.self_harm_item is None:
            return None
        item = next(i for i in instrument.items if i.link_id == instrument.self_harm_item)
        answers = _answers(response).get(item.link_id)
        if not answers:
            return None
        subject = response.get("subject")
        if not isinstance(subject, dict) or not subject.get("reference"):
            raise InvalidResponse("a response with a positive self-harm item has no subject to flag")
        codes = [_answer_code(a) for a in answers]
        known = [item.answer(c) for c in codes if c is not None]
        scores = [a.score for a in known if a is not None and a.score is not None]
        # Safety first: an answer we cannot score on the self-harm item is treated as positive, not ignored.
        positive = any(s > 0 for s in scores) or len(scores) < len(answers)
        if not positive:
            return None
        return self._flag(response, subject, item, known, reference)

    def _flag(
        self,
        response: dict[str, Any],
        subject: dict[str, Any],
        item: Item,
        known: list[Any],
        reference: str | None,
    ) -> dict[str, Any]:
        twin_system, concept = self._self_harm
        snomed = self._suicidal_thoughts
        answered = known[0].display if known and known[0] is not None else "an answer that cannot be scored"
        start = response.get("authored")
        flag: dict[str, Any] = {
            "resourceType": "Flag",
            "extension": [
                {
                    "url": FLAG_PRIORITY,
                    "valueCodeableConcept": {
                        "coding": [{"system": FLAG_PRIORITY_SYSTEM, "code": "PH", "display": "High priority"}]
                    },
                }
            ],
            "status": "active",
            "category": [{"coding": [{"system": FLAG_CATEGORY_SYSTEM, "code": "safety", "display": "Safety"}]}],
            "code": {
                "coding": [
                    {"system": twin_system, "code": concept.code, "display": concept.display},
                    {"system": SNOMED, "code": snomed.code, "display": snomed.display},
                ],
                "text": f"PHQ-9 item 9 (thoughts of self-harm) answered '{answered}': assess suicide risk now.",
            },
            "subject": {"reference": subject["reference"]},
        }
        if isinstance(start, str) and start:
            flag["period"] = {"start": start}
        ref = reference or _reference_or_none(response)
        if ref:
            flag["identifier"] = [{"system": SCORE_SYSTEM, "value": f"{ref}#self-harm"}]
        if isinstance(response.get("encounter"), dict):
            flag["encounter"] = response["encounter"]
        return flag

    # ---- scoring -------------------------------------------------------------------------------------------

    def score(self, response: dict[str, Any], reference: str | None = None) -> ScoredResult:
        """Score a response. `reference` is how `derivedFrom` points at it (default `QuestionnaireResponse/<id>`).

        Raises:
            UnknownQuestionnaire, InvalidResponse: not a response to one of our instruments, or unusable.
            IncompleteResponse, UnknownAnswer: a scored item is unanswered or its answer has no score; the
                error's `flag` holds the safety Flag when one is due.
        """
        if not isinstance(response, dict) or response.get("resourceType") != "QuestionnaireResponse":
            raise InvalidResponse("expected a QuestionnaireResponse resource")
        instrument = self._instrument(response)
        flag = self.safety_flag(response, reference)
        try:
            context = self._context(response, reference)
            total = self._total(instrument, response)
        except IncompleteResponse as exc:
            exc.flag = flag
            raise
        except InvalidResponse as exc:
            if flag is None:
                raise
            raise IncompleteResponse(str(exc), flag=flag) from exc
        band = instrument.band(total)
        return ScoredResult(instrument, total, band, self._observation(instrument, context, total, band), flag)

    def _instrument_or_none(self, response: dict[str, Any]) -> Instrument | None:
        canonical = response.get("questionnaire")
        return instrument_for(self.instruments, canonical) if isinstance(canonical, str) else None

    def _instrument(self, response: dict[str, Any]) -> Instrument:
        instrument = self._instrument_or_none(response)
        if instrument is None:
            known = ", ".join(i.url for i in self.instruments.values())
            raise UnknownQuestionnaire(
                f"questionnaire {response.get('questionnaire')!r} is not one we score (we score {known})"
            )
        return instrument

    @staticmethod
    def _context(response: dict[str, Any], reference: str | None) -> _Context:
        status = response.get("status")
        if status not in _SCORABLE_STATUSES:
            raise IncompleteResponse(f"response status is {status!r}; only completed or amended responses are scored")
        subject = response.get("subject")
        if not isinstance(subject, dict) or not subject.get("reference"):
            raise InvalidResponse("the response has no subject reference")
        authored = response.get("authored")
        if not isinstance(authored, str) or not authored:
            raise InvalidResponse("the response has no authored date, so the score would have no date")
        ref = reference or _reference_or_none(response)
        if ref is None:
            raise InvalidResponse("the response has no id; pass the reference derivedFrom should use")
        return _Context(ref, {"reference": subject["reference"]}, authored)

    @staticmethod
    def _total(instrument: Instrument, response: dict[str, Any]) -> int:
        answers = _answers(response)
        total = 0
        for item in instrument.scored_items:
            given = answers.get(item.link_id) or []
            if not given:
                raise IncompleteResponse(
                    f"{instrument.title} item {item.number} ({item.link_id}) is not answered", link_id=item.link_id
                )
            if len(given) > 1:
                raise InvalidResponse(f"{instrument.title} item {item.number} ({item.link_id}) has several answers")
            code = _answer_code(given[0])
            answer = item.answer(code) if code is not None else None
            if answer is None or answer.score is None:
                raise UnknownAnswer(
                    f"{instrument.title} item {item.number} ({item.link_id}) answer {code!r} is not one of its "
                    f"options ({', '.join(a.code for a in item.answers)})",
                    link_id=item.link_id,
                )
            total += answer.score
        return total

    def _observation(self, instrument: Instrument, context: _Context, total: int, band: Band) -> dict[str, Any]:
        code = instrument.total
        return {
            "resourceType": "Observation",
            "identifier": [{"system": SCORE_SYSTEM, "value": f"{context.reference}#total"}],
            "status": "final",
            "category": [{"coding": [{"system": CATEGORY_SYSTEM, "code": "survey", "display": "Survey"}]}],
            "code": {"coding": [{"system": LOINC, "code": code.code, "display": code.display}], "text": code.display},
            "subject": context.subject,
            "effectiveDateTime": context.authored,
            "valueInteger": total,
            "interpretation": [{"text": band.text}],
            "derivedFrom": [{"reference": context.reference}],
        }


def _reference_or_none(response: dict[str, Any]) -> str | None:
    rid = response.get("id")
    return f"QuestionnaireResponse/{rid}" if isinstance(rid, str) and rid else None


def _walk(items: Any) -> Iterator[dict[str, Any]]:
    """Every item, however deeply grouped (also items nested under answers, as R4 allows)."""
    for item in items or []:
        if not isinstance(item, dict):
            continue
        yield item
        yield from _walk(item.get("item"))
        for answer in item.get("answer") or []:
            if isinstance(answer, dict):
                yield from _walk(answer.get("item"))


def _answers(response: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for item in _walk(response.get("item")):
        link_id = item.get("linkId")
        if isinstance(link_id, str):
            out.setdefault(link_id, []).extend(a for a in item.get("answer") or [] if isinstance(a, dict))
    return out


def _answer_code(answer: dict[str, Any]) -> str | None:
    coding = answer.get("valueCoding")
    if not isinstance(coding, dict):
        return None
    if coding.get("system") not in (None, LOINC):
        return None
    code = coding.get("code")
    return code if isinstance(code, str) else None
