"""PHQ-9, PHQ-2 and GAD-7 as data: items, answers and totals read from the terminology tables.

Nothing here spells a LOINC code: the items of an instrument are the rows of `terminology/data/loinc.csv` whose
`instrument` is the instrument and whose `role` is `item N` (PHQ-2 reuses PHQ-9 items 1 and 2, whose role says
`also PHQ-2 item N`), the total is the row with role `total score`, the panel the row with role `panel`, and
the answers are the LOINC answer list LL358-3 with the scores the table gives.

Severity bands, with their sources:

- PHQ-9: 0-4 minimal, 5-9 mild, 10-14 moderate, 15-19 moderately severe, 20-27 severe depression (Kroenke K,
  Spitzer RL, Williams JBW. The PHQ-9: validity of a brief depression severity measure. J Gen Intern Med
  2001;16(9):606-613, table 3).
- GAD-7: 0-4 minimal, 5-9 mild, 10-14 moderate, 15-21 severe anxiety (Spitzer RL, Kroenke K, Williams JBW,
  Löwe B. A brief measure for assessing generalized anxiety disorder: the GAD-7. Arch Intern Med
  2006;166(10):1092-1097).
- PHQ-2: a total of 3 or more is a positive depression screen (Kroenke K, Spitzer RL, Williams JBW. The Patient
  Health Questionnaire-2: validity of a two-item depression screener. Med Care 2003;41(11):1284-1292).

No code for these bands exists in the terminology tables, so they are reported as text only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from terminology import Terminology
from terminology.model import Concept

LOINC = "http://loinc.org"
QUESTIONNAIRE_BASE = "http://novamind.example.org/fhir/Questionnaire"
SCORED_ANSWER_LIST = "LL358-3"
DIFFICULTY_ANSWER_LIST = "LL359-1"


@dataclass(frozen=True, slots=True)
class Answer:
    code: str
    display: str
    score: int | None


@dataclass(frozen=True, slots=True)
class Item:
    code: str
    display: str
    number: int | None  # position in the instrument; None for the unscored difficulty item
    answers: tuple[Answer, ...]
    scored: bool

    @property
    def link_id(self) -> str:
        """We use the item's LOINC code as linkId, so a response is self-describing."""
        return self.code

    def answer(self, code: str) -> Answer | None:
        return next((a for a in self.answers if a.code == code), None)


@dataclass(frozen=True, slots=True)
class Band:
    low: int
    high: int
    text: str


@dataclass(frozen=True, slots=True)
class Instrument:
    key: str  # also the Questionnaire id
    name: str
    title: str
    panel: Concept
    total: Concept
    items: tuple[Item, ...]
    bands: tuple[Band, ...]
    self_harm_item: str | None  # linkId of the item whose positive answer raises the safety flag

    @property
    def url(self) -> str:
        return f"{QUESTIONNAIRE_BASE}/{self.key}"

    @property
    def scored_items(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.scored)

    @property
    def max_total(self) -> int:
        return sum(max(a.score or 0 for a in i.answers) for i in self.scored_items)

    def band(self, total: int) -> Band:
        for band in self.bands:
            if band.low <= total <= band.high:
                return band
        raise ValueError(f"{self.title} total {total} is outside 0-{self.max_total}")


PHQ9_BANDS = (
    Band(0, 4, "Minimal depression"),
    Band(5, 9, "Mild depression"),
    Band(10, 14, "Moderate depression"),
    Band(15, 19, "Moderately severe depression"),
    Band(20, 27, "Severe depression"),
)
GAD7_BANDS = (
    Band(0, 4, "Minimal anxiety"),
    Band(5, 9, "Mild anxiety"),
    Band(10, 14, "Moderate anxiety"),
    Band(15, 21, "Severe anxiety"),
)
PHQ2_BANDS = (Band(0, 2, "Negative depression screen"), Band(3, 6, "Positive depression screen"))

_ITEM = re.compile(r"^item (\d+)")
_PHQ2_ITEM = re.compile(r"PHQ-2 item (\d+)")


def _role(concept: Concept) -> str:
    return str(concept.property("role") or "")


def _rows(loinc: dict[str, Concept], instrument: str) -> list[Concept]:
    return [c for c in loinc.values() if c.property("instrument") == instrument]


def _one(rows: list[Concept], role: str, instrument: str) -> Concept:
    found = [c for c in rows if _role(c) == role]
    if len(found) != 1:
        raise LookupError(f"terminology tables hold {len(found)} {instrument} rows with role {role!r}")
    return found[0]


def _answers(loinc: dict[str, Concept], answer_list: str) -> tuple[Answer, ...]:
    out = []
    for c in loinc.values():
        if c.property("answer-list") == answer_list:
            score = c.property("score")
            out.append(Answer(c.code, c.display, score if isinstance(score, int) else None))
    if not out:
        raise LookupError(f"terminology tables hold no answers of list {answer_list}")
    return tuple(sorted(out, key=lambda a: (a.score is None, a.score or 0, a.code)))


def _items(rows: list[Concept], pattern: re.Pattern[str], scored: tuple[Answer, ...]) -> tuple[Item, ...]:
    numbered = []
    for c in rows:
        match = pattern.search(_role(c))
        if match:
            numbered.append(Item(c.code, c.display, int(match.group(1)), scored, True))
    numbered.sort(key=lambda i: i.number or 0)
    if [i.number for i in numbered] != list(range(1, len(numbered) + 1)):
        raise LookupError(f"items are not numbered 1..n: {[i.number for i in numbered]}")
    return tuple(numbered)


def _build(terminology: Terminology) -> dict[str, Instrument]:
    loinc = terminology.code_system(LOINC).concepts
    scored = _answers(loinc, SCORED_ANSWER_LIST)
    difficulty = _answers(loinc, DIFFICULTY_ANSWER_LIST)
    phq9_rows = _rows(loinc, "PHQ-9")
    phq9_items = _items(phq9_rows, _ITEM, scored)
    self_harm = next(i for i in phq9_rows if "suicidality" in _role(i))
    difficulty_row = next(c for c in phq9_rows if _role(c).startswith("difficulty item"))
    phq2_rows = _rows(loinc, "PHQ-2")
    gad7_rows = _rows(loinc, "GAD-7")
    instruments = (
        Instrument(
            "phq-9",
            "PHQ9",
            "PHQ-9",
            _one(phq9_rows, "panel", "PHQ-9"),
            _one(phq9_rows, "total score", "PHQ-9"),
            (*phq9_items, Item(difficulty_row.code, difficulty_row.display, None, difficulty, False)),
            PHQ9_BANDS,
            self_harm.code,
        ),
        Instrument(
            "phq-2",
            "PHQ2",
            "PHQ-2",
            _one(phq2_rows, "panel", "PHQ-2"),
            _one(phq2_rows, "total score", "PHQ-2"),
            _items(phq9_rows, _PHQ2_ITEM, scored),
            PHQ2_BANDS,
            None,
        ),
        Instrument(
            "gad-7",
            "GAD7",
            "GAD-7",
            _one(gad7_rows, "panel", "GAD-7"),
            _one(gad7_rows, "total score", "GAD-7"),
            _items(gad7_rows, _ITEM, scored),
            GAD7_BANDS,
            None,
        ),
    )
    return {i.key: i for i in instruments}


def instruments(terminology: Terminology) -> dict[str, Instrument]:
    """The three instruments by key (`phq-9`, `phq-2`, `gad-7`); cheap, but hold on to the result."""
    return _build(terminology)


def instrument_for(catalog: dict[str, Instrument], canonical: str) -> Instrument | None:
    """The instrument a `QuestionnaireResponse.questionnaire` canonical (optionally `|version`) names."""
    url = canonical.split("|", 1)[0]
    return next((i for i in catalog.values() if i.url == url), None)
