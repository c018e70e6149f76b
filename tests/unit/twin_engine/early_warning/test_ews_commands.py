import argparse
import json

import pytest

from twin_engine.early_warning.artifact import load_rules
from twin_engine.early_warning.commands import add_evaluate_early_warnings


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="novamind evaluate")
    add_evaluate_early_warnings(p.add_subparsers(dest="command", required=True))
    return p


def test_early_warnings_command_parses_its_options() -> None:
    args = parser().parse_args(
        ["early-warnings", "--patients", "7", "--days", "200", "--seed", "3", "--reports-per-day", "1", "--json"]
    )
    assert (args.patients, args.days, args.seed, args.reports_per_day, args.json) == (7, 200, 3, [1], True)


def test_json_output_has_one_evaluation_per_reporting_rate(capsys: pytest.CaptureFixture[str]) -> None:
    args = parser().parse_args(["early-warnings", "--patients", "40", "--json", "--reports-per-day", "5", "1"])
    assert args.func(args) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [e["reports_per_day"] for e in doc["evaluations"]] == [5, 1]
    result = doc["evaluations"][0]["results"][0]
    assert {"sensitivity", "false_alarm_rate", "lead_time_median_days", "ramp_days_median", "roc"} <= set(result)


def test_text_output_is_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    args = parser().parse_args(["early-warnings", "--patients", "30", "--reports-per-day", "1"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "contrast" in out and "kendall" in out and "ROC" in out


def test_shipped_rules_are_scored_as_they_are(capsys: pytest.CaptureFixture[str]) -> None:
    args = parser().parse_args(["early-warnings", "--patients", "30", "--reports-per-day", "5", "--shipped", "--json"])
    assert args.func(args) == 0
    (evaluation,) = json.loads(capsys.readouterr().out)["evaluations"]
    assert evaluation["shipped_rule"].startswith("early-warning ") and evaluation["shipped_rule"].endswith("5/day")
    (row,) = [r for r in evaluation["results"] if r["series"] == "shipped"]
    assert row["rule"] == "contrast" and row["threshold"] == pytest.approx(load_rules().rules[5].threshold)
    assert 0.0 <= row["false_alarm_rate"] <= 1.0 and 0.0 <= row["sensitivity"] <= 1.0


def test_half_life_zero_evaluates_the_rolling_window_indicators(capsys: pytest.CaptureFixture[str]) -> None:
    args = parser().parse_args(["early-warnings", "--patients", "30", "--reports-per-day", "5", "--half-life", "0"])
    assert args.func(args) == 0
    assert "window 30 d" in capsys.readouterr().out


def test_weighted_indicators_are_the_default(capsys: pytest.CaptureFixture[str]) -> None:
    args = parser().parse_args(["early-warnings", "--patients", "30", "--reports-per-day", "5", "--json"])
    assert args.func(args) == 0
    (evaluation,) = json.loads(capsys.readouterr().out)["evaluations"]
    assert evaluation["half_life"] == 12.0
