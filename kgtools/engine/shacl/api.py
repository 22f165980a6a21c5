"""The validator's entry points: ``kg validate`` on files, and rdflib graphs in, a report out.

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
from kgtools.engine.terms import MemoryIndex, TripleSource, from_rdflib
from kgtools.engine.vocab import RDFS_LABEL

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


def validate_files(
    data_files: Sequence[Path], shapes_file: Path, ontology_file: Path
) -> tuple[ValidationReport, int]:
    """``kg validate``: the files parsed by Oxigraph with every load check (each file's problem
    reported together, as the build does) and validated by the compiled shapes — the results and
    report :func:`kgtools.reference.pyshacl.validate` (pySHACL) gives, in a fraction of its time at
    scale. Returns the report and the number of distinct data triples."""
    from kgtools.engine.terms import collector_paused, triple_to_rdflib
    from kgtools.load.fast import read_files
    from kgtools.load.schema import schema_terms

    with collector_paused():  # the index holds millions of tuples and sets
        keys = {path: path.as_posix() for path in [ontology_file, shapes_file]}
        read = read_files(keys.items())
        shapes = Graph()
        for triple in read.pop(keys[shapes_file]):
            shapes.add(triple_to_rdflib(triple))
        ontology_triples = read.pop(keys[ontology_file])
        ontology = MemoryIndex(ontology_triples)
        read = read_files(
            ((path, path.as_posix()) for path in data_files), schema=schema_terms(ontology_triples)
        )
        data = MemoryIndex(chain.from_iterable(read.values()))
        del read
        compiled = compile(shapes)
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
