"""The full closure: every entailment of ``ontology + data``, as owlrl gives them.

https://www.w3.org/TR/owl2-profiles/#Reasoning_in_OWL_2_RL_and_RDF_Graphs_using_Rules — one run,
in phases over a shared :class:`~kgtools.engine.rules.state.ClosureState`: intern the rules into
integer tables (:mod:`~kgtools.engine.rules.interned`), read the asserted triples with the
one-triple rules applied at once (:mod:`~kgtools.engine.rules.asserted`), run the join rules
(:mod:`~kgtools.engine.rules.joins`), check consistency (:mod:`~kgtools.engine.rules.classes`),
and give back the derived triples minus the noise and minus what the data asserts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping

from kgtools.engine.rules.asserted import read_asserted
from kgtools.engine.rules.classes import check_consistency
from kgtools.engine.rules.interned import intern_tables
from kgtools.engine.rules.joins import run_joins
from kgtools.engine.rules.state import ClosureState
from kgtools.engine.rules.vocabulary import NOISE_CLASSES
from kgtools.engine.terms import OxTriple, Term


class Closure(ClosureState):
    """One run of :meth:`~kgtools.engine.rules.ruleset.RuleSet.entailments`."""

    def run(self, data: Iterable[OxTriple], *, as_set: bool = True) -> Collection[OxTriple]:
        tables = intern_tables(self)
        rows = read_asserted(self, tables, data)
        run_joins(self, tables)
        check_consistency(self, tables.nothing_id)
        terms, known, late = self.terms, self.known, self.late
        if self.deferred:
            late |= self._asserted_among(self.lazy_derived, self.deferred, known, rows)
        known.clear()  # not needed any more: free it before the output is built
        self.types.clear()
        from_tbox = self.rules.tbox_entailments - self.restated
        derived, derived_types, type_id = self.derived, self.derived_types, tables.type_id
        if not as_set:
            # Every triple once: derived ids are distinct, and none is in the T-box (all of
            # its triples were known before anything was derived).
            if late:
                derived = [t for t in derived if t not in late]
            out = list(self._output(derived, derived_types, type_id))
            out.extend(from_tbox)
            return out
        result = set(self._output(derived, derived_types, type_id))
        for s, p, o in late:  # asserted after all (never a type, never in the T-box's output)
            result.discard((terms[s], terms[p], terms[o]))
        result.update(from_tbox)
        return result

    def _asserted_among(
        self,
        derived: list[tuple[int, int, int]],
        deferred: Mapping[int, list[tuple[Term, Collection[Term]]]],
        known: set[tuple[int, int, int]],
        rows: Mapping[Term, Mapping[Term, Collection[Term]]],
    ) -> set[tuple[int, int, int]]:
        """Which of ``derived`` (triples of set-aside predicates) the data asserts.

        Per predicate, whichever side is smaller is looked up in the other: each derived triple
        in the data's subject map, or each asserted triple (its terms interned, if they are) in
        ``known``.
        """
        ids_get, terms = self.ids.get, self.terms
        candidates: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
        for t in derived:
            candidates[t[1]].append(t)
        found: set[tuple[int, int, int]] = set()
        none: Mapping[Term, Collection[Term]] = {}
        for pi, mine in candidates.items():
            groups = deferred.get(pi)
            if not groups:
                continue
            if len(mine) <= len(groups) or len(mine) <= sum(len(o) for _, o in groups):
                predicate = terms[pi]
                for t in mine:
                    if terms[t[2]] in rows.get(terms[t[0]], none).get(predicate, ()):
                        found.add(t)
                continue
            for ts, objects in groups:
                si = ids_get(ts)
                if si is None:
                    continue
                for to in objects:
                    oi = ids_get(to)
                    if oi is not None and (si, pi, oi) in known:
                        found.add((si, pi, oi))
        return found

    def _output(
        self,
        derived: list[tuple[int, int, int]],
        derived_types: list[tuple[int, frozenset[int] | set[int]]],
        type_id: int,
    ) -> Iterator[OxTriple]:
        """The derived triples as pyoxigraph triples, without the noise; each once (every
        derived triple is new and distinct, as the ids are)."""
        terms, bad, blank = self.terms, self.bad_subjects, self.blank_nodes
        noise_classes = {self.ids[c] for c in NOISE_CLASSES if c in self.ids} | blank
        rdf_type = terms[type_id]
        for s, p, o in derived:
            if s not in bad and o not in blank:
                yield (terms[s], terms[p], terms[o])  # type: ignore[misc]
        for node, classes in derived_types:
            if node not in bad:
                subject = terms[node]
                for c in classes:
                    if c not in noise_classes:
                        yield (subject, rdf_type, terms[c])  # type: ignore[misc]
