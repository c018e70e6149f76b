"""Daily grid: an observation frame turned into one (days x channels) array per patient.

Channel 0 is the forecast target; the rest are covariates, the medication flag last (by default
`frames.DAILY_COVARIATES`; see `covariates_for`). Cells are daily means (so
experience-sampling reports average into one value), NaN where nothing was observed, except the medication
flag, which is carried forward from the start event. Built with numpy bincounts because single forecasts
must stay within a few milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from twin_engine import frames
from twin_engine.errors import TwinEngineError

DEFAULT_COVARIATES: tuple[str, ...] = frames.DAILY_COVARIATES
MED_CHANNEL = len(DEFAULT_COVARIATES)  # the medication flag's channel in a grid with the default covariates
# Covariates many patients never report: training blanks them in a share of windows (`drop_channel`).
OPTIONAL_COVARIATES: tuple[str, ...] = (frames.MOOD,)


def covariates_for(target: str) -> tuple[str, ...]:
    """The covariate channels a target's forecaster sees.

    Questionnaire totals are answered weekly or every two weeks, so their own history says little about
    the patient's state today; the daily mood rating measures the same latent depression every day, so
    PHQ-9 and GAD-7 forecasters see it as a covariate (the medication flag stays the last channel).
    """
    if target in (frames.PHQ9, frames.GAD7):
        return (*DEFAULT_COVARIATES[:-1], frames.MOOD, frames.MEDICATION_ON)
    return DEFAULT_COVARIATES


@dataclass(frozen=True)
class DailyGrid:
    """Invariants: `values` is (n, days, channels) float32; patient i's day k is `first_day[i] + k`;
    days at or beyond `length[i]` are NaN padding."""

    subject_ids: tuple[str, ...]
    first_day: np.ndarray  # datetime64[D]
    length: np.ndarray
    values: np.ndarray
    target: str

    def window(self, subject: np.ndarray, end: np.ndarray, days: int) -> np.ndarray:
        """History windows (m, days, channels) ending at grid day `end` (inclusive), NaN before day 0."""
        offsets = np.arange(-days + 1, 1)
        idx = end[:, None] + offsets[None, :]
        out = self.values[subject[:, None], np.clip(idx, 0, None)]
        out[idx < 0] = np.nan
        return out

    def future(self, subject: np.ndarray, end: np.ndarray, horizon: int) -> np.ndarray:
        """Target values (m, horizon) on days end+1 .. end+horizon (NaN where not observed)."""
        idx = end[:, None] + np.arange(1, horizon + 1)[None, :]
        valid = idx < self.values.shape[1]
        out = np.full(idx.shape, np.nan, dtype=np.float32)
        out[valid] = self.values[np.broadcast_to(subject[:, None], idx.shape)[valid], idx[valid], 0]
        return out


def _subject_codes(column: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Integer codes of the subject column and the subject ids they stand for, in sorted order."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        used, codes = np.unique(column.cat.codes.to_numpy(), return_inverse=True)
        names = [str(column.cat.categories[k]) for k in used]
        return codes.astype(np.int64), names
    codes, uniques = pd.factorize(column.to_numpy(), sort=True)
    return codes.astype(np.int64), [str(u) for u in uniques]


def _channels(metric: pd.Series, channels: tuple[str, ...]) -> np.ndarray:
    """Channel of each row, -1 for metrics the grid does not hold (and for a missing metric)."""
    if isinstance(metric.dtype, pd.CategoricalDtype):
        codes, names = metric.cat.codes.to_numpy(), metric.cat.categories
    else:
        codes, names = pd.factorize(metric.to_numpy())
    # The trailing -1 is what code -1 (missing) indexes.
    lookup = np.array([*(channels.index(m) if m in channels else -1 for m in names), -1], dtype=np.int64)
    return lookup[codes]


def to_grid(
    frame: pd.DataFrame, target: str, validated: bool = False, covariates: tuple[str, ...] = DEFAULT_COVARIATES
) -> DailyGrid:
    """Build the grid from an observation frame (validated here unless the caller already did)."""
    if not covariates or covariates[-1] != frames.MEDICATION_ON or target in covariates:
        raise TwinEngineError(f"covariates must end with {frames.MEDICATION_ON!r} and exclude the target")
    f = frame if validated else frames.validate_observations(frame, copy=False)
    channels = (target, *covariates)
    channel = _channels(f[frames.METRIC], channels)
    subject, subject_ids = _subject_codes(f[frames.SUBJECT_ID])
    day = f[frames.TS].values.astype("datetime64[D]").astype(np.int64)
    n = len(subject_ids)
    first = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first, subject, day)
    last = np.full(n, np.iinfo(np.int64).min)
    np.maximum.at(last, subject, day)
    rel = day - first[subject]
    t = int(rel.max()) + 1
    keep = channel >= 0
    c = len(channels)
    flat = (subject[keep] * t + rel[keep]) * c + channel[keep]
    sums = np.bincount(flat, weights=f[frames.VALUE].to_numpy()[keep], minlength=n * t * c)
    counts = np.bincount(flat, minlength=n * t * c)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = (sums / counts).reshape(n, t, c).astype(np.float32)
    med = np.nan_to_num(values[:, :, -1], nan=0.0)
    values[:, :, -1] = np.maximum.accumulate(med, axis=1)
    length = last - first + 1
    pad = np.arange(t)[None, :] >= length[:, None]
    values[pad] = np.nan
    return DailyGrid(
        subject_ids=tuple(subject_ids),
        first_day=first.astype("datetime64[D]"),
        length=length,
        values=values,
        target=target,
    )
