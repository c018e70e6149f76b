import argparse
import json
import sys
from pathlib import Path

import pytest

from twin_engine import cli


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="novamind")
    cli.register(p.add_subparsers(dest="command", required=True))
    return p


def test_commands_are_registered_with_their_defaults() -> None:
    args = parser().parse_args(["train", "medication-response", "--patients", "50", "--seed", "3"])
    assert (args.patients, args.seed) == (50, 3)
    args = parser().parse_args(["evaluate", "medication-response"])
    assert args.patients == 40_000 and not args.json and args.models_dir is None


def test_registering_the_cli_does_not_import_torch_or_xgboost() -> None:
    loaded = {name for name in ("torch", "xgboost") if name in sys.modules}
    parser()
    assert {name for name in ("torch", "xgboost") if name in sys.modules} == loaded


def test_train_then_evaluate_json_and_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    models = str(tmp_path / "models")
    train = [
        "train",
        "medication-response",
        "--patients",
        "1500",
        "--estimators",
        "40",
        "--eval-patients",
        "500",
        "--models-dir",
        models,
    ]
    assert cli.main(train) == 0
    capsys.readouterr()
    manifest = json.loads((tmp_path / "models" / "medication-response" / "1.0.0" / "manifest.json").read_text())
    assert manifest["metrics"]["held_out_patients"] == 500 and "response" in manifest["metrics"]["outcomes"]
    plot = tmp_path / "rel.png"
    evaluate = ["evaluate", "medication-response", "--patients", "2000", "--models-dir", models, "--json"]
    assert cli.main([*evaluate, "--plot", str(plot)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["model_version"] == "1.0.0" and doc["patients"] == 2000 and doc["ece_bins"] == 10
    assert {o["outcome"] for o in doc["outcomes"]} == {"response", "gi_upset", "sedation", "activation_insomnia"}
    assert set(doc["goals"]) == {
        "auc_at_least_0.95_oracle",
        "ece_at_most_0.05",
        "brier_skill_positive",
        "fold_changes_within_15pct",
    }
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
