"""One patient's full correlation analysis: align, prewhiten, test every biometric–symptom link.

Daily links use day-level means of every stream (lags of days); hourly links are added when the patient
has hourly biometrics and reports symptoms several times a day (experience sampling), so "HRV drops
precede anxiety by three hours" can be seen at all. Both resolutions share one FDR family.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from twin_engine import frames
from twin_engine.correlations.lagged import (
    BIOMETRIC_TO_SYMPTOM,
    SAME_TIME,
    SYMPTOM_TO_BIOMETRIC,
    AnalysisSettings,
    LinkResult,
    LinkSpec,
    analyse_links,
)
from twin_engine.correlations.timeline import DAY, HOUR, StreamCoverage, align, reports_per_active_day
from twin_engine.correlations.whitening import Whitened, whiten
from twin_engine.errors import FrameSchemaError, InsufficientDataError

DAILY_BIOMETRICS: tuple[str, ...] = (
    frames.SLEEP_HOURS,
    frames.HRV_MS,
    frames.RESTING_HR,
    frames.STEPS,
    frames.ACTIVE_MINUTES,
)
DAILY_SYMPTOMS: tuple[str, ...] = (frames.MOOD, frames.ANXIETY, frames.PHQ9, frames.GAD7)
HOURLY_BIOMETRICS: tuple[str, ...] = (frames.HOURLY_HRV_MS, frames.HOURLY_HR)
HOURLY_SYMPTOMS: tuple[str, ...] = (frames.MOOD, frames.ANXIETY)
_PERIOD = {DAY: 7, HOUR: 24}
_MAX_ORDER = {DAY: 7, HOUR: 4}


@dataclass(frozen=True)
class CorrelationConfig:
    biometrics: tuple[str, ...] = DAILY_BIOMETRICS
    symptoms: tuple[str, ...] = DAILY_SYMPTOMS
    hourly_biometrics: tuple[str, ...] = HOURLY_BIOMETRICS
    hourly_symptoms: tuple[str, ...] = HOURLY_SYMPTOMS
    max_lag_days: int = 3
    max_lag_hours: int = 12
    min_reports_per_day: float = 2.0  # experience sampling: below this, symptoms are analysed per day only
    settings: AnalysisSettings = field(default_factory=AnalysisSettings)


@dataclass(frozen=True)
class PatientCorrelations:
    """Every tested link (significant or not) and the coverage of each stream it used."""

    coverage: tuple[StreamCoverage, ...]
    links: tuple[LinkResult, ...]
    config: CorrelationConfig

    def significant(self) -> tuple[LinkResult, ...]:
        return tuple(link for link in self.links if link.significant)


def link_specs(biometrics: tuple[str, ...], symptoms: tuple[str, ...], resolution: str, max_lag: int) -> list[LinkSpec]:
    """Both directions for every pair at lags 1..max_lag, plus one same-time link per pair."""
    lags = tuple(range(1, max_lag + 1))
    specs = []
    for b in biometrics:
        for s in symptoms:
            specs.append(LinkSpec(b, s, BIOMETRIC_TO_SYMPTOM, resolution, lags))
            specs.append(LinkSpec(b, s, SYMPTOM_TO_BIOMETRIC, resolution, lags))
            specs.append(LinkSpec(b, s, SAME_TIME, resolution, (0,)))
    return specs


def analyse_patient(observations: pd.DataFrame, config: CorrelationConfig | None = None) -> PatientCorrelations:
    """Analyse one patient's observation frame (the twin engine's frame contract).

    Raises:
        FrameSchemaError: the frame holds more than one patient or lacks the contract's columns.
        InsufficientDataError: no biometric and symptom stream to pair.
    """
    config = config or CorrelationConfig()
    obs = frames.validate_observations(observations)
    if obs[frames.SUBJECT_ID].nunique() != 1:
        raise FrameSchemaError("analyse_patient takes one patient's observations; group the frame by subject first")
    whitened: dict[tuple[str, str], Whitened] = {}
    coverage: list[StreamCoverage] = []
    daily = _streams(obs, config.biometrics + config.symptoms, DAY)
    coverage.extend(daily[1])
    whitened.update(daily[0])
    specs = link_specs(config.biometrics, config.symptoms, DAY, config.max_lag_days)
    esm = tuple(s for s in config.hourly_symptoms if reports_per_active_day(obs, s) >= config.min_reports_per_day)
    hourly_bio = tuple(b for b in config.hourly_biometrics if (obs[frames.METRIC] == b).any())
    if esm and hourly_bio:
        hourly = _streams(obs, hourly_bio + esm, HOUR)
        coverage.extend(hourly[1])
        whitened.update(hourly[0])
        specs += link_specs(hourly_bio, esm, HOUR, config.max_lag_hours)
    links = analyse_links(specs, whitened, config.settings)
    if not links:
        raise InsufficientDataError("no biometric and symptom streams with enough data to pair")
    return PatientCorrelations(tuple(coverage), links, config)


def _streams(
    obs: pd.DataFrame, metrics: tuple[str, ...], resolution: str
) -> tuple[dict[tuple[str, str], Whitened], list[StreamCoverage]]:
    try:
        timeline = align(obs, metrics, resolution)
    except InsufficientDataError:
        return {}, []
    out = {}
    for metric, values in timeline.values.items():
        w = whiten(values, _PERIOD[resolution], _MAX_ORDER[resolution])
        if w is not None:
            out[(resolution, metric)] = w
    return out, list(timeline.coverage())
