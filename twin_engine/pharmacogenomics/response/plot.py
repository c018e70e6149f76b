"""Reliability diagram (predicted vs. observed rate per bin) of model, baseline and oracle, one panel per outcome."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: the CLI and CI have no display
import matplotlib.pyplot as plt
import numpy as np

from twin_engine.pharmacogenomics.response.metrics import ReliabilityCurve

_STYLE = {"model": ("C0", "o"), "baseline": ("C1", "s"), "oracle": ("0.4", "x")}


def plot_reliability(curves: dict[str, dict[str, ReliabilityCurve]], path: Path) -> Path:
    """Write a PNG: per outcome, observed rate against mean predicted probability in each non-empty bin."""
    fig, axes = plt.subplots(1, len(curves), figsize=(3.2 * len(curves), 3.4), squeeze=False)
    for ax, (outcome, by_model) in zip(axes[0], curves.items(), strict=True):
        ax.plot([0, 1], [0, 1], color="0.8", lw=1, label="perfect")
        top = 0.0
        for name, curve in by_model.items():
            color, marker = _STYLE.get(name, ("C2", "^"))
            pred, obs = np.asarray(curve.predicted), np.asarray(curve.observed)
            keep = np.asarray(curve.counts) >= 20  # a handful of episodes says nothing about calibration
            ax.plot(pred[keep], obs[keep], marker=marker, ms=4, color=color, label=f"{name} (ECE {curve.ece:.3f})")
            top = max(top, float(np.nanmax(pred[keep], initial=0)), float(np.nanmax(obs[keep], initial=0)))
        lim = min(1.0, top + 0.05)
        ax.set_xlim(0, lim)
        ax.set_ylim(0, lim)
        ax.set_title(outcome, fontsize=9)
        ax.set_xlabel("predicted probability")
        ax.legend(fontsize=6, loc="upper left")
    axes[0, 0].set_ylabel("observed rate")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
