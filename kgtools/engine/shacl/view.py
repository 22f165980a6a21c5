"""The data graph as the validator reads it: the data ∪ the inoculated ontology.

Class membership follows ``rdf:type/rdfs:subClassOf*`` over both graphs
(https://www.w3.org/TR/shacl/#dfn-shacl-instance), memoised per node and per class: at a million
triples hashing pyoxigraph terms (which keep no hash) is most of the cost, so each node's classes
and each class's instances are computed once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

import pyoxigraph as ox
from rdflib.namespace import RDFS

from kgtools.engine.terms import MemoryIndex, Term, TripleSource
from kgtools.engine.vocab import RDF_TYPE

OX_SUBCLASS = ox.NamedNode(str(RDFS.subClassOf))


def _match_objects(data: TripleSource, s: Term, p: ox.NamedNode) -> set[Term]:
    return {t[2] for t in data.match(s, p, None)}


def _match_subjects(data: TripleSource, p: ox.NamedNode, o: Term) -> set[Term]:
    return {t[0] for t in data.match(None, p, o)}


def _union(found: set[Term], extra: set[Term]) -> set[Term]:
    """The data's values and the ontology's (``found`` itself when the ontology has none)."""
    return found | extra if extra else found


class DataView:
    """Data ∪ inoculated ontology, with memoised class membership."""

    def __init__(self, data: TripleSource, ontology: MemoryIndex) -> None:
        self.data = data
        self.ontology = ontology
        self.onto_subjects = {t[0] for t in ontology}
        self.onto_objects = {t[2] for t in ontology}
        objects = getattr(data, "objects", None)
        subjects = getattr(data, "subjects", None)
        by_subject = getattr(data, "by_subject", None)
        #: the data's ``subject → predicate → objects`` map, when it has one (MemoryIndex)
        self.data_by_subject: Mapping[Term, Mapping[ox.NamedNode, set[Term]]] | None = (
            by_subject() if callable(by_subject) else None
        )
        #: the data alone (MemoryIndex's own lookups when it has them). Not bound methods of
        #: the view: a view must not be in a reference cycle, or the store it reads stays open
        #: until the garbage collector runs — after the build has moved the store's folder.
        self.data_objects: Callable[[Term, ox.NamedNode], set[Term]] = (
            objects if callable(objects) else functools.partial(_match_objects, data)
        )
        self.data_subjects: Callable[[ox.NamedNode, Term], set[Term]] = (
            subjects if callable(subjects) else functools.partial(_match_subjects, data)
        )
        supers: dict[Term, set[Term]] = {}
        for source in (data, ontology):
            for s, _, o in source.match(None, OX_SUBCLASS, None):
                supers.setdefault(s, set()).add(o)
        self._direct_supers = supers
        self._supers: dict[Term, frozenset[Term]] = {}
        self._classes: dict[Term, frozenset[Term]] = {}
        self._instances: dict[Term, frozenset[Term]] = {}

    def objects(self, s: Term, p: ox.NamedNode) -> set[Term]:
        found = self.data_objects(s, p)
        if s in self.onto_subjects:
            return _union(found, self.ontology.objects(s, p))
        return found

    def subjects(self, p: ox.NamedNode, o: Term) -> set[Term]:
        found = self.data_subjects(p, o)
        if o in self.onto_objects:
            return _union(found, self.ontology.subjects(p, o))
        return found

    def match(self, s: Term | None, p: ox.NamedNode | None, o: Term | None) -> set[tuple]:
        return set(self.data.match(s, p, o)) | set(self.ontology.match(s, p, o))

    def superclasses(self, cls: Term) -> frozenset[Term]:
        """``cls`` and everything it is ``rdfs:subClassOf*``."""
        found = self._supers.get(cls)
        if found is None:
            seen = {cls}
            todo = [cls]
            while todo:
                for sup in self._direct_supers.get(todo.pop(), ()):
                    if sup not in seen:
                        seen.add(sup)
                        todo.append(sup)
            found = self._supers[cls] = frozenset(seen)
        return found

    def subclasses(self, cls: Term) -> set[Term]:
        """``cls`` and everything that is ``rdfs:subClassOf*`` it."""
        return {c for c in self._direct_supers if cls in self.superclasses(c)} | {cls}

    def classes(self, node: Term) -> frozenset[Term]:
        """Every class ``node`` is an instance of (``rdf:type/rdfs:subClassOf*``)."""
        found = self._classes.get(node)
        if found is None:
            if isinstance(node, ox.Literal):
                found = frozenset()
            else:
                types = self.objects(node, RDF_TYPE)
                if len(types) == 1:  # the usual case: share the class's own set
                    found = self.superclasses(next(iter(types)))
                else:
                    found = frozenset().union(*(self.superclasses(t) for t in types))
            self._classes[node] = found
        return found

    def instances(self, cls: Term) -> frozenset[Term]:
        """Every node that :meth:`classes` puts in ``cls``: the subjects of ``rdf:type`` one of
        its :meth:`subclasses` (the same relation read from the class side, as set unions)."""
        found = self._instances.get(cls)
        if found is None:
            found = self._instances[cls] = frozenset().union(
                *(self.subjects(RDF_TYPE, c) for c in self.subclasses(cls))
            )
        return found
