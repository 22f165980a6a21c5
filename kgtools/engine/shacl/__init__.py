"""The compiled SHACL validator: pySHACL's results, set-at-a-time (https://www.w3.org/TR/shacl/).

pySHACL (:mod:`kgtools.reference.pyshacl`) is the reference, but it evaluates every constraint one
focus node at a time and runs a SPARQL constraint once per focus node: minutes at a million
triples. This package keeps pySHACL's semantics — as ``kgtools.reference.pyshacl`` calls it:
ontology mixed in (:mod:`.inoculation`), no inference, ``allow_warnings``, not advanced — and only
organises the work differently: the shapes graph is compiled once (:mod:`.compiler`), each
targeted shape's focus nodes are found once (:mod:`.targets`), its value nodes read in one pass
(:mod:`.values`), and each constraint is one loop over all (focus, values) pairs (:mod:`.run`).
The test suite compares the results with pySHACL's on every shape case.

One module per family of the SHACL spec's constraint components: :mod:`.value_type` (§4.1),
:mod:`.cardinality` (§4.2), :mod:`.value_range` (§4.3), :mod:`.string_based` (§4.4),
:mod:`.property_pair` (§4.5), :mod:`.logical` (§4.6), :mod:`.shape_based` (§4.7), :mod:`.other`
(§4.8) and :mod:`.sparql` (§5). A feature not implemented raises
:class:`~kgtools.errors.UnsupportedShapeError` when the shapes are compiled.

Known differences, all outside what this project's shapes use: pySHACL's generic messages for
shapes without ``sh:message`` are not generated; ``sh:node`` detail results are filtered by their
own focus node under a ``focus`` restriction; SPARQL runs on Oxigraph, not rdflib's engine, so
casts of odd lexical forms (``xsd:integer(" 12")``) may differ.
"""

from kgtools.engine.shacl.api import (
    compile_triples,
    forget_compiled,
    label_in,
    validate_files,
    validate_graphs,
)
from kgtools.engine.shacl.compiler import compile
from kgtools.engine.shacl.inoculation import inoculate
from kgtools.engine.shacl.validator import CompiledShapes

__all__ = [
    "CompiledShapes",
    "compile",
    "compile_triples",
    "forget_compiled",
    "inoculate",
    "label_in",
    "validate_files",
    "validate_graphs",
]
