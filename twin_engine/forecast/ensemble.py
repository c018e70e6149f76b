"""Ensemble of member models: quantile averaging with weights fitted on validation windows.

Weights live on the probability simplex (grid step 0.1), one set per horizon band, chosen to minimise the
validation quantile loss. Averaging quantiles (Vincentization) keeps each member's spread information.
"""

from __future__ import annotations

import itertools

import numpy as np

from twin_engine.errors import NotFittedError
from twin_engine.forecast.base import MAX_HORIZON
from twin_engine.forecast.metrics import pinball

# Horizon bands (1-based inclusive upper bounds) sharing one weight vector; finer where data are denser.
BAND_EDGES: tuple[int, ...] = (1, 3, 7, 14, 21, 28)


def _band_of(h: int) -> int:
    return next(i for i, edge in enumerate(BAND_EDGES) if h <= edge)


def _simplex(k: int, steps: int = 10) -> np.ndarray:
    combos = [c for c in itertools.product(range(steps + 1), repeat=k) if sum(c) == steps]
    return np.asarray(combos, dtype=np.float64) / steps


class QuantileEnsemble:
    """Weighted average of member quantiles; weights per horizon band."""

    def __init__(self, members: tuple[str, ...]) -> None:
        self.members = members
        self.weights: np.ndarray | None = None  # (len(BAND_EDGES), len(members))

    def fit(self, raw: dict[str, np.ndarray], targets: np.ndarray) -> None:
        """Choose weights minimising mean pinball loss on validation targets (NaN targets ignored)."""
        grid = _simplex(len(self.members))
        stacked = np.stack([raw[m] for m in self.members])  # (k, n, H, Q)
        weights = np.zeros((len(BAND_EDGES), len(self.members)))
        lo = 0
        for band, edge in enumerate(BAND_EDGES):
            sl = slice(lo, edge)
            y = targets[:, sl]
            ok = np.isfinite(y)
            if not ok.any():
                weights[band] = 1.0 / len(self.members)
            else:
                member_q = stacked[:, :, sl, :][:, ok]  # (k, cells, Q)
                yy = y[ok]
                losses = [pinball(np.tensordot(w, member_q, axes=1), yy).mean() for w in grid]
                weights[band] = grid[int(np.argmin(losses))]
            lo = edge
        self.weights = weights

    def combine(self, raw: dict[str, np.ndarray]) -> np.ndarray:
        """Weighted quantiles (m, horizon, Q) from member predictions of the same shape."""
        if self.weights is None:
            raise NotFittedError("QuantileEnsemble.combine before fit/load")
        horizon = next(iter(raw.values())).shape[1]
        per_day = self.weights[[_band_of(min(h, MAX_HORIZON)) for h in range(1, horizon + 1)]]  # (horizon, k)
        stacked = np.stack([raw[name] for name in self.members])  # (k, m, horizon, Q)
        return np.einsum("kmhq,hk->mhq", stacked, per_day)

    def state(self) -> dict[str, object]:
        """JSON-able weights."""
        if self.weights is None:
            raise NotFittedError("cannot save an unfitted ensemble")
        return {"members": list(self.members), "weights": self.weights.tolist(), "bands": list(BAND_EDGES)}

    @classmethod
    def from_state(cls, state: dict[str, object]) -> QuantileEnsemble:
        """Inverse of `state`."""
        ens = cls(tuple(state["members"]))  # type: ignore[arg-type]
        ens.weights = np.asarray(state["weights"], dtype=np.float64)
        return ens
