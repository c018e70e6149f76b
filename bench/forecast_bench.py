"""Cost and accuracy benchmark of the symptom forecaster (issue 5 goals).

Usage (from the repository root):
    python bench/forecast_bench.py cost  [--models-dir DIR] [--repeats 300] [--batch 1000] [--device cpu]
    python bench/forecast_bench.py accuracy --seeds 0 1 2 [--patients 300] [--version X.Y.Z] [--out results.json]
                                   [--hide mood_rating]   # the questionnaire forecasters without mood ratings
    python bench/forecast_bench.py train [--patients 2000]      # times `train forecaster` end to end

`cost` times single-patient forecasts (180 days of history, all of a patient's streams, frame in,
calibrated Forecast out) and batched forecasts; `accuracy` runs the held-out evaluation for several
simulator seeds and prints the goal quantities per seed and their mean.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from twin_engine import frames
from twin_engine.forecast.evaluation import evaluate
from twin_engine.forecast.pipeline import ForecasterConfig
from twin_engine.forecast.training import load_bundle, save_bundle, train_bundle
from twin_engine.simulate import SimulatorConfig, simulate_cohort


def machine() -> dict[str, object]:
    return {
        "python": platform.python_version(),
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.is_available(),
    }


def cost(args: argparse.Namespace) -> dict[str, object]:
    models = load_bundle(args.models_dir, None, args.device)
    cohort = simulate_cohort(SimulatorConfig(n_patients=args.batch, days=180, seed=4242))
    obs = cohort.observations
    one = obs[obs[frames.SUBJECT_ID] == cohort.subject_ids[0]].copy()
    one[frames.SUBJECT_ID] = one[frames.SUBJECT_ID].astype(str)
    one[frames.METRIC] = one[frames.METRIC].astype(str)
    out: dict[str, object] = {"machine": machine(), "device": args.device, "single_rows": len(one)}
    for metric, model in models.items():
        for _ in range(10):
            model.forecast(one, 28)
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            model.forecast(one, 28)
            times.append(time.perf_counter() - start)
        ms = np.asarray(times) * 1000
        model.forecast(obs, 28)
        start = time.perf_counter()
        model.forecast(obs, 28)
        batch_s = time.perf_counter() - start
        out[metric] = {
            "single_p50_ms": round(float(np.percentile(ms, 50)), 2),
            "single_p99_ms": round(float(np.percentile(ms, 99)), 2),
            "batch_patients": args.batch,
            "batch_seconds": round(batch_s, 3),
            "batch_patients_per_s": round(args.batch / batch_s, 1),
        }
    return out


def accuracy(args: argparse.Namespace) -> dict[str, object]:
    models = load_bundle(args.models_dir, args.version, "cpu")
    per_seed = {}
    for seed in args.seeds:
        start = time.perf_counter()
        report = evaluate(
            models, args.patients, args.days, seed, args.windows_per_patient, not args.no_autoets, tuple(args.hide)
        )
        per_seed[str(seed)] = report.to_dict()
        print(f"seed {seed}: {time.perf_counter() - start:.0f} s", flush=True)
    summary: dict[str, dict[str, float]] = {}
    for metric in next(iter(per_seed.values()))["metrics"]:  # type: ignore[union-attr]
        goals = [per_seed[s]["metrics"][metric]["goals"] for s in per_seed]  # type: ignore[index]
        keys = [k for k in goals[0] if not k.startswith("best_baseline")]
        summary[metric] = {k: round(float(np.mean([g.get(k, np.nan) for g in goals])), 4) for k in keys}
    return {"machine": machine(), "seeds": args.seeds, "per_seed": per_seed, "mean_goals": summary}


def train(args: argparse.Namespace) -> dict[str, object]:
    start = time.perf_counter()
    result = train_bundle(
        SimulatorConfig(n_patients=args.patients, days=365, seed=0), ForecasterConfig(device=args.device)
    )
    with tempfile.TemporaryDirectory() as tmp:
        save_bundle(result, Path(tmp), "1.0.0")
    return {"machine": machine(), "patients": args.patients, "train_seconds": round(time.perf_counter() - start, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["cost", "accuracy", "train"])
    parser.add_argument("--models-dir", type=Path, default=None)
    parser.add_argument("--version", default=None, help="accuracy: model version (default: the newest)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--patients", type=int, default=300)
    parser.add_argument("--days", type=int, default=240)
    parser.add_argument("--windows-per-patient", type=int, default=4)
    parser.add_argument("--no-autoets", action="store_true")
    parser.add_argument(
        "--hide", nargs="+", default=[], help="accuracy: remove these metrics' reports from test patients"
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.what == "train" and args.patients == 300:
        args.patients = 2000
    result = {"cost": cost, "accuracy": accuracy, "train": train}[args.what](args)
    text = json.dumps(result, indent=1, default=float)
    if args.out:
        args.out.write_text(text)
    summary = {k: v for k, v in result.items() if k != "per_seed"}
    print(json.dumps(summary, indent=1, default=float))


if __name__ == "__main__":
    main()
