"""Simulated treatment episodes with planted pharmacogenomic exposure and a known (oracle) response model.

One episode per patient: phenotypes of CYP2D6/CYP2C19/CYP2B6, a diagnosis, comorbidities, prior treatment
failures, the medication tried, whether it worked and which side effects it caused. Exposure is the product of
the planted fold-changes of the drug's metabolising gene(s); response and side-effect probabilities are logistic
in exposure and the clinical covariates, so `true_probabilities` is the Bayes-optimal predictor given what a
prescriber could know. A subset of episodes carries a noisy therapeutic-drug-monitoring (TDM) measurement of
log exposure, from which the fold-changes can be estimated back.

Every frequency, fold-change and coefficient below is a **simulation assumption** chosen to be plausible
(loosely after drug labels and CPIC/PharmGKB summaries), not a clinical fact.

Invariants: `episodes` holds only what a prescriber or lab could observe (plus outcomes); `truth` is aligned
row for row and holds the true exposure fold-change and outcome probabilities; the same config gives the same
cohort bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from twin_engine.errors import TwinEngineError

# -- column names (declared once; every other module imports them) -------------------------------------------
PATIENT_ID = "patient_id"
MEDICATION = "medication"
DIAGNOSIS = "diagnosis"
AGE = "age"
FEMALE = "female"
PRIOR_FAILURES = "prior_failures"
PRIOR_SAME_CLASS_FAILURE = "prior_same_class_failure"
CHRONIC_PAIN = "chronic_pain"
INSOMNIA = "insomnia"
SUBSTANCE_USE = "substance_use"
TDM_LOG_EXPOSURE = "tdm_log_exposure"  # NaN where no level was measured
EXPOSURE_FOLD = "exposure_fold"  # truth only
COMORBIDITIES: tuple[str, ...] = (CHRONIC_PAIN, INSOMNIA, SUBSTANCE_USE)

GENES: tuple[str, ...] = ("CYP2D6", "CYP2C19", "CYP2B6")
PHENOTYPES: tuple[str, ...] = ("PM", "IM", "NM", "RM", "UM")  # poor .. ultrarapid metabolizer
REFERENCE_PHENOTYPE = "NM"
# Simulation assumptions, roughly European-ancestry frequencies; CYP2D6 has no "rapid" category in CPIC.
PHENOTYPE_FREQUENCIES: dict[str, tuple[float, ...]] = {
    "CYP2D6": (0.06, 0.30, 0.61, 0.00, 0.03),
    "CYP2C19": (0.03, 0.26, 0.40, 0.25, 0.06),
    "CYP2B6": (0.06, 0.34, 0.50, 0.08, 0.02),
}

DIAGNOSES: tuple[str, ...] = ("MDD", "GAD", "bipolar_depression")
DIAGNOSIS_FREQUENCIES: tuple[float, ...] = (0.55, 0.25, 0.20)

RESPONSE = "response"  # >= 50% symptom reduction at week 8 (simulated)
GI_UPSET = "gi_upset"  # nausea/diarrhoea reported in the first weeks
SEDATION = "sedation"  # daytime sedation/somnolence
ACTIVATION = "activation_insomnia"  # agitation, akathisia or treatment-emergent insomnia
SIDE_EFFECTS: tuple[str, ...] = (GI_UPSET, SEDATION, ACTIVATION)
OUTCOMES: tuple[str, ...] = (RESPONSE, *SIDE_EFFECTS)

# Exposure slopes (logit per unit log-exposure). Under-exposure costs response; exposure raises every side
# effect, twice as steeply above the normal-metabolizer level as below it.
RESPONSE_PER_LOW_EXPOSURE = 1.4
SIDE_EFFECT_PER_EXPOSURE: tuple[float, ...] = (0.6, 0.5, 0.6)
PRIOR_FAILURE_LOGIT = -0.35
SAME_CLASS_FAILURE_LOGIT = -0.4
ANTIDEPRESSANT_CLASSES = frozenset({"SSRI", "SNRI", "NDRI", "NaSSA", "multimodal"})


@dataclass(frozen=True)
class SimulatedMedication:
    """One candidate drug: its metabolising gene(s), planted fold-changes and logistic coefficients.

    `fold_changes` lists (gene, phenotype, exposure fold vs. normal metabolizers); unlisted cells are 1.0.
    `response_logit` is per diagnosis in `DIAGNOSES` order; `side_effect_logit` per `SIDE_EFFECTS`.
    """

    name: str
    drug_class: str
    genes: tuple[str, ...]
    fold_changes: tuple[tuple[str, str, float], ...]
    response_logit: tuple[float, float, float]
    side_effect_logit: tuple[float, float, float]

    @property
    def antidepressant(self) -> bool:
        return self.drug_class in ANTIDEPRESSANT_CLASSES


def _fc(gene: str, pm: float, im: float, rm: float | None, um: float) -> tuple[tuple[str, str, float], ...]:
    cells = [(gene, "PM", pm), (gene, "IM", im), (gene, "UM", um)]
    if rm is not None:
        cells.append((gene, "RM", rm))
    return tuple(cells)


MEDICATIONS: tuple[SimulatedMedication, ...] = (
    SimulatedMedication(
        "escitalopram", "SSRI", ("CYP2C19",), _fc("CYP2C19", 2.0, 1.3, 0.8, 0.6), (0.1, 0.2, -1.2), (-1.2, -2.0, -1.6)
    ),
    SimulatedMedication(
        "citalopram", "SSRI", ("CYP2C19",), _fc("CYP2C19", 1.9, 1.3, 0.85, 0.65), (0.0, 0.1, -1.2), (-1.2, -1.8, -1.8)
    ),
    SimulatedMedication(
        "sertraline",
        "SSRI",
        ("CYP2C19", "CYP2B6"),
        _fc("CYP2C19", 1.5, 1.2, 0.9, 0.8) + _fc("CYP2B6", 1.3, 1.1, 0.95, 0.9),
        (0.1, 0.15, -1.1),
        (-0.8, -2.0, -1.5),
    ),
    SimulatedMedication(
        "paroxetine", "SSRI", ("CYP2D6",), _fc("CYP2D6", 2.2, 1.5, None, 0.45), (0.0, 0.2, -1.3), (-1.2, -1.2, -2.0)
    ),
    SimulatedMedication(
        "fluoxetine", "SSRI", ("CYP2D6",), _fc("CYP2D6", 1.6, 1.25, None, 0.75), (0.0, -0.1, -1.0), (-1.3, -2.4, -1.0)
    ),
    SimulatedMedication(
        "venlafaxine", "SNRI", ("CYP2D6",), _fc("CYP2D6", 1.5, 1.2, None, 0.8), (0.15, 0.2, -1.3), (-0.8, -2.0, -1.4)
    ),
    SimulatedMedication("duloxetine", "SNRI", (), (), (0.1, 0.15, -1.2), (-0.7, -1.8, -1.8)),
    SimulatedMedication(
        "bupropion", "NDRI", ("CYP2B6",), _fc("CYP2B6", 1.5, 1.2, 0.85, 0.7), (0.0, -0.8, -0.9), (-1.8, -2.8, -0.7)
    ),
    SimulatedMedication("mirtazapine", "NaSSA", (), (), (0.05, -0.3, -1.2), (-2.8, -0.3, -3.0)),
    SimulatedMedication(
        "vortioxetine",
        "multimodal",
        ("CYP2D6",),
        _fc("CYP2D6", 2.0, 1.35, None, 0.6),
        (0.1, 0.0, -1.1),
        (-0.5, -2.5, -2.2),
    ),
    SimulatedMedication(
        "aripiprazole",
        "atypical antipsychotic",
        ("CYP2D6",),
        _fc("CYP2D6", 1.8, 1.3, None, 0.8),
        (-0.4, -0.9, -0.5),
        (-2.2, -2.0, -1.0),
    ),
    SimulatedMedication("quetiapine", "atypical antipsychotic", (), (), (-0.1, 0.0, 0.2), (-2.8, 0.0, -3.0)),
    SimulatedMedication("lithium", "mood stabiliser", (), (), (-0.6, -1.5, 0.1), (-1.2, -1.8, -2.8)),
    SimulatedMedication("lamotrigine", "mood stabiliser", (), (), (-0.7, -1.5, 0.0), (-2.2, -2.4, -2.2)),
)
MEDICATION_NAMES: tuple[str, ...] = tuple(m.name for m in MEDICATIONS)


@dataclass(frozen=True)
class PgxCohortConfig:
    """What to simulate. `tdm_fraction` of episodes get a level measured with log-scale SD `tdm_noise_sd`."""

    n_patients: int = 5000
    seed: int = 0
    tdm_fraction: float = 0.5
    tdm_noise_sd: float = 0.3


@dataclass(frozen=True)
class PlantedFoldChange:
    """Exposure of `medication` in `phenotype` carriers of `gene`, relative to normal metabolizers."""

    medication: str
    gene: str
    phenotype: str
    fold_change: float


@dataclass(frozen=True)
class PgxCohort:
    """A simulated cohort: observable `episodes`, aligned `truth` (probabilities, exposure) and the answer key."""

    config: PgxCohortConfig
    episodes: pd.DataFrame
    truth: pd.DataFrame
    fold_changes: tuple[PlantedFoldChange, ...]


def planted_fold_changes() -> tuple[PlantedFoldChange, ...]:
    """Every non-unit fold-change the simulator plants (the answer key for exposure recovery)."""
    return tuple(
        PlantedFoldChange(m.name, gene, phenotype, fc) for m in MEDICATIONS for gene, phenotype, fc in m.fold_changes
    )


def medication(name: str) -> SimulatedMedication:
    """The catalogue entry of `name`; raises TwinEngineError for a drug the simulator does not know."""
    for m in MEDICATIONS:
        if m.name == name:
            return m
    raise TwinEngineError(f"unknown simulated medication {name!r}; choose from {list(MEDICATION_NAMES)}")


def _log_fold_table() -> np.ndarray:
    """(medication, gene, phenotype) array of planted log fold-changes."""
    table = np.zeros((len(MEDICATIONS), len(GENES), len(PHENOTYPES)))
    for i, m in enumerate(MEDICATIONS):
        for gene, phenotype, fc in m.fold_changes:
            table[i, GENES.index(gene), PHENOTYPES.index(phenotype)] = np.log(fc)
    return table


def _codes(values: pd.Series, vocabulary: tuple[str, ...], what: str) -> np.ndarray:
    codes = pd.Categorical(values, categories=list(vocabulary)).codes.astype(np.int64)
    if (codes < 0).any():
        raise TwinEngineError(f"{what} outside the simulator's vocabulary {list(vocabulary)}")
    return codes


def log_exposure(frame: pd.DataFrame) -> np.ndarray:
    """True log exposure fold-change of each row (needs medication and one phenotype column per gene)."""
    drug = _codes(frame[MEDICATION], MEDICATION_NAMES, "medication")
    table = _log_fold_table()
    total = np.zeros(len(frame))
    for g, gene in enumerate(GENES):
        total += table[drug, g, _codes(frame[gene], PHENOTYPES, f"{gene} phenotype")]
    return total


def true_probabilities(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The oracle: each outcome's true probability given the observable covariates of each row."""
    drug = _codes(frame[MEDICATION], MEDICATION_NAMES, "medication")
    dx = _codes(frame[DIAGNOSIS], DIAGNOSES, "diagnosis")
    e = log_exposure(frame)
    names = np.asarray(MEDICATION_NAMES)[drug]
    antidepressant = np.asarray([m.antidepressant for m in MEDICATIONS])[drug]
    age = frame[AGE].to_numpy(float) - 45.0
    pain, insomnia, substance = (frame[c].to_numpy(float) for c in COMORBIDITIES)
    resp = np.asarray([m.response_logit for m in MEDICATIONS])[drug, dx]
    resp = resp + PRIOR_FAILURE_LOGIT * frame[PRIOR_FAILURES].to_numpy(float) - 0.008 * age
    resp = resp + SAME_CLASS_FAILURE_LOGIT * frame[PRIOR_SAME_CLASS_FAILURE].to_numpy(float)
    snri = np.isin(names, ("venlafaxine", "duloxetine"))
    resp = resp + np.where(snri, 0.5, -0.15) * pain - 0.3 * substance
    resp = resp + insomnia * np.where(np.isin(names, ("mirtazapine", "quetiapine")), 0.4, 0.0)
    resp = resp - insomnia * np.where(np.isin(names, ("bupropion", "fluoxetine")), 0.2, 0.0)
    resp = resp + RESPONSE_PER_LOW_EXPOSURE * np.minimum(e, 0.0)
    side = np.asarray([m.side_effect_logit for m in MEDICATIONS])[drug]
    push = e + np.maximum(e, 0.0)  # twice as steep above the normal-metabolizer exposure
    gi = side[:, 0] + 0.3 * frame[FEMALE].to_numpy(float) + SIDE_EFFECT_PER_EXPOSURE[0] * push
    sed = side[:, 1] + 0.015 * age + 0.3 * substance + SIDE_EFFECT_PER_EXPOSURE[1] * push
    switch = (dx == DIAGNOSES.index("bipolar_depression")) & antidepressant  # activation/switch risk
    act = side[:, 2] + 0.6 * insomnia + 0.8 * switch + SIDE_EFFECT_PER_EXPOSURE[2] * push
    logits = (resp, gi, sed, act)
    return {name: 1.0 / (1.0 + np.exp(-z)) for name, z in zip(OUTCOMES, logits, strict=True)}


def _assignment_weights(dx: np.ndarray) -> np.ndarray:
    """(n, medications) prescribing weights: bipolar depression mostly gets antipsychotics/mood stabilisers."""
    antidepressant = np.asarray([m.antidepressant for m in MEDICATIONS])
    bipolar = (dx == DIAGNOSES.index("bipolar_depression"))[:, None]
    weights = np.where(antidepressant[None, :], np.where(bipolar, 0.4, 1.0), np.where(bipolar, 3.0, 0.35))
    return weights / weights.sum(axis=1, keepdims=True)


def _patients(n: int, rng: np.random.Generator) -> pd.DataFrame:
    dx = rng.choice(len(DIAGNOSES), size=n, p=DIAGNOSIS_FREQUENCIES)
    cumulative = _assignment_weights(dx).cumsum(axis=1)
    drug = np.minimum((rng.random(n)[:, None] > cumulative).sum(axis=1), len(MEDICATIONS) - 1)
    failures = np.minimum(rng.poisson(0.9, n), 4)
    frame = pd.DataFrame(
        {
            PATIENT_ID: [f"pgx-{i:06d}" for i in range(n)],
            MEDICATION: np.asarray(MEDICATION_NAMES)[drug],
            DIAGNOSIS: np.asarray(DIAGNOSES)[dx],
            AGE: np.round(rng.uniform(18, 80, n)).astype(np.int64),
            FEMALE: (rng.random(n) < 0.6).astype(np.int64),
            PRIOR_FAILURES: failures,
            PRIOR_SAME_CLASS_FAILURE: ((failures > 0) & (rng.random(n) < 0.5)).astype(np.int64),
            CHRONIC_PAIN: (rng.random(n) < 0.25).astype(np.int64),
            INSOMNIA: (rng.random(n) < 0.35).astype(np.int64),
            SUBSTANCE_USE: (rng.random(n) < 0.15).astype(np.int64),
        }
    )
    for gene in GENES:
        frame[gene] = np.asarray(PHENOTYPES)[rng.choice(len(PHENOTYPES), size=n, p=PHENOTYPE_FREQUENCIES[gene])]
    return frame


def simulate_pgx_cohort(config: PgxCohortConfig) -> PgxCohort:
    """Draw `config.n_patients` episodes (seeded, vectorised: 100,000 episodes take well under a second)."""
    if config.n_patients < 1:
        raise TwinEngineError("n_patients must be at least 1")
    if not 0.0 <= config.tdm_fraction <= 1.0 or config.tdm_noise_sd < 0:
        raise TwinEngineError("tdm_fraction must be in [0, 1] and tdm_noise_sd non-negative")
    rng = np.random.default_rng(config.seed)
    episodes = _patients(config.n_patients, rng)
    probabilities = true_probabilities(episodes)
    for name in OUTCOMES:
        episodes[name] = (rng.random(config.n_patients) < probabilities[name]).astype(np.int64)
    e = log_exposure(episodes)
    measured = rng.random(config.n_patients) < config.tdm_fraction
    noisy = e + rng.normal(0.0, config.tdm_noise_sd, config.n_patients)
    episodes[TDM_LOG_EXPOSURE] = np.where(measured, noisy, np.nan)
    truth = pd.DataFrame({EXPOSURE_FOLD: np.exp(e), **probabilities}, index=episodes.index)
    return PgxCohort(config, episodes, truth, planted_fold_changes())
