"""Parse what a lab report or a clinician types (gene names, star-allele diplotypes, HLA results) into clean tokens.

Only spelling is forgiven here: surrounding and inner whitespace, letter case, a repeated gene prefix
(`CYP2D6*1/CYP2D6*4`), `>=` for `≥`. Whether an allele is *known* is the phenotyper's question, answered from
the CPIC table, so an unknown but well-formed allele parses fine and later phenotypes as Indeterminate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from twin_engine.errors import MalformedDiplotypeError

_STAR_ALLELE = re.compile(r"\*[0-9A-Za-z.]+(?:x(?:≥?\d+|N))?(?:\+\*[0-9A-Za-z.]+(?:x(?:≥?\d+|N))?)*")
_COPY_NUMBER_XN = re.compile(r"[xX][nN]$")
_HLA_FIELD_ALLELE = re.compile(r"\*?(\d{2,3}):(\d{2,3})(?::\d{2,3})*[A-Z]?")
_STATUS_WORDS = {"positive": True, "pos": True, "+": True, "negative": False, "neg": False, "-": False}


def canonical_gene(name: str, known: frozenset[str]) -> str | None:
    """The table's spelling of a gene name typed as `cyp2d6`, `HLA_B`, ` hla-b `…; None when it is not known."""
    squeezed = re.sub(r"[^0-9a-z]", "", name.casefold())
    for gene in known:
        if re.sub(r"[^0-9a-z]", "", gene.casefold()) == squeezed:
            return gene
    return None


def split_diplotype(gene: str, text: str) -> tuple[str, str]:
    """Two star alleles from `*1/*4` (any case, spacing or gene prefix), in the order given.

    Raises:
        MalformedDiplotypeError: not exactly two `*`-alleles joined by one `/`.
    """
    cleaned = re.sub(r"\s+", "", text).replace(">=", "≥")
    cleaned = re.sub(re.escape(gene), "", cleaned, flags=re.IGNORECASE)
    parts = cleaned.split("/")
    if len(parts) != 2:
        raise MalformedDiplotypeError(f"{gene} diplotype {text!r} is not two alleles joined by '/' (e.g. '*1/*4')")
    alleles = (_copy_number_case(parts[0]), _copy_number_case(parts[1]))
    for allele in alleles:
        if not _STAR_ALLELE.fullmatch(allele):
            raise MalformedDiplotypeError(
                f"{gene} allele {allele!r} in {text!r} is not a star allele like '*4' or '*1x2'"
            )
    return alleles


def _copy_number_case(allele: str) -> str:
    """`*1X2` -> `*1x2`, `*1xn` -> `*1xN`: copy-number markers are case-sensitive in the table."""
    return re.sub(r"X(?=[≥\dNn])", "x", _COPY_NUMBER_XN.sub("xN", allele))


def is_unspecified_copy_number(allele: str) -> bool:
    """`*1xN`: a duplication of unknown count, which CPIC refuses to score (its `xN combinations` rows)."""
    return bool(_COPY_NUMBER_XN.search(allele)) or "xN+" in allele


@dataclass(frozen=True, slots=True)
class HlaStatus:
    """Carrier status of the one HLA allele a CPIC table keys on, e.g. HLA-B `*15:02 positive`."""

    allele: str
    positive: bool

    @property
    def lookup_key(self) -> str:
        return f"{self.allele} {'positive' if self.positive else 'negative'}"


def parse_hla_status(gene: str, text: str, tested_allele: str) -> HlaStatus:
    """Read `*15:02 positive`, `positive`, `+`, or a typed diplotype `*15:02:01/*07:02` for `tested_allele`.

    Raises:
        MalformedDiplotypeError: unreadable, or a status for an allele CPIC's table does not key this gene on.
    """
    cleaned = " ".join(text.strip().split())
    word = _STATUS_WORDS.get(cleaned.rsplit(" ", 1)[-1].casefold())
    if word is not None:
        named = cleaned.rsplit(" ", 1)[0] if " " in cleaned else ""
        named = re.sub(re.escape(gene), "", named, flags=re.IGNORECASE).strip()
        if named and _two_field(named) != tested_allele:
            raise MalformedDiplotypeError(
                f"{gene} status {text!r}: CPIC's recommendation table keys {gene} on {tested_allele} only"
            )
        return HlaStatus(tested_allele, word)
    alleles = re.sub(re.escape(gene), "", cleaned.replace(" ", ""), flags=re.IGNORECASE).split("/")
    if len(alleles) != 2 or not all(_HLA_FIELD_ALLELE.fullmatch(a) for a in alleles):
        raise MalformedDiplotypeError(
            f"{gene} value {text!r} is neither '{tested_allele} positive|negative' "
            "nor a typed pair like '*15:02/*07:02'"
        )
    return HlaStatus(tested_allele, any(_two_field(a) == tested_allele for a in alleles))


def _two_field(allele: str) -> str | None:
    match = _HLA_FIELD_ALLELE.fullmatch(allele.strip())
    return f"*{match.group(1)}:{match.group(2)}" if match else None
