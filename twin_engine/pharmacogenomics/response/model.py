"""`MedicationResponseModel`: one calibrated XGBoost classifier per outcome (response and three side effects).

With `genotype=False` the same class is the genotype-blind baseline. Episodes are split by patient into
train (boosting), validation (early stopping) and calibration (Platt) parts, so the calibrator never sees
an episode the trees were fitted on. Boosters are stored as gzipped XGBoost JSON (portable, not pickle).
"""

from __future__ import annotations

import gzip
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xgboost as xgb

from twin_engine.errors import InsufficientDataError, ModelArtifactError, NotFittedError
from twin_engine.pharmacogenomics.response.calibration import PlattCalibrator
from twin_engine.pharmacogenomics.response.features import feature_names, features
from twin_engine.simulate.pgx_cohort import GENES, OUTCOMES

MIN_EPISODES = 200


@dataclass(frozen=True)
class ResponseModelConfig:
    """Training knobs; the defaults train the shipped model, tiny values keep unit tests fast."""

    genotype: bool = True
    n_estimators: int = 800
    max_depth: int = 3
    learning_rate: float = 0.1
    min_child_weight: float = 30.0
    # No row/column subsampling: model and baseline then differ only by the phenotype columns, not by which
    # random columns each tree saw (that noise was as large as the genotype signal in the response outcome).
    subsample: float = 1.0
    colsample_bytree: float = 1.0
    # Exposure-direction prior: more metabolic activity never raises exposure, so the drug-gene phenotype may
    # only lower (or keep) the predicted response and side-effect risks. True for the catalogue, which holds no
    # prodrug (codeine/tramadol/clopidogrel would need the opposite sign).
    monotone_drug_gene: bool = True
    seed: int = 0
    # One thread: on the shared 2-vCPU VM two XGBoost threads were ~10x slower than one (they spin while the
    # other core is busy), and these small trees gain little from parallelism anyway.
    threads: int = 1
    # Share of training phenotypes hidden (set to NaN) so the trees learn where an untested gene goes.
    missing_phenotype_fraction: float = 0.03
    valid_fraction: float = 0.2
    calibration_fraction: float = 0.2


class _OutcomeModel:
    """Booster + Platt calibrator for one binary outcome."""

    def __init__(self, booster: xgb.Booster, calibrator: PlattCalibrator) -> None:
        self.booster = booster
        self.calibrator = calibrator

    def raw(self, x: np.ndarray) -> np.ndarray:
        best = self.booster.best_iteration
        return np.asarray(self.booster.inplace_predict(x, iteration_range=(0, best + 1)), dtype=float)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.calibrator.apply(self.raw(x))


def _split(n: int, config: ResponseModelConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    order = np.random.default_rng(config.seed).permutation(n)
    n_valid, n_cal = int(config.valid_fraction * n), int(config.calibration_fraction * n)
    n_train = n - n_valid - n_cal
    return order[:n_train], order[n_train : n_train + n_valid], order[n_train + n_valid :]


class MedicationResponseModel:
    """Calibrated probabilities of response and each side effect for (patient, medication) rows."""

    def __init__(self, config: ResponseModelConfig) -> None:
        self.config = config
        self.outcomes: dict[str, _OutcomeModel] = {}

    def _params(self) -> dict[str, object]:
        c = self.config
        return {
            "objective": "binary:logistic",
            "eval_metric": "logloss",
            "tree_method": "hist",
            "max_depth": c.max_depth,
            "learning_rate": c.learning_rate,
            "min_child_weight": c.min_child_weight,
            "subsample": c.subsample,
            "colsample_bytree": c.colsample_bytree,
            "seed": c.seed,
            "nthread": c.threads,
            "monotone_constraints": self._monotone(),
        }

    def _monotone(self) -> str:
        signs = [-1 if n.startswith("drug_gene_") and self.config.monotone_drug_gene else 0 for n in self._names()]
        return "(" + ",".join(map(str, signs)) + ")"

    def _names(self) -> tuple[str, ...]:
        return feature_names(self.config.genotype)

    def fit(self, episodes: pd.DataFrame) -> MedicationResponseModel:
        """Fit every outcome on one episode per patient (rows are patients; splits are patient-disjoint)."""
        if len(episodes) < MIN_EPISODES:
            raise InsufficientDataError(f"need at least {MIN_EPISODES} episodes, got {len(episodes)}")
        if self.config.genotype and self.config.missing_phenotype_fraction > 0:
            episodes = self._hide_phenotypes(episodes)
        x = features(episodes, self.config.genotype)
        train, valid, cal = _split(len(episodes), self.config)
        for outcome in OUTCOMES:
            y = episodes[outcome].to_numpy(float)
            booster = xgb.train(
                self._params(),
                xgb.DMatrix(x[train], label=y[train]),
                num_boost_round=self.config.n_estimators,
                evals=[(xgb.DMatrix(x[valid], label=y[valid]), "valid")],
                early_stopping_rounds=40,
                verbose_eval=False,
            )
            model = _OutcomeModel(booster, PlattCalibrator())
            model.calibrator.fit(model.raw(x[cal]), y[cal])
            self.outcomes[outcome] = model
        return self

    def _hide_phenotypes(self, episodes: pd.DataFrame) -> pd.DataFrame:
        """Copy of `episodes` with a random share of each gene's phenotypes set to unknown."""
        rng = np.random.default_rng(self.config.seed + 1)
        hidden = episodes.copy()
        for gene in GENES:
            mask = rng.random(len(hidden)) < self.config.missing_phenotype_fraction
            hidden[gene] = hidden[gene].where(~mask, None)
        return hidden

    def _check(self) -> None:
        if set(self.outcomes) != set(OUTCOMES):
            raise NotFittedError("MedicationResponseModel used before fit/load")

    def predict(self, episodes: pd.DataFrame) -> dict[str, np.ndarray]:
        """Calibrated probability per outcome for each row."""
        self._check()
        x = features(episodes, self.config.genotype)
        return {name: m.predict(x) for name, m in self.outcomes.items()}

    def predict_raw(self, episodes: pd.DataFrame) -> dict[str, np.ndarray]:
        """Uncalibrated booster probabilities (to measure what calibration changed)."""
        self._check()
        x = features(episodes, self.config.genotype)
        return {name: m.raw(x) for name, m in self.outcomes.items()}

    def save(self, directory: Path) -> dict[str, object]:
        """Write one booster per outcome under `directory`; return the manifest config."""
        self._check()
        directory.mkdir(parents=True, exist_ok=True)
        state: dict[str, object] = {
            "config": asdict(self.config),
            "features": list(feature_names(self.config.genotype)),
        }
        outcomes: dict[str, object] = {}
        for name, m in self.outcomes.items():
            raw = bytes(m.booster.save_raw(raw_format="json"))
            (directory / f"{name}.json.gz").write_bytes(gzip.compress(raw, mtime=0))
            outcomes[name] = {"best_iteration": m.booster.best_iteration, "calibrator": m.calibrator.state()}
        state["outcomes"] = outcomes
        return state

    @classmethod
    def load(cls, directory: Path, state: dict[str, object]) -> MedicationResponseModel:
        """Rebuild from `save` output; raises ModelArtifactError on missing or malformed pieces."""
        try:
            model = cls(ResponseModelConfig(**state["config"]))  # type: ignore[arg-type]
            if list(feature_names(model.config.genotype)) != state["features"]:
                raise ModelArtifactError("artifact was trained on a different feature set; retrain it")
            outcomes: dict[str, dict[str, object]] = state["outcomes"]  # type: ignore[assignment]
            for name in OUTCOMES:
                booster = xgb.Booster()
                booster.load_model(bytearray(gzip.decompress((directory / f"{name}.json.gz").read_bytes())))
                booster.set_param({"nthread": 1})
                booster.set_attr(best_iteration=str(outcomes[name]["best_iteration"]))
                calibrator = PlattCalibrator.from_state(outcomes[name]["calibrator"])  # type: ignore[arg-type]
                model.outcomes[name] = _OutcomeModel(booster, calibrator)
        except (KeyError, TypeError, ValueError, OSError, EOFError, xgb.core.XGBoostError) as exc:
            raise ModelArtifactError(f"medication response model state is incomplete or malformed: {exc!r}") from exc
        return model
