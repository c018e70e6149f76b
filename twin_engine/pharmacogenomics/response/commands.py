"""`novamind train medication-response` and `novamind evaluate medication-response` (argparse and printing only).

Model code (xgboost, scipy, matplotlib) is imported inside the commands so registering them costs nothing on
other `novamind` calls; nothing on this path imports torch.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from twin_engine.pharmacogenomics.response.evaluation import EvaluationReport

DEFAULT_MODELS_DIR = Path("novamind-data") / "models"
DEFAULT_EVALUATION_PATIENTS = 40_000


def add_train_medication_response(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `train medication-response`."""
    p = sub.add_parser("medication-response", help="train the PGx medication response model on simulated episodes")
    p.add_argument("--patients", type=int, default=60_000, help="simulated patients (one episode each)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS_DIR)
    p.add_argument("--version", default=None, help="artifact version (default: next patch version)")
    p.add_argument("--estimators", type=int, default=800, help="maximum boosting rounds (early stopping)")
    p.add_argument(
        "--eval-patients", type=int, default=20_000, help="held-out patients scored into the manifest (0: none)"
    )
    p.set_defaults(func=_train)


def _next_version(models_dir: Path) -> str:
    from twin_engine.pharmacogenomics.response.training import MODEL_NAME
    from twin_engine.registry import versions

    existing = versions(models_dir, MODEL_NAME)
    if not existing:
        return "1.0.0"
    major, minor, patch = (int(x) for x in existing[-1].split("."))
    return f"{major}.{minor}.{patch + 1}"


def _train(args: argparse.Namespace) -> int:
    from twin_engine.pharmacogenomics.response.evaluation import evaluate, manifest_metrics
    from twin_engine.pharmacogenomics.response.model import ResponseModelConfig
    from twin_engine.pharmacogenomics.response.training import save_bundle, train_bundle
    from twin_engine.simulate.pgx_cohort import PgxCohortConfig

    print(f"simulating {args.patients} treatment episodes and training …", file=sys.stderr)
    config = ResponseModelConfig(seed=args.seed, n_estimators=args.estimators)
    result = train_bundle(PgxCohortConfig(n_patients=args.patients, seed=args.seed), config)
    scores = manifest_metrics(evaluate(result.bundle, args.eval_patients, args.seed)) if args.eval_patients else {}
    artifact = save_bundle(result, args.models_dir, args.version or _next_version(args.models_dir), scores)
    print(f"saved {artifact.name} {artifact.version} to {artifact.directory}")
    print(f"content hash {artifact.content_hash}; training took {result.seconds:.0f} s")
    return 0


def add_evaluate_medication_response(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `evaluate medication-response`."""
    p = sub.add_parser("medication-response", help="score the response model, a genotype-blind baseline and the oracle")
    p.add_argument("--patients", type=int, default=DEFAULT_EVALUATION_PATIENTS, help="held-out simulated patients")
    p.add_argument("--seed", type=int, default=0, help="held-out cohort uses seed + 1000")
    p.add_argument("--models-dir", type=Path, default=None, help="default: the model shipped in the package")
    p.add_argument("--version", default=None)
    p.add_argument("--json", action="store_true", help="print one JSON document instead of tables")
    p.add_argument("--plot", type=Path, default=None, help="write a reliability diagram (PNG)")
    p.set_defaults(func=_evaluate)


def _evaluate(args: argparse.Namespace) -> int:
    from twin_engine.pharmacogenomics.response.evaluation import evaluate
    from twin_engine.pharmacogenomics.response.training import load_bundle

    bundle = load_bundle(args.models_dir, args.version)
    report = evaluate(bundle, args.patients, args.seed)
    if args.json:
        print(json.dumps({"model_version": bundle.version, **report.to_dict()}, indent=1))
    else:
        print(format_report(report, bundle.version))
    if args.plot is not None:
        from twin_engine.pharmacogenomics.response.plot import plot_reliability

        plot_reliability(report.curves, args.plot)
        print(f"reliability plot written to {args.plot}", file=sys.stderr)
    return 0


def format_report(report: EvaluationReport, version: str | None) -> str:
    """Plain-text tables: scores per outcome, fold-change recovery, goals."""
    lines = [
        f"medication-response {version}: {report.patients} held-out simulated patients "
        f"(cohort seed {report.cohort_seed})",
        f"{'outcome':<20}{'AUC':>7}{'base':>7}{'oracle':>7}{'ratio':>7}{'Brier':>8}{'base':>8}"
        f"{'skill':>8}{'skill 95% CI':>18}{'ECE':>7}{'raw':>7}",
    ]
    for o in report.outcomes:
        lo, hi = o.brier_skill_ci
        lines.append(
            f"{o.outcome:<20}{o.auc_model:>7.3f}{o.auc_baseline:>7.3f}{o.auc_oracle:>7.3f}{o.auc_ratio:>7.3f}"
            f"{o.brier_model:>8.4f}{o.brier_baseline:>8.4f}{o.brier_skill:>8.4f}{f'[{lo:.4f}, {hi:.4f}]':>18}"
            f"{o.ece_model:>7.3f}{o.ece_model_uncalibrated:>7.3f}"
        )
    lines.append(
        f"\n{'medication':<14}{'gene':<9}{'pheno':<6}{'planted':>8}{'estimate':>9}{'95% CI':>16}{'n':>6}{'err':>8}"
    )
    for f in report.fold_changes:
        lines.append(
            f"{f.medication:<14}{f.gene:<9}{f.phenotype:<6}{f.planted:>8.2f}{f.estimate:>9.3f}"
            f"{f'[{f.ci_low:.2f}, {f.ci_high:.2f}]':>16}{f.n:>6}{f.relative_error:>+8.1%}"
        )
    lines.append("\ngoals: " + ", ".join(f"{k}={'met' if v else 'MISSED'}" for k, v in report.goals.items()))
    return "\n".join(lines)
