"""`novamind train forecaster` and `novamind evaluate forecaster` (argparse wiring and printing only)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from twin_engine.forecast.evaluation import EvaluationReport
    from twin_engine.simulate.cohort import SimulatedCohort

# The model code (torch, xgboost, statsforecast) is imported inside the commands: registering them happens on
# every `novamind` call, and importing torch there cost 10-25 s for `novamind token` and friends.

DEFAULT_MODELS_DIR = Path("novamind-data") / "models"


def add_train_forecaster(sub: argparse._SubParsersAction) -> None:
    """Register `train forecaster`."""
    p = sub.add_parser("forecaster", help="train the symptom forecaster on simulated patients")
    p.add_argument("--patients", type=int, default=1500)
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda", "auto"], help="auto: CUDA when available")
    p.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS_DIR)
    p.add_argument("--version", default=None, help="artifact version (default: next patch version)")
    p.add_argument("--epochs", type=int, default=12, help="maximum transformer epochs (early stopping)")
    p.add_argument("--xgb-rounds", type=int, default=300, help="maximum boosting rounds (early stopping)")
    p.add_argument("--windows-per-patient", type=int, default=12)
    p.add_argument(
        "--calibration-patients", type=int, default=None, help="conformal calibration cohort (default 4x --patients)"
    )
    p.add_argument("--no-autoets", action="store_true", help="skip calibrating the AutoETS baseline")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_train)


def _next_version(models_dir: Path) -> str:
    from twin_engine.forecast.training import FORECASTER_NAME
    from twin_engine.registry import versions

    existing = versions(models_dir, FORECASTER_NAME)
    if not existing:
        return "1.0.0"
    major, minor, patch = (int(x) for x in existing[-1].split("."))
    return f"{major}.{minor}.{patch + 1}"


def _train(args: argparse.Namespace) -> int:
    from twin_engine.forecast.pipeline import ForecasterConfig
    from twin_engine.forecast.training import save_bundle, train_bundle
    from twin_engine.simulate import SimulatorConfig

    if not args.quiet:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    sim = SimulatorConfig(n_patients=args.patients, days=args.days, seed=args.seed)
    base = ForecasterConfig(
        seed=args.seed,
        device=args.device,
        transformer_epochs=args.epochs,
        xgb_estimators=args.xgb_rounds,
        windows_per_patient=args.windows_per_patient,
        progress=not args.quiet,
    )
    print(f"simulating {args.patients} patients x {args.days} days and training …", file=sys.stderr)
    result = train_bundle(
        sim, base, calibrate_autoets=not args.no_autoets, calibration_patients=args.calibration_patients
    )
    artifact = save_bundle(result, args.models_dir, args.version or _next_version(args.models_dir))
    print(f"saved {artifact.name} {artifact.version} to {artifact.directory}")
    print(f"content hash {artifact.content_hash}; training took {result.seconds:.0f} s")
    return 0


def add_evaluate_forecaster(sub: argparse._SubParsersAction) -> None:
    """Register `evaluate forecaster`."""
    p = sub.add_parser("forecaster", help="score forecasters, baselines and the oracle on held-out patients")
    p.add_argument("--patients", type=int, default=200)
    p.add_argument("--days", type=int, default=240)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--models-dir", type=Path, default=None, help="default: the model shipped in the package")
    p.add_argument("--version", default=None)
    p.add_argument("--windows-per-patient", type=int, default=4)
    p.add_argument("--no-autoets", action="store_true", help="skip the (slow) AutoETS baseline")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of tables")
    p.add_argument(
        "--hide",
        nargs="+",
        default=[],
        metavar="METRIC",
        help="remove these metrics' reports from the test patients (e.g. mood_rating: questionnaires alone)",
    )
    p.add_argument("--plot", type=Path, default=None, help="write a PNG of a few patients' forecasts")
    p.set_defaults(func=_evaluate)


def _evaluate(args: argparse.Namespace) -> int:
    from twin_engine.forecast.evaluation import evaluate
    from twin_engine.forecast.training import load_bundle
    from twin_engine.simulate import SimulatorConfig, simulate_cohort

    models = load_bundle(args.models_dir, args.version)
    report = evaluate(
        models, args.patients, args.days, args.seed, args.windows_per_patient, not args.no_autoets, tuple(args.hide)
    )
    if args.json:
        print(json.dumps(report.to_dict(), indent=1, default=float))
    else:
        print(format_report(report))
    if args.plot is not None:
        cohort = simulate_cohort(
            SimulatorConfig(n_patients=min(args.patients, 20), days=args.days, seed=args.seed + 1000)
        )
        _plot(models, cohort, args.plot, args.seed)
        print(f"plot written to {args.plot}", file=sys.stderr)
    return 0


def _plot(models: dict, cohort: SimulatedCohort, path: Path, seed: int) -> None:  # type: ignore[type-arg]
    from twin_engine.forecast.base import MAX_HORIZON
    from twin_engine.forecast.evaluation import test_windows
    from twin_engine.forecast.plot import plot_forecasts

    metric, model = next(iter(models.items()))
    grid = model.grid(cohort.observations)
    windows, _, _ = test_windows(cohort, grid, model.scale, 1, seed)
    q = model.predict_windows(windows, MAX_HORIZON)
    plot_forecasts(windows, q, path, metric, truth=windows.targets)


def format_report(report: EvaluationReport) -> str:
    """Plain-text tables: per metric, model and horizon."""
    import numpy as np

    from twin_engine.forecast.evaluation import REPORT_HORIZONS

    cols = ("mae", "rmse", "mase", "wql", "crps", "coverage_80", "coverage_90", "coverage_95", "width_80")
    lines = [f"held-out simulated patients: {report.patients} x {report.days} days, seed {report.seed}"]
    for m in report.metrics:
        lines.append(f"\n== {m.metric}  ({m.n_windows} forecast windows)")
        lines.append(f"{'model':<16}{'h':>4} " + " ".join(f"{c:>11}" for c in cols))
        for name, per_h in m.scores.items():
            for h in (*map(str, REPORT_HORIZONS), "all"):
                row = per_h.get(h, {})
                cells = " ".join(f"{row.get(c, float('nan')):>11.3f}" for c in cols)
                lines.append(f"{name:<16}{h:>4} {cells}")
        lines.append("goals (ensemble): " + ", ".join(f"{k}={v:.3f}" for k, v in m.goals.items()))
        worst = np.round(m.mase_by_volatility_decile["ensemble"], 3).tolist()
        lines.append(f"ensemble MASE by volatility decile: {worst}")
    return "\n".join(lines)
