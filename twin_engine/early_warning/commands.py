"""`novamind evaluate early-warnings` and `novamind train early-warnings` (argparse wiring and printing only)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from twin_engine.early_warning.artifact import EarlyWarningRules
    from twin_engine.early_warning.evaluation import EarlyWarningReport
    from twin_engine.early_warning.rule import CalibratedRule


def add_evaluate_early_warnings(sub: argparse._SubParsersAction) -> None:
    """Register `evaluate early-warnings`."""
    p = sub.add_parser(
        "early-warnings", help="critical-slowing-down early warnings vs the transition simulator's ground truth"
    )
    p.add_argument("--patients", type=int, default=500, help="patients per arm (and calibration controls)")
    p.add_argument("--days", type=int, default=240)
    p.add_argument("--seed", type=int, default=0, help="evaluation seed; calibration uses seed + 1000")
    p.add_argument("--reports-per-day", type=int, nargs="+", default=[5, 1], help="one evaluation per value")
    p.add_argument(
        "--half-life", type=float, default=12.0, help="exponentially weighted indicators, days (0: rolling windows)"
    )
    p.add_argument("--window", type=int, default=30, help="rolling indicator window, days (with --half-life 0)")
    p.add_argument(
        "--trend-window", type=int, default=0, help="with --half-life 0: linear detrending over this many days"
    )
    p.add_argument("--false-alarm-rate", type=float, default=0.10, help="nominal, per monitoring stretch")
    p.add_argument("--json", action="store_true", help="print one JSON document instead of tables")
    p.add_argument(
        "--shipped",
        action="store_true",
        help="also score the stored rules (the packaged `early-warning` artifact, or --models-dir) as they are",
    )
    p.add_argument("--models-dir", type=Path, default=None, help="with --shipped: where the artifact lives")
    p.add_argument("--version", default=None, help="with --shipped: pin an artifact version (default: newest)")
    p.set_defaults(func=_evaluate)


def add_train_early_warnings(sub: argparse._SubParsersAction) -> None:
    """Register `train early-warnings`: calibrate the rules and store them as a registry artifact."""
    p = sub.add_parser("early-warnings", help="calibrate the early-warning rules on simulated transition-free patients")
    p.add_argument("--patients", type=int, default=2000, help="calibration controls per reporting rate")
    p.add_argument("--days", type=int, default=240)
    p.add_argument(
        "--seed", type=int, default=1000, help="calibration cohort seed (the one `evaluate early-warnings` uses)"
    )
    p.add_argument("--reports-per-day", type=int, nargs="+", default=[5, 1], help="one rule per value")
    p.add_argument(
        "--eval-patients", type=int, default=2000, help="patients per arm scored into the manifest (0: none)"
    )
    p.add_argument("--models-dir", type=Path, default=Path("novamind-data") / "models")
    p.add_argument("--version", default="1.1.0")
    p.set_defaults(func=_train)


def _train(args: argparse.Namespace) -> int:
    from twin_engine.early_warning.artifact import calibrate_rules, save_rules

    print(f"calibrating on {args.patients} simulated controls per reporting rate …", file=sys.stderr)
    result = calibrate_rules(args.patients, args.days, args.seed, tuple(args.reports_per_day), None, args.eval_patients)
    artifact = save_rules(result, args.models_dir, args.version)
    print(f"saved {artifact.name} {artifact.version} to {artifact.directory} (content hash {artifact.content_hash})")
    for rate, scores in result.metrics.items():
        print(f"  {rate}: {scores}")
    return 0


def _evaluate(args: argparse.Namespace) -> int:
    from twin_engine.early_warning.evaluation import evaluate_early_warnings
    from twin_engine.early_warning.rule import EarlyWarningConfig

    config = EarlyWarningConfig(
        window=args.window,
        trend_window=args.trend_window or None,
        half_life=args.half_life or None,
        false_alarm_rate=args.false_alarm_rate,
    )
    rules = None
    if args.shipped:
        from twin_engine.early_warning.artifact import load_rules

        rules = load_rules(args.models_dir, args.version)
    reports = [
        evaluate_early_warnings(args.patients, args.days, args.seed, k, config, _shipped(rules, k))
        for k in args.reports_per_day
    ]
    if args.json:
        print(json.dumps({"evaluations": [r.to_dict() for r in reports]}, indent=1))
    else:
        print("\n\n".join(format_report(r) for r in reports))
    return 0


def _shipped(rules: EarlyWarningRules | None, reports_per_day: int) -> tuple[str, CalibratedRule] | None:
    """The stored rule a patient reporting this often would get, with a label naming the artifact."""
    if rules is None:
        return None
    rate = rules.nearest_rate(reports_per_day)
    return f"early-warning {rules.version}, rule for {rate}/day", rules.rules[rate]


def format_report(report: EarlyWarningReport) -> str:
    """Plain-text table: one row per rule."""
    lines = [
        f"early warnings, {report.reports_per_day} report(s)/day: {report.patients_per_arm} transition + "
        f"{report.patients_per_arm} control patients x {report.days} days, seed {report.seed} "
        f"(calibration seed {report.calibration_seed}), "
        + (f"window {report.window} d" if report.half_life is None else f"half-life {report.half_life:g} d"),
        f"{'rule':<10}{'series':<9}{'thresh':>8}{'sens':>7}{'sens 95% CI':>15}{'FAR':>7}{'FAR 95% CI':>15}"
        f"{'daily FAR':>10}{'lead med':>9}{'lead IQR':>11}{'ramp med':>9}{'AUC':>6}",
    ]
    for r in report.results:
        lines.append(
            f"{r.rule:<10}{r.series:<9}{r.threshold:>8.3f}{r.sensitivity:>7.3f}{_pair(r.sensitivity_ci95):>15}"
            f"{r.false_alarm_rate:>7.3f}{_pair(r.false_alarm_rate_ci95):>15}{r.daily_false_alarm_rate:>10.4f}"
            f"{r.lead_time_median_days:>9.1f}{_pair(r.lead_time_iqr_days, 0):>11}{r.ramp_days_median:>9.1f}"
            f"{r.auc:>6.3f}"
        )
    if report.shipped_rule:
        lines.append(f"shipped = {report.shipped_rule}, scored as stored (not recalibrated)")
    for r in report.results:
        sweep = ", ".join(f"{p.false_alarm_rate:.2f}:{p.sensitivity:.2f}" for p in r.roc)
        lines.append(f"ROC {r.rule}/{r.series} (FAR:sensitivity): {sweep}")
    return "\n".join(lines)


def _pair(pair: tuple[float, float], digits: int = 3) -> str:
    return f"[{pair[0]:.{digits}f}, {pair[1]:.{digits}f}]"
