"""The shipped tables (terminology/data/*.csv) read into code systems, value sets and a concept map.

Verification policy (see data/README.md): rows marked `UNVERIFIED` are left out unless asked for; every other
row is shipped as it is and carries its evidence level in a `verification` property, so `secondary` and
`secondary-single` codes are visibly marked wherever the concept is looked up or published.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib import resources

from terminology import notices
from terminology.model import (
    CodeSystem,
    Concept,
    ConceptMap,
    Designation,
    Equivalence,
    HealthKitMapping,
    MapElement,
    PropertyDefinition,
    PropertyType,
    PropertyValue,
    ValueSet,
    ValueSetMember,
)

# Bump whenever a table changes: it is the `version` of every artefact we publish from them.
CONTENT_VERSION = "2026.11.2"
DEFAULT_CANONICAL_BASE = "http://novamind.example.org/fhir"
PUBLISHER = "NovaMind Twin"

LOINC = "http://loinc.org"
SNOMED_CT = "http://snomed.info/sct"
ICD_10_CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
HGNC = "http://www.genenames.org"
HEALTHKIT = "http://developer.apple.com/documentation/healthkit"
TWIN_CONCEPTS_PATH = "CodeSystem/twin-concepts"

UNVERIFIED = "UNVERIFIED"
_VERIFICATION_CODES = {
    "verified": "verified",
    "verified (CMS data only)": "verified-cms-only",
    "secondary": "secondary",
    "secondary-single": "secondary-single",
    UNVERIFIED: "unverified",
}
_VERIFICATION = PropertyDefinition(
    "verification",
    PropertyType.CODE,
    "Evidence for the code and display: verified | verified-cms-only (CMS data only) | secondary (two or more "
    "implementer sources agree: confirm at the authority before production) | secondary-single (one secondary "
    "source: provisional) | unverified (never shipped by default).",
)


@dataclass(frozen=True, slots=True)
class Content:
    code_systems: tuple[CodeSystem, ...]
    value_sets: tuple[ValueSet, ...]
    concept_maps: tuple[ConceptMap, ...]
    healthkit: tuple[HealthKitMapping, ...]


def read_table(name: str) -> list[dict[str, str]]:
    """One shipped CSV as rows of column -> text (stripped); files are read from the installed package."""
    text = resources.files("terminology").joinpath("data", name).read_text(encoding="utf-8")
    return [{k: (v or "").strip() for k, v in row.items()} for row in csv.DictReader(io.StringIO(text))]


def load_content(canonical_base: str, *, include_unverified: bool = False) -> Content:
    base = canonical_base.rstrip("/")
    loinc = _loinc(include_unverified)
    snomed = _snomed(include_unverified)
    icd = _icd10cm(include_unverified)
    rxnorm = _rxnorm(include_unverified)
    twin = _twin_concepts(base)
    systems = (loinc, snomed, icd, rxnorm, _ucum(), _hgnc(), twin)
    return Content(
        code_systems=systems,
        value_sets=_value_sets(base, loinc, snomed, icd, rxnorm, twin),
        concept_maps=(_icd_to_snomed(base, icd, snomed),),
        healthkit=tuple(_healthkit(loinc)),
    )


# ---- code systems ----------------------------------------------------------------------------------------


def _kept(rows: Iterable[dict[str, str]], include_unverified: bool) -> Iterator[dict[str, str]]:
    for row in rows:
        if row.get("verification") == UNVERIFIED and not include_unverified:
            continue
        yield row


def _verification(row: dict[str, str]) -> tuple[tuple[str, PropertyValue], ...]:
    level = row.get("verification")
    if not level:
        return ()
    if level not in _VERIFICATION_CODES:
        raise ValueError(f"unknown verification level {level!r} in the terminology tables")
    return (("verification", _VERIFICATION_CODES[level]),)


def _props(row: dict[str, str], columns: dict[str, str]) -> tuple[tuple[str, PropertyValue], ...]:
    """(property code, value) for each non-empty column in `columns` (column -> property code)."""
    return tuple((prop, row[col]) for col, prop in columns.items() if row.get(col))


def _loinc(include_unverified: bool) -> CodeSystem:
    concepts: dict[str, Concept] = {}
    for row in _kept(read_table("loinc.csv"), include_unverified):
        props = _props(
            row,
            {
                "instrument_or_domain": "instrument",
                "role": "role",
                "observation_category": "observation-category",
                "ucum_unit": "ucum-unit",
                "value_type": "value-type",
            },
        )
        concepts[row["code"]] = Concept(row["code"], row["display"], properties=props + _verification(row))
    for row in _kept(read_table("loinc-answers.csv"), include_unverified):
        score: tuple[tuple[str, PropertyValue], ...] = (("score", int(row["score"])),) if row["score"] else ()
        designations = (Designation(row["cpic_term"], "en", "CPIC term"),) if row["cpic_term"] else ()
        concepts[row["code"]] = Concept(
            row["code"],
            row["display"],
            properties=(*_props(row, {"answer_list": "answer-list"}), *score, *_verification(row)),
            designations=designations,
        )
    return CodeSystem(
        id="loinc",
        url=LOINC,
        version=CONTENT_VERSION,
        name="LOINCSubset",
        title="LOINC (NovaMind Twin subset)",
        description="The LOINC codes and answer codes the twin uses: PHQ-9, PHQ-2, PHQ-A, GAD-7, C-SSRS screener, "
        "FHIR R4 vital signs, wearable measures and pharmacogenomics. A fragment of LOINC, not all of it.",
        copyright=notices.LOINC + " " + notices.INSTRUMENTS,
        content="fragment",
        publisher=PUBLISHER,
        properties=(
            PropertyDefinition("instrument", PropertyType.STRING, "Instrument or domain the code belongs to."),
            PropertyDefinition("role", PropertyType.STRING, "What the code is used for within its instrument."),
            PropertyDefinition("observation-category", PropertyType.CODE, "Observation.category to use."),
            PropertyDefinition("ucum-unit", PropertyType.STRING, "Expected UCUM unit of a quantity value."),
            PropertyDefinition("value-type", PropertyType.STRING, "Expected type of the Observation value."),
            PropertyDefinition("answer-list", PropertyType.STRING, "The LOINC answer list (LL) the answer is in."),
            PropertyDefinition("score", PropertyType.INTEGER, "Ordinal value (score) of the answer."),
            _VERIFICATION,
        ),
        concepts=concepts,
    )


def _snomed(include_unverified: bool) -> CodeSystem:
    concepts = {
        row["code"]: Concept(
            row["code"],
            row["display"],
            properties=_props(row, {"semantic_tag": "semantic-tag", "domain": "domain"}) + _verification(row),
        )
        for row in _kept(read_table("snomed.csv"), include_unverified)
    }
    return CodeSystem(
        id="snomed-ct",
        url=SNOMED_CT,
        version=CONTENT_VERSION,
        name="SNOMEDCTSubset",
        title="SNOMED CT (NovaMind Twin subset)",
        description="SNOMED CT psychiatric disorders, findings and screening procedures the twin uses. A fragment "
        "of SNOMED CT without its hierarchy: subsumption is not offered for it.",
        copyright=notices.SNOMED_CT,
        content="fragment",
        publisher=PUBLISHER,
        properties=(
            PropertyDefinition("semantic-tag", PropertyType.STRING, "Semantic tag of the concept."),
            PropertyDefinition("domain", PropertyType.STRING, "Clinical domain, for building value sets."),
            _VERIFICATION,
        ),
        concepts=concepts,
    )


def _icd_parent(code: str, known: set[str]) -> str | None:
    """ICD-10-CM is a classification by prefix: the nearest shorter code we hold is the parent."""
    stem = code
    while len(stem) > 3:
        stem = stem[:-1].rstrip(".")
        if stem in known:
            return stem
    return None


def _icd10cm(include_unverified: bool) -> CodeSystem:
    rows = list(_kept(read_table("icd10cm.csv"), include_unverified))
    known = {row["code"] for row in rows}
    concepts = {
        row["code"]: Concept(
            row["code"],
            row["display"],
            parent=_icd_parent(row["code"], known),
            properties=(
                ("billable", row["billable"] == "yes"),
                *_props(row, {"chapter_block": "block"}),
                *_verification(row),
            ),
        )
        for row in rows
    }
    return CodeSystem(
        id="icd-10-cm",
        url=ICD_10_CM,
        version=CONTENT_VERSION,
        name="ICD10CMSubset",
        title="ICD-10-CM (NovaMind Twin subset)",
        description="ICD-10-CM categories and codes for the psychiatric conditions the twin uses, with their "
        "hierarchy (a category subsumes its subcategories and codes). A fragment of ICD-10-CM.",
        copyright=notices.ICD_10_CM,
        content="fragment",
        publisher=PUBLISHER,
        properties=(
            PropertyDefinition("billable", PropertyType.BOOLEAN, "Whether the code is valid for billing."),
            PropertyDefinition("block", PropertyType.STRING, "The chapter block the code is in."),
            _VERIFICATION,
        ),
        concepts=concepts,
        hierarchical=True,
    )


def _rxnorm(include_unverified: bool) -> CodeSystem:
    concepts = {
        row["code"]: Concept(
            row["code"],
            row["display"],
            properties=_props(
                row,
                {
                    "drug_class": "drug-class",
                    "atc_code": "atc",
                    "cpic_guideline": "cpic-guideline",
                    "pharmgkb_id": "pharmgkb",
                    "drugbank_id": "drugbank",
                },
            )
            + _verification(row),
        )
        for row in _kept(read_table("rxnorm.csv"), include_unverified)
    }
    return CodeSystem(
        id="rxnorm",
        url=RXNORM,
        version=CONTENT_VERSION,
        name="RxNormSubset",
        title="RxNorm (NovaMind Twin subset)",
        description="RxNorm ingredients of the psychiatric medications the twin reasons about, with drug class, "
        "ATC code and CPIC guideline. A fragment of RxNorm.",
        copyright=notices.RXNORM,
        content="fragment",
        publisher=PUBLISHER,
        properties=(
            PropertyDefinition("drug-class", PropertyType.STRING, "Pharmacological class."),
            PropertyDefinition("atc", PropertyType.STRING, "WHO ATC code."),
            PropertyDefinition("cpic-guideline", PropertyType.STRING, "CPIC guideline covering the drug."),
            PropertyDefinition("pharmgkb", PropertyType.STRING, "PharmGKB identifier."),
            PropertyDefinition("drugbank", PropertyType.STRING, "DrugBank identifier."),
            _VERIFICATION,
        ),
        concepts=concepts,
    )


def _ucum() -> CodeSystem:
    concepts = {
        row["code"]: Concept(
            row["code"],
            row["display"],
            properties=(
                ("common-unit", row["in_ucum_common_units_table"] == "yes"),
                *_props(row, {"used_for": "used-for"}),
            ),
        )
        for row in read_table("ucum.csv")
    }
    return CodeSystem(
        id="ucum",
        url=UCUM,
        version=CONTENT_VERSION,
        name="UCUMSubset",
        title="UCUM units (NovaMind Twin subset)",
        description="The UCUM units the twin's measures use, each checked against the UCUM grammar. UCUM is a "
        "grammar with infinitely many codes; this is the enumerated subset the server knows by name.",
        copyright=notices.UCUM,
        content="fragment",
        publisher=PUBLISHER,
        properties=(
            PropertyDefinition("common-unit", PropertyType.BOOLEAN, "Listed in the UCUM common-units table."),
            PropertyDefinition("used-for", PropertyType.STRING, "Which measures use the unit."),
        ),
        concepts=concepts,
    )


def _hgnc() -> CodeSystem:
    concepts = {
        row["code"]: Concept(
            row["code"],
            row["display"],
            properties=_props(row, {"ncbi_gene_id": "ncbi-gene", "refseq_gene": "refseq"}),
        )
        for row in read_table("pgx-genes.csv")
    }
    return CodeSystem(
        id="hgnc",
        url=HGNC,
        version=CONTENT_VERSION,
        name="HGNCSubset",
        title="HGNC pharmacogenes (NovaMind Twin subset)",
        description="HGNC identifiers of the pharmacogenes used by the CPIC antidepressant and atomoxetine guidelines.",
        copyright=notices.HGNC,
        content="fragment",
        publisher=PUBLISHER,
        properties=(
            PropertyDefinition("ncbi-gene", PropertyType.STRING, "NCBI Gene identifier."),
            PropertyDefinition("refseq", PropertyType.STRING, "RefSeq gene reference sequence."),
        ),
        concepts=concepts,
    )


def _twin_concepts(base: str) -> CodeSystem:
    concepts = {
        row["code"]: Concept(
            row["code"],
            row["display"],
            definition=row["definition"] or None,
            parent=row["parent"] or None,
            abstract=row["abstract"] == "true",
            properties=(("notSelectable", True),) if row["abstract"] == "true" else (),
        )
        for row in read_table("twin-concepts.csv")
    }
    return CodeSystem(
        id="twin-concepts",
        url=f"{base}/{TWIN_CONCEPTS_PATH}",
        version=CONTENT_VERSION,
        name="NovaMindTwinConcepts",
        title="NovaMind Twin concepts",
        description="Codes for what the twin's results hold (forecast components, correlation components, "
        "insight types) and for the self-rated symptoms it reads. Each group is an abstract concept whose children "
        "are the codes to use.",
        copyright=notices.NOVAMIND,
        content="complete",
        publisher=PUBLISHER,
        properties=(
            PropertyDefinition(
                "notSelectable", PropertyType.BOOLEAN, "A grouping concept: use one of its children as the code."
            ),
        ),
        concepts=concepts,
        hierarchical=True,
    )


# ---- value sets ------------------------------------------------------------------------------------------

PSYCHIATRIC_ICD_BLOCKS = ("F", "G40-G47")  # mental and behavioural disorders, and the sleep disorders


def _value_set(
    base: str,
    vs_id: str,
    name: str,
    title: str,
    description: str,
    copyright: str,
    members: Iterable[ValueSetMember],
) -> ValueSet:
    return ValueSet(
        id=vs_id,
        url=f"{base}/ValueSet/{vs_id}",
        version=CONTENT_VERSION,
        name=name,
        title=title,
        description=description,
        copyright=copyright,
        publisher=PUBLISHER,
        members=tuple(members),
    )


def _value_sets(
    base: str, loinc: CodeSystem, snomed: CodeSystem, icd: CodeSystem, rxnorm: CodeSystem, twin: CodeSystem
) -> tuple[ValueSet, ...]:
    def answers(answer_list: str) -> list[ValueSetMember]:
        members = []
        for c in loinc.concepts.values():
            if c.property("answer-list") == answer_list:
                score = c.property("score")
                members.append(ValueSetMember(LOINC, c.code, score if isinstance(score, int) else None))
        return members

    conditions = [
        ValueSetMember(SNOMED_CT, c.code) for c in snomed.concepts.values() if c.property("semantic-tag") == "disorder"
    ] + [
        ValueSetMember(ICD_10_CM, c.code)
        for c in icd.concepts.values()
        if str(c.property("block") or "").startswith(PSYCHIATRIC_ICD_BLOCKS)
    ]
    wearables = [
        ValueSetMember(LOINC, c.code)
        for c in loinc.concepts.values()
        if c.property("instrument") in ("wearable", "vital-signs")
    ]
    return (
        _value_set(
            base,
            "psychiatric-conditions",
            "PsychiatricConditions",
            "Psychiatric conditions",
            "Psychiatric disorders as SNOMED CT disorders and ICD-10-CM mental, behavioural and sleep disorder codes.",
            f"{notices.SNOMED_CT} {notices.ICD_10_CM}",
            conditions,
        ),
        _value_set(
            base,
            "phq-gad-answers",
            "PHQGADAnswers",
            "PHQ-9, PHQ-2 and GAD-7 answers",
            "The LOINC answer list LL358-3 (Not at all ... Nearly every day) with each answer's score (0-3).",
            f"{notices.LOINC} {notices.INSTRUMENTS}",
            answers("LL358-3"),
        ),
        _value_set(
            base,
            "phq9-difficulty-answers",
            "PHQ9DifficultyAnswers",
            "PHQ-9 difficulty answers",
            "The LOINC answer list LL359-1 for the PHQ-9 difficulty item (not scored).",
            f"{notices.LOINC} {notices.INSTRUMENTS}",
            answers("LL359-1"),
        ),
        _value_set(
            base,
            "wearable-measures",
            "WearableMeasures",
            "Wearable and vital-sign measures",
            "LOINC codes of the measures wearables and vital-sign devices report (heart rate, HRV, steps, energy, "
            "activity, body measures). Codes still unverified (sleep durations) are left out.",
            notices.LOINC,
            wearables,
        ),
        _value_set(
            base,
            "psychiatric-medications",
            "PsychiatricMedications",
            "Psychiatric medications",
            "RxNorm ingredients of the psychiatric medications the twin reasons about.",
            notices.RXNORM,
            (ValueSetMember(RXNORM, c.code) for c in rxnorm.concepts.values()),
        ),
        _value_set(
            base,
            "twin-concepts",
            "NovaMindTwinConcepts",
            "NovaMind Twin concepts",
            "Every concept of the NovaMind Twin code system.",
            notices.NOVAMIND,
            (ValueSetMember(twin.url, c.code) for c in twin.concepts.values()),
        ),
    )


# ---- concept map -----------------------------------------------------------------------------------------


def _icd_to_snomed(base: str, icd: CodeSystem, snomed: CodeSystem) -> ConceptMap:
    """Rows whose codes are not both shipped (e.g. an unverified one) are left out with them."""
    elements = []
    for row in read_table("conceptmap-icd10-snomed.csv"):
        equivalence = Equivalence(row["equivalence"])
        target = row["target_code"] or None
        if row["source_code"] not in icd.concepts or (target is not None and target not in snomed.concepts):
            continue
        elements.append(
            MapElement(
                row["source_code"],
                row["source_display"],
                target,
                row["target_display"] or None,
                equivalence,
                row["comment"] or None,
            )
        )
    return ConceptMap(
        id="icd10cm-to-snomed",
        url=f"{base}/ConceptMap/icd10cm-to-snomed",
        version=CONTENT_VERSION,
        name="ICD10CMToSNOMEDCT",
        title="ICD-10-CM to SNOMED CT (psychiatric conditions)",
        description="Editorial map from the ICD-10-CM psychiatric codes to SNOMED CT: codes verified one by one, "
        "relationships chosen by the project (not the NLM SNOMED CT to ICD-10-CM map). Translate in reverse for "
        "SNOMED CT to ICD-10-CM.",
        copyright=f"{notices.SNOMED_CT} {notices.ICD_10_CM}",
        publisher=PUBLISHER,
        source_system=ICD_10_CM,
        target_system=SNOMED_CT,
        source_value_set=f"{base}/ValueSet/psychiatric-conditions",
        target_value_set=f"{base}/ValueSet/psychiatric-conditions",
        elements=tuple(elements),
    )


def _healthkit(loinc: CodeSystem) -> Iterator[HealthKitMapping]:
    """A HealthKit type maps to LOINC only when that LOINC code is shipped (verified or marked secondary)."""
    for row in read_table("healthkit-map.csv"):
        code = row["loinc_code"] if row["loinc_code"] in loinc.concepts else None
        yield HealthKitMapping(
            identifier=row["healthkit_identifier"],
            loinc_code=code,
            loinc_display=loinc.concepts[code].display if code else None,
            fallback_system=row["fallback_system"] or HEALTHKIT,
            ucum_unit=row["ucum_unit_recommended"] or None,
            category=row["observation_category"],
            open_mhealth_schema=row["omh_or_ieee1752_schema"] or None,
        )
