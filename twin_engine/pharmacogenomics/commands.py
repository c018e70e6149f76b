"""`novamind pgx recommend`: argparse wiring and printing only; the answers come from `PharmacogenomicsEngine`.

The engine is imported inside the command, so registering `pgx` costs nothing on other `novamind` calls.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from twin_engine.pharmacogenomics.models import DrugGuidance, GenePhenotype

DISCLAIMER = "CPIC guidance, data snapshot {version} (CC0; cpicpgx.org). Not for clinical use."


def add_pgx_recommend(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `pgx recommend`."""
    p = sub.add_parser("recommend", help="CPIC phenotypes and drug recommendations for a genotype")
    p.add_argument(
        "--genotype",
        action="append",
        required=True,
        type=_gene_value,
        metavar="GENE=VALUE",
        help="e.g. CYP2C19='*2/*2', CYP2D6='*1/*1x2', HLA-B='*15:02 negative' (repeat per gene)",
    )
    p.add_argument("--drug", default=None, help="one drug (default: every drug with CPIC guidance for the genotype)")
    p.add_argument("--population", default=None, help="e.g. adult/child (atomoxetine), 'CBZ naive' (carbamazepine)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=_recommend)


def _gene_value(text: str) -> tuple[str, str]:
    gene, sep, value = text.partition("=")
    if not sep or not gene.strip() or not value.strip():
        raise argparse.ArgumentTypeError(f"expected GENE=VALUE, e.g. CYP2D6='*1/*4', got {text!r}")
    return gene.strip(), value.strip()


def _recommend(args: argparse.Namespace) -> int:
    from twin_engine.errors import PharmacogenomicInputError
    from twin_engine.pharmacogenomics.engine import PharmacogenomicsEngine

    engine = PharmacogenomicsEngine.load()
    try:
        phenotypes = engine.phenotypes(args.genotype)
        if args.drug is not None:
            guidance: tuple[DrugGuidance, ...] = (engine.recommend(args.drug, args.genotype, args.population),)
        else:
            guidance = engine.recommend_all(args.genotype, args.population)
    except PharmacogenomicInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    version = engine.tables.data_version
    if args.json:
        print(json.dumps(_report(version, phenotypes, guidance), indent=2, ensure_ascii=False))
    else:
        print(_text(version, phenotypes, guidance))
    return 0


def _report(version: str, phenotypes: dict[str, GenePhenotype], guidance: tuple[DrugGuidance, ...]) -> dict[str, Any]:
    return {
        "source": "CPIC",
        "data_version": version,
        "disclaimer": DISCLAIMER.format(version=version),
        "phenotypes": [asdict(p) for p in phenotypes.values()],
        "drugs": [
            {
                "drug": g.drug,
                "status": g.status.value,
                "lookup_key": dict(g.lookup_key),
                "recommendations": [
                    {**asdict(r), "lookup_key": dict(r.lookup_key), "phenotypes": dict(r.phenotypes)}
                    for r in g.recommendations
                ],
            }
            for g in guidance
        ],
    }


def _text(version: str, phenotypes: dict[str, GenePhenotype], guidance: tuple[DrugGuidance, ...]) -> str:
    lines = [_phenotype_line(p) for p in phenotypes.values()]
    if not guidance:
        lines += ["", "No CPIC guidance for the genes entered."]
    for g in guidance:
        lines += ["", f"{g.drug}: {g.status.value}"]
        if g.lookup_key:
            lines.append("  lookup: " + ", ".join(f"{gene}={key}" for gene, key in g.lookup_key))
        for r in g.recommendations:
            population = f" [{r.population}]" if r.population not in (None, "general") else ""
            lines.append(f"  action: {r.action.value}{population}; strength: {r.classification or 'n/a'}")
            lines.append(f"  {' '.join(r.text.split())}")
            lines.append(f"  {r.guideline.name} <{r.guideline.url}> ({r.recommendation_id})")
    lines += ["", DISCLAIMER.format(version=version)]
    return "\n".join(lines)


def _phenotype_line(p: GenePhenotype) -> str:
    shown = p.diplotype or p.entered or ""
    score = f" (activity score {p.activity_score})" if p.activity_score is not None else ""
    return f"{p.gene} {shown}: {p.phenotype}{score}"
