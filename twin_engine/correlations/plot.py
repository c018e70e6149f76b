"""PNG of the power curves: how often a planted link is found, by days of data and effect size.

The table in docs/benchmarks.md holds the same numbers; the picture is what a clinician or product owner
reads to see why the app says "not enough data yet" at 90 days and not at 270.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: the CLI and CI have no display
import matplotlib.pyplot as plt
import numpy as np

from twin_engine.correlations.evaluation import POPULATION_PRIOR, PatientScores

_STYLE = {POPULATION_PRIOR: "--"}


def plot_power_curves(scores: tuple[PatientScores, ...], path: Path, goal: float = 0.85) -> Path:
    """Recall per size bin against days of data, one line per bin and method (solid: within patient)."""
    fig, ax = plt.subplots(figsize=(9, 4.2))
    bins = sorted({b for s in scores for b in s.recall_by_size})
    colours = plt.get_cmap("viridis")(np.linspace(0.1, 0.85, max(len(bins), 1)))
    for method in dict.fromkeys(s.method for s in scores):
        rows = sorted((s for s in scores if s.method == method), key=lambda s: s.days)
        days = [s.days for s in rows]
        for colour, size in zip(colours, bins, strict=True):
            recall = [s.recall_by_size.get(size, float("nan")) for s in rows]
            ax.plot(
                days,
                recall,
                _STYLE.get(method, "-"),
                marker="o",
                ms=3,
                color=colour,
                label=f"|r| {size} ({method})",
            )
    ax.axhline(goal, color="0.5", lw=0.8, ls=":")
    ax.annotate(
        f"goal {goal:.2f} (|r| ≥ 0.3, ≥ 180 days)",
        (ax.get_xlim()[0], goal),
        xytext=(4, 3),
        textcoords="offset points",
        fontsize=7,
        color="0.4",
    )
    ax.set(xlabel="days of daily data", ylabel="planted links found", ylim=(0, 1.02))
    ax.set_title("Power of the per-patient correlation test (simulated patients)", fontsize=10)
    ax.legend(
        fontsize=7,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
        title="solid: within patient, dashed: with prior",
        title_fontsize=7,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
