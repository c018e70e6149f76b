import argparse
import json
from pathlib import Path

import pytest

from twin_engine import cli


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="novamind")
    cli.register(p.add_subparsers(dest="command", required=True))
    return p


def test_register_adds_train_and_evaluate_groups() -> None:
    args = parser().parse_args(["train", "forecaster", "--patients", "5", "--device", "cpu"])
    assert args.patients == 5 and args.device == "cpu"
    args = parser().parse_args(["evaluate", "forecaster", "--json", "--seed", "2"])
    assert args.json and args.seed == 2
    with pytest.raises(SystemExit):
        parser().parse_args(["evaluate"])


def test_evaluate_group_accepts_more_commands_later(monkeypatch: pytest.MonkeyPatch) -> None:
    def add_other(sub: argparse._SubParsersAction) -> None:
        sub.add_parser("another-model").set_defaults(func=lambda a: 0)

    monkeypatch.setattr(cli, "EVALUATE_COMMANDS", [*cli.EVALUATE_COMMANDS, add_other])
    assert parser().parse_args(["evaluate", "another-model"]).func(None) == 0


def test_train_then_evaluate_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    models = tmp_path / "models"
    assert (
        cli.main(
            [
                "train",
                "forecaster",
                "--patients",
                "30",
                "--days",
                "120",
                "--epochs",
                "1",
                "--xgb-rounds",
                "20",
                "--windows-per-patient",
                "4",
                "--no-autoets",
                "--quiet",
                "--models-dir",
                str(models),
            ]
        )
        == 0
    )
    assert (models / "forecaster" / "1.0.0" / "manifest.json").is_file()
    capsys.readouterr()
    plot = tmp_path / "fc.png"
    assert (
        cli.main(
            [
                "evaluate",
                "forecaster",
                "--patients",
                "12",
                "--days",
                "120",
                "--no-autoets",
                "--json",
                "--models-dir",
                str(models),
                "--plot",
                str(plot),
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    scores = report["metrics"]["mood_rating"]["scores"]
    assert {"ensemble", "oracle", "naive", "seasonal_naive", "patient_mean", "xgboost", "transformer"} <= set(scores)
    assert set(scores["ensemble"]) == {"1", "7", "14", "28", "all"}
    assert 0.0 <= scores["ensemble"]["all"]["coverage_80"] <= 1.0
    assert plot.stat().st_size > 1000
