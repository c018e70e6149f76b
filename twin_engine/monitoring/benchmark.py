"""Measure anomaly and trend detection on synthetic streams with known truth (`python -m ...benchmark`).

Streams: daily steps (weekday 8,000, weekends +4,000, a slow 1,000-step drift, noise SD 500, 120 days);
hourly heart rate (60 + 10·sin circadian, noise SD 2, 21 days); biweekly PHQ-9 over 12 weeks (7 visits,
integer, SD 2 around 12, either flat or worsening by 0.5 points a week). Clean streams measure the false
flag / false trend rate, streams with one 5-SD spike (or the planted worsening) the detection rate.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from twin_engine.monitoring.anomalies import detect_anomalies
from twin_engine.monitoring.trends import symptom_trend


@dataclass(frozen=True)
class MonitoringBenchmark:
    streams: int
    seed: int
    clean_daily_flagged: float
    clean_hourly_flagged: float
    spike_found_daily: float
    spike_found_hourly: float
    flat_phq9_false_trend: float
    worsening_phq9_detected: float


def _daily(rng: np.random.Generator, days: int = 120) -> pd.Series:
    idx = pd.date_range("2025-01-01", periods=days, freq="D", tz="UTC")
    weekend = np.where(idx.dayofweek >= 5, 4000.0, 0.0)
    return pd.Series(8000 + weekend + np.linspace(0, 1000, days) + rng.normal(0, 500, days), index=idx)


def _hourly(rng: np.random.Generator, days: int = 21) -> pd.Series:
    idx = pd.date_range("2025-01-01", periods=24 * days, freq="h", tz="UTC")
    return pd.Series(60 + 10 * np.sin(2 * np.pi * idx.hour / 24) + rng.normal(0, 2, idx.size), index=idx)


def _spike_found(series: pd.Series, at: int, size: float, resolution: str) -> bool:
    series = series.copy()
    series.iloc[at] += size
    report = detect_anomalies(series, "hourly" if resolution == "hourly" else "daily")
    return series.index[at] in {a.ts for a in report.anomalies}


def run_benchmark(streams: int = 500, seed: int = 0) -> MonitoringBenchmark:
    """Each measure over `streams` streams (hourly ones over a fifth as many: they are 24x longer)."""
    rng = np.random.default_rng(seed)
    hourly = max(streams // 5, 1)
    visits = pd.date_range("2025-01-01", periods=7, freq="14D", tz="UTC")
    flat = [np.clip(np.rint(12 + rng.normal(0, 2, 7)), 0, 27) for _ in range(streams)]
    worse = [np.clip(np.rint(12 + 1.0 * np.arange(7) + rng.normal(0, 2, 7)), 0, 27) for _ in range(streams)]
    return MonitoringBenchmark(
        streams=streams,
        seed=seed,
        clean_daily_flagged=float(np.mean([bool(detect_anomalies(_daily(rng)).anomalies) for _ in range(streams)])),
        clean_hourly_flagged=float(
            np.mean([bool(detect_anomalies(_hourly(rng), "hourly").anomalies) for _ in range(hourly)])
        ),
        spike_found_daily=float(
            np.mean([_spike_found(_daily(rng), int(rng.integers(0, 120)), 2500.0, "daily") for _ in range(streams)])
        ),
        spike_found_hourly=float(
            np.mean([_spike_found(_hourly(rng), int(rng.integers(0, 504)), 10.0, "hourly") for _ in range(hourly)])
        ),
        flat_phq9_false_trend=float(np.mean([symptom_trend(pd.Series(v, visits)).direction != "none" for v in flat])),
        worsening_phq9_detected=float(
            np.mean([symptom_trend(pd.Series(v, visits)).direction == "increasing" for v in worse])
        ),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m twin_engine.monitoring.benchmark")
    parser.add_argument("--streams", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(json.dumps(asdict(run_benchmark(args.streams, args.seed)), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
