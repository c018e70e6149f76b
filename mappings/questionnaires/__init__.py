"""PHQ-9, PHQ-2 and GAD-7: Questionnaires, scoring of responses and the self-harm safety flag."""

from mappings.questionnaires.errors import (
    IncompleteResponse,
    InvalidResponse,
    QuestionnaireError,
    UnknownAnswer,
    UnknownQuestionnaire,
)
from mappings.questionnaires.instruments import Instrument, instruments
from mappings.questionnaires.resources import questionnaire
from mappings.questionnaires.scoring import QuestionnaireScorer, ScoredResult

__all__ = [
    "IncompleteResponse",
    "Instrument",
    "InvalidResponse",
    "QuestionnaireError",
    "QuestionnaireScorer",
    "ScoredResult",
    "UnknownAnswer",
    "UnknownQuestionnaire",
    "instruments",
    "questionnaire",
]
