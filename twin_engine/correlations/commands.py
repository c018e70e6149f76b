"""`novamind evaluate correlations` (argparse wiring and printing only)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from twin_engine.correlations.evaluation import CorrelationReport, PatientScores


def add_evaluate_correlations(sub: argparse._SubParsersAction) -> None:
    """Register `evaluate correlations`."""
    p = sub.add_parser(
        "correlations", help="score biometric-symptom link detection against simulated patients with planted effects"
    )
    p.add_argument("--patients", type=int, default=200, help="patients per per-patient cohort")
    p.add_argument(
        "--days", type=_days, default=(90, 180, 365), help="comma-separated days of data per cohort (power curve)"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--permutations", type=int, default=1999)
    p.add_argument("--pooled-replicates", type=int, default=10, help="cohorts of 100 patients x 90 days (0: skip)")
    p.add_argument("--hourly-patients", type=int, default=20, help="patients with hourly data (0: skip)")
    p.add_argument(
        "--mixed-patients",
        type=int,
        default=0,
        help="patients x 180 days where each planted link is carried by half of them: the cost of the "
        "population prior on links a patient lacks (0: skip)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument("--plot", type=Path, default=None, help="write the per-patient power curves as a PNG")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=_evaluate)


def _days(text: str) -> tuple[int, ...]:
    try:
        days = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--days takes comma-separated integers, got {text!r}") from exc
    if not days or min(days) < 14:
        raise argparse.ArgumentTypeError("--days needs at least one value of 14 or more")
    return days


def _evaluate(args: argparse.Namespace) -> int:
    from twin_engine.correlations.analysis import CorrelationConfig
    from twin_engine.correlations.evaluation import evaluate
    from twin_engine.correlations.lagged import AnalysisSettings

    config = CorrelationConfig(settings=AnalysisSettings(permutations=args.permutations, seed=args.seed))
    report = evaluate(
        args.patients,
        args.days,
        args.seed,
        args.pooled_replicates,
        args.hourly_patients,
        config,
        progress=not args.quiet,
        mixed_patients=args.mixed_patients,
    )
    print(json.dumps(_jsonable(dataclasses.asdict(report)), indent=2) if args.json else render(report))
    if args.plot is not None:
        from twin_engine.correlations.plot import plot_power_curves

        plot_power_curves(report.per_patient, args.plot)
        print(f"power curves written to {args.plot}", file=sys.stderr)
    return 0


def _jsonable(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def render(report: CorrelationReport) -> str:
    """Plain-text tables of the report, goals beside the measures."""
    lines = [
        "Per patient (planted sizes uniform in 0.1-0.5; goal: FPR <= 1%, FDR <= 0.05, recall >= 0.85 at >= 0.3)",
        "FDR = mean over patients of false/found links (what BH controls); false/all = pooled over the cohort;",
        "population prior = weighted BH with links found by pooling the other half of the cohort",
        *_patient_table(report.per_patient),
    ]
    if report.mixed:
        lines += [
            "",
            "Mixed population (each planted link carried by half the patients; 'absent FPR' = false-positive rate",
            "on links other patients carry but this one lacks, where a population prior costs most)",
            *_patient_table(report.mixed),
        ]
    if report.pooled:
        p = report.pooled
        lines += [
            "",
            f"Pooled ({p.replicates} cohorts of {p.patients} patients x {p.days} days, {p.tested_links} links each; "
            "goal: power >= 0.9 for effects >= 0.05, FDR <= 0.05, |bias| <= 0.01)",
            f"  power {_pct(p.power)} (effects >= 0.05: {_pct(p.power_at_005)}), FDR {p.empirical_fdr:.3f}, "
            f"FPR/link {_pct(p.false_positive_rate, 2)}, bias {p.bias:+.4f}, mean |error| {p.mean_abs_error:.4f}",
            *(f"    {name}: power {_pct(power)}" for name, power in p.power_by_effect.items()),
        ]
    if report.hourly:
        h = report.hourly
        lines += [
            "",
            f"Hourly ({h.patients} patients x {h.days} days, HRV -> experience-sampled anxiety 3 h later)",
            f"  recall>=0.3 {_pct(h.recall_at_03)}, exact lag {_pct(h.exact_lag)}, "
            f"FPR/link {_pct(h.false_positive_rate, 2)}",
        ]
    if report.cost_seconds_hourly_patient is not None:
        lines.append(
            f"  full analysis of one patient with 180 days of hourly data: {report.cost_seconds_hourly_patient:.2f} s"
        )
    return "\n".join(lines)


def _patient_table(scores: tuple[PatientScores, ...]) -> list[str]:
    lines = [
        f"{'method':<17}{'days':>5} {'patients':>8} {'recall>=0.3':>11} {'exact lag':>9} {'FPR/link':>8} "
        f"{'absent FPR':>10} {'FDR':>6} {'false/all':>9}  recall by |size|"
    ]
    for s in scores:
        bins = "  ".join(f"{k}: {_pct(v)}" for k, v in s.recall_by_size.items())
        lines.append(
            f"{s.method:<17}{s.days:>5} {s.patients:>8} {_pct(s.recall_at_03):>11} {_pct(s.exact_lag):>9} "
            f"{_pct(s.false_positive_rate, 2):>8} {_pct(s.absent_link_fpr, 2):>10} {s.empirical_fdr:>6.3f} "
            f"{s.discoveries_false:>9.3f}  {bins}"
        )
    return lines


def _pct(value: float, digits: int = 1) -> str:
    return "n/a" if not math.isfinite(value) else f"{100 * value:.{digits}f}%"
