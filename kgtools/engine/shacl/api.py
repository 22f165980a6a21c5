"""The validator's entry points: ``kg validate`` on files, rdflib graphs in and a report out,
and the compiled shapes a build validates with (compiled once a process for the same shapes).

Both give the results and report :func:`kgtools.reference.pyshacl.validate` (pySHACL) gives
(https://www.w3.org/TR/shacl/#validation-report), in a fraction of its time at scale.
"""

from __future__ import annotations

import functools
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING

import pyoxigraph as ox
from rdflib import Graph
from rdflib.term import Node

from kgtools.engine.shacl.compiler import compile
from kgtools.engine.shacl.validator import CompiledShapes
from kgtools.engine.terms import MemoryIndex, OxTriple, TripleSource, from_rdflib
from kgtools.engine.vocab import RDFS_LABEL
from kgtools.memo import BoundedMemo

if TYPE_CHECKING:
    from collections.abc import Sequence

    from kgtools.validation import ValidationReport


def label_in(source: TripleSource, node: Node) -> str | None:
    """The ``rdfs:label`` of ``node`` in ``source`` that a report shows
    (:func:`kgtools.reference.pyshacl.report_label`)."""
    from kgtools.validation import report_label

    return report_label(
        (label.value, label.language)
        for _, _, label in source.match(from_rdflib(node), RDFS_LABEL, None)
        if isinstance(label, ox.Literal)
    )


def compile_triples(triples: tuple[OxTriple, ...]) -> CompiledShapes:
    """The validator compiled from the shapes ``triples`` (in file order), compiled once a
    process for the same triples: the compile was ~0.12 s of a ~0.43 s full build of the real
    project and of each `kg validate`, and a process that builds or validates again (`kg serve`,
    the Python API, the tests) usually has the same shapes. The key is the triples themselves
    (compared, not only hashed), so what is reused is exactly what a compile of these triples
    gives; a :class:`CompiledShapes` keeps no state of one validation for the next.
    :func:`forget_compiled` empties the memo (``kg bench`` times a rebuild as a new process
    would run it)."""
    from kgtools.engine.terms import triple_to_rdflib

    found = _COMPILED.get(triples)
    if found is not None:
        return found
    graph = Graph()
    for triple in triples:
        graph.add(triple_to_rdflib(triple))
    compiled = compile(graph)
    _COMPILED.put(triples, compiled)
    return compiled


def forget_compiled() -> None:
    """Empty :func:`compile_triples`' memo."""
    _COMPILED.clear()


#: Compiled validators by shapes triples, the last four used (:func:`compile_triples`).
_COMPILED: BoundedMemo[tuple[OxTriple, ...], CompiledShapes] = BoundedMemo(4)


def validate_files(
    data_files: Sequence[Path], shapes_file: Path, ontology_file: Path
) -> tuple[ValidationReport, int]:
    """``kg validate``: the files parsed by Oxigraph with every load check (each file's problem
    reported together, as the build does) and validated by the compiled shapes — the results and
    report :func:`kgtools.reference.pyshacl.validate` (pySHACL) gives, in a fraction of its time at
    scale. Returns the report and the number of distinct data triples."""
    from kgtools.engine.terms import collector_paused
    from kgtools.load.fast import read_files
    from kgtools.load.schema import schema_terms

    with collector_paused():  # the index holds millions of tuples and sets
        keys = {path: path.as_posix() for path in [ontology_file, shapes_file]}
        read = read_files(keys.items())
        shape_triples = tuple(read.pop(keys[shapes_file]))
        ontology_triples = read.pop(keys[ontology_file])
        ontology = MemoryIndex(ontology_triples)
        read = read_files(
            ((path, path.as_posix()) for path in data_files), schema=schema_terms(ontology_triples)
        )
        data = MemoryIndex(chain.from_iterable(read.values()))
        del read
        compiled = compile_triples(shape_triples)
        results = compiled.validate(data, ontology)
        return compiled.report(results, label_of=functools.partial(label_in, data)), len(data)


def validate_graphs(data: Graph, shapes: Graph, ontology: Graph) -> ValidationReport:
    """:func:`kgtools.reference.pyshacl.validate` with the fast validator (same arguments, same
    report)."""
    from kgtools.engine.terms import triple_from_rdflib

    compiled = compile(shapes)
    data_index = MemoryIndex(triple_from_rdflib(t) for t in data)
    onto_index = MemoryIndex(triple_from_rdflib(t) for t in ontology)
    results = compiled.validate(data_index, onto_index)
    return compiled.report(results, data)
