"""Instruments rendered as FHIR R4 Questionnaires (SDC-style: LOINC-coded items, scored answer options).

Scores ride on each answer option in the `ordinalValue` extension: R4 has no `itemWeight` (that is R5), and
the LHC-Forms and MII PROMs PHQ-9 Questionnaires the terminology tables cite do the same.
"""

from __future__ import annotations

import re
from typing import Any

from mappings.questionnaires.instruments import LOINC, Instrument, Item
from terminology import notices

ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
QUESTIONNAIRE_VERSION = "1.0.0"
_LOINC_SUFFIX = re.compile(r"\s*\[[^\]]*\]$")


def _coding(code: str, display: str) -> dict[str, str]:
    return {"system": LOINC, "code": code, "display": display}


def _question(display: str) -> str:
    """The LOINC long name without its method suffix (`[Reported.PHQ]`) reads as the question."""
    return _LOINC_SUFFIX.sub("", display)


def _item(item: Item) -> dict[str, Any]:
    options = []
    for answer in item.answers:
        option: dict[str, Any] = {"valueCoding": _coding(answer.code, answer.display)}
        if answer.score is not None:
            option["extension"] = [{"url": ORDINAL_VALUE, "valueDecimal": answer.score}]
        options.append(option)
    return {
        "linkId": item.link_id,
        "code": [_coding(item.code, item.display)],
        "text": _question(item.display),
        "type": "choice",
        "required": item.scored,
        "answerOption": options,
    }


def questionnaire(instrument: Instrument) -> dict[str, Any]:
    """The instrument's Questionnaire; its `url` is what a QuestionnaireResponse must name to be scored."""
    return {
        "resourceType": "Questionnaire",
        "id": instrument.key,
        "url": instrument.url,
        "version": QUESTIONNAIRE_VERSION,
        "name": instrument.name,
        "title": instrument.title,
        "status": "active",
        "subjectType": ["Patient"],
        "publisher": "NovaMind Twin",
        "description": f"{instrument.title} ({instrument.panel.display}); the total score is "
        f"{instrument.total.display} ({instrument.total.code}), 0-{instrument.max_total}.",
        "copyright": f"{notices.INSTRUMENTS} {notices.LOINC}",
        "code": [_coding(instrument.panel.code, instrument.panel.display)],
        "item": [_item(i) for i in instrument.items],
    }
