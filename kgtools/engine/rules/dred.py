"""Incremental maintenance of the entailments: DRed (delete and re-derive).

https://www.w3.org/TR/owl2-profiles/#Reasoning_in_OWL_2_RL_and_RDF_Graphs_using_Rules — the
same rules as the full closure, applied one triple at a time over any
:class:`~kgtools.engine.terms.TripleSource`: over-delete what the removed triples derive, keep
what still has a one-step derivation, propagate the additions. The stored entailments are
noise-filtered, so the store lacks the noise triples the full closure uses as intermediate steps;
an update therefore requires the graph to be *incremental-safe*
(:meth:`~kgtools.engine.rules.tables.RuleTables.unsafe_triples`) and raises
:class:`~kgtools.errors.IncrementalUpdateError` for a change that breaks it.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator

import pyoxigraph as ox

from kgtools.engine.rules.noise import is_noise
from kgtools.engine.rules.tables import RuleTables
from kgtools.engine.rules.vocabulary import NOTHING, TYPE
from kgtools.engine.terms import MemoryIndex, OxTriple, Term, TripleSource
from kgtools.errors import InconsistentOntologyError, IncrementalUpdateError


class Update:
    """One run of :meth:`~kgtools.engine.rules.ruleset.RuleSet.update`."""

    def __init__(
        self,
        rules: RuleTables,
        current: TripleSource,
        asserted_after: TripleSource,
        added: set[OxTriple],
        removed: set[OxTriple],
    ) -> None:
        self.rules = rules
        self.current = current
        self.asserted_after = asserted_after
        self.added = set(added) - set(removed)
        self.removed = set(removed) - set(added)
        self.tbox = MemoryIndex(rules.tbox)
        self.join = rules.join_predicates
        self.relevant = rules.relevant_predicates
        self.overdeleted: set[OxTriple] = set()
        self.inserted = MemoryIndex()
        # Reverse tables for the one-step backward checks.
        self.sources: dict[ox.NamedNode, list[tuple[ox.NamedNode, bool]]] = defaultdict(list)
        self.subject_preds: dict[Term, list[ox.NamedNode]] = defaultdict(list)
        self.object_preds: dict[Term, list[ox.NamedNode]] = defaultdict(list)
        for p, r in rules.predicates.items():
            for q, flip in r.unary:
                self.sources[q].append((p, flip))
            for c in r.subject_classes:
                self.subject_preds[c].append(p)
            for c in r.object_classes:
                self.object_preds[c].append(p)
        self.subclasses: dict[Term, list[Term]] = defaultdict(list)
        for cls, supers in rules.superclasses.items():
            for x in supers:
                self.subclasses[x].append(cls)
        self.chains_by_pred: dict[ox.NamedNode, list[tuple[ox.NamedNode, tuple, int]]] = (
            defaultdict(list)
        )
        for head, chains in rules.chains.items():
            for chain in chains:
                for pos, x in enumerate(chain):
                    self.chains_by_pred[x].append((head, chain, pos))
        self.unsafe_flipped = rules.flipped_into_join()

    # -- views ---------------------------------------------------------------------------

    def _safe(self, triple: OxTriple) -> None:
        s, p, o = triple
        if p not in self.relevant:
            return
        if next(iter(self.rules.unsafe_triples([triple])), None) is not None:
            raise IncrementalUpdateError(
                f"the change touches {s} {p} {o}, whose consequences go through noise triples "
                "the store does not keep (a blank node, a literal subject or a literal object "
                "of an inverse-chained property); rebuild the entailments in full"
            )

    def _asserted_after(self, t: OxTriple) -> bool:
        return t in self.rules.ontology or t in self.asserted_after

    def _before(self, t: OxTriple) -> bool:
        return t in self.rules.tbox or t in self.current

    def _now(self, t: OxTriple) -> bool:
        """In the closure after deletion (and the insertions made so far)."""
        if t in self.inserted or t in self.rules.tbox:
            return True
        return t not in self.overdeleted and t in self.current

    def _match_before(self, s: Term | None, p: ox.NamedNode, o: Term | None) -> Iterator[OxTriple]:
        yield from self.current.match(s, p, o)
        yield from self.tbox.match(s, p, o)

    def _match_now(self, s: Term | None, p: ox.NamedNode, o: Term | None) -> Iterator[OxTriple]:
        for t in self.current.match(s, p, o):
            if t not in self.overdeleted:
                yield t
        yield from self.tbox.match(s, p, o)
        yield from self.inserted.match(s, p, o)

    # -- rule application ----------------------------------------------------------------

    def _consequences(
        self,
        triple: OxTriple,
        match: Callable[[Term | None, ox.NamedNode, Term | None], Iterable[OxTriple]],
    ) -> Iterator[OxTriple]:
        """Every triple one rule gives from ``triple`` and triples that ``match`` finds."""
        s, p, o = triple
        rules = self.rules
        if p == TYPE:
            for sup in rules.superclasses.get(o, ()):
                yield (s, TYPE, sup)
            return
        r = rules.predicates.get(p)
        if r is not None:
            for q, flip in r.unary:
                yield (o, q, s) if flip else (s, q, o)
            for sc in r.subject_classes:
                yield (s, TYPE, sc)
            if not isinstance(o, ox.Literal):
                for oc in r.object_classes:
                    yield (o, TYPE, oc)
        for head, chain, pos in self.chains_by_pred.get(p, ()):
            lefts: set[Term] = {s}
            for x in reversed(chain[:pos]):
                lefts = {a for b in lefts for a, _, _ in match(None, x, b)}
            rights: set[Term] = {o}
            for x in chain[pos + 1 :]:
                rights = {c for b in rights for _, _, c in match(b, x, None)}
            for a in lefts:
                for c in rights:
                    yield (a, head, c)
        if p in rules.transitive:
            for _, _, c in list(match(o, p, None)):
                yield (s, p, c)
            for a, _, _ in list(match(None, p, s)):
                yield (a, p, o)

    def _derivable_now(self, t: OxTriple) -> bool:
        """One-step derivation of ``t`` from the closure minus the over-deleted triples."""
        if self._asserted_after(t) or t in self.rules.tbox:
            return True
        s, p, o = t
        rules = self.rules
        if p == TYPE:
            for c in self.subclasses.get(o, ()):
                if self._now((s, TYPE, c)):
                    return True
            for q in self.subject_preds.get(o, ()):
                if next(iter(self._match_now(s, q, None)), None) is not None:
                    return True
            for q in self.object_preds.get(o, ()):
                if next(iter(self._match_now(None, q, s)), None) is not None:
                    return True
            return False
        for q, flip in self.sources.get(p, ()):
            if self._now((o, q, s) if flip else (s, q, o)):
                return True
        for chain in rules.chains.get(p, ()):
            ends: set[Term] = {s}
            for x in chain:
                ends = {c for b in ends for _, _, c in self._match_now(b, x, None)}
                if not ends:
                    break
            if o in ends:
                return True
        if p in rules.transitive:
            for _, _, y in self._match_now(s, p, None):
                if y != o and self._now((y, p, o)):
                    return True
        return False

    # -- DRed ----------------------------------------------------------------------------

    def run(self) -> tuple[set[OxTriple], set[OxTriple]]:
        rules = self.rules
        for t in self.added:
            rules.check_data_triple(t)
            self._safe(t)
            if isinstance(t[2], ox.Literal):
                message = rules.datatypes.lexical_error(t[2])
                if message:
                    raise InconsistentOntologyError([message])
        for t in self.removed:
            self._safe(t)

        # 1. Over-delete everything the removed triples derive in the old closure.
        queue = deque(t for t in self.removed if t not in rules.tbox)
        self.overdeleted.update(queue)
        while queue:
            t = queue.popleft()
            for c in self._consequences(t, self._match_before):
                if c in self.overdeleted or c in rules.tbox or self._asserted_after(c):
                    continue
                if c[1] != TYPE:
                    self._safe(c)
                self.overdeleted.add(c)
                queue.append(c)

        # 2. Re-derive what still has a one-step derivation; 3. propagate it and the additions.
        queue = deque(t for t in self.overdeleted if self._derivable_now(t))
        for t in queue:
            self.inserted.add(t)
        for t in self.added:
            if not self._now(t):
                self.inserted.add(t)
                queue.append(t)
        while queue:
            t = queue.popleft()
            for c in self._consequences(t, self._match_now):
                if self._now(c):
                    continue
                if c[1] != TYPE:
                    self._safe(c)
                self.inserted.add(c)
                queue.append(c)
        self._check_consistency()

        to_add: set[OxTriple] = set()
        to_remove: set[OxTriple] = set()
        for t in self.overdeleted | set(self.inserted) | self.added | self.removed:
            if is_noise(t):
                continue
            asserted_after = self._asserted_after(t)
            asserted_before = t in rules.ontology or (
                t in self.removed or (t not in self.added and t in self.asserted_after)
            )
            before = not asserted_before and self._before(t)
            after = not asserted_after and self._now(t)
            if after and not before:
                to_add.add(t)
            elif before and not after:
                to_remove.add(t)
        return to_add, to_remove

    def _check_consistency(self) -> None:
        """``cls-nothing2`` and ``cax-dw`` for the new types."""
        rules = self.rules
        errors: set[str] = set()
        partners: dict[Term, set[Term]] = defaultdict(set)
        for a, b in rules.disjoint:
            partners[a].add(b)
            partners[b].add(a)
        for s, _, c in self.inserted.match(None, TYPE, None):
            if c == NOTHING:
                errors.add(f"{s} is defined of type 'Nothing'")
            for other in partners.get(c, ()):
                if self._now((s, TYPE, other)):
                    errors.add(f"Disjoint classes {c} and {other} have a common individual {s}")
        if errors:
            raise InconsistentOntologyError(sorted(errors))
