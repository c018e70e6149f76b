"""The oracle forecast: what a forecaster could do knowing the simulator's true state and parameters.

It starts from the true latent state on the origin day, knows each patient's parameter schedules (mean
level, medication onset, relapse ramps) and only lacks the future random shocks and measurement noise,
which it integrates by Monte Carlo. It is the ceiling the forecasting goals are stated against.
"""

from __future__ import annotations

import numpy as np

from twin_engine.errors import InsufficientDataError
from twin_engine.simulate.cohort import SimulatedCohort
from twin_engine.simulate.dynamics import LatentState, advance
from twin_engine.simulate.measure import measure_target


def oracle_quantiles(
    cohort: SimulatedCohort,
    subject_index: np.ndarray,
    origin_day: np.ndarray,
    horizon: int,
    metric: str,
    quantiles: np.ndarray,
    n_samples: int = 400,
    seed: int = 0,
) -> np.ndarray:
    """Quantiles (m, horizon, len(quantiles)) of the score reported on days origin+1 .. origin+horizon."""
    subject_index = np.asarray(subject_index, dtype=np.int64)
    origin_day = np.asarray(origin_day, dtype=np.int64)
    if np.any(origin_day + horizon >= cohort.config.days):
        raise InsufficientDataError("oracle horizon runs past the simulated days")
    rng = np.random.default_rng(seed)
    m = subject_index.shape[0]
    lat = cohort.latent
    state = LatentState(
        *(np.repeat(lat[k][subject_index, origin_day][:, None], n_samples, axis=1) for k in ("d", "a", "s", "h"))
    )
    out = np.empty((m, horizon, len(quantiles)))
    for step in range(1, horizon + 1):
        # Patients have different origins, so advance each distinct day-offset group with its own schedules.
        days = origin_day + step
        new = LatentState(*(np.empty_like(getattr(state, k)) for k in ("d", "a", "s", "h")))
        for day in np.unique(days):
            rows = np.flatnonzero(days == day)
            sub = LatentState(*(getattr(state, k)[rows] for k in ("d", "a", "s", "h")))
            noise = tuple(rng.normal(size=sub.d.shape) for _ in range(4))
            nxt = advance(sub, cohort.params, int(day), noise, index=subject_index[rows])  # type: ignore[arg-type]
            for k in ("d", "a", "s", "h"):
                getattr(new, k)[rows] = getattr(nxt, k)
        state = new
        draws = measure_target(metric, state.d, state.a, rng)
        out[:, step - 1, :] = np.quantile(draws, quantiles, axis=1).T
    return out
