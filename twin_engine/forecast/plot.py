"""PNG of a few patients' history, ensemble forecast and 80/95% intervals (for eyeballing, not scoring)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: the CLI and CI have no display
import matplotlib.pyplot as plt
import numpy as np

from twin_engine.forecast.base import interval_indices
from twin_engine.forecast.windows import WindowSet


def plot_forecasts(
    windows: WindowSet,
    quantiles: np.ndarray,
    path: Path,
    metric: str,
    truth: np.ndarray | None = None,
    patients: int = 4,
) -> Path:
    """Draw the last 56 days of history and the forecast fan for the first `patients` windows."""
    count = min(patients, len(windows))
    fig, axes = plt.subplots(count, 1, figsize=(8, 2.2 * count), squeeze=False)
    horizon = quantiles.shape[1]
    past = np.arange(-55, 1)
    future = np.arange(1, horizon + 1)
    for row in range(count):
        ax = axes[row, 0]
        ax.plot(past, windows.history[row, -56:, 0], "o", ms=3, color="0.3", label="observed")
        for level, alpha in ((0.95, 0.15), (0.8, 0.3)):
            lo, hi = interval_indices(level)
            ax.fill_between(
                future,
                quantiles[row, :, lo],
                quantiles[row, :, hi],
                alpha=alpha,
                color="C0",
                label=f"{round(level * 100)}% interval",
            )
        ax.plot(future, quantiles[row, :, quantiles.shape[2] // 2], color="C0", label="median forecast")
        if truth is not None:
            ax.plot(future, truth[row, :horizon], "x", ms=3, color="C3", label="simulated truth")
        ax.set_ylabel(metric)
        ax.axvline(0.5, color="0.6", lw=0.8)
    axes[0, 0].legend(fontsize=7, ncol=3, loc="upper left")
    axes[-1, 0].set_xlabel("days relative to forecast origin")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
