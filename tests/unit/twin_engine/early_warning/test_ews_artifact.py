"""The calibrated rules as a registry artifact: shipped, pinned, hash-checked, picked by reporting rate."""

import argparse
import json
from pathlib import Path

import pytest

from twin_engine.early_warning.artifact import (
    MODEL_NAME,
    RULES_FILE,
    EarlyWarningRules,
    calibrate_rules,
    load_rules,
    save_rules,
)
from twin_engine.early_warning.commands import add_train_early_warnings
from twin_engine.errors import ModelArtifactError


def test_the_package_ships_a_rule_for_five_and_for_one_report_a_day() -> None:
    shipped = load_rules()
    assert set(shipped.rules) == {1, 5} and shipped.version is not None
    assert all(
        rule.config.false_alarm_rate == 0.10 and rule.calibration_patients >= 1000 for rule in shipped.rules.values()
    )


def test_the_newest_shipped_rules_use_weighted_indicators_and_older_ones_keep_rolling_windows() -> None:
    assert all(rule.config.half_life == 12.0 for rule in load_rules().rules.values())
    assert all(rule.config.half_life is None for rule in load_rules(version="1.0.0").rules.values())


def test_a_patient_gets_the_rule_of_the_nearest_reporting_rate() -> None:
    shipped = load_rules()
    assert shipped.for_rate(3.9) is shipped.rules[5]
    assert shipped.for_rate(1.3) is shipped.rules[1]
    assert shipped.for_rate(0.0) is shipped.rules[1]


def test_an_artifact_without_rules_refuses_to_pick_one() -> None:
    from twin_engine.early_warning.errors import EarlyWarningInputError

    with pytest.raises(EarlyWarningInputError):
        EarlyWarningRules({}).for_rate(5)


def test_saved_rules_load_back_identical(tmp_path: Path) -> None:
    result = calibrate_rules(patients=40, days=240, seed=3, rates=(5,))
    save_rules(result, tmp_path, "1.0.0")
    loaded = load_rules(tmp_path, "1.0.0")
    assert loaded.rules == result.rules.rules and loaded.content_hash


def test_an_edited_threshold_is_refused(tmp_path: Path) -> None:
    artifact = save_rules(calibrate_rules(patients=40, days=240, seed=3, rates=(1,)), tmp_path, "1.0.0")
    rules = json.loads((artifact.directory / RULES_FILE).read_text())
    rules["1"]["threshold"] = 99.0
    (artifact.directory / RULES_FILE).write_text(json.dumps(rules))
    with pytest.raises(ModelArtifactError, match="corrupted"):
        load_rules(tmp_path, "1.0.0")


def test_train_command_stores_an_artifact_with_held_out_scores(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser()
    add_train_early_warnings(parser.add_subparsers())
    args = parser.parse_args(
        [
            "early-warnings",
            "--patients",
            "40",
            "--eval-patients",
            "40",
            "--reports-per-day",
            "5",
            "--models-dir",
            str(tmp_path),
        ]
    )
    assert args.func(args) == 0
    manifest = json.loads((tmp_path / MODEL_NAME / "1.1.0" / "manifest.json").read_text())
    assert set(manifest["metrics"]["5_per_day"]) >= {"sensitivity", "false_alarm_rate", "lead_time_median_days"}
    assert "saved early-warning 1.1.0" in capsys.readouterr().out
