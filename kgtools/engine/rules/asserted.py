"""The asserted triples read into a closure run, with the one-triple rules applied at once.

https://www.w3.org/TR/owl2-profiles/#Reasoning_in_OWL_2_RL_and_RDF_Graphs_using_Rules — the
T-box's closure (which the rules read like data) and the data are read subject by subject (a
:class:`~kgtools.engine.terms.MemoryIndex`'s own subject map, so a subject is hashed once for all
its triples and a predicate once per subject): every asserted type first (a type both asserted
and derived is not an entailment), ``cax-sco`` on them, then every other triple with its unary
``prp-*`` rules applied at once; a triple derived before it is met as asserted goes to ``late``.
On the way: owlrl's lexical check of typed literals (``dt-not-type``) and the guard against data
that states T-box axioms (:meth:`~kgtools.engine.rules.tables.RuleTables.check_data_triple`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping

import pyoxigraph as ox

from kgtools.engine.rules.interned import IdTables
from kgtools.engine.rules.state import ClosureState
from kgtools.engine.rules.vocabulary import RULE_CLASSES, SCHEMA_PREDICATES, TYPE
from kgtools.engine.terms import OxTriple, Term
from kgtools.engine.vocab import XSD_STRING
from kgtools.errors import InconsistentOntologyError


def subject_rows(data: Iterable[OxTriple]) -> Mapping[Term, Mapping[Term, Collection[Term]]]:
    """``subject → predicate → objects`` of ``data``: a :class:`~kgtools.engine.terms.MemoryIndex`'s
    own map (no copy), or one built from any other iterable of triples."""
    by_subject = getattr(data, "by_subject", None)
    if callable(by_subject):
        return by_subject()
    rows: dict[Term, dict[Term, set[Term]]] = {}
    for s, p, o in data:
        rows.setdefault(s, {}).setdefault(p, set()).add(o)
    return rows


def read_asserted(
    state: ClosureState, tables: IdTables, data: Iterable[OxTriple]
) -> Mapping[Term, Mapping[Term, Collection[Term]]]:
    """Read the T-box's and ``data``'s triples into ``state``; return the data's subject rows.

    Raises :class:`~kgtools.errors.InconsistentOntologyError` for a literal whose lexical form
    its datatype rejects, and :class:`~kgtools.errors.DataTBoxError` for data that changes the
    rules.
    """
    rules = state.rules
    ids, intern = state.ids, state.intern
    datatypes = rules.datatypes
    tbox_ents = rules.tbox_entailments
    nothing_id = tables.nothing_id
    literal_keep, supers, pinfo_get = tables.literal_keep, tables.supers, tables.pinfo.get
    check = rules.check_data_triple
    rule_typings = RULE_CLASSES | datatypes.rl

    known, types, literals = state.known, state.types, state.literals
    used, restated = state.used, state.restated
    lexical_errors: set[str] = set()
    lexical_seen: set[ox.Literal] = set()
    derived_types, delta = state.derived_types, state.delta
    late, deferred = state.late, state.deferred
    known_add, delta_append = known.add, delta.append
    types_get = types.get
    ids_get = ids.get
    add_types = state.add_types
    apply_unary = state.apply_unary

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
                state.nothing_seen = True

    plan_get = tables.plans.get

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
                    if pi is None and tp in SCHEMA_PREDICATES:
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
                    if rules_p:
                        apply_unary(si, oi, rules_p)
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
    rows = subject_rows(data)
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

    return rows
