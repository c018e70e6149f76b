"""Typed errors of the questionnaire pipeline; callers (an importer, a FHIR operation) translate them."""

from __future__ import annotations

from typing import Any


class QuestionnaireError(Exception):
    """A QuestionnaireResponse that cannot be scored."""


class UnknownQuestionnaire(QuestionnaireError):
    """The response answers a questionnaire we do not score."""


class InvalidResponse(QuestionnaireError):
    """The response is structurally unusable (not a QuestionnaireResponse, no subject, no date, ...)."""


class IncompleteResponse(QuestionnaireError):
    """A scored item is unanswered (or the response is not completed), so no total may be reported.

    `flag` carries the self-harm safety Flag when one is due: safety comes first, so the flag exists even when
    the score cannot be computed and a caller catching this error must still store it.
    """

    def __init__(self, message: str, *, link_id: str | None = None, flag: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.link_id = link_id
        self.flag = flag


class UnknownAnswer(IncompleteResponse):
    """An item's answer is not one of that item's answer options (so it has no score)."""
