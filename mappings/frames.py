"""FHIR resources <-> the twin's tidy observation frame (`twin_engine.frames`), and daily/hourly grids.

Which Observation becomes which metric (codes from the terminology tables, through the wearable measure table
and the questionnaire instruments; none is spelled here):

| metric | Observation code | value, normalised to the frame unit | timing |
| --- | --- | --- | --- |
| phq9_total / gad7_total | the instruments' LOINC total-score codes | valueInteger or {score} | effectiveDateTime |
| mood_rating | twin-concepts `mood-rating` (0-10, 10 best) | valueInteger or {score} | effectiveDateTime |
| sleep_duration_h | local `sleep-duration` / `sleep-episode` (LOINC: UNVERIFIED) | min, h, s -> h; writes h | period |
| hrv_rmssd_ms | local `hrv-rmssd` (no LOINC for RMSSD), over a day or more | ms, s -> ms | period >= 1 day |
| hrv_rmssd_ms_hourly | local `hrv-rmssd` at an instant or over less than a day | ms, s -> ms | instant |
| resting_heart_rate_bpm | LOINC resting heart rate | /min, {beats}/min | either |
| heart_rate_bpm_hourly | LOINC heart rate | /min, {beats}/min | either |
| steps | LOINC steps per 24 h; interval step samples summed per UTC day | /d, {steps} | period |
| antidepressant_on | MedicationStatement/Request of an RxNorm antidepressant: 1 at start, 0 at end | - | - |

A frame's medication flag does not say which drug, so it is not written back to FHIR (`UnmappableMetric`).
The other self-ratings of our CodeSystem (sleep quality, energy, stress) are not frame metrics and are
reported as not used, like any other code the twin does not read. HRV SDNN is a different statistic from RMSSD and is
not read as RMSSD. Daily measures are written with an `effectivePeriod` of one day starting at the frame's `ts`
(terminology NOTES 5: aggregates use a period), samples and scores with `effectiveDateTime`; that convention
is what makes frames -> FHIR -> frames the identity. Read back, a period's start is the row's `ts`, so a night's
sleep episode counts on the (UTC) day it began.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from mappings.questionnaires.instruments import LOINC, instruments
from mappings.wearables.measures import CATEGORY_DISPLAY, CATEGORY_SYSTEM, UCUM, Measure, measure
from terminology import Terminology
from twin_engine import frames as tf

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
FRAME_RECORD_SYSTEM = "http://novamind.example.org/fhir/sid/twin-frame-row"
_STEP_SAMPLE = "steps-sample"  # internal: interval step counts, summed per day before they enter the frame
_DAY = pd.Timedelta(days=1)
_DAILY_SPAN = pd.Timedelta(hours=20)  # a period this long or longer is a daily aggregate (nights are short days)
_ANTIDEPRESSANT_CLASSES = ("SSRI", "SNRI", "TCA")
# unit -> (multiplier, divisor) to the frame unit; dividing (not multiplying by 1/60) keeps h -> min -> h exact
_SCORE_UNITS = {"{score}": (1.0, 1.0), "": (1.0, 1.0)}
_TO_HOURS = {"h": (1.0, 1.0), "min": (1.0, 60.0), "s": (1.0, 3600.0)}
_TO_MS = {"ms": (1.0, 1.0), "s": (1000.0, 1.0)}
_PER_MINUTE = {"/min": (1.0, 1.0), "{beats}/min": (1.0, 1.0)}
_STEPS = {"/d": (1.0, 1.0), "{steps}": (1.0, 1.0)}


class UnmappableMetric(ValueError):
    """A frame metric with no code in the terminology tables (so it cannot become a coded Observation)."""


@dataclass(frozen=True, slots=True)
class Rejected:
    resource: str  # `Type/id`, or `Type[index]` for resources without an id
    reason: str


@dataclass(frozen=True, slots=True)
class FrameResult:
    frame: pd.DataFrame
    rejected: tuple[Rejected, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class _Emit:
    """How one frame metric is written: code, category, FHIR unit (the frame's value as is), daily period or not."""

    system: str
    code: str
    display: str
    category: str
    unit: str | None  # None: valueInteger when the value is whole (questionnaire totals)
    daily: bool


class FrameMapper:
    """Maps between FHIR resources and observation frames; build once from the terminology."""

    def __init__(self, terminology: Terminology) -> None:
        catalog = instruments(terminology)
        self._totals = {catalog["phq-9"].total.code: tf.PHQ9, catalog["gad-7"].total.code: tf.GAD7}
        totals = {v: k for k, v in self._totals.items()}
        loinc = terminology.code_system(LOINC).concepts

        def wearable(key: str, daily: bool, unit: str | None = None) -> _Emit:
            m: Measure = measure(key)
            return _Emit(m.system, m.code, m.display, m.category, unit or m.unit, daily)

        def score(metric: str) -> _Emit:
            code = totals[metric]
            return _Emit(LOINC, code, loinc[code].display, "survey", None, False)

        mood = measure("mood-rating")
        self._mood = (mood.system, mood.code)

        self._emit: dict[str, _Emit] = {
            tf.PHQ9: score(tf.PHQ9),
            tf.GAD7: score(tf.GAD7),
            tf.MOOD: _Emit(mood.system, mood.code, mood.display, mood.category, None, False),
            # Written in the frame's own unit (UCUM h): h -> min -> h is not exact in floating point.
            tf.SLEEP_HOURS: wearable("sleep-duration", True, unit="h"),
            tf.HRV_MS: wearable("hrv-rmssd", True),
            tf.HOURLY_HRV_MS: wearable("hrv-rmssd", False),
            tf.RESTING_HR: wearable("resting-heart-rate", True),
            tf.HOURLY_HR: wearable("heart-rate", False),
            tf.STEPS: wearable("steps-daily", True),
        }
        self._by_code = {
            (measure("sleep-duration").system, measure("sleep-duration").code): (tf.SLEEP_HOURS, _TO_HOURS),
            (measure("sleep-episode").system, measure("sleep-episode").code): (tf.SLEEP_HOURS, _TO_HOURS),
            (measure("resting-heart-rate").system, measure("resting-heart-rate").code): (tf.RESTING_HR, _PER_MINUTE),
            (measure("heart-rate").system, measure("heart-rate").code): (tf.HOURLY_HR, _PER_MINUTE),
            (measure("steps-daily").system, measure("steps-daily").code): (tf.STEPS, _STEPS),
        }
        self._hrv = (measure("hrv-rmssd").system, measure("hrv-rmssd").code)
        self._step_samples = (measure("steps").system, measure("steps").code)
        rxnorm = terminology.code_system(RXNORM).concepts
        self._antidepressants = {
            code
            for code, c in rxnorm.items()
            if (cls := str(c.property("drug-class") or "")) in _ANTIDEPRESSANT_CLASSES or "antidepressant" in cls
        }

    def coding(self, metric: str) -> dict[str, str]:
        """The Coding a frame metric's Observations carry (`UnmappableMetric` for one without a code)."""
        emit = self._emit.get(metric)
        if emit is None:
            raise UnmappableMetric(f"metric {metric!r} has no code in the terminology tables")
        return {"system": emit.system, "code": emit.code, "display": emit.display}

    # ---- FHIR -> frame -------------------------------------------------------------------------------------

    def to_frame(self, resources: Iterable[dict[str, Any]]) -> FrameResult:
        """Observations and medication resources -> a validated observation frame, plus what was rejected."""
        rows: list[tuple[str, pd.Timestamp, str, float]] = []
        step_samples: list[tuple[str, pd.Timestamp, float]] = []
        rejected: list[Rejected] = []
        for index, resource in enumerate(resources):
            name = _name(resource, index)
            try:
                kind = resource.get("resourceType") if isinstance(resource, dict) else type(resource).__name__
                if kind == "Observation":
                    row = self._observation(resource)
                    if row[2] == _STEP_SAMPLE:
                        step_samples.append((row[0], row[1], row[3]))
                    else:
                        rows.append(row)
                elif kind in ("MedicationStatement", "MedicationRequest"):
                    rows.extend(self._medication(resource))
                else:
                    raise _Reject(f"{kind} is not mapped to the twin's frames")
            except _Reject as exc:
                rejected.append(Rejected(name, str(exc)))
        rows.extend(_daily_step_totals(step_samples, rows))
        return FrameResult(_frame(rows), tuple(rejected))

    def _observation(self, obs: dict[str, Any]) -> tuple[str, pd.Timestamp, str, float]:
        if obs.get("status") in ("entered-in-error", "cancelled", "registered", "preliminary"):
            raise _Reject(f"status {obs.get('status')!r} is not a final measurement")
        subject = _subject(obs)
        start, span = _effective(obs)
        codes = [(c.get("system"), c.get("code")) for c in (obs.get("code") or {}).get("coding") or []]
        for system, code in codes:
            if system == LOINC and code in self._totals:
                return subject, start, self._totals[code], _score(obs)
            if (system, code) == self._mood:
                return subject, start, tf.MOOD, _score(obs)
            if (system, code) == self._hrv:
                daily = span is not None and span >= _DAILY_SPAN
                return subject, start, tf.HRV_MS if daily else tf.HOURLY_HRV_MS, _quantity(obs, _TO_MS)
            if (system, code) == self._step_samples:
                return subject, start, _STEP_SAMPLE, _quantity(obs, _STEPS)
            mapped = self._by_code.get((str(system), str(code)))
            if mapped is not None:
                return subject, start, mapped[0], _quantity(obs, mapped[1])
        shown = ", ".join(f"{s}|{c}" for s, c in codes) or "no coding"
        raise _Reject(f"code {shown} is not a measure the twin uses")

    def _medication(self, resource: dict[str, Any]) -> list[tuple[str, pd.Timestamp, str, float]]:
        kind = resource["resourceType"]
        status = resource.get("status")
        if status not in ("active", "completed"):
            raise _Reject(f"{kind} status {status!r} does not say the drug was taken")
        concept = resource.get("medicationCodeableConcept")
        if not isinstance(concept, dict):
            raise _Reject("only medicationCodeableConcept is read (a medicationReference is not resolved here)")
        codes = [c.get("code") for c in concept.get("coding") or [] if c.get("system") == RXNORM]
        if not any(code in self._antidepressants for code in codes):
            raise _Reject(f"RxNorm {codes or 'none'} is not an antidepressant in the terminology tables")
        subject = _subject(resource)
        if kind == "MedicationStatement":
            period = resource.get("effectivePeriod") or {}
            start_text = period.get("start") or resource.get("effectiveDateTime")
            end_text = period.get("end")
        else:
            validity = (resource.get("dispenseRequest") or {}).get("validityPeriod") or {}
            start_text = validity.get("start") or resource.get("authoredOn")
            end_text = validity.get("end")
        if not start_text:
            raise _Reject(f"{kind} has no start date")
        rows = [(subject, _instant(start_text), tf.MEDICATION_ON, 1.0)]
        if end_text:
            rows.append((subject, _instant(end_text), tf.MEDICATION_ON, 0.0))
        return rows

    # ---- frame -> FHIR -------------------------------------------------------------------------------------

    def to_observations(self, frame: pd.DataFrame, *, skip_unmapped: bool = False) -> list[dict[str, Any]]:
        """One Observation per frame row. Rows of metrics without a code raise `UnmappableMetric` unless
        `skip_unmapped`, so nothing is dropped silently."""
        f = tf.validate_observations(frame)
        metrics = f[tf.METRIC].astype(str)
        unmapped = sorted(set(metrics) - set(self._emit))
        if unmapped and not skip_unmapped:
            raise UnmappableMetric(f"metrics {unmapped} have no code in the terminology tables")
        out = []
        for subject, ts, metric, value in zip(
            f[tf.SUBJECT_ID].astype(str), f[tf.TS], metrics, f[tf.VALUE].to_numpy(), strict=True
        ):
            emit = self._emit.get(metric)
            if emit is not None:
                out.append(_observation(emit, subject, metric, ts, float(value)))
        return out


class _Reject(Exception):
    pass


def _observation(emit: _Emit, subject: str, metric: str, ts: pd.Timestamp, value: float) -> dict[str, Any]:
    key = hashlib.sha256(f"{subject}|{metric}|{ts.value}".encode()).hexdigest()[:40]
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        # One frame row is one record: writing the same frame twice must not store anything twice.
        "identifier": [{"system": FRAME_RECORD_SYSTEM, "value": key}],
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": CATEGORY_SYSTEM,
                        "code": emit.category,
                        "display": CATEGORY_DISPLAY.get(emit.category, "Survey"),
                    }
                ]
            }
        ],
        "code": {"coding": [{"system": emit.system, "code": emit.code, "display": emit.display}], "text": emit.display},
        "subject": {"reference": f"Patient/{subject}"},
    }
    if emit.daily:
        obs["effectivePeriod"] = {"start": _iso(ts), "end": _iso(ts + _DAY)}
    else:
        obs["effectiveDateTime"] = _iso(ts)
    if emit.unit is None and value.is_integer():
        obs["valueInteger"] = int(value)
    else:
        unit = emit.unit or "{score}"
        number: int | float = int(value) if value.is_integer() else value
        obs["valueQuantity"] = {"value": number, "unit": unit, "system": UCUM, "code": unit}
    return obs


def _iso(ts: pd.Timestamp) -> str:
    return ts.tz_convert("UTC").isoformat().replace("+00:00", "Z")


def _name(resource: Any, index: int) -> str:
    if not isinstance(resource, dict):
        return f"[{index}]"
    kind = resource.get("resourceType", "?")
    rid = resource.get("id")
    return f"{kind}/{rid}" if rid else f"{kind}[{index}]"


def _subject(resource: dict[str, Any]) -> str:
    reference = (resource.get("subject") or {}).get("reference")
    if not isinstance(reference, str) or not reference.startswith("Patient/"):
        raise _Reject("subject is not a Patient reference")
    return reference.removeprefix("Patient/")


def _instant(text: str) -> pd.Timestamp:
    """A FHIR date/dateTime as UTC; dates (no time, so no zone) are read as UTC midnight."""
    try:
        ts = pd.Timestamp(text)
    except (ValueError, TypeError) as exc:
        raise _Reject(f"{text!r} is not a FHIR dateTime") from exc
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _effective(obs: dict[str, Any]) -> tuple[pd.Timestamp, pd.Timedelta | None]:
    if isinstance(obs.get("effectiveDateTime"), str):
        return _instant(obs["effectiveDateTime"]), None
    if isinstance(obs.get("effectiveInstant"), str):
        return _instant(obs["effectiveInstant"]), None
    period = obs.get("effectivePeriod")
    if isinstance(period, dict) and isinstance(period.get("start"), str):
        start = _instant(period["start"])
        end_text = period.get("end")
        if not isinstance(end_text, str):
            return start, None
        end = _instant(end_text)
        if len(end_text) == 10:  # a date: the period runs to the end of that day
            end += _DAY
        return start, end - start
    raise _Reject("no effectiveDateTime, effectiveInstant or effectivePeriod.start")


def _score(obs: dict[str, Any]) -> float:
    if isinstance(obs.get("valueInteger"), int):
        return float(obs["valueInteger"])
    return _quantity(obs, _SCORE_UNITS)


def _quantity(obs: dict[str, Any], factors: dict[str, tuple[float, float]]) -> float:
    q = obs.get("valueQuantity")
    if not isinstance(q, dict) or not isinstance(q.get("value"), int | float):
        raise _Reject("no numeric valueQuantity")
    unit = q.get("code") if q.get("system") == UCUM else q.get("code", q.get("unit"))
    unit = unit if isinstance(unit, str) else ""
    if unit not in factors:
        raise _Reject(f"unit {unit!r} is not one of {sorted(factors)}")
    multiplier, divisor = factors[unit]
    return float(q["value"]) * multiplier / divisor


def _daily_step_totals(
    samples: list[tuple[str, pd.Timestamp, float]], rows: list[tuple[str, pd.Timestamp, str, float]]
) -> list[tuple[str, pd.Timestamp, str, float]]:
    """Interval step samples summed per (patient, UTC day), except on days that already have a daily total."""
    if not samples:
        return []
    have = {(s, ts.normalize()) for s, ts, metric, _ in rows if metric == tf.STEPS}
    sums: dict[tuple[str, pd.Timestamp], float] = {}
    for subject, ts, value in samples:
        key = (subject, ts.normalize())
        if key not in have:
            sums[key] = sums.get(key, 0.0) + value
    return [(s, day, tf.STEPS, total) for (s, day), total in sums.items()]


def _frame(rows: list[tuple[str, pd.Timestamp, str, float]]) -> pd.DataFrame:
    if not rows:
        return tf.empty_observations()
    subject, ts, metric, value = zip(*rows, strict=True)
    frame = pd.DataFrame(
        {
            tf.SUBJECT_ID: pd.Series(subject, dtype="object"),
            tf.TS: pd.DatetimeIndex(ts).as_unit("ns").tz_convert("UTC"),
            tf.METRIC: pd.Series(metric, dtype="object"),
            tf.VALUE: np.asarray(value, dtype=np.float64),
        }
    )
    frame[tf.UNIT] = frame[tf.METRIC].map(tf.UNITS)
    return tf.validate_observations(frame)


# ---- grids -----------------------------------------------------------------------------------------------


def daily_grid(frame: pd.DataFrame, metrics: Iterable[str] | None = None) -> pd.DataFrame:
    """Wide daily grid: one row per (subject_id, UTC day) from each patient's first to last day, one column
    per metric, NaN where nothing was observed. Cells are daily means (as `twin_engine.forecast.grid`), except
    `antidepressant_on`, which holds its last known state from the first start event on."""
    return _grid(frame, "D", metrics)


def hourly_grid(frame: pd.DataFrame, metrics: Iterable[str] | None = None) -> pd.DataFrame:
    """Wide hourly grid, same rules as `daily_grid` with hours instead of days."""
    return _grid(frame, "h", metrics)


def _grid(frame: pd.DataFrame, freq: str, metrics: Iterable[str] | None) -> pd.DataFrame:
    f = tf.validate_observations(frame)
    f = f.assign(**{tf.SUBJECT_ID: f[tf.SUBJECT_ID].astype(str), tf.METRIC: f[tf.METRIC].astype(str)})
    columns = list(metrics) if metrics is not None else sorted(f[tf.METRIC].unique())
    f = f.assign(slot=f[tf.TS].dt.floor(freq))
    # A patient's grid spans all their observations (any metric), as twin_engine's grid does.
    spans = f.groupby(tf.SUBJECT_ID, sort=True)["slot"].agg(["min", "max"])
    kept = f[f[tf.METRIC].isin(columns)]
    wide = kept.groupby([tf.SUBJECT_ID, "slot", tf.METRIC], sort=True)[tf.VALUE].mean().unstack()
    pieces = []
    for subject, (first, last) in spans.iterrows():
        full = pd.date_range(first, last, freq=freq)
        index = pd.MultiIndex.from_product([[subject], full], names=[tf.SUBJECT_ID, tf.TS])
        part = wide.loc[subject] if subject in wide.index.get_level_values(0) else pd.DataFrame(index=full)
        pieces.append(part.reindex(full).set_axis(index))
    grid = (
        pd.concat(pieces) if pieces else pd.DataFrame(index=pd.MultiIndex.from_tuples([], names=[tf.SUBJECT_ID, tf.TS]))
    )
    grid = grid.reindex(columns=columns)
    if tf.MEDICATION_ON in grid.columns:
        grid[tf.MEDICATION_ON] = grid[tf.MEDICATION_ON].groupby(level=0).ffill()
    grid.columns.name = None
    return grid
