"""Every Observation our own mappers produce passes the server's write-time coding check in mode `reject`:
the check and the mappers read the same terminology tables, so an import never trips over its own codes."""

from __future__ import annotations

from typing import Any

import pytest

from fhir_server.services.observation_check import ObservationCodingCheck
from mappings.frames import FrameMapper
from mappings.questionnaires import QuestionnaireScorer
from terminology import Terminology
from tests.unit.mappings.helpers import all_sample_observations
from tests.unit.mappings.test_frames import random_frame
from tests.unit.mappings.test_questionnaires import all_items, response


@pytest.fixture(scope="module")
def check() -> ObservationCodingCheck:
    return ObservationCodingCheck(Terminology.load_default(), "reject")


def test_every_wearable_sample_observation_passes_without_issue(check: ObservationCodingCheck) -> None:
    observations = all_sample_observations()
    assert len(observations) > 100
    problems = {(o["code"]["coding"][0]["code"], issue.message) for o in observations for issue in check.review(o)}
    assert problems == set()


@pytest.mark.parametrize("key", ["phq-9", "phq-2", "gad-7"])
@pytest.mark.parametrize("score", [0, 3])
def test_every_scored_questionnaire_observation_passes_without_issue(
    check: ObservationCodingCheck, key: str, score: int
) -> None:
    scorer = QuestionnaireScorer(Terminology.load_default())
    observation: dict[str, Any] = scorer.score(response(scorer, key, all_items(key, score, scorer))).observation
    assert check.review(observation) == ()


def test_every_observation_written_back_from_twin_frames_passes_without_issue(check: ObservationCodingCheck) -> None:
    observations = FrameMapper(Terminology.load_default()).to_observations(random_frame(11))
    assert observations
    assert [issue.message for o in observations for issue in check.review(o)] == []
