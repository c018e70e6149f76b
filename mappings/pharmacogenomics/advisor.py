"""The bridge the server calls: a patient's FHIR record in, pharmacogenomic FHIR resources (or CDS alerts) out.

`PgxAdvisor` loads the CPIC tables and the pinned medication-response model on first use (the server builds one
advisor in its composition root). Everything it returns is a pure function of the record, the query and
`as_of`, so the same inputs give byte-identical resources with the same ids.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mappings.pharmacogenomics import resources as res
from mappings.pharmacogenomics.codes import RXNORM
from mappings.pharmacogenomics.errors import InvalidGenotypeError, UnknownConditionError, UnknownMedicationError
from mappings.pharmacogenomics.genotypes import Genotype, read_genotypes
from mappings.pharmacogenomics.profile import ClinicalContext, clinical_context, diagnosis_of_code
from mappings.pharmacogenomics.risk import Candidate, risk_assessment
from terminology import Terminology, UnknownCode
from twin_engine.errors import PharmacogenomicInputError
from twin_engine.pharmacogenomics import Action, GenePhenotype, PharmacogenomicsEngine
from twin_engine.pharmacogenomics.genotype import canonical_gene
from twin_engine.pharmacogenomics.response import catalogue

if TYPE_CHECKING:  # the response model (xgboost, scipy, pandas) loads on first prediction, not with the server
    from twin_engine.pharmacogenomics.response.comparative import MedicationEstimate
    from twin_engine.pharmacogenomics.response.profile import PatientProfile
    from twin_engine.pharmacogenomics.response.training import ResponseBundle

ACTIONABLE = frozenset(
    {Action.CONSIDER_ALTERNATIVE, Action.REDUCED_DOSING, Action.INCREASED_DOSING, Action.CAREFUL_MONITORING}
)


@dataclass(frozen=True, slots=True)
class PatientRecord:
    """The FHIR resources of one patient the advice reads (already filtered to what the caller may see)."""

    patient: Mapping[str, Any]
    observations: Sequence[Mapping[str, Any]] = ()
    conditions: Sequence[Mapping[str, Any]] = ()
    medications: Sequence[Mapping[str, Any]] = ()

    @property
    def patient_id(self) -> str:
        return str(self.patient["id"])


@dataclass(frozen=True, slots=True)
class RecommendationQuery:
    """`$medication-recommendations` parameters: candidate drugs (names or RxNorm codes) and filters."""

    medications: tuple[str, ...] = ()
    condition: str | None = None
    min_efficacy: float | None = None
    max_side_effect_risk: float | None = None


@dataclass(frozen=True, slots=True)
class Recommendations:
    """What one run produced: `stored` is everything to persist, `returned` the ids the query asked for."""

    device: dict[str, Any]
    knowledge: tuple[dict[str, Any], ...]
    phenotypes: tuple[dict[str, Any], ...]
    risk_assessments: tuple[dict[str, Any], ...]
    returned: tuple[str, ...] = field(default=())

    @property
    def stored(self) -> tuple[dict[str, Any], ...]:
        return (self.device, *self.knowledge, *self.phenotypes, *self.risk_assessments)


@dataclass(frozen=True, slots=True)
class Alternative:
    drug: str
    coding: dict[str, str] | None
    response_probability: float | None


@dataclass(frozen=True, slots=True)
class DrugAlert:
    """An actionable CPIC recommendation for a drug being ordered (what a CDS card says)."""

    drug: str
    coding: dict[str, str] | None
    recommendation_id: str
    classification: str | None
    action: Action
    text: str
    implications: str
    phenotypes: tuple[GenePhenotype, ...]
    guideline_name: str
    guideline_url: str
    alternatives: tuple[Alternative, ...]
    dose_reduction_percent: int | None
    reduce_dose: bool
    basis: tuple[str, ...]


_REDUCTION = re.compile(r"(\d{1,3})\s*%\s*reduction")
_REDUCE_WORDS = ("reduction", "lower starting dose", "lower maintenance dose", "% lower", "50% of starting dose")


class PgxAdvisor:
    """CPIC guidance + response model over FHIR, for one canonical base and terminology."""

    def __init__(
        self,
        terminology: Terminology,
        canonical_base: str,
        *,
        models_dir: Path | None = None,
        model_version: str | None = None,
    ) -> None:
        self.terminology = terminology
        self.base = canonical_base.rstrip("/")
        self._models_dir = models_dir
        self._model_version = model_version

    @cached_property
    def engine(self) -> PharmacogenomicsEngine:
        return PharmacogenomicsEngine.load()

    @cached_property
    def response(self) -> ResponseBundle:
        from twin_engine.pharmacogenomics.response.training import load_bundle

        return load_bundle(self._models_dir, self._model_version)

    @cached_property
    def drugs(self) -> tuple[str, ...]:
        """Every drug we can say something about: CPIC's and the response model's, sorted."""
        return tuple(sorted(set(self.engine.recommender.drugs) | set(catalogue.NAMES)))

    @cached_property
    def device(self) -> dict[str, Any]:
        return res.device(self.engine.tables.data_version, self.response.version, self.response.content_hash)

    # ---- names ------------------------------------------------------------------------------------------

    def drug_of(self, concept: Mapping[str, Any] | None) -> str | None:
        """The drug a CodeableConcept names: an RxNorm ingredient code of our subset, else a drug name in its text."""
        if not concept:
            return None
        texts = [str(concept.get("text") or "")]
        for coding in concept.get("coding", []):
            if coding.get("system") == RXNORM and coding.get("code"):
                with contextlib.suppress(UnknownCode):
                    texts.insert(0, self.terminology.concept(RXNORM, str(coding["code"])).display)
            texts.append(str(coding.get("display") or ""))
        for text in texts:
            words = set(re.findall(r"[a-z]+", text.casefold()))
            found = [d for d in self.drugs if d in words or d == text.casefold().strip()]
            if found:
                return found[0]
        return None

    def resolve(self, requested: str) -> str:
        """A `medication` parameter (name or RxNorm code) as a drug name; `UnknownMedicationError` otherwise."""
        code = requested.split("|")[-1].strip()
        drug = self.drug_of({"coding": [{"system": RXNORM, "code": code}], "text": requested})
        if drug is None:
            raise UnknownMedicationError(
                f"medication {requested!r} is not one CPIC's tables or the response model know: {', '.join(self.drugs)}"
            )
        return drug

    # ---- catalogue --------------------------------------------------------------------------------------

    def knowledge(self, drug: str) -> dict[str, Any]:
        rows = [r for r in self.engine.tables.recommendations if r.drug == drug]
        drug_class = catalogue.info(drug).drug_class if drug in catalogue.NAMES else None
        return res.medication_knowledge(self.terminology, drug, rows, drug_class)

    def catalogue(self) -> tuple[dict[str, Any], ...]:
        """MedicationKnowledge for every known drug."""
        return tuple(self.knowledge(d) for d in self.drugs)

    # ---- per patient ------------------------------------------------------------------------------------

    def _phenotypes(self, genotypes: Sequence[Genotype]) -> dict[str, tuple[GenePhenotype, Genotype]]:
        known = self.engine.phenotyper.genes
        out: dict[str, tuple[GenePhenotype, Genotype]] = {}
        for g in genotypes:
            gene = canonical_gene(g.gene, known)
            if gene is None:
                continue  # a gene CPIC's tables here do not key any recommendation on
            try:
                out[gene] = (self.engine.phenotyper.phenotype(gene, g.diplotype), g)
            except PharmacogenomicInputError as exc:
                raise InvalidGenotypeError(f"{g.reference or gene}: {exc}") from exc
        return out

    def _profile(self, context: ClinicalContext, phenotypes: Mapping[str, GenePhenotype]) -> PatientProfile | None:
        if context.diagnosis is None or context.age is None:
            return None
        from twin_engine.pharmacogenomics.response.profile import PatientProfile

        return PatientProfile(
            diagnosis=context.diagnosis,
            age=context.age,
            female=context.female,
            phenotypes={g: p.phenotype for g, p in phenotypes.items() if g in ("CYP2D6", "CYP2C19", "CYP2B6")},
            comorbidities=context.comorbidities,
            failed_medications=context.failed_medications,
        )

    def _estimates(self, profile: PatientProfile | None, drugs: Sequence[str]) -> dict[str, MedicationEstimate]:
        from twin_engine.pharmacogenomics.response.comparative import estimate_medications

        known = tuple(d for d in drugs if d in catalogue.NAMES)
        if profile is None or not known:
            return {}
        return {e.medication: e for e in estimate_medications(self.response.model, profile, known)}

    def _candidates(self, query: RecommendationQuery, phenotypes: Mapping[str, GenePhenotype]) -> tuple[str, ...]:
        if query.medications:
            return tuple(dict.fromkeys(self.resolve(m) for m in query.medications))
        actionable: set[str] = set()
        for drug in self.engine.recommender.drugs:
            guidance = self.engine.recommender.recommend(drug, phenotypes)
            if guidance.has_guidance and any(r.action in ACTIONABLE for r in guidance.recommendations):
                actionable.add(drug)
        return tuple(sorted(set(catalogue.NAMES) | actionable))

    def recommendations(self, record: PatientRecord, query: RecommendationQuery, as_of: date) -> Recommendations:
        """Phenotype Observations, MedicationKnowledge and one RiskAssessment per candidate, ordered by balance."""
        genotypes = read_genotypes(record.observations, self.terminology)
        found = self._phenotypes(genotypes)
        phenotypes = {g: p for g, (p, _) in found.items()}
        context = clinical_context(record.patient, record.conditions, record.medications, as_of)
        if query.condition is not None:
            system, _, code = query.condition.rpartition("|")
            diagnosis = diagnosis_of_code(system or None, code) or diagnosis_of_code(None, code)
            if diagnosis is None:
                raise UnknownConditionError(
                    f"condition {query.condition!r} maps to none of MDD (ICD-10-CM F32/F33), GAD (F41.1), "
                    "bipolar depression (F31.3-F31.5)"
                )
            context = _with_diagnosis(context, diagnosis)
        drugs = self._candidates(query, phenotypes)
        estimates = self._estimates(self._profile(context, phenotypes), drugs)
        device_id = self.device["id"]
        version = self.engine.tables.data_version
        phenotype_obs = tuple(
            res.phenotype_observation(self.terminology, record.patient_id, p, g, device_id, version)
            for p, g in (found[k] for k in sorted(found))
            if p.tested
        )
        basis = [g.reference for g in genotypes if g.reference] + [f"Observation/{o['id']}" for o in phenotype_obs]
        basis += [*context.condition_refs, *context.medication_refs]
        method = f"CPIC tables {version}; medication-response model {self.response.version}"
        knowledge, risks = [], []
        for drug in drugs:
            guidance = self.engine.recommender.recommend(drug, phenotypes)
            entry = self.knowledge(drug)
            knowledge.append(entry)
            candidate = Candidate(drug, guidance, estimates.get(drug), entry["id"])
            built = risk_assessment(self.base, record.patient_id, candidate, basis, device_id, method)
            risks.append((candidate, built))
        risks.sort(key=lambda cr: _rank(cr[0]))
        returned = tuple(r["id"] for c, r in risks if _passes(c.estimate, query))
        return Recommendations(self.device, tuple(knowledge), phenotype_obs, tuple(r for _, r in risks), returned)

    # ---- CDS --------------------------------------------------------------------------------------------

    def alerts(self, record: PatientRecord, drug: str, as_of: date) -> tuple[DrugAlert, ...]:
        """Actionable CPIC recommendations for ordering `drug` for this patient (none: nothing to say)."""
        genotypes = read_genotypes(record.observations, self.terminology)
        found = self._phenotypes(genotypes)
        phenotypes = {g: p for g, (p, _) in found.items()}
        guidance = self.engine.recommender.recommend(drug, phenotypes)
        rows = [r for r in guidance.recommendations if r.action in ACTIONABLE]
        if not rows:
            return ()
        refs = tuple(g.reference for g in genotypes if g.reference)
        context = clinical_context(record.patient, record.conditions, record.medications, as_of)
        out = []
        for rec in rows:
            avoid = {g for g, p in rec.phenotypes if p not in ("Normal Metabolizer", "No Result")}
            wants_alternative = rec.action is Action.CONSIDER_ALTERNATIVE or rec.alternate_drug_available
            alternatives = self._alternatives(drug, avoid, phenotypes, context) if wants_alternative else ()
            folded = " ".join(rec.text.casefold().split())
            match = _REDUCTION.search(folded)
            out.append(
                DrugAlert(
                    drug=drug,
                    coding=res.rxnorm_coding(self.terminology, drug),
                    recommendation_id=rec.recommendation_id,
                    classification=rec.classification,
                    action=rec.action,
                    text=" ".join(rec.text.split()),
                    implications=" ".join(rec.implications.split()),
                    phenotypes=guidance.phenotypes,
                    guideline_name=rec.guideline.name,
                    guideline_url=rec.guideline.url,
                    alternatives=alternatives,
                    dose_reduction_percent=int(match.group(1)) if match else None,
                    reduce_dose=any(w in folded for w in _REDUCE_WORDS),
                    basis=refs,
                )
            )
        return tuple(out)

    def _alternatives(
        self, drug: str, avoid: set[str], phenotypes: Mapping[str, GenePhenotype], context: ClinicalContext
    ) -> tuple[Alternative, ...]:
        """Antidepressants of the model's catalogue not cleared by an affected gene and without actionable CPIC
        guidance for this patient, best predicted response first (catalogue order without a profile)."""
        if not _antidepressant(self.terminology, drug):
            return ()
        pool = []
        for info in catalogue.CATALOGUE:
            if info.name == drug or not info.antidepressant or avoid & set(info.genes):
                continue
            guidance = self.engine.recommender.recommend(info.name, phenotypes)
            if any(r.action in ACTIONABLE for r in guidance.recommendations):
                continue
            pool.append(info.name)
        estimates = self._estimates(self._profile(context, phenotypes), pool)
        ranked = sorted(pool, key=lambda d: -(estimates[d].response_probability if d in estimates else 0.0))
        return tuple(
            Alternative(
                d, res.rxnorm_coding(self.terminology, d), estimates[d].response_probability if d in estimates else None
            )
            for d in ranked[:2]
        )


def _antidepressant(terminology: Terminology, drug: str) -> bool:
    if drug in catalogue.NAMES:
        return catalogue.info(drug).antidepressant
    coding = res.rxnorm_coding(terminology, drug)
    if coding is None:
        return False
    drug_class = str(terminology.concept(RXNORM, coding["code"]).property("drug-class") or "")
    return any(k in drug_class for k in ("SSRI", "SNRI", "TCA", "antidepressant"))


def _with_diagnosis(context: ClinicalContext, diagnosis: str) -> ClinicalContext:
    return replace(context, diagnosis=diagnosis)


def _rank(candidate: Candidate) -> tuple[bool, float, str]:
    """Optimal balance first (the comparative analysis' order); candidates without an estimate last, by name."""
    estimate = candidate.estimate
    return estimate is None, -(estimate.balance if estimate else 0.0), candidate.drug


def _passes(estimate: MedicationEstimate | None, query: RecommendationQuery) -> bool:
    if query.min_efficacy is None and query.max_side_effect_risk is None:
        return True
    if estimate is None:
        return False  # without an estimate the filter cannot be shown to hold
    if query.min_efficacy is not None and estimate.response_probability < query.min_efficacy:
        return False
    return query.max_side_effect_risk is None or estimate.max_side_effect_risk <= query.max_side_effect_risk
