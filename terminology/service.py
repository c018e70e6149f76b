"""`Terminology`: lookup, validation, expansion, translation and subsumption over the shipped content.

Everything is in memory (a few hundred concepts) and immutable after loading, so one instance is shared by
every request of a server and by any importer that needs codes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from terminology.content import DEFAULT_CANONICAL_BASE, Content, load_content
from terminology.errors import (
    BadTerminologyRequest,
    NoHierarchy,
    UnknownCode,
    UnknownCodeSystem,
    UnknownConceptMap,
    UnknownValueSet,
)
from terminology.model import (
    REVERSED_EQUIVALENCE,
    CodeSystem,
    Concept,
    ConceptMap,
    Equivalence,
    Expansion,
    ExpansionEntry,
    HealthKitMapping,
    Lookup,
    Subsumption,
    Translation,
    TranslationMatch,
    Validation,
    ValueSet,
    ValueSetMember,
)


@dataclass(frozen=True, slots=True)
class Terminology:
    content: Content

    @classmethod
    def load_default(
        cls, canonical_base: str = DEFAULT_CANONICAL_BASE, *, include_unverified: bool = False
    ) -> Terminology:
        """The shipped content; `UNVERIFIED` rows only when explicitly asked for (never in a server)."""
        return cls(load_content(canonical_base, include_unverified=include_unverified))

    # ---- finding artefacts -------------------------------------------------------------------------------

    @property
    def code_systems(self) -> tuple[CodeSystem, ...]:
        return self.content.code_systems

    @property
    def value_sets(self) -> tuple[ValueSet, ...]:
        return self.content.value_sets

    @property
    def concept_maps(self) -> tuple[ConceptMap, ...]:
        return self.content.concept_maps

    def code_system(self, url: str, version: str | None = None) -> CodeSystem:
        url, version = _split_canonical(url, version)
        for cs in self.code_systems:
            if cs.url == url and version in (None, cs.version):
                return cs
        held = ", ".join(cs.url for cs in self.code_systems)
        if any(cs.url == url for cs in self.code_systems):
            raise UnknownCodeSystem(f"Code system {url} is held only in version {self._version_of(url)}.")
        raise UnknownCodeSystem(f"Code system {url!r} is not known to this server (it holds {held}).")

    def code_system_by_id(self, cs_id: str) -> CodeSystem:
        for cs in self.code_systems:
            if cs.id == cs_id:
                return cs
        raise UnknownCodeSystem(f"CodeSystem/{cs_id} is not a code system this server's terminology holds.")

    def value_set(self, url: str, version: str | None = None) -> ValueSet:
        url, version = _split_canonical(url, version)
        for vs in self.value_sets:
            if vs.url == url and version in (None, vs.version):
                return vs
        if any(vs.url == url for vs in self.value_sets):
            raise UnknownValueSet(f"Value set {url} is held only in version {self._version_of(url)}.")
        raise UnknownValueSet(f"Value set {url!r} is not known to this server.")

    def value_set_by_id(self, vs_id: str) -> ValueSet:
        for vs in self.value_sets:
            if vs.id == vs_id:
                return vs
        raise UnknownValueSet(f"ValueSet/{vs_id} is not a value set this server's terminology holds.")

    def concept_map(self, url: str, version: str | None = None) -> ConceptMap:
        url, version = _split_canonical(url, version)
        for cm in self.concept_maps:
            if cm.url == url and version in (None, cm.version):
                return cm
        raise UnknownConceptMap(f"Concept map {url!r} is not known to this server.")

    def concept_map_by_id(self, cm_id: str) -> ConceptMap:
        for cm in self.concept_maps:
            if cm.id == cm_id:
                return cm
        raise UnknownConceptMap(f"ConceptMap/{cm_id} is not a concept map this server's terminology holds.")

    def _version_of(self, url: str) -> str:
        artefacts: Iterable[CodeSystem | ValueSet] = (*self.code_systems, *self.value_sets)
        return ", ".join(a.version for a in artefacts if a.url == url)

    # ---- concepts ----------------------------------------------------------------------------------------

    def concept(self, system: str, code: str) -> Concept:
        """The concept, or `UnknownCode` saying the code is outside the subset we ship (not necessarily invalid)."""
        cs = self.code_system(system)
        concept = cs.concepts.get(code)
        if concept is None:
            raise UnknownCode(_not_in(cs, code))
        return concept

    def lookup(self, system: str, code: str, version: str | None = None) -> Lookup:
        _require_code(code)
        cs = self.code_system(system, version)
        concept = cs.concepts.get(code)
        if concept is None:
            raise UnknownCode(_not_in(cs, code))
        return Lookup(
            system=cs.url,
            name=cs.title,
            version=cs.version,
            code=concept.code,
            display=concept.display,
            definition=concept.definition,
            abstract=concept.abstract,
            parent=concept.parent,
            children=tuple(c.code for c in cs.children(concept.code)),
            properties=concept.properties,
            designations=concept.designations,
        )

    def validate(self, system: str, code: str, display: str | None = None, version: str | None = None) -> Validation:
        """Code-system validation: known code, and (when given) the display we hold for it."""
        _require_code(code)
        cs = self.code_system(system, version)
        concept = cs.concepts.get(code)
        if concept is None:
            return Validation(False, _not_in(cs, code), system=cs.url, code=code)
        return _check_display(concept, cs.url, display)

    def validate_in_value_set(
        self, value_set_url: str, system: str | None, code: str, display: str | None = None, version: str | None = None
    ) -> Validation:
        """Value-set validation: the code must be a member; without `system`, a member code in any system counts."""
        _require_code(code)
        vs = self.value_set(value_set_url, version)
        candidates = [m for m in vs.members if m.code == code and (system is None or m.system == system)]
        if not candidates:
            where = f"{system}|{code}" if system else code
            return Validation(
                False, f"{where} is not in the value set {vs.url} ({vs.title}).", system=system, code=code
            )
        member = candidates[0]
        return _check_display(self.concept(member.system, member.code), member.system, display)

    def members(self, value_set_url: str) -> tuple[ValueSetMember, ...]:
        return self.value_set(value_set_url).members

    def expand(
        self, value_set_url: str, filter: str | None = None, offset: int = 0, count: int | None = None
    ) -> Expansion:
        """Members in the value set's order, narrowed by `filter` (every word must start a word of the display,
        or match the code), paged by `offset`/`count`."""
        return self._expand(self.value_set(value_set_url), filter, offset, count)

    def expand_value_set(
        self, vs: ValueSet, filter: str | None = None, offset: int = 0, count: int | None = None
    ) -> Expansion:
        return self._expand(vs, filter, offset, count)

    def _expand(self, vs: ValueSet, filter: str | None, offset: int, count: int | None) -> Expansion:
        if offset < 0 or (count is not None and count < 0):
            raise BadTerminologyRequest("offset and count must not be negative.")
        entries = []
        for member in vs.members:
            concept = self.concept(member.system, member.code)
            if filter and not _matches(filter, concept):
                continue
            entries.append(
                ExpansionEntry(member.system, member.code, concept.display, concept.abstract, member.ordinal)
            )
        page = entries[offset:] if count is None else entries[offset : offset + count]
        return Expansion(vs, total=len(entries), offset=offset, entries=tuple(page), filter=filter or None)

    # ---- maps and hierarchy ------------------------------------------------------------------------------

    def translate(
        self, concept_map_url: str | None, system: str, code: str, *, reverse: bool = False, target: str | None = None
    ) -> Translation:
        """Translate through one map (or every map between `system` and `target`); `reverse` reads maps from
        target to source, turning the equivalence around (wider <-> narrower)."""
        _require_code(code)
        maps = [self.concept_map(concept_map_url)] if concept_map_url else list(self.concept_maps)
        maps = [
            cm
            for cm in maps
            if (cm.target_system if reverse else cm.source_system) == system
            and (target is None or (cm.source_system if reverse else cm.target_system) == target)
        ]
        if not maps:
            direction = "to" if reverse else "from"
            raise UnknownConceptMap(
                f"No concept map here translates {direction} {system}"
                + (f" {'from' if reverse else 'to'} {target}" if target else "")
                + "."
            )
        matches = []
        for cm in maps:
            for el in cm.elements:
                if reverse:
                    if el.target_code == code:
                        eq = REVERSED_EQUIVALENCE.get(el.equivalence, el.equivalence)
                        matches.append(
                            TranslationMatch(
                                eq, cm.source_system, el.source_code, el.source_display, cm.url, el.comment
                            )
                        )
                elif el.source_code == code:
                    target_system = cm.target_system if el.target_code else None
                    matches.append(
                        TranslationMatch(
                            el.equivalence, target_system, el.target_code, el.target_display, cm.url, el.comment
                        )
                    )
        mapped = [m for m in matches if m.equivalence not in (Equivalence.UNMATCHED, Equivalence.DISJOINT)]
        if mapped:
            return Translation(True, f"{system}|{code} has {len(mapped)} match(es).", tuple(matches))
        if matches:
            return Translation(False, f"{system}|{code} is mapped as having no match.", tuple(matches))
        return Translation(False, f"{system}|{code} is not in the concept map(s) {', '.join(cm.url for cm in maps)}.")

    def subsumes(self, system: str, code_a: str, code_b: str, version: str | None = None) -> Subsumption:
        cs = self.code_system(system, version)
        if not cs.hierarchical:
            raise NoHierarchy(f"{cs.title} is shipped without its hierarchy, so subsumption cannot be tested.")
        for code in (code_a, code_b):
            _require_code(code)
            if code not in cs.concepts:
                raise UnknownCode(_not_in(cs, code))
        if code_a == code_b:
            return Subsumption.EQUIVALENT
        if code_a in cs.ancestors(code_b):
            return Subsumption.SUBSUMES
        if code_b in cs.ancestors(code_a):
            return Subsumption.SUBSUMED_BY
        return Subsumption.NOT_SUBSUMED

    def descendants(self, system: str, code: str) -> tuple[str, ...]:
        """`code`'s descendants (for `:below`), empty for a system without hierarchy."""
        cs = self.code_system(system)
        return tuple(c for c in cs.concepts if code in cs.ancestors(c))

    def subsumption_closure(self, system: str, code: str, direction: Literal["above", "below"]) -> tuple[str, ...]:
        """`code` with its ancestors (`above`) or its descendants (`below`): what token search `:above` /
        `:below` match. Unlike `descendants`, it raises rather than answer "nothing" when the question cannot
        be answered (no hierarchy shipped, code outside the subset), so a search never silently finds nothing."""
        _require_code(code)
        cs = self.code_system(system)
        if not cs.hierarchical:
            raise NoHierarchy(f"{cs.title} is shipped without its hierarchy, so :{direction} cannot be evaluated.")
        if code not in cs.concepts:
            raise UnknownCode(_not_in(cs, code))
        if direction == "above":
            return (code, *cs.ancestors(code))
        return (code, *self.descendants(system, code))

    # ---- data for importers ------------------------------------------------------------------------------

    def healthkit_map(self) -> tuple[HealthKitMapping, ...]:
        return self.content.healthkit


def _split_canonical(url: str, version: str | None) -> tuple[str, str | None]:
    """A canonical may carry its version after '|' (FHIR canonical references)."""
    base, bar, pinned = url.partition("|")
    return base, (pinned if bar and pinned else version)


def _require_code(code: str) -> None:
    if not code or code != code.strip():
        raise BadTerminologyRequest("A code is required, without leading or trailing spaces.")


def _not_in(cs: CodeSystem, code: str) -> str:
    if cs.content == "fragment":
        return (
            f"Code {code!r} is not in the subset of {cs.url} that this server holds ({cs.title}); "
            "it may still be a valid code of the full terminology."
        )
    return f"Code {code!r} is not a code of {cs.url} ({cs.title})."


def _check_display(concept: Concept, system: str, display: str | None) -> Validation:
    if display is None or display == concept.display:
        return Validation(True, None, concept.display, system, concept.code)
    if display.strip().casefold() == concept.display.casefold() or any(
        display == d.value for d in concept.designations
    ):
        message = f"The display {display!r} is acceptable for {concept.code}."
        return Validation(True, message, concept.display, system, concept.code)
    return Validation(
        False,
        f"The display {display!r} is not a display of {system}|{concept.code}; it should be {concept.display!r}.",
        concept.display,
        system,
        concept.code,
    )


def _matches(text: str, concept: Concept) -> bool:
    words = concept.display.casefold().replace("(", " ").replace(")", " ").replace(",", " ").split()
    return all(
        term == concept.code.casefold() or any(w.startswith(term) for w in words) for term in text.casefold().split()
    )
