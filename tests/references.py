"""The reference libraries' answers (pySHACL, owlrl), each computed once per input.

pySHACL and owlrl are the slow, authoritative side of the equivalence tests, and several tests
ask them the same question: test_shapes and test_shacl_fast both validate every shape case. An
answer is kept under a key made of the sha256 of every input's content and of the libraries'
versions (:func:`digest`), so that a changed input or library is never answered from the cache
(tests/test_references.py changes each input and checks that the key changes).

* pySHACL reports are kept in memory for the test session (one per xdist worker: conftest puts
  the files that share them in one xdist group). A report holds the session's own nodes (the
  blank nodes of the shapes and of the case files), so it cannot outlive the session.
* owlrl's entailments of test_equivalence's synthetic sample are also written under pytest's
  cache dir (``config.cache``, i.e. ``.pytest_cache/``): a second run on the same inputs reads
  them. They hold no blank node, so N-Triples carries them exactly; the key is taken over the
  canonical form of the very graph owlrl is given (blank nodes relabelled by rdflib.compare), so
  a change anywhere between the files and owlrl (generator, loader, filter) is a new key.
* rdflib's prepared SPARQL queries (:func:`share_prepared_queries`): pySHACL hands rdflib each
  SPARQL constraint as text, and rdflib parses it again on every run (pyparsing, about a tenth of
  a second a query: two thirds of a pySHACL run on a shape case). In the test session a text is
  parsed and translated once, under a key of everything the translation reads (the text, the
  base and the namespaces given); the prepared query is rdflib's own reusable ``Query`` (what
  ``prepareQuery`` gives, which kgtools.query.library also reuses), evaluated as before.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rdflib import BNode, Graph
from rdflib.compare import to_canonical_graph

from kgtools.load.reference import load_files
from kgtools.load.schema import schema_terms
from kgtools.project import Project
from kgtools.reference import owlrl as reason
from kgtools.reference.pyshacl import validate
from kgtools.usercache import digest, versions
from kgtools.validation import ValidationReport


def file_parts(paths: Iterable[Path]) -> list[bytes | str]:
    """Each file's name and bytes, as key parts."""
    parts: list[bytes | str] = []
    for path in paths:
        parts += [path.name, path.read_bytes()]
    return parts


def graph_digest(graph: Graph) -> str:
    """sha256 of ``graph``'s content, the same for isomorphic graphs (blank nodes are relabelled
    canonically first), different for any other graph."""
    canonical = to_canonical_graph(graph)
    lines = sorted(canonical.serialize(format="nt").splitlines())
    return digest(*lines)


# -- pySHACL: every shape case validated once per session -----------------------------------------


@dataclass(frozen=True)
class ShapeCase:
    """A ``tests/shapes/*.ttl`` case: the file as parsed (plain rdflib, since cases hold
    deliberately ill-typed literals that kg's loader refuses) and the data both validators get,
    the shared data files plus the case."""

    path: Path
    graph: Graph
    data: Graph


@dataclass
class References:
    """The session's reference answers; one per session (conftest's ``references`` fixture)."""

    shapes_path: Path
    ontology_path: Path
    shared_paths: list[Path]
    context: Graph
    shapes: Graph
    ontology: Graph
    _cases: dict[str, ShapeCase] = field(default_factory=dict)
    _reports: dict[str, ValidationReport] = field(default_factory=dict)
    #: how many times pySHACL really ran, by key (tests/test_references.py reads it)
    runs: dict[str, int] = field(default_factory=dict)

    def case_key(self, path: Path) -> str:
        """The key of a shape case's pySHACL report: every input's bytes and the versions."""
        return digest(
            versions("pyshacl", "rdflib"),
            *file_parts([self.shapes_path, self.ontology_path, *self.shared_paths, path]),
        )

    def case(self, path: Path) -> ShapeCase:
        """The case at ``path``, parsed once per session."""
        key = self.case_key(path)
        if key not in self._cases:
            graph = Graph().parse(path, format="turtle")
            data = Graph()
            for triple in self.context:
                data.add(triple)
            for triple in graph:
                data.add(triple)
            self._cases[key] = ShapeCase(path, graph, data)
        return self._cases[key]

    def case_report(self, path: Path) -> ValidationReport:
        """pySHACL's report on :meth:`case` ``(path).data`` (kgtools.reference.pyshacl), once per
        session. Shared by the tests that ask: read it, do not change it."""
        key = self.case_key(path)
        if key not in self._reports:
            self._reports[key] = validate(self.case(path).data, self.shapes, self.ontology)
            self.runs[key] = self.runs.get(key, 0) + 1
        return self._reports[key]


# -- owlrl: the closure of the synthetic sample, kept on disk between runs ------------------------


def owlrl_key(graph: Graph) -> str:
    """The key of owlrl's entailments of ``graph``: its content, the versions of owlrl and rdflib,
    and the source of the module that runs owlrl and filters its answer."""
    return digest(versions("owlrl", "rdflib"), inspect.getsource(reason), graph_digest(graph))


#: owlrl's entailments computed in this process, by the graph's triples (its blank nodes are this
#: session's own objects, so two graphs with equal keys are the same graph)
_COMPUTED: dict[frozenset[Any], list[Any]] = {}


def owlrl_entailments(graph: Graph, cache: Any | None) -> list[Any]:
    """``list(kgtools.reference.owlrl.entailments(graph))``: computed once per graph in the
    session (test_rules and test_ontology both need the real data's, in one xdist group), and read
    from ``cache`` (a pytest ``Cache``, or None for none) when a run on the same key wrote it."""
    key = frozenset(graph)
    if key not in _COMPUTED:
        _COMPUTED[key] = _owlrl_entailments(graph, cache)
    return list(_COMPUTED[key])


def merged_entailments(ontology: Graph, data: Graph, cache: Any | None) -> list[Any]:
    """:func:`owlrl_entailments` of ``ontology`` and ``data`` in one graph (the real data's are
    checked by test_rules and test_ontology)."""
    graph = Graph()
    for part in (ontology, data):
        for triple in part:
            graph.add(triple)
    return owlrl_entailments(graph, cache)


def _owlrl_entailments(graph: Graph, cache: Any | None) -> list[Any]:
    if cache is None:
        return list(reason.entailments(graph))
    path = Path(cache.mkdir("kg-reference")) / f"owlrl-{owlrl_key(graph)}.nt"
    if path.is_file():
        return list(Graph().parse(path, format="nt"))
    found = list(reason.entailments(graph))
    if any(isinstance(term, BNode) for triple in found for term in triple):
        return found  # N-Triples would not carry them back as the same nodes: not cached
    written = Graph()
    for triple in found:
        written.add(triple)
    text = written.serialize(format="nt")
    if set(Graph().parse(data=text, format="nt")) == set(found):  # carried exactly
        scratch = path.with_suffix(".part")
        scratch.write_text(text, encoding="utf-8")
        scratch.replace(path)
    return found


# -- rdflib: a SPARQL text parsed once per session ------------------------------------------------


def share_prepared_queries() -> Callable[[], None]:
    """Make rdflib's SPARQL processor parse and translate each query text once in this process:
    the same text, base and namespaces give the same ``Query``, which is then evaluated with the
    bindings of each call (rdflib's ``evalQuery`` reads a prepared query and never changes it).
    A text that does not parse raises as before, on every call (nothing is kept). Returns the
    function that puts rdflib's own method back."""
    from rdflib.plugins.sparql import processor

    original = processor.SPARQLProcessor.query
    prepared: dict[Hashable, Any] = {}

    def query(
        self: processor.SPARQLProcessor,
        strOrQuery: Any,  # rdflib's parameter names (callers may pass them by keyword)
        initBindings: Any = None,
        initNs: Any = None,
        base: str | None = None,
        DEBUG: bool = False,
    ) -> Any:
        if isinstance(strOrQuery, str):
            try:
                key: Hashable = (strOrQuery, base, frozenset((initNs or {}).items()))
                found = prepared.get(key)
            except TypeError:  # a namespace that cannot be hashed: prepared by rdflib each time
                pass
            else:
                if found is None:
                    found = processor.translateQuery(processor.parseQuery(strOrQuery), base, initNs)
                    prepared[key] = found
                strOrQuery = found
        return original(self, strOrQuery, initBindings, initNs, base, DEBUG)

    processor.SPARQLProcessor.query = query  # type: ignore[method-assign]

    def undo() -> None:
        processor.SPARQLProcessor.query = original  # type: ignore[method-assign]

    return undo


# -- a project read by rdflib ---------------------------------------------------------------------


def load_project(project: Project) -> tuple[Graph, Graph, Graph]:
    """Ontology, shapes and data of ``project``, each parsed by rdflib (the reference path's
    reading, which the equivalence tests give pySHACL, owlrl and rdflib's SPARQL)."""
    ontology = Graph()
    shapes = Graph()
    data = Graph()
    load_files([project.ontology], ontology)
    load_files([project.shapes], shapes)
    load_files(project.data_files(), data, schema=schema_terms(ontology))
    return ontology, shapes, data
