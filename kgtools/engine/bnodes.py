"""Canonical blank-node labels in linear time for the blank nodes that form trees.

The exports label blank nodes by the graph's structure, so that the same graph gives the same
bytes in every process. ``rdflib.compare.to_canonical_graph`` does this for any graph, but it
refines colours one step of distance at a time, so a chain of blank nodes ``[ p [ p … ] ]``
costs the square of its length: 3,000 nodes took 55 s, and 100,000 would take hours. Blank
nodes written in Turtle's ``[ … ]`` and ``( … )`` syntax — nearly all of them — form trees: each
is the object of at most one triple whose subject is a blank node, and none is its own ancestor.
For these, a label can be computed in two linear passes (our own code, as no library offers
it):

1. bottom-up, a hash of each node's *content*: its triples, each blank object replaced by its
   content hash (a Merkle tree);
2. top-down, the label: a hash of the content, the triples that point at the node from IRIs,
   and the *label* of its blank parent with the predicate. Nodes whose hashes still tie are
   interchangeable (an automorphism swaps them), so numbering them in any order gives the same
   triples.

The blank nodes of the other connected parts (a cycle, a node shared by two blank parents) are
labelled by Oxigraph's canonicalisation (``Dataset.canonicalize``), which is given the triples of
those parts only; its labels (``c`` + hex) and ours (``t`` + hex) cannot collide.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from rdflib import BNode, Graph
from rdflib.term import Node

Triple = tuple[Node, Node, Node]


def _h(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def canonical_triples(triples: Iterable[Triple]) -> list[Triple]:
    """``triples`` with every blank node relabelled canonically (see the module docstring)."""
    triples = list(dict.fromkeys(triples))
    out: dict[BNode, list[Triple]] = {}
    into: dict[BNode, list[Triple]] = {}
    plain: list[Triple] = []
    for triple in triples:
        s, _, o = triple
        s_blank, o_blank = isinstance(s, BNode), isinstance(o, BNode)
        if not s_blank and not o_blank:
            plain.append(triple)
            continue
        if s_blank:
            out.setdefault(s, []).append(triple)  # type: ignore[arg-type]
            into.setdefault(s, [])  # type: ignore[arg-type]
        if o_blank:
            into.setdefault(o, []).append(triple)  # type: ignore[arg-type]
            out.setdefault(o, [])  # type: ignore[arg-type]
    if not out:
        return plain
    labels: dict[BNode, BNode] = {}
    taken: dict[str, int] = {}  # label → how many nodes have it (ties across components too)
    other: set[Triple] = set()
    for component in _components(out, into):
        order = _tree_order(component, into)
        if order is None:  # not a tree: the general (slower) algorithm, on these parts only
            other.update(t for node in component for t in (*out[node], *into[node]))
        else:
            labels.update(_tree_labels(order, out, into, taken))
    relabelled = [
        (labels.get(s, s), p, labels.get(o, o))  # type: ignore[call-overload]
        for node in labels
        for s, p, o in out[node]
    ]
    relabelled += [
        (s, p, labels[node])
        for node in labels
        for s, p, _ in into[node]
        if not isinstance(s, BNode)
    ]
    # (all such parts at once: labelled apart, two alike would get the same labels)
    return plain + relabelled + (_general(other) if other else [])


def _general(triples: set[Triple]) -> list[Triple]:
    """Canonical labels for any graph: Oxigraph's canonicalisation. (rdflib's
    ``to_canonical_graph`` was used here until hypothesis found graphs of shared blank nodes for
    which its labels depended on the input's blank-node names, and one whose relabelled triples
    were not the same graph.)"""
    import pyoxigraph as ox

    from kgtools.engine.terms import from_rdflib, to_rdflib

    dataset = ox.Dataset(
        ox.Quad(from_rdflib(s), from_rdflib(p), from_rdflib(o))  # type: ignore[arg-type]
        for s, p, o in triples
    )
    dataset.canonicalize(ox.CanonicalizationAlgorithm.UNSTABLE)
    return [(to_rdflib(q.subject), to_rdflib(q.predicate), to_rdflib(q.object)) for q in dataset]


def canonical_graph(triples: Iterable[Triple]) -> Graph:
    """:func:`canonical_triples` in a new graph."""
    return _graph(canonical_triples(triples))


def _graph(triples: Iterable[Triple]) -> Graph:
    graph = Graph()
    for triple in triples:
        graph.add(triple)
    return graph


def _components(
    out: dict[BNode, list[Triple]], into: dict[BNode, list[Triple]]
) -> list[list[BNode]]:
    """The blank nodes, grouped by the blank-to-blank triples that connect them."""
    seen: set[BNode] = set()
    found = []
    for start in out:
        if start in seen:
            continue
        seen.add(start)
        component, stack = [], [start]
        while stack:
            node = stack.pop()
            component.append(node)
            neighbours = [o for _, _, o in out[node]] + [s for s, _, _ in into[node]]
            for other in neighbours:
                if isinstance(other, BNode) and other not in seen:
                    seen.add(other)
                    stack.append(other)
        found.append(component)
    return found


def _tree_order(component: list[BNode], into: dict[BNode, list[Triple]]) -> list[BNode] | None:
    """The component's nodes, parents before children, if it is a tree; else ``None``."""
    parent_of: dict[BNode, BNode] = {}
    roots = []
    for node in component:
        parents = [s for s, _, _ in into[node] if isinstance(s, BNode)]
        if len(parents) > 1:
            return None
        if parents:
            parent_of[node] = parents[0]
        else:
            roots.append(node)
    if len(roots) != 1:  # no root: a cycle (a tree of n nodes has n - 1 blank-to-blank links)
        return None
    children: dict[BNode, list[BNode]] = {}
    for child, parent in parent_of.items():
        children.setdefault(parent, []).append(child)
    order, stack = [], [roots[0]]
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(children.get(node, ()))
    return order if len(order) == len(component) else None


def _tree_labels(
    order: list[BNode],
    out: dict[BNode, list[Triple]],
    into: dict[BNode, list[Triple]],
    taken: dict[str, int],
) -> dict[BNode, BNode]:
    content: dict[BNode, str] = {}
    for node in reversed(order):  # children first
        lines = sorted(
            f"{p.n3()} {'_' + content[o] if isinstance(o, BNode) else o.n3()}"
            for _, p, o in out[node]
        )
        # the triples from IRIs into the node belong to its subtree's content too: without them
        # two nodes whose children differ only there tied, and their numbering followed the input
        lines += sorted(
            f"^ {s.n3()} {p.n3()}" for s, p, _ in into[node] if not isinstance(s, BNode)
        )
        content[node] = _h("\n".join(lines))
    labels: dict[BNode, BNode] = {}
    for node in order:  # parents first
        anchors = sorted(
            f"{'_' + str(labels[s]) if isinstance(s, BNode) else s.n3()} {p.n3()}"
            for s, p, _ in into[node]
        )
        key = _h(content[node] + "\n" + "\n".join(anchors))
        n = taken.get(key, 0)
        taken[key] = n + 1
        labels[node] = BNode(f"t{key}" if n == 0 else f"t{key}n{n}")
    return labels
