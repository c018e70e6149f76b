"""Summarise a CPIC recommendation into one design-vocabulary `Action`, by ordered, inspectable text rules.

CPIC writes its primary instruction first and the fallback after "If … is warranted", so a text that opens by
steering away from the drug ("Avoid …", "Select alternative …", "do not use") is `consider alternative` even when
it then gives a dose for those who use the drug anyway. Rules are tried in order; the first match wins. The
fallback (`unmatched-text` -> careful monitoring) is the conservative answer for future text; the tests pin
that no shipped row reaches it. The action is a summary for display and sorting; the CPIC text stays the
recommendation.
"""

from __future__ import annotations

from dataclasses import dataclass

from twin_engine.pharmacogenomics.models import Action


@dataclass(frozen=True, slots=True)
class ActionRule:
    """Matches when the case-folded text starts with any of `starts_with` or contains any of `contains`."""

    name: str
    action: Action
    starts_with: tuple[str, ...] = ()
    contains: tuple[str, ...] = ()

    def matches(self, text: str) -> bool:
        folded = " ".join(text.casefold().split())  # CPIC text carries stray line breaks mid-phrase
        return folded.startswith(self.starts_with) or any(part in folded for part in self.contains)


ACTION_RULES: tuple[ActionRule, ...] = (
    ActionRule("cpic-no-recommendation", Action.NO_RECOMMENDATION, starts_with=("no recommendation",)),
    ActionRule(
        "avoid-or-switch",
        Action.CONSIDER_ALTERNATIVE,
        starts_with=(
            "avoid",
            "select",
            "consider alternative",
            "consider a clinically appropriate alternative",
            "consider a clinically appropriate antidepressant",
        ),
        contains=("do not use",),
    ),
    # Before the dose rules: atomoxetine's concentration-guided titration and carbamazepine's "cautiously
    # consider" rows mention dose changes, but what they ask for is monitoring.
    ActionRule(
        "monitor",
        Action.CAREFUL_MONITORING,
        contains=("clinical monitoring", "cautiously consider", "plasma concentration"),
    ),
    ActionRule(
        "reduce-dose",
        Action.REDUCED_DOSING,
        contains=("reduction", "lower starting dose", "lower maintenance dose", "% lower", "50% of starting dose"),
    ),
    ActionRule(
        "increase-dose",
        Action.INCREASED_DOSING,
        contains=("higher maintenance dose", "higher target dose"),
    ),
    ActionRule(
        "standard-dose",
        Action.STANDARD_DOSING,
        contains=("initiate therapy with recommended starting dose", "per standard dosing", "no action recommended"),
    ),
)

TECHNICAL_ROW_RULE = "cpic-technical-row"
FALLBACK_RULE = "unmatched-text"


def map_action(text: str, classification: str | None) -> tuple[Action, str]:
    """Return the action for a recommendation and the name of the rule that chose it.

    A row without a classification is one of CPIC's technical rows (e.g. "xN is not a valid input"): no
    clinical recommendation, whatever its text says.
    """
    if not classification:
        return Action.NO_RECOMMENDATION, TECHNICAL_ROW_RULE
    for rule in ACTION_RULES:
        if rule.matches(text):
            return rule.action, rule.name
    return Action.CAREFUL_MONITORING, FALLBACK_RULE
