"""Genotype -> phenotype, answered by the CPIC diplotype table itself rather than by re-deriving CPIC's rules.

The table lists every unordered pair of CPIC alleles, so looking a pair up (in either order) is exact by
construction, CYP2D6 activity scores included. What the table cannot answer is answered the way its own rows
are keyed: an allele it does not list -> its `Indeterminate` row key (`n/a` for CYP2D6); a CYP2D6 `xN`
duplication of unknown count -> `xN combinations`; an untested gene -> `No Result`. HLA-A/HLA-B have no
diplotype table here: CPIC keys carbamazepine/oxcarbazepine on carrier status of one allele, read by
`genotype.parse_hla_status`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from twin_engine.errors import PharmacogenomicInputError, UnknownGeneError
from twin_engine.pharmacogenomics.genotype import (
    canonical_gene,
    is_unspecified_copy_number,
    parse_hla_status,
    split_diplotype,
)
from twin_engine.pharmacogenomics.models import INDETERMINATE, NO_RESULT, GenePhenotype
from twin_engine.pharmacogenomics.tables import CpicTables

XN_LOOKUP_KEY = "xN combinations"  # CPIC's key for a CYP2D6 duplication whose copy number is not given


class Phenotyper:
    """Phenotypes one gene at a time from a loaded `CpicTables`."""

    def __init__(self, tables: CpicTables) -> None:
        self._tables = tables
        self._alleles = {gene: {a.casefold(): a for a in tables.alleles(gene)} for gene in tables.diplotypes}
        self._indeterminate = {
            row.gene: (row.lookup_key, row.activity_score)
            for row in tables.diplotype_rows
            if row.phenotype == INDETERMINATE
        }
        self._hla_alleles = _hla_tested_alleles(tables)
        self.genes = frozenset(self._alleles) | frozenset(self._hla_alleles)

    def gene(self, name: str) -> str:
        """The table's spelling of a gene name.

        Raises:
            UnknownGeneError: the CPIC tables shipped here say nothing about this gene.
        """
        gene = canonical_gene(name, self.genes)
        if gene is None:
            raise UnknownGeneError(f"unknown gene {name!r}; the CPIC tables cover {', '.join(sorted(self.genes))}")
        return gene

    def phenotype(self, gene_name: str, entered: str) -> GenePhenotype:
        """The phenotype for a typed diplotype (`*1/*4`) or, for HLA genes, a carrier status (`*15:02 positive`).

        Raises:
            UnknownGeneError: see `gene`.
            MalformedDiplotypeError: the text is not a diplotype / HLA status at all.
        """
        gene = self.gene(gene_name)
        if gene in self._hla_alleles:
            status = parse_hla_status(gene, entered, self._hla_alleles[gene])
            return GenePhenotype(gene, status.lookup_key, status.lookup_key, entered=entered)
        first, second = split_diplotype(gene, entered)
        known = self._alleles[gene]
        pair = (known.get(first.casefold()), known.get(second.casefold()))
        if pair[0] is not None and pair[1] is not None:
            row = self._tables.diplotypes[gene][(pair[0], pair[1])]
            return GenePhenotype(gene, row.phenotype, row.lookup_key, row.activity_score, row.diplotype, entered)
        key, score = self._indeterminate[gene]
        if gene == "CYP2D6" and (is_unspecified_copy_number(first) or is_unspecified_copy_number(second)):
            key, score = XN_LOOKUP_KEY, None
        return GenePhenotype(gene, INDETERMINATE, key, score, None, entered)

    def phenotypes(self, genotypes: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, GenePhenotype]:
        """Phenotype every entered gene, keyed by the table's gene spelling.

        Raises:
            PharmacogenomicInputError: one gene entered twice (`CYP2D6` and `cyp2d6`): which result to use is
                the caller's decision, not ours.
        """
        pairs = genotypes.items() if isinstance(genotypes, Mapping) else genotypes
        result: dict[str, GenePhenotype] = {}
        for name, entered in pairs:
            found = self.phenotype(name, entered)
            if found.gene in result:
                raise PharmacogenomicInputError(f"{found.gene} entered twice")
            result[found.gene] = found
        return result

    @staticmethod
    def untested(gene: str) -> GenePhenotype:
        return GenePhenotype(gene, NO_RESULT, NO_RESULT)


def _hla_tested_alleles(tables: CpicTables) -> dict[str, str]:
    """HLA gene -> the one allele its CPIC rows key on, read off keys such as `*15:02 positive`."""
    alleles: dict[str, str] = {}
    for rec in tables.recommendations:
        for gene, key in rec.lookup_key:
            if gene.startswith("HLA-") and key != NO_RESULT:
                alleles[gene] = key.split(" ", 1)[0]
    return alleles
