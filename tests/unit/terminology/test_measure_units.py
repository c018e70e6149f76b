"""The LOINC measure -> UCUM unit table, read from loinc.csv's `ucum_unit` and `value_type` columns."""

from __future__ import annotations

from terminology import Terminology
from terminology.measures import measure_units


def test_heart_rate_is_measured_per_minute(terminology: Terminology) -> None:
    rule = measure_units(terminology)["8867-4"]
    assert (rule.display, rule.unit, rule.alternatives) == ("Heart rate", "/min", ())


def test_alternatives_are_the_ucum_codes_the_value_type_names(terminology: Terminology) -> None:
    table = measure_units(terminology)
    assert table["29463-7"].units == ("kg", "g", "[lb_av]")
    assert table["8310-5"].units == ("Cel", "[degF]")


def test_scores_may_be_integers(terminology: Terminology) -> None:
    assert measure_units(terminology)["44261-6"].integer_allowed
    assert not measure_units(terminology)["8867-4"].integer_allowed


def test_codes_without_a_unit_and_unverified_codes_have_no_rule(terminology: Terminology) -> None:
    table = measure_units(terminology)
    assert "44250-9" not in table  # a PHQ-9 item: its value is an answer code
    assert "93832-4" not in table  # sleep duration: UNVERIFIED, never loaded
