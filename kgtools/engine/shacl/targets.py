"""The focus nodes of a shape, from its targets.

https://www.w3.org/TR/shacl/#targets — ``sh:targetClass`` (through ``rdfs:subClassOf*`` over data
∪ ontology), implicit class targets, ``sh:targetNode``, ``sh:targetSubjectsOf``,
``sh:targetObjectsOf``. With ``focus`` given (an incremental build), only those nodes are tested
for being targets, and the result equals the full result filtered to them.
"""

from __future__ import annotations

from kgtools.engine.shacl.model import Shape
from kgtools.engine.shacl.view import DataView
from kgtools.engine.terms import Term
from kgtools.engine.vocab import RDF_TYPE


def focus_nodes(view: DataView, shape: Shape, focus: set[Term] | None) -> list[Term]:
    """The focus nodes of ``shape`` (among ``focus`` when given)."""
    if focus is not None:
        found = []
        targets = set(shape.target_nodes)
        for node in focus:
            if (
                node in targets
                or any(c in view.classes(node) for c in shape.target_classes)
                or any(view.objects(node, p) for p in shape.target_subjects_of)
                or any(view.subjects(p, node) for p in shape.target_objects_of)
            ):
                found.append(node)
        return found
    nodes: set[Term] = set(shape.target_nodes)
    for cls in shape.target_classes:
        for sub in view.subclasses(cls):
            nodes.update(view.subjects(RDF_TYPE, sub))
    for p in shape.target_subjects_of:
        nodes.update(t[0] for t in view.match(None, p, None))
    for p in shape.target_objects_of:
        nodes.update(t[2] for t in view.match(None, p, None))
    return list(nodes)
