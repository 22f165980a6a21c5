"""Triples for the fast path: pyoxigraph terms, an in-memory index, and rdflib conversion.

The scale pipeline (``kgtools.engine.rules`` for entailments, ``kgtools.engine.shacl`` for
validation) works on plain tuples of pyoxigraph terms, which are hashable and cheap to create while
parsing. Both engines read through the small :class:`TripleSource` protocol, so the same code runs
against an in-memory :class:`MemoryIndex` (a full build) or against the persistent Oxigraph store
(an incremental rebuild that only looks at a few hundred triples).

Conversion to and from rdflib keeps what rdflib's Turtle parser would produce: a plain literal
stays a plain literal (Oxigraph gives it ``xsd:string``), so graphs compare as equal.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol, TypeAlias

import pyoxigraph as ox

from kgtools.engine.vocab import XSD_STRING

if TYPE_CHECKING:  # rdflib is heavy; only the conversion functions need it
    from rdflib.term import Node

Term: TypeAlias = ox.NamedNode | ox.BlankNode | ox.Literal
#: One statement of the fast path: (subject, predicate, object).
OxTriple: TypeAlias = tuple[Term, ox.NamedNode, Term]


class TripleSource(Protocol):
    """Pattern access to a set of triples; ``None`` is a wildcard."""

    def match(
        self, s: Term | None = None, p: ox.NamedNode | None = None, o: Term | None = None
    ) -> Iterable[OxTriple]:
        """Every triple that matches the pattern."""

    def __contains__(self, triple: object) -> bool:
        """True when the triple is in the source."""


class MemoryIndex:
    """A set of triples with subject- and predicate-first indexes.

    ``match`` answers every pattern from one of two nested dictionaries (``s → p → {o}`` and
    ``p → o → {s}``); an object-only pattern walks the predicates, of which an ontology-shaped
    graph has only a few hundred.
    """

    def __init__(self, triples: Iterable[OxTriple] = ()) -> None:
        self._spo: dict[Term, dict[ox.NamedNode, set[Term]]] = defaultdict(lambda: defaultdict(set))
        self._pos: dict[ox.NamedNode, dict[Term, set[Term]]] = defaultdict(lambda: defaultdict(set))
        self._size = 0
        for triple in triples:
            self.add(triple)

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[OxTriple]:
        for s, by_p in self._spo.items():
            for p, objects in by_p.items():
                for o in objects:
                    yield (s, p, o)

    def __contains__(self, triple: object) -> bool:
        if not isinstance(triple, tuple) or len(triple) != 3:
            return False
        s, p, o = triple
        by_p = self._spo.get(s)
        if by_p is None:
            return False
        objects = by_p.get(p)
        return objects is not None and o in objects

    def add(self, triple: OxTriple) -> bool:
        """Add ``triple``; True when it was new."""
        s, p, o = triple
        objects = self._spo[s][p]
        if o in objects:
            return False
        objects.add(o)
        self._pos[p][o].add(s)
        self._size += 1
        return True

    def discard(self, triple: OxTriple) -> bool:
        """Remove ``triple``; True when it was there."""
        if triple not in self:
            return False
        s, p, o = triple
        self._spo[s][p].discard(o)
        if not self._spo[s][p]:
            del self._spo[s][p]
            if not self._spo[s]:
                del self._spo[s]
        self._pos[p][o].discard(s)
        if not self._pos[p][o]:
            del self._pos[p][o]
            if not self._pos[p]:
                del self._pos[p]
        self._size -= 1
        return True

    def by_subject(self) -> Mapping[Term, Mapping[ox.NamedNode, set[Term]]]:
        """``subject → predicate → objects`` (a live view: do not modify)."""
        return self._spo

    def predicates(self) -> list[ox.NamedNode]:
        """Every predicate in use."""
        return list(self._pos)

    def objects(self, s: Term, p: ox.NamedNode) -> set[Term]:
        """Objects of ``s p ?o`` (a live view: do not modify)."""
        by_p = self._spo.get(s)
        if by_p is None:
            return set()
        return by_p.get(p) or set()

    def by_object(self, p: ox.NamedNode) -> Iterable[tuple[Term, set[Term]]]:
        """Each object of ``p`` with its subjects (a live view: do not modify): a caller that
        works per object (a literal's text read once, a class's name made once) hashes no
        term."""
        by_o = self._pos.get(p)
        return by_o.items() if by_o else ()

    def subjects(self, p: ox.NamedNode, o: Term) -> set[Term]:
        """Subjects of ``?s p o`` (a live view: do not modify)."""
        by_o = self._pos.get(p)
        if by_o is None:
            return set()
        return by_o.get(o) or set()

    def match(
        self, s: Term | None = None, p: ox.NamedNode | None = None, o: Term | None = None
    ) -> Iterator[OxTriple]:
        if s is not None:
            by_p = self._spo.get(s)
            if not by_p:
                return
            for pred in [p] if p is not None else list(by_p):
                for obj in by_p.get(pred, ()):
                    if o is None or obj == o:
                        yield (s, pred, obj)
            return
        for pred in [p] if p is not None else list(self._pos):
            by_o = self._pos.get(pred)
            if not by_o:
                continue
            if o is not None:
                for subj in by_o.get(o, ()):
                    yield (subj, pred, o)
            else:
                for obj, subjects in by_o.items():
                    for subj in subjects:
                        yield (subj, pred, obj)


class UnionSource:
    """A :class:`TripleSource` over several sources; a triple in two of them is reported once."""

    def __init__(self, sources: Iterable[TripleSource]) -> None:
        self._sources = list(sources)

    def match(
        self, s: Term | None = None, p: ox.NamedNode | None = None, o: Term | None = None
    ) -> Iterator[OxTriple]:
        seen: set[OxTriple] = set()
        for source in self._sources:
            for triple in source.match(s, p, o):
                if triple not in seen:
                    seen.add(triple)
                    yield triple

    def __contains__(self, triple: object) -> bool:
        return any(triple in source for source in self._sources)


class StoreSource:
    """A :class:`TripleSource` over named graphs of a pyoxigraph ``Store``.

    A triple in two of the graphs is reported once.
    """

    def __init__(self, store: ox.Store, graphs: Iterable[ox.NamedNode]) -> None:
        self._store = store
        self._graphs = list(graphs)

    def match(
        self, s: Term | None = None, p: ox.NamedNode | None = None, o: Term | None = None
    ) -> Iterator[OxTriple]:
        if isinstance(s, ox.Literal):  # a literal is never a subject (and Oxigraph refuses one)
            return
        if len(self._graphs) == 1:
            for quad in self._store.quads_for_pattern(s, p, o, self._graphs[0]):
                yield (quad.subject, quad.predicate, quad.object)  # type: ignore[misc]
            return
        seen: set[OxTriple] = set()
        for graph in self._graphs:
            for quad in self._store.quads_for_pattern(s, p, o, graph):
                triple = (quad.subject, quad.predicate, quad.object)
                if triple not in seen:
                    seen.add(triple)  # type: ignore[arg-type]
                    yield triple  # type: ignore[misc]

    def __contains__(self, triple: object) -> bool:
        if not isinstance(triple, tuple) or len(triple) != 3:
            return False
        s, p, o = triple
        if isinstance(s, ox.Literal):
            return False
        return any(
            next(iter(self._store.quads_for_pattern(s, p, o, g)), None) is not None
            for g in self._graphs
        )


# -- conversion to and from rdflib ----------------------------------------------------------


def to_rdflib(term: Term) -> Node:
    """The rdflib term for a pyoxigraph term (``xsd:string`` literals become plain literals)."""
    from rdflib import BNode, Literal, URIRef

    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        if term.datatype == XSD_STRING:
            return Literal(term.value)
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    raise TypeError(f"not an RDF term: {term!r}")


def from_rdflib(node: Node) -> Term:
    """The pyoxigraph term for an rdflib term."""
    from rdflib import BNode, Literal, URIRef

    if isinstance(node, URIRef):
        return ox.NamedNode(str(node))
    if isinstance(node, BNode):
        return ox.BlankNode(str(node))
    if isinstance(node, Literal):
        if node.language:
            return ox.Literal(str(node), language=node.language)
        if node.datatype is not None:
            return ox.Literal(str(node), datatype=ox.NamedNode(str(node.datatype)))
        return ox.Literal(str(node))
    raise TypeError(f"not an RDF term: {node!r}")


def triple_to_rdflib(triple: OxTriple) -> tuple[Node, Node, Node]:
    """An rdflib triple for a fast-path triple."""
    s, p, o = triple
    return (to_rdflib(s), to_rdflib(p), to_rdflib(o))


def triple_from_rdflib(triple: tuple[Node, Node, Node]) -> OxTriple:
    """A fast-path triple for an rdflib triple."""
    s, p, o = triple
    predicate = from_rdflib(p)
    assert isinstance(predicate, ox.NamedNode)
    return (from_rdflib(s), predicate, from_rdflib(o))


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for a block that makes millions of tuples and sets: it
    would scan every tracked object again and again (quadratic), and they form no cycle. Back
    as it was afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
