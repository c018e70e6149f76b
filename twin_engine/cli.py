"""Command groups the twin engine contributes to `novamind` (entry point `novamind.commands`).

`register` adds the `train`, `evaluate` and `pgx` groups once; their sub-commands come from `TRAIN_COMMANDS`
and `EVALUATE_COMMANDS`, so each model appends a registrar here instead
of creating a second `evaluate` parser, which argparse would reject.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from twin_engine.correlations.commands import add_evaluate_correlations
from twin_engine.early_warning.commands import add_evaluate_early_warnings, add_train_early_warnings
from twin_engine.forecast.commands import add_evaluate_forecaster, add_train_forecaster
from twin_engine.pharmacogenomics.commands import add_pgx_recommend
from twin_engine.pharmacogenomics.response.commands import (
    add_evaluate_medication_response,
    add_train_medication_response,
)

Registrar = Callable[[argparse._SubParsersAction], None]

TRAIN_COMMANDS: list[Registrar] = [add_train_forecaster, add_train_medication_response, add_train_early_warnings]
EVALUATE_COMMANDS: list[Registrar] = [
    add_evaluate_forecaster,
    add_evaluate_correlations,
    add_evaluate_early_warnings,
    add_evaluate_medication_response,
]
PGX_COMMANDS: list[Registrar] = [add_pgx_recommend]


def register(sub: argparse._SubParsersAction) -> None:
    """Add `train …`, `evaluate …` and `pgx …` to the `novamind` parser."""
    train = sub.add_parser("train", help="train twin-engine models on simulated patients")
    train_sub = train.add_subparsers(dest="train_command", required=True)
    for add in TRAIN_COMMANDS:
        add(train_sub)
    evaluate = sub.add_parser("evaluate", help="evaluate twin-engine models against baselines")
    evaluate_sub = evaluate.add_subparsers(dest="evaluate_command", required=True)
    for add in EVALUATE_COMMANDS:
        add(evaluate_sub)
    pgx = sub.add_parser("pgx", help="CPIC pharmacogenomic phenotypes and drug recommendations")
    pgx_sub = pgx.add_subparsers(dest="pgx_command", required=True)
    for add in PGX_COMMANDS:
        add(pgx_sub)


def main(argv: list[str] | None = None) -> int:
    """Run the twin commands without the server CLI (`python -m twin_engine.cli`)."""
    parser = argparse.ArgumentParser(prog="novamind")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
