"""Calibrated early-warning rules as a registry artifact (`early-warning`), one rule per reporting rate.

A threshold means something only together with the cohort it was calibrated on and the standardisation
constants of its score, so all of them travel together, versioned and hash-checked like any model; a
server then assesses patients with a pinned, audited rule instead of recalibrating on every start. The
false-alarm guarantee depends on the reporting rate (a 5-a-day patient's indicators are less noisy than a
1-a-day patient's), so the artifact keeps one rule per calibrated rate and `for_rate` picks the nearest.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from twin_engine.early_warning.errors import EarlyWarningInputError
from twin_engine.early_warning.evaluation import calibrate_on, calibration_cohort, score_on
from twin_engine.early_warning.rule import CalibratedRule, EarlyWarningConfig
from twin_engine.registry import Artifact, load_artifact, save_artifact
from twin_engine.simulate.transitions import TransitionConfig, simulate_transitions

MODEL_NAME = "early-warning"
PACKAGED_MODELS_DIR = Path(__file__).resolve().parents[1] / "models"
RULES_FILE = "rules.json"
DEFAULT_RATES: tuple[int, ...] = (5, 1)
EVALUATION_SEED_OFFSET = 2_000  # the manifest's scores come from a cohort neither calibrated nor tuned on


@dataclass(frozen=True)
class EarlyWarningRules:
    """Calibrated rules keyed by the reports a day they were calibrated for."""

    rules: dict[int, CalibratedRule]
    version: str | None = None
    content_hash: str | None = None

    def nearest_rate(self, reports_per_day: float) -> int:
        """The calibrated rate nearest (on a log scale) to a patient's reports per active day."""
        if not self.rules:
            raise EarlyWarningInputError("no calibrated early-warning rule in this artifact")
        rate = max(reports_per_day, 0.1)
        return min(self.rules, key=lambda r: abs(math.log(r / rate)))

    def for_rate(self, reports_per_day: float) -> CalibratedRule:
        """The rule calibrated at the rate nearest to the patient's reports per active day."""
        return self.rules[self.nearest_rate(reports_per_day)]


@dataclass(frozen=True)
class CalibrationResult:
    rules: EarlyWarningRules
    metrics: dict[str, object]
    training_data: dict[str, object]


def calibrate_rules(
    patients: int,
    days: int,
    seed: int,
    rates: tuple[int, ...] = DEFAULT_RATES,
    config: EarlyWarningConfig | None = None,
    eval_patients: int = 0,
) -> CalibrationResult:
    """Calibrate one rule per rate on transition-free simulated patients; optionally score each on a fresh
    cohort of both arms (seed + EVALUATION_SEED_OFFSET) for the manifest."""
    config = config or EarlyWarningConfig()
    rules = {rate: calibrate_on(calibration_cohort(patients, days, seed, rate), config) for rate in rates}
    metrics = _held_out_metrics(rules, eval_patients, days, seed) if eval_patients else {}
    training_data = {
        "source": "twin_engine.simulate.transitions (synthetic transition-free patients, no real data)",
        "patients_per_rate": patients,
        "days": days,
        "seed": seed,
        "reports_per_day": list(rates),
    }
    return CalibrationResult(EarlyWarningRules(rules), metrics, training_data)


def _held_out_metrics(rules: dict[int, CalibratedRule], patients: int, days: int, seed: int) -> dict[str, object]:
    """Each rule scored on a fresh cohort of both arms at its own rate (seed + EVALUATION_SEED_OFFSET)."""
    metrics: dict[str, object] = {}
    for rate, rule in rules.items():
        cohort = simulate_transitions(
            TransitionConfig(
                n_transition=patients,
                n_control=patients,
                days=days,
                seed=seed + EVALUATION_SEED_OFFSET,
                reports_per_day=rate,
            )
        )
        result = score_on(rule, cohort)
        metrics[f"{rate}_per_day"] = {
            "sensitivity": round(result.sensitivity, 4),
            "false_alarm_rate": round(result.false_alarm_rate, 4),
            "lead_time_median_days": result.lead_time_median_days,
            "auc": round(result.auc, 4),
            "patients_per_arm": patients,
        }
    return metrics


def save_rules(result: CalibrationResult, models_dir: Path, version: str) -> Artifact:
    def write(directory: Path) -> dict[str, object]:
        state = {str(rate): asdict(rule) for rate, rule in result.rules.rules.items()}
        (directory / RULES_FILE).write_text(json.dumps(state, indent=1, sort_keys=True))
        return {"rules_file": RULES_FILE, "reports_per_day": sorted(result.rules.rules)}

    return save_artifact(models_dir, MODEL_NAME, version, write, result.metrics, result.training_data)


def load_rules(models_dir: Path | None = None, version: str | None = None) -> EarlyWarningRules:
    """Load a verified artifact (default: the newest one shipped inside the package).

    Raises:
        ModelArtifactError: missing, tampered or malformed artifact.
    """
    artifact = load_artifact(models_dir or PACKAGED_MODELS_DIR, MODEL_NAME, version)
    state = json.loads((artifact.directory / RULES_FILE).read_text())
    rules = {int(rate): _rule_from_state(rule) for rate, rule in state.items()}
    return EarlyWarningRules(rules, artifact.version, artifact.content_hash)


def _rule_from_state(state: dict[str, object]) -> CalibratedRule:
    values = dict(state)
    # Rules stored before `half_life` existed (1.0.0) were calibrated on rolling windows.
    stored: dict[str, object] = {"half_life": None, **values.pop("config")}  # type: ignore[dict-item]
    config = EarlyWarningConfig(**stored)  # type: ignore[arg-type]
    return CalibratedRule(config=config, **values)  # type: ignore[arg-type]
