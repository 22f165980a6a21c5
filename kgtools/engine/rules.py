"""A fast OWL 2 RL reasoner compiled from the ontology: owlrl's entailments at scale.

Why not owlrl, why not ``reasonable``
-------------------------------------
:mod:`kgtools.reference.owlrl` (owlrl) is the reference, but owlrl is a brute-force loop that
re-applies every rule to every triple each cycle: about 1 ms per triple, some 20 minutes at a
million triples. ``reasonable`` (Rust) grew to 10 GB at 300k triples here, and its rule set is not
owlrl's (its answers differ), so it cannot stand in for the reference either. This module gives
*exactly* the triples :func:`kgtools.reference.owlrl.entailments` gives for ``ontology + data``
(same noise filter) in a few seconds at a million triples, in pure Python.

How
---
:func:`compile` reads the T-box once. Its own entailments (the ``scm-*`` rules: subclass and
sub-property transitivity, inherited domains and ranges, union members as subclasses …) depend
on the ontology alone, so they are computed by owlrl itself on the ontology (~900 triples,
under a second) and kept in the :class:`RuleSet`. From that closed T-box only the A-box rules the
ontology uses are instantiated:

* *unary* rules — ``prp-spo1``, ``prp-eqp1/2``, ``prp-inv1/2``, ``prp-symp``, ``prp-dom``,
  ``prp-rng``, ``cax-sco``, ``cax-eqc1/2``, ``cls-uni`` (a member's instance is an instance of
  the union: ``scm-uni`` puts that in the closed T-box) — are folded per predicate into one
  table: a triple ``s p o`` at once gives every ``s q o`` / ``o q s`` and every ``rdf:type`` it
  entails, already closed under each other;
* *binary* rules — ``prp-trp`` and ``prp-spo2`` (property chains of any length) — run
  semi-naively over a predicate-keyed index of only the predicates they read;
* checks — ``cax-dw`` (``owl:disjointWith``, including owlrl's datatype disjointness),
  ``cls-nothing2`` and owlrl's lexical check of typed literals raise
  :class:`~kgtools.errors.InconsistentOntologyError` like the reference.

Terms are interned to integers for the full closure (hashing three small ints is much cheaper
than hashing three pyoxigraph terms, which keep no hash: at a million triples hashing terms is
most of the cost), and only triples whose predicate some rule reads are interned at all. The
data is read subject by subject — a :class:`~kgtools.engine.terms.MemoryIndex`'s own subject map, so
a subject is hashed once for all its triples and a predicate once per subject —, every asserted
type first (a type both asserted and derived is not an entailment), then every other triple with
its unary rules applied at once (a triple derived before it is met as asserted is dropped from
the output at the end). The triples of a derivable predicate that no rule reads (``rdfs:label``,
which ``skos:prefLabel`` derives, is a good part of the data) are not interned: they are only
compared with the derived ones at the end. The output set is built once from the derived ids.

Everything else in OWL 2 RL (``owl:sameAs`` and the rules that derive it — functional and
inverse-functional properties, ``owl:hasKey``, max cardinality —, ``owl:intersectionOf``,
restrictions, ``owl:oneOf``, ``owl:complementOf`` …) raises
:class:`~kgtools.errors.UnsupportedOntologyError` at :func:`compile`, and data that uses T-box
vocabulary (``rdfs:subClassOf``, ``owl:inverseOf``, a non-reflexive ``owl:sameAs``, typing
something an ``owl:TransitiveProperty`` …) raises it at reasoning time unless the triple only
restates the closed T-box. So the engine never silently answers differently from owlrl.

Known differences of representation (not of reasoning): rdflib normalises some literals when it
parses (``"01"^^xsd:integer`` becomes ``"1"``) and gives a ``^^xsd:string`` literal its
datatype, whereas pyoxigraph keeps the lexical form and cannot tell ``"a"`` from
``"a"^^xsd:string``; the engine treats every ``xsd:string`` literal as a plain one, as
:func:`kgtools.engine.terms.to_rdflib` does.

Incremental maintenance
-----------------------
:meth:`RuleSet.update` is DRed (delete and re-derive) over any
:class:`~kgtools.engine.terms.TripleSource`: over-delete what the removed triples derive, keep what
still has a one-step derivation, propagate the additions. The stored entailments are
noise-filtered, so the store lacks the noise triples (blank-node or literal subjects …) that the
full closure uses as intermediate steps; ``update`` therefore requires the graph to be
*incremental-safe* (see :meth:`RuleSet.unsafe_triples`: no blank node in a triple a rule reads, no
literal object on a property whose inverse feeds a chain or transitive rule) and raises
:class:`~kgtools.errors.IncrementalUpdateError` for a change that breaks it.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox

from kgtools.engine.terms import MemoryIndex, OxTriple, Term, TripleSource, collector_paused
from kgtools.engine.vocab import XSD_STRING
from kgtools.errors import (
    DataTBoxError,
    InconsistentOntologyError,
    IncrementalUpdateError,
    UnsupportedOntologyError,
)

_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_RDFS = "http://www.w3.org/2000/01/rdf-schema#"
_OWL = "http://www.w3.org/2002/07/owl#"
_XSD = "http://www.w3.org/2001/XMLSchema#"
_VOCABULARY_NAMESPACES = (_RDF, _RDFS, _OWL, _XSD)


def _rdf(name: str) -> ox.NamedNode:
    return ox.NamedNode(_RDF + name)


def _rdfs(name: str) -> ox.NamedNode:
    return ox.NamedNode(_RDFS + name)


def _owl(name: str) -> ox.NamedNode:
    return ox.NamedNode(_OWL + name)


TYPE = _rdf("type")
FIRST, REST, NIL = _rdf("first"), _rdf("rest"), _rdf("nil")
SUBCLASS, SUBPROPERTY = _rdfs("subClassOf"), _rdfs("subPropertyOf")
DOMAIN, RANGE = _rdfs("domain"), _rdfs("range")
EQ_CLASS, EQ_PROPERTY = _owl("equivalentClass"), _owl("equivalentProperty")
INVERSE, CHAIN, SAME_AS = _owl("inverseOf"), _owl("propertyChainAxiom"), _owl("sameAs")
DISJOINT = _owl("disjointWith")
TRANSITIVE, SYMMETRIC = _owl("TransitiveProperty"), _owl("SymmetricProperty")
THING, NOTHING = _owl("Thing"), _owl("Nothing")
RESOURCE, LITERAL = _rdfs("Resource"), _rdfs("Literal")
_TOP_CLASSES = frozenset({THING, RESOURCE})
_TOP_PROPERTIES = frozenset({_owl("topObjectProperty"), _owl("topDataProperty")})
_REFLEXIVE_NOISE = frozenset({SAME_AS, EQ_CLASS, EQ_PROPERTY, SUBCLASS, SUBPROPERTY})
#: Classes whose instances are noise in every output (``rdf:type`` them is dropped).
_NOISE_CLASSES = frozenset({THING, RESOURCE, LITERAL})

#: Constructs whose OWL RL rules the engine does not implement (found anywhere in the T-box).
_UNSUPPORTED_PREDICATES = frozenset(
    _owl(n)
    for n in (
        "intersectionOf",
        "someValuesFrom",
        "allValuesFrom",
        "hasValue",
        "oneOf",
        "maxCardinality",
        "maxQualifiedCardinality",
        "hasKey",
        "complementOf",
        "propertyDisjointWith",
        "sourceIndividual",
        "differentFrom",
        "onClass",
    )
)
_UNSUPPORTED_TYPES = frozenset(
    _owl(n)
    for n in (
        "FunctionalProperty",
        "InverseFunctionalProperty",
        "IrreflexiveProperty",
        "AsymmetricProperty",
        "AllDisjointProperties",
        "AllDisjointClasses",
        "AllDifferent",
    )
)
#: Predicates whose triples change the rules themselves: data may only restate the T-box.
_SCHEMA_PREDICATES = frozenset(
    {
        SUBCLASS,
        SUBPROPERTY,
        DOMAIN,
        RANGE,
        EQ_CLASS,
        EQ_PROPERTY,
        INVERSE,
        CHAIN,
        SAME_AS,
        DISJOINT,
        _owl("unionOf"),
        _owl("onProperty"),
        _owl("members"),
        _owl("distinctMembers"),
        _owl("assertionProperty"),
        _owl("targetIndividual"),
        _owl("targetValue"),
        *_UNSUPPORTED_PREDICATES,
    }
)
#: Classes whose instances trigger rules: data may only restate the T-box's typings.
_RULE_CLASSES = frozenset({TRANSITIVE, SYMMETRIC, *_UNSUPPORTED_TYPES})


# -- the noise filter, on pyoxigraph terms ----------------------------------------------------


def is_noise(triple: OxTriple) -> bool:
    """:func:`kgtools.reference.owlrl.is_noise` on a pyoxigraph triple (plus blank-node
    predicates)."""
    s, p, o = triple
    if not isinstance(s, ox.NamedNode) or isinstance(o, ox.BlankNode):
        return True
    if not isinstance(p, ox.NamedNode):  # owlrl removes generalized triples at the end
        return True
    if s.value.startswith(_VOCABULARY_NAMESPACES):
        return True
    if p in _REFLEXIVE_NOISE and s == o:
        return True
    if p == TYPE and (o in _TOP_CLASSES or o == LITERAL):
        return True
    if p == SUBCLASS and (o in _TOP_CLASSES or s == NOTHING):
        return True
    return p == SUBPROPERTY and o in _TOP_PROPERTIES


def _rdflib_datatype(literal: ox.Literal) -> ox.NamedNode | None:
    """The datatype rdflib gives the literal: none for plain and language-tagged ones."""
    if literal.language:
        return None
    datatype = literal.datatype
    return None if datatype == XSD_STRING else datatype


@dataclass(frozen=True)
class _Datatypes:
    """owlrl's one-time datatype rules (``dt-type2``, subsumption, disjointness, lexical check)."""

    rl: frozenset[ox.NamedNode]
    subsumptions: dict[ox.NamedNode, tuple[ox.NamedNode, ...]]
    disjoint: tuple[tuple[ox.NamedNode, ox.NamedNode], ...]
    converters: dict[ox.NamedNode, Callable[[str], object]]

    @classmethod
    def from_owlrl(cls) -> _Datatypes:
        from owlrl.AxiomaticTriples import OWLRL_Datatypes_Disjointness
        from owlrl.DatatypeHandling import AltXSDToPYTHON
        from owlrl.XsdDatatypes import OWL_Datatype_Subsumptions, OWL_RL_Datatypes

        def nn(x: object) -> ox.NamedNode:
            return ox.NamedNode(str(x))

        return cls(
            rl=frozenset(nn(d) for d in OWL_RL_Datatypes),
            subsumptions={
                nn(d): tuple(nn(x) for x in subs) for d, subs in OWL_Datatype_Subsumptions.items()
            },
            disjoint=tuple((nn(a), nn(b)) for a, _, b in OWLRL_Datatypes_Disjointness),
            converters={nn(d): f for d, f in AltXSDToPYTHON.items()},
        )

    def implicit_types(self, literal: ox.Literal) -> tuple[ox.NamedNode, ...]:
        datatype = _rdflib_datatype(literal)
        if datatype is None or datatype not in self.rl:
            return ()
        return (datatype, *self.subsumptions.get(datatype, ()))

    def lexical_error(self, literal: ox.Literal) -> str | None:
        datatype = _rdflib_datatype(literal)
        if datatype is None or datatype not in self.rl:
            return None
        converter = self.converters.get(datatype)
        if converter is None:
            return None
        try:
            converter(literal.value)
        except ValueError:
            return (
                f"Lexical value of the literal '{literal.value}' does not match"
                f" its datatype ({datatype.value})"
            )
        return None


# -- the compiled rule set --------------------------------------------------------------------


@dataclass
class _PredicateRules:
    """What one triple ``s p o`` entails by the unary rules, closed under each other."""

    #: ``(q, flipped)``: ``s q o`` (or ``o q s`` when flipped), ``q`` never ``p`` unflipped.
    unary: tuple[tuple[ox.NamedNode, bool], ...]
    subject_classes: tuple[ox.NamedNode, ...]
    object_classes: tuple[ox.NamedNode, ...]


@dataclass
class RuleSet:
    """The OWL RL rules one ontology needs; see the module docstring."""

    ontology: frozenset[OxTriple]
    #: The owlrl closure of the ontology alone (includes the ontology).
    tbox: frozenset[OxTriple]
    #: The ontology's own entailments (``tbox`` minus the ontology, minus noise).
    tbox_entailments: frozenset[OxTriple]
    predicates: dict[ox.NamedNode, _PredicateRules]
    #: ``class → its strict superclasses`` (kept classes only).
    superclasses: dict[Term, tuple[ox.NamedNode, ...]]
    #: ``head → [chain, …]``; a chain is a tuple of predicates.
    chains: dict[ox.NamedNode, list[tuple[ox.NamedNode, ...]]]
    transitive: frozenset[ox.NamedNode]
    disjoint: tuple[tuple[Term, Term], ...]
    datatypes: _Datatypes
    #: Datatypes owlrl counts as used because the ontology's literals have them.
    ontology_datatypes: frozenset[ox.NamedNode]
    #: Whether some triple could entail ``rdf:type owl:Nothing`` (an inconsistency).
    nothing_reachable: bool = False

    # -- derived tables ----------------------------------------------------------------------

    @property
    def join_predicates(self) -> frozenset[ox.NamedNode]:
        """Predicates a binary rule (chain or transitivity) reads."""
        found = set(self.transitive)
        for chains in self.chains.values():
            for chain in chains:
                found.update(chain)
        return frozenset(found)

    @property
    def relevant_predicates(self) -> frozenset[ox.NamedNode]:
        """Predicates some rule reads (``rdf:type`` included)."""
        return frozenset({*self.predicates, *self.join_predicates, TYPE})

    def _flipped_into_join(self) -> frozenset[ox.NamedNode]:
        join = self.join_predicates
        return frozenset(
            p
            for p, rules in self.predicates.items()
            if any(flip and q in join for q, flip in rules.unary)
        )

    def unsafe_triples(self, triples: Iterable[OxTriple]) -> Iterator[OxTriple]:
        """Triples that :meth:`update` cannot maintain incrementally (see the module docstring).

        A blank node in a triple whose predicate a rule reads, a subject in the RDF/RDFS/OWL/XSD
        namespaces on such a triple, or a literal object on a property whose inverse or
        symmetric image feeds a chain or transitive rule: their consequences go through noise
        triples that the store does not keep.
        """
        relevant = self.relevant_predicates
        flipped = self._flipped_into_join()
        for triple in triples:
            s, p, o = triple
            if p not in relevant:
                continue
            if (
                isinstance(o, ox.BlankNode)
                or not isinstance(s, ox.NamedNode)
                or s.value.startswith(_VOCABULARY_NAMESPACES)
                or (isinstance(o, ox.Literal) and p in flipped)
            ):
                yield triple

    # -- checks shared by both paths -------------------------------------------------------

    def _check_data_triple(self, triple: OxTriple) -> None:
        """Raise for a data triple that would change the rules (T-box vocabulary)."""
        s, p, o = triple
        if p == TYPE:
            if (o in _RULE_CLASSES or o in self.datatypes.rl) and triple not in self.tbox:
                raise DataTBoxError(
                    triple,
                    f"the data types {s} as {o}, a typing that belongs in the ontology "
                    f"(ontology/tip.ttl): move the triple there or remove it from the data",
                )
            return
        if p in _SCHEMA_PREDICATES and triple not in self.tbox:
            if p == SAME_AS and s == o:
                return
            raise DataTBoxError(
                triple,
                f"the data states {s} {p} {o}: an axiom (owl:sameAs, subclass, sub-property, "
                "domain, range, inverse …) that belongs in the ontology (ontology/tip.ttl), "
                "not in data/: move the triple there or remove it from the data",
            )

    # -- full closure -------------------------------------------------------------------

    def entailments(self, data: Iterable[OxTriple]) -> set[OxTriple]:
        """What :func:`kgtools.reference.owlrl.entailments` gives for the ontology plus ``data``."""
        found = self._run(data, as_set=True)
        assert isinstance(found, set)
        return found

    def entailment_list(self, data: Iterable[OxTriple]) -> list[OxTriple]:
        """:meth:`entailments` as a list (each triple once, in no particular order).

        For a caller that only iterates: building the set hashes every term of every triple
        again (pyoxigraph terms keep no hash), a good part of the time at a million triples.
        """
        found = self._run(data, as_set=False)
        assert isinstance(found, list)
        return found

    def _run(self, data: Iterable[OxTriple], *, as_set: bool) -> Collection[OxTriple]:
        with collector_paused():  # millions of new tuples; the closure makes no cycles
            return _Closure(self).run(data, as_set=as_set)

    # -- incremental maintenance ---------------------------------------------------------

    def update(
        self,
        current: TripleSource,
        asserted_after: TripleSource,
        added: set[OxTriple],
        removed: set[OxTriple],
    ) -> tuple[set[OxTriple], set[OxTriple]]:
        """Entailments to add and to remove after asserting ``added`` and retracting ``removed``.

        ``current`` holds the asserted triples and the entailments before the change;
        ``asserted_after`` answers whether a triple is asserted after it. Only ``match`` and
        ``in`` are used, a number of times proportional to the change.
        """
        return _Update(self, current, asserted_after, added, removed).run()


# -- compile ----------------------------------------------------------------------------------


def _read_list(head: Term, first: dict[Term, Term], rest: dict[Term, Term]) -> list[Term]:
    items: list[Term] = []
    seen: set[Term] = set()
    node = head
    while node != NIL and node in first and node not in seen:
        seen.add(node)
        items.append(first[node])
        node = rest.get(node, NIL)
    return items


def tbox_closure(ontology: Iterable[OxTriple]) -> frozenset[OxTriple]:
    """owlrl's closure of the ontology alone (about a second; cache it by the ontology's hash)."""
    from rdflib import Graph

    from kgtools.engine.terms import triple_from_rdflib, triple_to_rdflib
    from kgtools.reference.owlrl import closure

    graph = Graph()
    for triple in ontology:
        graph.add(triple_to_rdflib(triple))
    return frozenset(triple_from_rdflib(t) for t in closure(graph))


def compile(ontology: Iterable[OxTriple], *, tbox: Iterable[OxTriple] | None = None) -> RuleSet:
    """Read the T-box once; raise :class:`UnsupportedOntologyError` for what is not compiled.

    ``tbox``: the ontology's closure from an earlier :func:`tbox_closure` of the same ontology
    (the build caches it), to skip running owlrl again.
    """
    onto = frozenset(ontology)
    tbox = frozenset(tbox) if tbox is not None else tbox_closure(onto)

    problems = sorted(
        {
            f"{p.value}" if p in _UNSUPPORTED_PREDICATES else f"rdf:type {o}"
            for s, p, o in tbox
            if p in _UNSUPPORTED_PREDICATES or (p == TYPE and o in _UNSUPPORTED_TYPES)
        }
        | {f"owl:sameAs ({s} = {o})" for s, p, o in tbox if p == SAME_AS and s != o}
    )
    if problems:
        raise UnsupportedOntologyError(
            "the ontology uses OWL constructs the fast reasoner does not implement: "
            + ", ".join(problems)
            + " — kg build cannot reason with them: remove them from the ontology "
            "(ontology/tip.ttl); from Python, kgtools.reference.owlrl (owlrl) handles them"
        )

    first: dict[Term, Term] = {}
    rest: dict[Term, Term] = {}
    sub: dict[Term, set[Term]] = defaultdict(set)
    subprop: dict[Term, set[Term]] = defaultdict(set)
    domains: dict[Term, set[Term]] = defaultdict(set)
    ranges: dict[Term, set[Term]] = defaultdict(set)
    inverses: dict[Term, set[Term]] = defaultdict(set)
    symmetric: set[Term] = set()
    transitive: set[Term] = set()
    chains: dict[Term, list[tuple[Term, ...]]] = defaultdict(list)
    disjoint: list[tuple[Term, Term]] = []
    chain_heads: list[tuple[Term, Term]] = []
    for s, p, o in tbox:
        if p == FIRST:
            first[s] = o
        elif p == REST:
            rest[s] = o
        elif p == SUBCLASS and s != o:
            sub[s].add(o)
        elif p == EQ_CLASS and s != o:
            sub[s].add(o)
            sub[o].add(s)
        elif p == SUBPROPERTY and s != o:
            subprop[s].add(o)
        elif p == EQ_PROPERTY and s != o:
            subprop[s].add(o)
            subprop[o].add(s)
        elif p == DOMAIN:
            domains[s].add(o)
        elif p == RANGE:
            ranges[s].add(o)
        elif p == INVERSE:
            inverses[s].add(o)
            inverses[o].add(s)
        elif p == TYPE and o == SYMMETRIC:
            symmetric.add(s)
        elif p == TYPE and o == TRANSITIVE:
            transitive.add(s)
        elif p == CHAIN:
            chain_heads.append((s, o))
        elif p == DISJOINT:
            disjoint.append((s, o))
    for head, lst in chain_heads:
        chain = tuple(_read_list(lst, first, rest))
        if chain:
            chains[head].append(chain)

    disjoint_classes = {c for pair in disjoint for c in pair}
    datatypes = _Datatypes.from_owlrl()
    keep = disjoint_classes | {NOTHING} | set(datatypes.rl)

    def kept(c: Term) -> bool:
        if c in keep:
            return True
        return isinstance(c, ox.NamedNode) and c not in _NOISE_CLASSES

    def class_closure(classes: Iterable[Term]) -> set[Term]:
        out: set[Term] = set()
        todo = list(classes)
        while todo:
            c = todo.pop()
            if c in out:
                continue
            out.add(c)
            if c != NOTHING:  # Nothing is a subclass of everything: an error anyway
                todo.extend(sub.get(c, ()))
        return out

    def nn(x: Term) -> ox.NamedNode:
        if not isinstance(x, ox.NamedNode):
            raise UnsupportedOntologyError(f"a property axiom names {x}, which is not an IRI")
        return x

    # Unary closure per predicate.
    properties: set[Term] = {*subprop, *domains, *ranges, *inverses, *symmetric}
    rules: dict[ox.NamedNode, _PredicateRules] = {}
    for p in properties:  # type: ignore[assignment]
        reached: set[tuple[Term, bool]] = set()
        todo2: list[tuple[Term, bool]] = [(p, False)]
        while todo2:
            q, flip = todo2.pop()
            if (q, flip) in reached:
                continue
            reached.add((q, flip))
            todo2.extend((sup, flip) for sup in subprop.get(q, ()))
            todo2.extend((inv, not flip) for inv in inverses.get(q, ()))
            if q in symmetric:
                todo2.append((q, not flip))
        subject_classes: set[Term] = set()
        object_classes: set[Term] = set()
        for q, flip in reached:
            (object_classes if flip else subject_classes).update(domains.get(q, ()))
            (subject_classes if flip else object_classes).update(ranges.get(q, ()))
        rules[nn(p)] = _PredicateRules(
            unary=tuple(sorted(((nn(q), f) for q, f in reached if (q, f) != (p, False)), key=str)),
            subject_classes=tuple(nn(c) for c in class_closure(subject_classes) if kept(c)),
            object_classes=tuple(nn(c) for c in class_closure(object_classes) if kept(c)),
        )
    superclasses: dict[Term, tuple[ox.NamedNode, ...]] = {}
    for c in sub:
        supers = tuple(nn(x) for x in class_closure([c]) - {c} if kept(x)) if kept(c) else ()
        if supers and isinstance(c, ox.NamedNode):
            superclasses[c] = supers

    # What the engine never supports: rules on T-box vocabulary itself.
    heads = {q for r in rules.values() for q, _ in r.unary} | set(chains) | transitive
    readers = set(rules) | transitive | {x for cs in chains.values() for c in cs for x in c}
    bad = sorted(
        str(p)
        for p in heads | readers
        if p == TYPE or p in _SCHEMA_PREDICATES or p in (FIRST, REST)
    )
    bad += sorted(
        str(c)
        for r in rules.values()
        for c in (*r.subject_classes, *r.object_classes)
        if c in _RULE_CLASSES
    )
    if bad:
        raise UnsupportedOntologyError(
            "the ontology puts property axioms on RDF/RDFS/OWL vocabulary the fast reasoner "
            "treats as fixed: " + ", ".join(bad)
        )

    ontology_datatypes: set[ox.NamedNode] = set()
    for _, p, o in onto:
        if isinstance(o, ox.Literal):
            ontology_datatypes.update(datatypes.implicit_types(o))
        if p == TYPE and o in datatypes.rl:
            assert isinstance(o, ox.NamedNode)
            ontology_datatypes.add(o)
            ontology_datatypes.update(datatypes.subsumptions.get(o, ()))

    return RuleSet(
        ontology=onto,
        tbox=tbox,
        tbox_entailments=frozenset(t for t in tbox - onto if not is_noise(t)),
        predicates=rules,
        superclasses=superclasses,
        chains={nn(h): [tuple(nn(x) for x in c) for c in cs] for h, cs in chains.items()},
        transitive=frozenset(nn(p) for p in transitive),
        disjoint=tuple(disjoint),
        datatypes=datatypes,
        ontology_datatypes=frozenset(ontology_datatypes),
        nothing_reachable=any(
            NOTHING in (*r.subject_classes, *r.object_classes) for r in rules.values()
        ),
    )


# -- the full closure, on interned terms -----------------------------------------------------


def _subject_rows(data: Iterable[OxTriple]) -> Mapping[Term, Mapping[Term, Collection[Term]]]:
    """``subject → predicate → objects`` of ``data``: a :class:`~kgtools.engine.terms.MemoryIndex`'s
    own map (no copy), or one built from any other iterable of triples."""
    by_subject = getattr(data, "by_subject", None)
    if callable(by_subject):
        return by_subject()
    rows: dict[Term, dict[Term, set[Term]]] = {}
    for s, p, o in data:
        rows.setdefault(s, {}).setdefault(p, set()).add(o)
    return rows


class _Closure:
    """One run of :meth:`RuleSet.entailments`.

    Non-type triples are ``(s, p, o)`` tuples of interned ids in ``known``; types are kept per
    node (``types[node]`` is a set of class ids), which makes ``cax-sco``/``prp-dom``/``prp-rng``
    set operations in C rather than one tuple per class.
    """

    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        self.ids: dict[Term, int] = {}
        self.terms: list[Term] = []
        #: Ids the noise filter rejects as a subject (literals, blank nodes, vocabulary IRIs).
        self.bad_subjects: set[int] = set()
        self.blank_nodes: set[int] = set()

    def intern(self, term: Term) -> int:
        i = self.ids.get(term)
        if i is None:
            i = len(self.terms)
            self.ids[term] = i
            self.terms.append(term)
            kind = type(term)
            if kind is ox.NamedNode:
                if term.value.startswith(_VOCABULARY_NAMESPACES):
                    self.bad_subjects.add(i)
            else:
                self.bad_subjects.add(i)
                if kind is ox.BlankNode:
                    self.blank_nodes.add(i)
        return i

    def run(self, data: Iterable[OxTriple], *, as_set: bool = True) -> Collection[OxTriple]:
        rules = self.rules
        ids, terms, intern = self.ids, self.terms, self.intern
        type_id = intern(TYPE)
        nothing_id = intern(NOTHING)
        datatypes = rules.datatypes

        # Integer rule tables.
        unary: dict[int, tuple[tuple[int, bool], ...]] = {}
        subj_classes: dict[int, frozenset[int]] = {}
        obj_classes: dict[int, frozenset[int]] = {}
        obj_classes_literal: dict[int, frozenset[int]] = {}
        disjoint_ids = {intern(c) for pair in rules.disjoint for c in pair}
        literal_keep = disjoint_ids | {nothing_id} | {intern(d) for d in datatypes.rl}
        for prop, r in rules.predicates.items():
            pid = intern(prop)
            unary[pid] = tuple((intern(q), f) for q, f in r.unary)
            subj_classes[pid] = frozenset(intern(c) for c in r.subject_classes)
            obj_classes[pid] = frozenset(intern(c) for c in r.object_classes)
            obj_classes_literal[pid] = obj_classes[pid] & literal_keep
        supers: dict[int, frozenset[int]] = {
            intern(c): frozenset(intern(x) for x in xs) for c, xs in rules.superclasses.items()
        }
        joins: dict[int, list[tuple[int, tuple[int, ...], int]]] = defaultdict(list)
        for head_term, chains in rules.chains.items():
            hi = intern(head_term)
            for chain_terms in chains:
                ci = tuple(intern(x) for x in chain_terms)
                for pos, x in enumerate(ci):
                    joins[x].append((hi, ci, pos))
        transitive = frozenset(intern(x) for x in rules.transitive)
        for x in transitive:
            joins[x]
        # Only the indexes a join reads: ``s → {o}`` of a step after the first of a chain (and of
        # a transitive property), ``o → {s}`` of a step before the last.
        out_idx: dict[int, defaultdict[int, set[int]]] = {x: defaultdict(set) for x in transitive}
        in_idx: dict[int, defaultdict[int, set[int]]] = {x: defaultdict(set) for x in transitive}
        for entries in joins.values():
            for _, chain, pos in entries:
                if pos > 0:
                    out_idx.setdefault(chain[pos], defaultdict(set))
                if pos < len(chain) - 1:
                    in_idx.setdefault(chain[pos], defaultdict(set))
        derivable = {*transitive, *(intern(h) for h in rules.chains)}
        for qs in unary.values():
            derivable.update(q for q, _ in qs)
        derivable.discard(type_id)
        relevant = {*unary, *joins, *derivable, type_id}
        # Derivable predicates that no rule reads: their asserted triples have no consequence,
        # they only must not be reported as entailments. They are set aside (not interned) and
        # compared with what was derived at the end (``rdfs:label``, which ``skos:prefLabel``
        # derives, is a good part of the data).
        lazy = derivable - set(unary) - set(joins) - {type_id}
        # unary[p] with, per derived predicate, its join indexes ((s → {o} or None, o → {s} or
        # None), or None when no join reads it) and whether it is lazy
        unary_steps: dict[int, tuple[tuple[int, bool, Any, bool], ...]] = {
            p: tuple(
                (q, flip, (out_idx.get(q), in_idx.get(q)) if q in joins else None, q in lazy)
                for q, flip in qs
            )
            for p, qs in unary.items()
        }

        # One lookup per triple: predicate → (interned id or None, needs a T-box check).
        tbox_ents = rules.tbox_entailments
        special = {*_SCHEMA_PREDICATES, *(p for _, p, _ in tbox_ents), TYPE}
        pinfo: dict[Term, tuple[int | None, bool]] = {
            terms[i]: (i, terms[i] in special) for i in relevant
        }
        for sp in special:
            pinfo.setdefault(sp, (None, True))
        pinfo_get = pinfo.get
        check = rules._check_data_triple
        rule_typings = _RULE_CLASSES | datatypes.rl

        known: set[tuple[int, int, int]] = set()
        types: dict[int, set[int]] = {}
        literals: set[int] = set()
        used = set(rules.ontology_datatypes)
        lexical_errors: set[str] = set()
        lexical_seen: set[ox.Literal] = set()
        restated: set[OxTriple] = set()
        nothing_seen = False

        derived: list[tuple[int, int, int]] = []
        derived_types: list[tuple[int, frozenset[int] | set[int]]] = []
        delta: list[tuple[int, int, int]] = []
        #: Derived triples met afterwards as asserted ones: not entailments.
        late: set[tuple[int, int, int]] = set()
        #: Derived triples of the lazy predicates (see ``lazy``).
        lazy_derived: list[tuple[int, int, int]] = []
        known_add, derived_append, delta_append = known.add, derived.append, delta.append
        lazy_append = lazy_derived.append
        types_get = types.get
        ids_get = ids.get
        empty: frozenset[int] = frozenset()

        def add_types(node: int, classes: frozenset[int]) -> None:
            current = types_get(node)
            if current is None:
                types[node] = set(classes)
                derived_types.append((node, classes))
            else:
                new = classes - current
                if new:
                    current |= new
                    derived_types.append((node, new))

        def object_id(term: Term) -> int:
            oi = ids_get(term)
            if oi is None:
                oi = intern(term)
                if type(term) is ox.Literal:
                    literals.add(oi)
            return oi

        # The T-box checks, found by interned id or by subject rather than by hashing every
        # asserted triple: the classes whose typings need a check, and the subjects of T-box
        # entailments by predicate (a data triple may restate one).
        typing_checks = {object_id(c) for c in rule_typings} | {
            object_id(o) for _, p, o in tbox_ents if p == TYPE
        }
        restatable: dict[Term, set[Term]] = defaultdict(set)
        for ts, tp, _ in tbox_ents:
            restatable[tp].add(ts)

        def assert_types(si: int, ts: Term, tp: Term, objects: Iterable[Term], data: bool) -> None:
            """Record the asserted ``ts rdf:type o`` (o in ``objects``)."""
            nonlocal nothing_seen
            cs = types.get(si)
            if cs is None:
                cs = types[si] = set()
            for to in objects:
                oi = object_id(to)
                if data and oi in typing_checks:
                    triple = (ts, tp, to)
                    if to in rule_typings:
                        check(triple)  # type: ignore[arg-type]
                    if triple in tbox_ents:
                        restated.add(triple)
                cs.add(oi)
                if oi == nothing_id or nothing_id in supers.get(oi, ()):
                    nothing_seen = True

        #: The set-aside asserted triples: lazy predicate → [(subject, objects)].
        deferred: defaultdict[int, list[tuple[Term, Collection[Term]]]] = defaultdict(list)

        # What the asserted triples of each predicate do, looked up once per (subject,
        # predicate): (id, T-box check, unary rules, subject classes, object classes, object
        # classes of a literal, join indexes or None, derivable, set aside).
        plans: dict[Term, tuple[Any, ...]] = {}
        for term, (pi, is_special) in pinfo.items():
            if pi is None:
                plans[term] = (None, is_special, (), empty, empty, empty, None, False, False)
            elif pi != type_id:
                plans[term] = (
                    pi,
                    is_special,
                    unary_steps.get(pi, ()),
                    subj_classes.get(pi, empty),
                    obj_classes.get(pi, empty),
                    obj_classes_literal.get(pi, empty),
                    (out_idx.get(pi), in_idx.get(pi)) if pi in joins else None,
                    pi in derivable,
                    pi in lazy,
                )
        plan_get = plans.get

        def assert_rows(
            items: Iterable[tuple[int | None, Term, Mapping[Term, Collection[Term]]]], data: bool
        ) -> None:
            """Record the asserted triples other than types, subject by subject (``(id or None,
            subject, predicate → objects)``), and apply the unary rules to them at once (the join
            rules run after every asserted triple is in). ``data``: the data's triples, with
            owlrl's lexical check and the T-box checks; else the T-box's own."""
            known_, late_add, literals_ = known, late.add, literals
            for si, ts, by_p in items:
                for tp, objects in by_p.items():
                    if data:
                        for to in objects:  # owlrl's lexical check of every typed literal
                            if (
                                type(to) is ox.Literal
                                and not to.language
                                and to not in lexical_seen
                                and to.datatype != XSD_STRING
                            ):
                                lexical_seen.add(to)
                                used.update(datatypes.implicit_types(to))
                                message = datatypes.lexical_error(to)
                                if message:
                                    lexical_errors.add(message)
                    plan = plan_get(tp)
                    if plan is None:
                        continue
                    pi, is_special, rules_p, sc, oc, ocl, index, is_derivable, set_aside = plan
                    if is_special and data:
                        if pi is None and tp in _SCHEMA_PREDICATES:
                            for to in objects:
                                check((ts, tp, to))  # type: ignore[arg-type]
                        if ts in restatable.get(tp, ()):
                            for to in objects:
                                if (ts, tp, to) in tbox_ents:
                                    restated.add((ts, tp, to))  # type: ignore[arg-type]
                    if pi is None:
                        continue
                    if set_aside and data:
                        deferred[pi].append((ts, objects))
                        continue
                    if si is None:
                        si = ids_get(ts)
                        if si is None:
                            si = intern(ts)
                    if sc:
                        current = types_get(si)
                        if current is None:
                            kept = sc & literal_keep if si in literals_ else sc
                            types[si] = set(kept)
                            derived_types.append((si, kept))
                        elif not sc <= current:
                            add_types(si, sc & literal_keep if si in literals_ else sc)
                    for to in objects:
                        oi = ids_get(to)
                        if oi is None:
                            oi = intern(to)
                            if type(to) is ox.Literal:
                                literals_.add(oi)
                        if is_derivable:
                            t = (si, pi, oi)
                            if t in known_:
                                # Already derived (or a T-box triple), so its consequences are
                                # known (a unary table is closed, a join result was expanded).
                                late_add(t)
                                continue
                            known_add(t)
                        if index is not None:
                            if index[0] is not None:
                                index[0][si].add(oi)
                            if index[1] is not None:
                                index[1][oi].add(si)
                            delta_append((si, pi, oi))
                        # emit()'s single-triple steps, inlined (runs once per asserted triple)
                        for q, flip, q_index, is_lazy in rules_p:
                            t = (oi, q, si) if flip else (si, q, oi)
                            if t not in known_:
                                known_add(t)
                                derived_append(t)
                                if q_index is not None:
                                    if q_index[0] is not None:
                                        q_index[0][t[0]].add(t[2])
                                    if q_index[1] is not None:
                                        q_index[1][t[2]].add(t[0])
                                    delta_append(t)
                                elif is_lazy:
                                    lazy_append(t)
                        classes = ocl if oi in literals_ else oc
                        if classes:
                            current = types_get(oi)
                            if current is None:
                                types[oi] = set(classes)
                                derived_types.append((oi, classes))
                            elif not classes <= current:
                                add_types(oi, classes)

        # The asserted triples, subject by subject: the T-box's (owlrl's closure of the
        # ontology, which the rules read like data), then the data's. First every asserted
        # type (a type both asserted and derived is not an entailment), then the other triples
        # with the unary rules applied at once; a triple derived before it is met as asserted
        # goes to ``late``.
        tbox_rows: dict[Term, dict[Term, list[Term]]] = {}
        for ts, tp, to in rules.tbox:
            info = pinfo_get(tp)
            if info is None or info[0] is None:
                continue
            tbox_rows.setdefault(ts, {}).setdefault(tp, []).append(to)
            if type(to) is ox.Literal:
                literals.add(intern(to))
            if type(ts) is ox.Literal:
                literals.add(intern(ts))
        rows = _subject_rows(data)
        if any(type(node) is ox.Literal for node in rows):  # generalized triples
            # A literal is a literal node (its types restricted) when it is an object, in
            # whatever order the triples come.
            literal_subjects = {node for node in rows if type(node) is ox.Literal}
            for by_p in rows.values():
                for pred, objects in by_p.items():
                    if (info := pinfo_get(pred)) is not None and info[0] is not None:
                        for obj in objects:
                            if obj in literal_subjects:
                                literals.add(intern(obj))
        tbox_ids = [intern(node) for node in tbox_rows]
        for sid, (node, tbox_by_p) in zip(tbox_ids, tbox_rows.items(), strict=True):
            tbox_types = tbox_by_p.get(TYPE)
            if tbox_types:
                assert_types(sid, node, TYPE, tbox_types, False)
        subject_ids: list[int | None] = []
        ids_append = subject_ids.append
        for node, by_p in rows.items():
            found = by_p.get(TYPE)
            if found:
                known_id = ids_get(node)
                if known_id is None:
                    known_id = intern(node)
                assert_types(known_id, node, TYPE, found, True)
                ids_append(known_id)
            else:
                ids_append(None)
        for sid, cs in list(types.items()):  # cax-sco on the asserted types
            for c in list(cs):
                classes = supers.get(c)
                if classes:
                    add_types(sid, classes & literal_keep if sid in literals else classes)
        assert_rows(zip(tbox_ids, tbox_rows.keys(), tbox_rows.values(), strict=True), False)
        assert_rows(zip(subject_ids, rows.keys(), rows.values(), strict=True), True)
        if lexical_errors:
            raise InconsistentOntologyError(sorted(lexical_errors))

        # What a triple a join rule derives does (its predicate is a chain's head or transitive,
        # never rdf:type): (join indexes or None, lazy, unary rules, subject classes, object
        # classes, object classes of a literal).
        heads: dict[int, tuple[Any, ...]] = {
            p: (
                (out_idx.get(p), in_idx.get(p)) if p in joins else None,
                p in lazy,
                unary_steps.get(p, ()),
                subj_classes.get(p, empty),
                obj_classes.get(p, empty),
                obj_classes_literal.get(p, empty),
            )
            for p in {*(ids[h] for h in rules.chains), *transitive}
        }

        def emit(s: int, p: int, o: int) -> None:
            """Record a triple a join rule derives, and what the unary rules give for it."""
            t = (s, p, o)
            if t in known:
                return
            known_add(t)
            derived_append(t)
            index, is_lazy, steps, sc, oc, ocl = heads[p]
            if index is not None:
                if index[0] is not None:
                    index[0][s].add(o)
                if index[1] is not None:
                    index[1][o].add(s)
                delta_append(t)
            elif is_lazy:
                lazy_append(t)
            for q, flip, q_index, q_lazy in steps:
                t = (o, q, s) if flip else (s, q, o)
                if t not in known:
                    known_add(t)
                    derived_append(t)
                    if q_index is not None:
                        if q_index[0] is not None:
                            q_index[0][t[0]].add(t[2])
                        if q_index[1] is not None:
                            q_index[1][t[2]].add(t[0])
                        delta_append(t)
                    elif q_lazy:
                        lazy_append(t)
            if sc:
                add_types(s, sc & literal_keep if s in literals else sc)
            classes = ocl if o in literals else oc
            if classes:
                add_types(o, classes)

        # Binary rules, semi-naively: each new triple is joined once with everything known.
        # Two-element chains (all of this ontology's) get their own tables.
        left2: dict[int, list[tuple[int, int]]] = defaultdict(list)  # p2 → (head, p1)
        right2: dict[int, list[tuple[int, int]]] = defaultdict(list)  # p1 → (head, p2)
        longer: dict[int, list[tuple[int, tuple[int, ...], int]]] = defaultdict(list)
        for p, entries in joins.items():
            for head, chain, pos in entries:
                if len(chain) == 2:
                    (right2 if pos == 0 else left2)[p].append((head, chain[1 - pos]))
                else:
                    longer[p].append((head, chain, pos))
        # Per predicate of a delta triple: (head, index of the other step) for two-element chains
        # where it is the first step and where it is the second, longer chains, transitivity.
        steps: dict[int, tuple[Any, ...]] = {
            p: (
                [(head, out_idx[p2]) for head, p2 in right2.get(p, ())],
                [(head, in_idx[p1]) for head, p1 in left2.get(p, ())],
                longer.get(p, ()),
                p in transitive,
            )
            for p in joins
        }
        while delta:
            batch = list(delta)
            delta.clear()
            for s, p, o in batch:
                rights2, lefts2, longer_p, is_transitive = steps[p]
                for head, out_p2 in rights2:
                    found = out_p2.get(o)
                    if found:
                        for c in tuple(found):  # emit may add to the set
                            if (s, head, c) not in known:
                                emit(s, head, c)
                for head, in_p1 in lefts2:
                    found = in_p1.get(s)
                    if found:
                        for a in tuple(found):
                            if (a, head, o) not in known:
                                emit(a, head, o)
                for head, chain, pos in longer_p:
                    # Walk left from s to the chain's start and right from o to its end.
                    lefts: Iterable[int] = (s,)
                    for x in reversed(chain[:pos]):
                        index = in_idx[x]
                        lefts = {a for b in lefts for a in index.get(b, empty)}
                    rights: Iterable[int] = (o,)
                    for x in chain[pos + 1 :]:
                        index = out_idx[x]
                        rights = {c for b in rights for c in index.get(b, empty)}
                    for a in list(lefts):
                        for c in list(rights):
                            emit(a, head, c)
                if is_transitive:
                    for c in list(out_idx[p].get(o, empty)):
                        emit(s, p, c)
                    for a in list(in_idx[p].get(s, empty)):
                        emit(a, p, o)

        self._check_consistency(types, literals, used, nothing_id, nothing_seen)
        if deferred:
            late |= self._asserted_among(lazy_derived, deferred, known, rows)
        known.clear()  # not needed any more: free it before the output is built
        types.clear()
        from_tbox = tbox_ents - restated
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
        noise_classes = {self.ids[c] for c in _NOISE_CLASSES if c in self.ids} | blank
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
        # Derived predicates are never T-box vocabulary (compile checks), so the rest of the
        # noise filter (reflexive sameAs/subClassOf …) cannot apply.

    def _check_consistency(
        self,
        types: dict[int, set[int]],
        literals: set[int],
        used: set[ox.NamedNode],
        nothing_id: int,
        nothing_seen: bool,
    ) -> None:
        """``cls-nothing2`` and ``cax-dw`` (with owlrl's datatype disjointness)."""
        rules, terms, ids = self.rules, self.terms, self.ids
        pairs = [(ids[a], ids[b]) for a, b in rules.disjoint]
        pairs += [
            (self.intern(a), self.intern(b))
            for a, b in rules.datatypes.disjoint
            if a in used and b in used
        ]
        if not pairs and not nothing_seen and not rules.nothing_reachable:
            return
        watched = {c for pair in pairs for c in pair} | {nothing_id}
        members: dict[int, set[int]] = defaultdict(set)
        for node, classes in types.items():
            for c in classes & watched:
                members[c].add(node)
        if any(terms[c] in rules.datatypes.rl for pair in pairs for c in pair):
            for lit in literals:
                term = terms[lit]
                assert isinstance(term, ox.Literal)
                for d in rules.datatypes.implicit_types(term):
                    di = ids.get(d)
                    if di is not None and di in watched:
                        members[di].add(lit)
        errors = {f"{terms[x].value} is defined of type 'Nothing'" for x in members[nothing_id]}
        for a, b in pairs:
            for x in members.get(a, set()) & members.get(b, set()):
                errors.add(
                    f"Disjoint classes {terms[a].value} and {terms[b].value} "
                    f"have a common individual {terms[x].value}"
                )
        if errors:
            raise InconsistentOntologyError(sorted(errors))


# -- DRed ---------------------------------------------------------------------------------


class _Update:
    """One run of :meth:`RuleSet.update`."""

    def __init__(
        self,
        rules: RuleSet,
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
        self.unsafe_flipped = rules._flipped_into_join()

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
            rules._check_data_triple(t)
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
