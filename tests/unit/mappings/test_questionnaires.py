"""PHQ-9, PHQ-2, GAD-7: the Questionnaires, the scored Observation and the self-harm safety Flag."""

from __future__ import annotations

import csv
from typing import Any

import pytest
from fhir.resources.R4B.flag import Flag
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from mappings.questionnaires import (
    IncompleteResponse,
    InvalidResponse,
    QuestionnaireScorer,
    UnknownAnswer,
    UnknownQuestionnaire,
    questionnaire,
)
from mappings.questionnaires.resources import ORDINAL_VALUE
from terminology import Terminology
from tests.unit.mappings.conftest import TERMINOLOGY

SCORE_OF = {"LA6568-5": 0, "LA6569-3": 1, "LA6570-1": 2, "LA6571-9": 3}
CODE_OF = {v: k for k, v in SCORE_OF.items()}


@pytest.fixture(scope="module")
def scorer() -> QuestionnaireScorer:
    return QuestionnaireScorer(Terminology.load_default())


def _table(name: str) -> dict[str, dict[str, str]]:
    with (TERMINOLOGY / name).open(encoding="utf-8") as f:
        return {row["code"]: row for row in csv.DictReader(f)}


LOINC_ROWS = _table("loinc.csv")
ANSWER_ROWS = _table("loinc-answers.csv")


def response(scorer: QuestionnaireScorer, key: str, scores: dict[int, int | str], **extra: Any) -> dict[str, Any]:
    """A response to instrument `key`: item number -> score (or a raw answer code given as a string)."""
    instrument = scorer.instruments[key]
    items = []
    for item in instrument.scored_items:
        if item.number not in scores:
            continue
        value = scores[item.number]
        code = value if isinstance(value, str) else CODE_OF[value]
        items.append(
            {"linkId": item.link_id, "answer": [{"valueCoding": {"system": "http://loinc.org", "code": code}}]}
        )
    qr: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": "qr-1",
        "questionnaire": instrument.url,
        "status": "completed",
        "subject": {"reference": "Patient/p1"},
        "authored": "2026-03-01T09:30:00+00:00",
        "item": items,
    }
    qr.update(extra)
    QuestionnaireResponse.model_validate(qr)
    return qr


def all_items(key: str, score: int, scorer: QuestionnaireScorer) -> dict[int, int | str]:
    return {i.number: score for i in scorer.instruments[key].scored_items if i.number is not None}


# ---- the Questionnaires --------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["phq-9", "phq-2", "gad-7"])
def test_each_questionnaire_is_valid_r4(scorer: QuestionnaireScorer, key: str) -> None:
    Questionnaire.model_validate(questionnaire(scorer.instruments[key]))


@pytest.mark.parametrize("key", ["phq-9", "phq-2", "gad-7"])
def test_questionnaire_url_is_a_stable_canonical_under_our_base(scorer: QuestionnaireScorer, key: str) -> None:
    assert questionnaire(scorer.instruments[key])["url"] == f"http://novamind.example.org/fhir/Questionnaire/{key}"


@pytest.mark.parametrize(("key", "items"), [("phq-9", 9), ("phq-2", 2), ("gad-7", 7)])
def test_questionnaire_has_the_instruments_scored_items(scorer: QuestionnaireScorer, key: str, items: int) -> None:
    q = questionnaire(scorer.instruments[key])
    assert sum(1 for i in q["item"] if i["required"]) == items


def test_phq9_also_asks_the_unscored_difficulty_question(scorer: QuestionnaireScorer) -> None:
    q = questionnaire(scorer.instruments["phq-9"])
    optional = [i for i in q["item"] if not i["required"]]
    assert [LOINC_ROWS[i["code"][0]["code"]]["role"] for i in optional] == ["difficulty item (not scored)"]


@pytest.mark.parametrize("key", ["phq-9", "phq-2", "gad-7"])
def test_every_code_in_a_questionnaire_is_a_row_of_the_terminology_tables(
    scorer: QuestionnaireScorer, key: str
) -> None:
    q = questionnaire(scorer.instruments[key])
    codings = [*q["code"]] + [c for i in q["item"] for c in i["code"]]
    answers = [o["valueCoding"] for i in q["item"] for o in i["answerOption"]]
    for coding in codings:
        assert coding["display"] == LOINC_ROWS[coding["code"]]["display"]
    for coding in answers:
        assert coding["display"] == ANSWER_ROWS[coding["code"]]["display"]


def test_answer_scores_are_the_tables_scores_as_ordinal_values(scorer: QuestionnaireScorer) -> None:
    q = questionnaire(scorer.instruments["gad-7"])
    for option in q["item"][0]["answerOption"]:
        (ext,) = option["extension"]
        assert ext["url"] == ORDINAL_VALUE
        assert ext["valueDecimal"] == int(ANSWER_ROWS[option["valueCoding"]["code"]]["score"])


def test_phq2_reuses_the_first_two_phq9_items(scorer: QuestionnaireScorer) -> None:
    phq9 = [i.code for i in scorer.instruments["phq-9"].scored_items]
    assert [i.code for i in scorer.instruments["phq-2"].scored_items] == phq9[:2]


# ---- scoring -------------------------------------------------------------------------------------------------


def test_total_is_the_sum_of_the_answer_scores(scorer: QuestionnaireScorer) -> None:
    result = scorer.score(response(scorer, "phq-9", {1: 3, 2: 2, 3: 1, 4: 0, 5: 3, 6: 2, 7: 1, 8: 0, 9: 0}))
    assert result.total == 12
    assert result.observation["valueInteger"] == 12


def test_a_total_given_in_the_response_is_ignored(scorer: QuestionnaireScorer) -> None:
    qr = response(scorer, "gad-7", all_items("gad-7", 1, scorer))
    total_code = scorer.instruments["gad-7"].total.code
    qr["item"].append({"linkId": total_code, "answer": [{"valueInteger": 21}]})
    assert scorer.score(qr).total == 7


def test_scored_observation_is_valid_r4_with_the_tables_total_code(scorer: QuestionnaireScorer) -> None:
    obs = scorer.score(response(scorer, "phq-9", all_items("phq-9", 1, scorer))).observation
    Observation.model_validate(obs)
    (coding,) = obs["code"]["coding"]
    assert LOINC_ROWS[coding["code"]]["role"] == "total score"
    assert LOINC_ROWS[coding["code"]]["instrument_or_domain"] == "PHQ-9"


def test_observation_is_a_survey_for_the_subject_at_the_authored_time(scorer: QuestionnaireScorer) -> None:
    obs = scorer.score(response(scorer, "phq-2", {1: 1, 2: 1})).observation
    assert obs["category"][0]["coding"][0]["code"] == "survey"
    assert obs["subject"] == {"reference": "Patient/p1"}
    assert obs["effectiveDateTime"] == "2026-03-01T09:30:00+00:00"


def test_observation_is_derived_from_the_response(scorer: QuestionnaireScorer) -> None:
    obs = scorer.score(response(scorer, "phq-2", {1: 0, 2: 0})).observation
    assert obs["derivedFrom"] == [{"reference": "QuestionnaireResponse/qr-1"}]


def test_a_response_without_id_is_scored_against_the_given_reference(scorer: QuestionnaireScorer) -> None:
    qr = response(scorer, "phq-2", {1: 0, 2: 0})
    del qr["id"]
    obs = scorer.score(qr, reference="urn:uuid:5b1a8e9c-0d6c-4d36-9a49-1f0c2b8e6a11").observation
    assert obs["derivedFrom"] == [{"reference": "urn:uuid:5b1a8e9c-0d6c-4d36-9a49-1f0c2b8e6a11"}]


@pytest.mark.parametrize(
    ("total_items", "band"),
    [
        ({1: 2, 2: 2}, "Minimal depression"),
        ({1: 3, 2: 2}, "Mild depression"),
        ({1: 3, 2: 3, 3: 3, 4: 0}, "Mild depression"),
        ({1: 3, 2: 3, 3: 3, 4: 1}, "Moderate depression"),
        ({1: 3, 2: 3, 3: 3, 4: 3, 5: 2}, "Moderate depression"),
        ({1: 3, 2: 3, 3: 3, 4: 3, 5: 3}, "Moderately severe depression"),
        ({1: 3, 2: 3, 3: 3, 4: 3, 5: 3, 6: 3, 7: 1}, "Moderately severe depression"),
        ({1: 3, 2: 3, 3: 3, 4: 3, 5: 3, 6: 3, 7: 2}, "Severe depression"),
    ],
)
def test_phq9_severity_band_boundaries(
    scorer: QuestionnaireScorer, total_items: dict[int, int | str], band: str
) -> None:
    scores = {**all_items("phq-9", 0, scorer), **total_items}
    assert scorer.score(response(scorer, "phq-9", scores)).observation["interpretation"] == [{"text": band}]


@pytest.mark.parametrize(
    ("items", "band"),
    [
        ({1: 3, 2: 1}, "Minimal anxiety"),
        ({1: 3, 2: 2}, "Mild anxiety"),
        ({1: 3, 2: 3, 3: 3}, "Mild anxiety"),
        ({1: 3, 2: 3, 3: 3, 4: 1}, "Moderate anxiety"),
        ({1: 3, 2: 3, 3: 3, 4: 3, 5: 2}, "Moderate anxiety"),
        ({1: 3, 2: 3, 3: 3, 4: 3, 5: 3}, "Severe anxiety"),
        ({1: 3, 2: 3, 3: 3, 4: 3, 5: 3, 6: 3, 7: 3}, "Severe anxiety"),
    ],
)
def test_gad7_severity_band_boundaries(scorer: QuestionnaireScorer, items: dict[int, int | str], band: str) -> None:
    scores = {**all_items("gad-7", 0, scorer), **items}
    assert scorer.score(response(scorer, "gad-7", scores)).band.text == band


@pytest.mark.parametrize(("items", "positive"), [({1: 1, 2: 1}, False), ({1: 2, 2: 1}, True), ({1: 3, 2: 3}, True)])
def test_phq2_total_of_three_or_more_is_a_positive_screen(
    scorer: QuestionnaireScorer, items: dict[int, int | str], positive: bool
) -> None:
    text = scorer.score(response(scorer, "phq-2", items)).band.text
    assert text == ("Positive depression screen" if positive else "Negative depression screen")


def test_answers_nested_in_groups_are_found(scorer: QuestionnaireScorer) -> None:
    qr = response(scorer, "phq-2", {1: 2, 2: 2})
    qr["item"] = [{"linkId": "group", "item": qr["item"]}]
    assert scorer.score(qr).total == 4


def test_a_missing_item_is_refused_naming_the_item(scorer: QuestionnaireScorer) -> None:
    scores = all_items("gad-7", 1, scorer)
    del scores[4]
    with pytest.raises(IncompleteResponse, match="GAD-7 item 4") as caught:
        scorer.score(response(scorer, "gad-7", scores))
    assert caught.value.link_id == scorer.instruments["gad-7"].scored_items[3].link_id


def test_an_answer_outside_the_items_options_is_refused_naming_the_item(scorer: QuestionnaireScorer) -> None:
    with pytest.raises(UnknownAnswer, match=r"PHQ-2 item 2 .*'LA6572-7'"):
        scorer.score(response(scorer, "phq-2", {1: 1, 2: "LA6572-7"}))


def test_an_in_progress_response_is_not_scored(scorer: QuestionnaireScorer) -> None:
    with pytest.raises(IncompleteResponse, match="in-progress"):
        scorer.score(response(scorer, "phq-2", {1: 1, 2: 1}, status="in-progress"))


def test_a_response_to_another_questionnaire_is_refused(scorer: QuestionnaireScorer) -> None:
    qr = response(scorer, "phq-2", {1: 1, 2: 1}, questionnaire="http://example.org/Questionnaire/other")
    with pytest.raises(UnknownQuestionnaire):
        scorer.score(qr)


def test_a_response_without_subject_is_refused(scorer: QuestionnaireScorer) -> None:
    qr = response(scorer, "phq-2", {1: 1, 2: 1})
    del qr["subject"]
    with pytest.raises(InvalidResponse, match="subject"):
        scorer.score(qr)


def test_a_canonical_with_version_is_accepted(scorer: QuestionnaireScorer) -> None:
    url = scorer.instruments["phq-2"].url + "|1.0.0"
    assert scorer.score(response(scorer, "phq-2", {1: 1, 2: 1}, questionnaire=url)).total == 2


# ---- the safety flag -----------------------------------------------------------------------------------------


def test_item9_answered_zero_raises_no_flag(scorer: QuestionnaireScorer) -> None:
    assert scorer.score(response(scorer, "phq-9", all_items("phq-9", 0, scorer))).flag is None


@pytest.mark.parametrize("score", [1, 2, 3])
def test_item9_answered_above_zero_raises_a_valid_flag(scorer: QuestionnaireScorer, score: int) -> None:
    flag = scorer.score(response(scorer, "phq-9", {**all_items("phq-9", 0, scorer), 9: score})).flag
    assert flag is not None
    Flag.model_validate(flag)


def test_flag_is_active_high_priority_safety_for_the_patient(scorer: QuestionnaireScorer) -> None:
    flag = scorer.safety_flag(response(scorer, "phq-9", {9: 1}))
    assert flag is not None
    assert flag["status"] == "active"
    assert flag["category"][0]["coding"][0]["code"] == "safety"
    assert flag["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] == "PH"
    assert flag["subject"] == {"reference": "Patient/p1"}
    assert flag["period"] == {"start": "2026-03-01T09:30:00+00:00"}


def test_flag_codes_exist_in_the_terminology_tables(scorer: QuestionnaireScorer) -> None:
    flag = scorer.safety_flag(response(scorer, "phq-9", {9: 2}))
    assert flag is not None
    snomed = _table("snomed.csv")
    twin = _table("twin-concepts.csv")
    for coding in flag["code"]["coding"]:
        row = snomed.get(coding["code"]) if coding["system"] == "http://snomed.info/sct" else twin.get(coding["code"])
        assert row is not None and row["display"] == coding["display"]


def test_flag_is_raised_even_when_other_items_are_missing(scorer: QuestionnaireScorer) -> None:
    with pytest.raises(IncompleteResponse) as caught:
        scorer.score(response(scorer, "phq-9", {9: 3}))
    assert caught.value.flag is not None
    Flag.model_validate(caught.value.flag)


def test_flag_is_raised_even_when_the_response_has_no_date(scorer: QuestionnaireScorer) -> None:
    qr = response(scorer, "phq-9", {**all_items("phq-9", 0, scorer), 9: 1})
    del qr["authored"]
    with pytest.raises(IncompleteResponse) as caught:
        scorer.score(qr)
    assert caught.value.flag is not None


def test_an_unscorable_answer_on_item9_raises_the_flag(scorer: QuestionnaireScorer) -> None:
    flag = scorer.safety_flag(response(scorer, "phq-9", {9: "LA6572-7"}))
    assert flag is not None


def test_gad7_never_raises_a_self_harm_flag(scorer: QuestionnaireScorer) -> None:
    assert scorer.score(response(scorer, "gad-7", all_items("gad-7", 3, scorer))).flag is None


def test_the_difficulty_answer_does_not_count_towards_the_total(scorer: QuestionnaireScorer) -> None:
    qr = response(scorer, "phq-9", all_items("phq-9", 1, scorer))
    difficulty = next(i for i in scorer.instruments["phq-9"].items if not i.scored)
    hardest = difficulty.answers[-1].code
    qr["item"].append({"linkId": difficulty.link_id, "answer": [{"valueCoding": {"code": hardest}}]})
    assert scorer.score(qr).total == 9


def test_the_score_observation_has_a_stable_identifier(scorer: QuestionnaireScorer) -> None:
    qr = response(scorer, "phq-2", {1: 1, 2: 1})
    assert scorer.score(qr).observation["identifier"] == scorer.score(qr).observation["identifier"]
    assert scorer.score(qr).observation["identifier"][0]["value"] == "QuestionnaireResponse/qr-1#total"
