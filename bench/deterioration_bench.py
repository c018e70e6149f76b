"""Deterioration risk (issue 6): Brier, calibration and AUC of P(PHQ-9 >= 15 / >= 20, GAD-7 >= 15).

Usage (from the repository root):
    python bench/deterioration_bench.py [--patients 500] [--seeds 101 102 103] [--json]

Held-out simulated patients (seeds never used in training), the shipped forecaster's ensemble, horizons
7/14/28 days; the oracle (true latent state) and the base rate are printed beside it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json

import numpy as np

from twin_engine.forecast.risk import DETERIORATION_THRESHOLDS
from twin_engine.forecast.risk_evaluation import evaluate_threshold_risk
from twin_engine.forecast.training import load_bundle
from twin_engine.simulate import SimulatorConfig, simulate_cohort


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=500)
    parser.add_argument("--seeds", type=int, nargs="+", default=[101, 102, 103])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    models = load_bundle()
    rows = []
    for seed in args.seeds:
        cohort = simulate_cohort(SimulatorConfig(n_patients=args.patients, days=365, seed=seed))
        for metric, threshold in DETERIORATION_THRESHOLDS:
            rows += [
                dataclasses.asdict(s) | {"seed": seed}
                for s in evaluate_threshold_risk(models[metric], cohort, threshold, seed=seed)
            ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    keys = sorted({(r["metric"], r["threshold"], r["horizon"]) for r in rows})
    columns = ("base_rate", "brier", "brier_base_rate", "brier_oracle", "brier_skill", "ece", "auc", "auc_oracle")
    print("metric      threshold horizon  " + " ".join(f"{c:>15}" for c in columns))
    for metric, threshold, h in keys:
        sel = [r for r in rows if (r["metric"], r["threshold"], r["horizon"]) == (metric, threshold, h)]
        means = [float(np.mean([r[c] for r in sel])) for c in columns]
        print(f"{metric:<11} {threshold:>9.0f} {h:>7}  " + " ".join(f"{v:>15.4f}" for v in means))


if __name__ == "__main__":
    main()
