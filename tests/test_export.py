"""`kg export`: every format round-trips, is byte-stable, writes atomically; the JSON-LD context."""

from __future__ import annotations

import errno
import functools
import json
import os
import re
import socket
import stat
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from hypothesis import given, settings
from hypothesis import strategies as st
from rdflib import OWL, RDF, RDFS, BNode, Dataset, Graph, Literal, Namespace, URIRef, namespace
from rdflib.collection import Collection
from rdflib.plugins.shared.jsonld.context import Context as JSONLDContext

from kgtools import export as export_module
from kgtools import files as files_module
from kgtools.build.layout import BuildSummary
from kgtools.cli import cli
from kgtools.errors import ExportError, ExportWriteError, JSONLDContextError
from kgtools.export import CONTEXT_FILE, FORMATS, export, load_context, serialize
from kgtools.namespaces import DATA_GRAPH, ID, INFERRED_GRAPH, ONTOLOGY_GRAPH, TIP, graphs_for
from kgtools.project import Project
from kgtools.reference.memory import MemoryStore

from .conftest import ROOT, assert_isomorphic, examples

#: XSD as a plain namespace: pytest probes module attributes, and rdflib's XSD warns on each.
XSD = Namespace(str(namespace.XSD))
#: Format → rdflib parser name.
PARSERS = {
    "ttl": "turtle",
    "nt": "nt",
    "nq": "nquads",
    "trig": "trig",
    "jsonld": "json-ld",
    "xml": "xml",
}
SCOPES = {True: "inferred", False: "asserted-only"}


# -- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def context(project: Project) -> dict[str, Any]:
    return load_context(project)


@pytest.fixture(scope="module")
def exports(store: MemoryStore, context: dict[str, object]) -> Callable[[str, bool], bytes]:
    """Each (format, inferred) export, made once per module."""
    cache: dict[tuple[str, bool], bytes] = {}

    def get(fmt: str, inferred: bool) -> bytes:
        if (fmt, inferred) not in cache:
            cache[fmt, inferred] = serialize(store, fmt, inferred=inferred, context=context)
        return cache[fmt, inferred]

    return get


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection fails the test."""

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)


# -- helpers ----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4)
def union(store: MemoryStore, inferred: bool) -> Graph:
    """The store's graphs copied into one plain rdflib graph, made once per store and scope (a
    dozen tests compare with it; none changes it)."""
    graph = Graph()
    for triple in store.union(graphs_for(inferred=inferred)):
        graph.add(triple)
    return graph


def reparse_union(data: bytes, fmt: str) -> Graph:
    return Graph().parse(data=data, format=PARSERS[fmt])


def reparse_dataset(data: bytes, fmt: str) -> Dataset:
    dataset = Dataset()
    dataset.parse(data=data, format=PARSERS[fmt])
    return dataset


def assert_round_trip(store: MemoryStore, data: bytes, fmt: str, inferred: bool) -> None:
    if fmt in export_module.DATASET_FORMATS:
        dataset = reparse_dataset(data, fmt)
        names = sorted(URIRef(g.identifier) for g in dataset.graphs() if len(g))
        assert names == sorted(graphs_for(inferred=inferred))
        for name in names:
            assert_isomorphic(store.graph(name), dataset.graph(name))
    else:
        assert_isomorphic(union(store, inferred), reparse_union(data, fmt))


# -- round trips ------------------------------------------------------------------------------
@pytest.mark.parametrize("inferred", [True, False], ids=SCOPES.get)
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_export_round_trips_to_an_isomorphic_graph(
    store: MemoryStore,
    exports: Callable[[str, bool], bytes],
    fmt: str,
    inferred: bool,
    no_network: None,
) -> None:
    assert_round_trip(store, exports(fmt, inferred), fmt, inferred)


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_japanese_language_tags_and_typed_literals_survive(
    exports: Callable[[str, bool], bytes], fmt: str, no_network: None
) -> None:
    data = exports(fmt, False)
    if fmt in export_module.DATASET_FORMATS:
        graph = reparse_dataset(data, fmt).graph(DATA_GRAPH)
    else:
        graph = reparse_union(data, fmt)
    taito, plan = ID["local-government/131067"], ID["plan/131067/2021"]
    expected = [
        (taito, RDFS.label, Literal("台東区", lang="ja")),
        (taito, RDFS.label, Literal("Taito City", lang="en")),
        (taito, TIP.localGovernmentCode, Literal("131067")),
        (plan, TIP.municipality, taito),
        (ID["plan/131067/2021/period"], TIP.startDate, Literal("2021-04-01", datatype=XSD.date)),
        (ID["fiscal-year/2021"], TIP.year, Literal("2021", datatype=XSD.gYear)),
        (
            ID["plan/131067/2021/initiative/1-1"],
            TIP.ordinal,
            Literal("1", datatype=XSD.integer),
        ),
        (ID["plan/131113/2021"], TIP.editionLabel, Literal("第２次", lang="ja")),
    ]
    for triple in expected:
        assert triple in graph, triple
    background = graph.value(plan, TIP.background)
    assert isinstance(background, Literal) and background.language == "ja"
    assert str(background).startswith("台東区はファッション関連産業が集積し")


def test_tricky_graph_round_trips_in_every_format(
    context: dict[str, object], no_network: None
) -> None:
    """Blank nodes under @id terms, nested and shared lists, cycles, every literal kind."""
    plan = ID["plan/1"]
    data = Graph()
    data.add((plan, RDF.type, TIP.Plan))
    data.add((plan, RDFS.label, Literal("計画", lang="ja")))
    data.add((plan, RDFS.label, Literal("no language")))
    data.add((plan, RDFS.label, Literal("typed string", datatype=XSD.string)))
    data.add((plan, TIP.background, Literal("背景", lang="ja")))
    data.add((plan, TIP.background, Literal("background", lang="en-GB")))
    data.add((plan, TIP.background, Literal("untagged, under a language-map term")))
    data.add((plan, TIP.localGovernmentCode, Literal("131067", datatype=XSD.string)))
    data.add((plan, TIP.ordinal, Literal("3", datatype=XSD.positiveInteger)))
    data.add((plan, TIP.timeHorizonYears, Literal("7", datatype=XSD.integer)))
    data.add((plan, TIP.timeHorizonYears, Literal("1.5E0", datatype=XSD.double)))
    data.add((plan, TIP.timeHorizonYears, Literal("true", datatype=XSD.boolean)))
    data.add((plan, TIP.year, Literal("2021", datatype=XSD.gYear)))
    data.add((plan, TIP.startDate, Literal("2021-04-01", datatype=XSD.date)))
    data.add((plan, TIP.municipality, URIRef("http://example.org/a:b")))
    data.add((plan, TIP.municipality, URIRef("https://w3id.org/tokyo-industry-plans/other")))
    data.add((ID[""], RDFS.label, Literal("the base IRI itself")))
    theme = BNode()  # a blank node under a term coerced to @id
    data.add((plan, TIP.theme, theme))
    data.add((theme, RDFS.label, Literal("anonymous theme", lang="en")))
    union_class = BNode()
    data.add((plan, TIP.theme, union_class))
    data.add((union_class, RDF.type, OWL.Class))
    inner = BNode()
    Collection(data, inner, [TIP.Initiative])
    head = BNode()
    Collection(data, head, [TIP.Plan, inner, theme])  # a list holding a list
    data.add((union_class, OWL.unionOf, head))
    shared = BNode()  # one list cell referred to twice
    Collection(data, shared, [TIP.Event])
    data.add((URIRef("urn:x"), OWL.unionOf, shared))
    data.add((URIRef("urn:y"), OWL.unionOf, shared))
    data.add((URIRef("urn:z"), OWL.unionOf, RDF.nil))
    a, b = BNode(), BNode()  # a cycle reached from no IRI
    data.add((a, TIP.depicts, b))
    data.add((b, TIP.depicts, a))
    data.add((b, TIP.caption, Literal("循環", lang="ja")))
    ontology = Graph()
    ontology.add((TIP.Plan, RDF.type, OWL.Class))
    inferred = Graph()
    inferred.add((plan, RDFS.label, Literal("Plan", lang="en")))
    store = MemoryStore()
    store.add(ONTOLOGY_GRAPH, ontology)
    store.add(DATA_GRAPH, data)
    store.add(INFERRED_GRAPH, inferred)
    for fmt in FORMATS:
        for scope in (True, False):
            exported = serialize(store, fmt, inferred=scope, context=context)
            assert_round_trip(store, exported, fmt, scope)
            again = serialize(store, fmt, inferred=scope, context=context)
            assert exported == again, fmt


# -- determinism ------------------------------------------------------------------------------
SUBPROCESS_EXPORT = """
import sys
from pathlib import Path
from kgtools.build.pipeline import open_built
from kgtools.export import FORMATS, load_context, serialize
from kgtools.project import find_project

project = find_project(Path(sys.argv[1]))
store, _ = open_built(project, Path(sys.argv[2]))
context = load_context(project)
target = Path(sys.argv[3])
for fmt in FORMATS:
    for inferred in (True, False):
        data = serialize(store, fmt, inferred=inferred, context=context)
        (target / f"{fmt}-{inferred}").write_bytes(data)
"""


def test_exports_are_byte_identical_across_processes_and_hash_seeds(
    project: Project,
    built: tuple[Path, BuildSummary],
    exports: Callable[[str, bool], bytes],
    tmp_path: Path,
) -> None:
    out, _ = built
    seed = os.environ.get("PYTHONHASHSEED", "")
    other = str(int(seed) + 1) if seed.isdigit() else "4242"
    env = {**os.environ, "PYTHONHASHSEED": other}
    done = subprocess.run(
        [sys.executable, "-c", SUBPROCESS_EXPORT, str(project.root), str(out), str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    for fmt in FORMATS:
        for inferred in (True, False):
            here = exports(fmt, inferred)
            there = (tmp_path / f"{fmt}-{inferred}").read_bytes()
            assert here == there, f"{fmt} ({SCOPES[inferred]}) differs across processes"


def test_nt_and_nq_lines_are_sorted(exports: Callable[[str, bool], bytes]) -> None:
    for fmt in ("nt", "nq"):
        lines = exports(fmt, True).decode("utf-8").splitlines()
        assert lines == sorted(lines)
        assert "台東区" in exports(fmt, True).decode("utf-8")  # UTF-8, not \\u escapes


# -- JSON-LD and its context ------------------------------------------------------------------
def jsonld_nodes(data: bytes) -> dict[str, dict[str, Any]]:
    return {node["@id"]: node for node in json.loads(data)["@graph"]}


def test_jsonld_uses_the_readable_keys_of_the_shipped_context(
    project: Project, exports: Callable[[str, bool], bytes]
) -> None:
    data = exports("jsonld", True)
    document = json.loads(data)
    shipped = json.loads((project.root / CONTEXT_FILE).read_text(encoding="utf-8"))
    assert document["@context"] == shipped["@context"]
    nodes = jsonld_nodes(data)
    plan = nodes["plan/131067/2021"]
    assert "Plan" in plan["@type"]
    assert plan["municipality"] == "local-government/131067"
    assert plan["label"] == {
        "ja": "台東区地域産業活性化計画",
        "en": "Taito City Regional Industry Revitalization Plan",
    }
    assert plan["approvedBy"] == "local-government/130001"  # an entailment
    assert plan["source"] == "source/approved-plans-overview-r3-r5"
    period = nodes["plan/131067/2021/period"]
    assert period["startDate"] == "2021-04-01"
    assert period["firstFiscalYear"] == "fiscal-year/2021"
    assert nodes["fiscal-year/2021"]["year"] == "2021"
    initiative = nodes["plan/131067/2021/initiative/1-1"]
    assert initiative["ordinal"] == "1"
    assert initiative["partOfPlan"] == "plan/131067/2021"
    assert nodes["local-government/131067"]["localGovernmentCode"] == "131067"
    pref_label = nodes["theme/ec"]["prefLabel"]
    assert isinstance(pref_label, dict) and set(pref_label) == {"ja", "en"}
    assert "tip:Plan" in nodes  # the ontology's terms are compact IRIs
    assert not any(key.startswith("https://w3id.org/") for node in nodes.values() for key in node)


def test_jsonld_asserted_only_has_no_entailments(exports: Callable[[str, bool], bytes]) -> None:
    plan = jsonld_nodes(exports("jsonld", False))["plan/131067/2021"]
    assert "approvedBy" not in plan
    assert plan["@type"] == "Plan"


def test_jsonld_parses_with_the_context_as_a_dict_without_network(
    context: dict[str, object],
    store: MemoryStore,
    exports: Callable[[str, bool], bytes],
    no_network: None,
) -> None:
    """A reader can also strip the embedded context and pass the shipped one as a dict."""
    document = json.loads(exports("jsonld", False))
    del document["@context"]
    graph = Graph().parse(data=json.dumps(document), format="json-ld", context=context)
    assert_isomorphic(union(store, False), graph)


def expected_term(ontology: Graph, node: URIRef) -> object:
    """The context entry a tip: class or property should have, from its type and range."""
    name = "tip:" + node.removeprefix(str(TIP))
    if (node, RDF.type, OWL.Class) in ontology:
        return name
    if (node, RDF.type, OWL.ObjectProperty) in ontology:
        return {"@id": name, "@type": "@id"}
    rng = ontology.value(node, RDFS.range)
    if rng == RDF.langString:
        return {"@id": name, "@container": "@language"}
    if rng is None or rng == XSD.string:
        return name
    return {"@id": name, "@type": "xsd:" + str(rng).removeprefix(str(XSD))}


def test_context_has_a_term_for_every_ontology_term(
    context: dict[str, Any], ontology: Graph
) -> None:
    """Each tip: class and property is a term named by its local name, coerced by its range."""
    assert context["@base"] == str(ID)
    assert context["@vocab"] == str(TIP)
    kinds = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty)
    nodes = {
        node
        for kind in kinds
        for node in ontology.subjects(RDF.type, kind)
        if isinstance(node, URIRef) and node.startswith(str(TIP))
    }
    problems = []
    for node in sorted(nodes):
        name = node.removeprefix(str(TIP))
        wanted = expected_term(ontology, node)
        if context.get(name) != wanted:
            problems.append(f'"{name}": {json.dumps(wanted)}')
    assert not problems, f"set these terms in {CONTEXT_FILE}:\n" + ",\n".join(problems)
    parsed = JSONLDContext(context)
    iris = [parsed.expand(name) for name in context if not name.startswith("@")]
    assert len(iris) == len(set(iris)), "two terms for the same IRI"


def test_context_file_problems_are_typed_errors(tmp_path: Path) -> None:
    project = Project(tmp_path)
    with pytest.raises(JSONLDContextError, match=r"context\.jsonld: file not found"):
        load_context(project)
    path = tmp_path / CONTEXT_FILE
    path.parent.mkdir(parents=True)
    path.write_text('{\n  "@context": {\n    "tip": \n  }\n}\n', encoding="utf-8")
    with pytest.raises(JSONLDContextError, match=r"context\.jsonld:4: column 3: not valid JSON"):
        load_context(project)
    path.write_text('["not an object"]\n', encoding="utf-8")
    with pytest.raises(JSONLDContextError, match=re.escape('expected a JSON object {"@context"')):
        load_context(project)


# -- writing ----------------------------------------------------------------------------------
def test_export_writes_the_file_and_returns_the_bytes(
    store: MemoryStore, exports: Callable[[str, bool], bytes], tmp_path: Path
) -> None:
    target = tmp_path / "sub" / "graph.ttl"
    data = export(store, "ttl", inferred=True, out=target)
    assert data == exports("ttl", True) == target.read_bytes()
    assert [p.name for p in target.parent.iterdir()] == ["graph.ttl"]


def fail_replace(*_args: object) -> None:
    raise OSError(28, "No space left on device")


def fail_fsync(*_args: object) -> None:
    raise KeyboardInterrupt  # interrupted after the temporary file was written


def fail_serializer(*_args: object, **_kwargs: object) -> None:
    raise RuntimeError("serializer crashed")


@pytest.mark.parametrize(
    ("target", "failure", "raised"),
    [
        (files_module.os, ("replace", fail_replace), ExportWriteError),
        (files_module.os, ("fsync", fail_fsync), KeyboardInterrupt),
        (Graph, ("serialize", fail_serializer), RuntimeError),
    ],
    ids=["replace-fails", "interrupted-before-replace", "serializer-fails"],
)
def test_failed_export_keeps_the_previous_file_and_leaves_no_temp_file(
    store: MemoryStore,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    target: object,
    failure: tuple[str, Callable[..., None]],
    raised: type[BaseException],
) -> None:
    out = tmp_path / "graph.ttl"
    out.write_bytes(b"previous export\n")
    monkeypatch.setattr(target, *failure)
    with pytest.raises(raised):
        export(store, "ttl", out=out)
    assert out.read_bytes() == b"previous export\n"
    assert [p.name for p in tmp_path.iterdir()] == ["graph.ttl"]


def test_unknown_format_and_folder_target_are_typed_errors(
    store: MemoryStore, tmp_path: Path
) -> None:
    with pytest.raises(ExportError, match="unknown export format 'json' — use one of: ttl"):
        serialize(store, "json")
    with pytest.raises(ExportError, match="needs the JSON-LD context"):
        serialize(store, "jsonld")
    with pytest.raises(ExportWriteError, match="is a folder — give a file name"):
        export(store, "ttl", out=tmp_path)


# -- the command ------------------------------------------------------------------------------
def kg(*args: str) -> Result:
    return CliRunner().invoke(cli, ["--project", str(ROOT), *args], catch_exceptions=False)


def test_cli_format_choices_are_the_library_formats() -> None:
    option = next(p for p in cli.commands["export"].params if p.name == "fmt")
    assert list(option.type.choices) == list(FORMATS)  # type: ignore[attr-defined]


def test_cli_prints_to_stdout_without_output_or_with_dash(
    built: tuple[Path, BuildSummary], exports: Callable[[str, bool], bytes]
) -> None:
    out, _ = built
    default = kg("export", "--out-dir", str(out))
    assert default.exit_code == 0, default.output
    assert default.stdout_bytes == exports("ttl", True)
    dash = kg("export", "--out-dir", str(out), "-f", "jsonld", "--asserted-only", "-o", "-")
    assert dash.exit_code == 0, dash.output
    assert dash.stdout_bytes == exports("jsonld", False)


def test_cli_writes_the_output_file(
    built: tuple[Path, BuildSummary], exports: Callable[[str, bool], bytes], tmp_path: Path
) -> None:
    out, _ = built
    target = tmp_path / "graph.trig"
    result = kg("export", "--out-dir", str(out), "--format", "trig", "--output", str(target))
    assert result.exit_code == 0, result.output
    assert target.read_bytes() == exports("trig", True)
    assert result.stdout_bytes == b""
    assert f"wrote {target} (trig, asserted + inferred" in result.stderr


def _device(tmp_path: Path, name: str, minor: int) -> Path:
    """A character device to export to: Linux's ``null`` (minor 3) or ``full`` (7), made in
    ``tmp_path`` where the user may (root), so that a regression that replaces the node harms
    no real device; else the system's own, which a user who is not root cannot replace."""
    node = tmp_path / name
    try:
        os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, minor))
    except PermissionError:
        return Path("/dev") / name
    return node


def test_an_export_to_a_device_is_written_into_it_and_the_node_stays(
    built: tuple[Path, BuildSummary], tmp_path: Path
) -> None:
    """Renaming the export over ``-o /dev/null`` replaced the device node with a file (as root,
    /dev/null itself); a full device is a disk-full error, and nothing is left beside it."""
    out, _ = built
    null, full = _device(tmp_path, "null", 3), _device(tmp_path, "full", 7)
    done = kg("export", "--out-dir", str(out), "-f", "nt", "-o", str(null))
    assert done.exit_code == 0, done.output
    assert stat.S_ISCHR(null.stat().st_mode)
    failed = kg("export", "--out-dir", str(out), "-f", "nt", "-o", str(full))
    assert failed.exit_code == 2, failed.output
    assert "No space left on device" in failed.stderr and "Traceback" not in failed.output
    assert stat.S_ISCHR(full.stat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) in ([], ["full", "null"])


def test_an_export_to_a_fifo_streams_into_it(
    built: tuple[Path, BuildSummary], exports: Callable[[str, bool], bytes], tmp_path: Path
) -> None:
    """``-o`` a named pipe (or ``/dev/stdout``, a pipe or a terminal) writes into it, as a
    shell's ``>`` would."""
    out, _ = built
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    try:
        done = kg("export", "--out-dir", str(out), "-f", "nq", "-o", str(fifo))
    finally:
        # A reader still blocked in open() (the export failed before opening the pipe) is let
        # go by a writer that closes at once. The open must not block: once the reader has read
        # the export and gone — between `is_alive()` and here, as it can be — no reader is left
        # to meet a blocking open, which hung the worker for good.
        if reader.is_alive():
            try:
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            except OSError as exc:  # ENXIO: no reader has the pipe open
                assert exc.errno == errno.ENXIO, exc
        reader.join(timeout=30)
        assert not reader.is_alive(), "the reader never got to the end of the pipe"
    assert done.exit_code == 0, done.output
    assert got == [exports("nq", True)]
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["pipe"]


@pytest.mark.parametrize("dangling", [False, True], ids=["to-a-file", "dangling"])
def test_an_export_through_a_symlink_replaces_the_file_it_points_to(
    built: tuple[Path, BuildSummary],
    exports: Callable[[str, bool], bytes],
    tmp_path: Path,
    dangling: bool,
) -> None:
    """The link stays a link (it was replaced by a file) and its file gets the export."""
    out, _ = built
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "graph.nt"
    if not dangling:
        target.write_bytes(b"previous export\n")
    link = tmp_path / "link.nt"
    link.symlink_to(target)
    done = kg("export", "--out-dir", str(out), "-f", "nt", "-o", str(link))
    assert done.exit_code == 0, done.output
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_bytes() == exports("nt", True)
    assert [p.name for p in (tmp_path / "real").iterdir()] == ["graph.nt"]


def test_an_export_to_an_open_file_by_its_proc_name_appends_to_it(
    built: tuple[Path, BuildSummary], exports: Callable[[str, bool], bytes], tmp_path: Path
) -> None:
    """`kg export -o /dev/stdout >> log`: the shell opened the log to append to, and the export
    replaced it (renamed over the file /dev/stdout led to) or truncated it (opened it again to
    write). /proc/self/fd/N is the same open file as /dev/stdout is in a shell."""
    out, _ = built
    log = tmp_path / "log"
    log.write_bytes(b"previous line\n")
    with log.open("ab") as handle:
        name = f"/proc/self/fd/{handle.fileno()}"
        done = kg("export", "--out-dir", str(out), "-f", "nt", "-o", name)
    assert done.exit_code == 0, done.output
    assert log.read_bytes() == b"previous line\n" + exports("nt", True)
    assert [p.name for p in tmp_path.iterdir()] == ["log"]


def test_an_ordinary_file_under_dev_is_replaced_as_any_other(
    built: tuple[Path, BuildSummary], exports: Callable[[str, bool], bytes]
) -> None:
    """/dev/shm holds ordinary files (tmpfs): only the names of files already open
    (/dev/stdout, /dev/fd/N, /proc/…/fd/N) are appended to; this one is replaced."""
    import uuid

    out, _ = built
    target = Path("/dev/shm") / f"kg-test-{uuid.uuid4().hex}.nt"
    target.write_bytes(b"previous export\n")
    try:
        done = kg("export", "--out-dir", str(out), "-f", "nt", "-o", str(target))
        assert done.exit_code == 0, done.output
        assert target.read_bytes() == exports("nt", True)
    finally:
        target.unlink(missing_ok=True)


def test_the_file_a_write_replaces(tmp_path: Path) -> None:
    """:func:`kgtools.files.replaced_file`: a file or a new name is itself, a link the file it
    points to (through a chain), a FIFO or a socket (or a device) nothing: written in place."""
    from kgtools.files import replaced_file

    plain, new = tmp_path / "plain", tmp_path / "new"
    plain.write_bytes(b"")
    first, second = tmp_path / "first", tmp_path / "second"
    second.symlink_to(plain)
    first.symlink_to(second)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(tmp_path / "sock"))
        assert replaced_file(tmp_path / "sock") is None
    finally:
        sock.close()
    assert replaced_file(plain) == plain and replaced_file(new) == new
    assert replaced_file(first) == plain.resolve()
    assert replaced_file(fifo) is None and replaced_file(Path("/dev/null")) is None
    # an open file by its system name, whatever it is (under pytest, stdout is a file)
    assert replaced_file(Path("/dev/stdout")) is None
    with plain.open("ab") as handle:
        assert replaced_file(Path(f"/proc/self/fd/{handle.fileno()}")) is None


def test_cli_errors_exit_2_without_traceback(
    built: tuple[Path, BuildSummary], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, _ = built
    bad_format = kg("export", "--out-dir", str(out), "-f", "json")
    assert bad_format.exit_code == 2
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x", encoding="utf-8")
    unwritable = kg("export", "--out-dir", str(out), "-o", str(not_a_folder / "graph.ttl"))
    assert unwritable.exit_code == 2
    assert "error:" in unwritable.stderr and "cannot write the export" in unwritable.stderr
    assert "Traceback" not in unwritable.output
    target = tmp_path / "graph.nt"
    target.write_bytes(b"previous\n")
    monkeypatch.setattr(files_module.os, "replace", fail_replace)
    full_disk = kg("export", "--out-dir", str(out), "-f", "nt", "-o", str(target))
    assert full_disk.exit_code == 2
    assert "No space left on device" in full_disk.stderr
    assert target.read_bytes() == b"previous\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "graph.nt"]


# -- nt / nq straight from the embedded store (export._store_lines) -------------------------------
def _memory_copy(store: Any) -> MemoryStore:
    """The same named graphs in an rdflib store (the terms as the Oxigraph store gives them)."""
    memory = MemoryStore()
    for name in store.graph_names():
        memory.add(name, store.graph(name))
    return memory


@pytest.mark.parametrize("inferred", [True, False], ids=SCOPES.get)
@pytest.mark.parametrize("fmt", ["nt", "nq"])
def test_nt_and_nq_from_the_built_store_are_rdflibs_bytes(
    built: tuple[Path, BuildSummary], fmt: str, inferred: bool
) -> None:
    """The lines written straight from Oxigraph are the bytes rdflib's path writes for the same
    graphs (the ontology's blank nodes canonically labelled too)."""
    from kgtools.store.oxigraph import OxigraphStore

    out, summary = built
    store = OxigraphStore(out / summary.store, read_only=True)
    assert export_module._store_lines(store, graphs_for(inferred=inferred), quads=False)
    assert export_module._store_lines(_memory_copy(store), [], quads=False) is None
    fast = serialize(store, fmt, inferred=inferred)
    assert b"_:" in fast, "the ontology's blank nodes are in the export"
    assert fast == serialize(_memory_copy(store), fmt, inferred=inferred)


@pytest.mark.parametrize("fmt", ["nt", "nq"])
def test_nt_and_nq_from_oxigraph_write_awkward_terms_as_rdflib_does(fmt: str) -> None:
    """Escapes (only rdflib's four), language tags, typed literals in rdflib's normalised form
    (and one rdflib cannot read), a triple in two graphs, and blank nodes: chained, in two
    graphs, shared between graphs."""
    import pyoxigraph as ox

    from kgtools.store.oxigraph import OxigraphStore, named

    ex = Namespace("https://example.org/")
    store = OxigraphStore()
    shared, chain = BNode(), BNode()
    awkward = [
        Literal('tab\there, cr\r, lf\n, quote", backslash\\, bell\x07, nul\x00, \u2028 日本'),
        Literal("ラベル", lang="ja"),
        Literal("label", lang="en-US"),
        Literal("2023-04-01", datatype=XSD.date),
        Literal("x", datatype=XSD.string),
        Literal("y\tz", datatype=ex.custom),
    ]
    store.add(DATA_GRAPH, [(ex.s, ex[f"p{i}"], o) for i, o in enumerate(awkward)])
    store.add(DATA_GRAPH, [(ex.s, ex.link, ex.o), (ex.s, ex.blank, shared)])
    store.add(ONTOLOGY_GRAPH, [(ex.s, ex.link, ex.o), (shared, RDFS.label, Literal("b"))])
    store.add(ONTOLOGY_GRAPH, [(ex.c, ex.list, chain), (chain, RDF.first, ex.a)])
    store.add(ONTOLOGY_GRAPH, [(chain, RDF.rest, RDF.nil), (BNode(), ex.p, BNode())])
    # lexical forms rdflib normalises, or cannot read, put in as Oxigraph keeps them
    xsd = "http://www.w3.org/2001/XMLSchema#"
    for i, (lexical, datatype) in enumerate(
        [("01", "integer"), ("1E0", "double"), ("abc", "integer"), ("+2", "integer")]
    ):
        literal = ox.Literal(lexical, datatype=ox.NamedNode(xsd + datatype))
        store.ox.add(
            ox.Quad(ox.NamedNode(ex.t), ox.NamedNode(ex[f"n{i}"]), literal, named(INFERRED_GRAPH))
        )
    fast = serialize(store, fmt)
    memory = _memory_copy(store)
    assert fast == serialize(memory, fmt)
    assert_round_trip(memory, fast, fmt, inferred=True)  # every literal read back whole
    text = fast.decode("utf-8")
    assert "\\t" not in text and "tab\there" in text
    assert "@en-us" in text  # (Oxigraph keeps language tags in lower case)
    assert '"1"^^<http://www.w3.org/2001/XMLSchema#integer>' in text
    if fmt == "nt":
        assert text.count("<https://example.org/link>") == 1  # once, though in two graphs


# -- blank nodes: canonical labels in linear time, deep nesting --------------------------------
_EX = Namespace("https://example.org/")


def _relabelled(triples: list[tuple[Any, Any, Any]], order: list[int]) -> list[Any]:
    """The same graph with fresh blank-node labels, the triples in another order."""
    fresh: dict[Any, BNode] = {}

    def term(node: Any) -> Any:
        return fresh.setdefault(node, BNode()) if isinstance(node, BNode) else node

    moved = [(term(s), p, term(o)) for s, p, o in triples]
    return [moved[i % len(moved)] for i in order] + moved  # (repeats are one triple)


_blank_graphs = st.integers(1, 9).flatmap(
    lambda n: st.tuples(
        st.just(n),
        # each node's parent (a lower index) or none, with a predicate: a forest …
        st.lists(st.tuples(st.integers(-1, n), st.sampled_from("pq")), min_size=n, max_size=n),
        # … plus links that make shared nodes and cycles, and IRIs and literals around
        st.lists(st.tuples(st.integers(0, n - 1), st.sampled_from("pq"), st.integers(0, n + 2))),
        st.lists(st.integers(0, 40), max_size=12),
    )
)


def _blank_graph(n: int, parents: list[Any], links: list[Any]) -> list[tuple[Any, Any, Any]]:
    nodes = [BNode() for _ in range(n)]
    objects = [*nodes, _EX.a, Literal("x"), Literal("値", lang="ja")]
    triples: list[tuple[Any, Any, Any]] = []
    for child, (parent, p) in enumerate(parents):
        if 0 <= parent < child:
            triples.append((nodes[parent], _EX[p], nodes[child]))
        else:
            triples.append((_EX.root if parent < 0 else _EX.a, _EX[p], nodes[child]))
    triples += [(nodes[s], _EX[p], objects[o]) for s, p, o in links]
    return triples


@settings(max_examples=examples(150), deadline=None)
@given(graph=_blank_graphs)
def test_blank_node_labels_depend_only_on_the_graph(graph: tuple[Any, ...]) -> None:
    """Any graph (trees, shared nodes, cycles, automorphic twins) relabelled and reordered gets
    the same canonical triples, which describe the same graph."""
    from kgtools.engine.bnodes import canonical_triples

    n, parents, links, order = graph
    triples = _blank_graph(n, parents, links)
    labelled = canonical_triples(triples)
    assert sorted(labelled) == sorted(canonical_triples(_relabelled(triples, order)))
    assert_isomorphic(Graph().__iadd__(triples), Graph().__iadd__(labelled))
    # … and the comparison itself tells a graph with one triple fewer apart
    with pytest.raises(pytest.fail.Exception, match="graphs differ"):
        assert_isomorphic(Graph().__iadd__(triples), Graph().__iadd__(sorted(set(labelled))[1:]))


def _chain(depth: int) -> list[tuple[Any, Any, Any]]:
    nodes = [BNode() for _ in range(depth)]
    triples = [(_EX.root, _EX.p, nodes[0])]
    triples += [(nodes[i], _EX.p, nodes[i + 1]) for i in range(depth - 1)]
    return [*triples, (nodes[-1], _EX.p, Literal("end"))]


def test_a_20k_deep_blank_node_chain_is_labelled_in_linear_time() -> None:
    """rdflib's to_canonical_graph took 55 s for 3,000 nodes, growing with the square: some 40
    minutes for this chain, which the linear labelling does in about a second (100k, as this test
    had it, took 21 s of a loaded suite for the same verdict)."""
    from kgtools.engine.bnodes import canonical_triples

    chain = _chain(20_000)
    labelled = canonical_triples(chain)
    assert len(labelled) == len(chain)
    assert sorted(labelled) == sorted(canonical_triples(_relabelled(chain[::-1], [])))


def _walk_chain(graph: Graph) -> int:
    """The depth of the chain from ex:root, checking each link is the only one."""
    node: Any = _EX.root
    depth = 0
    while not isinstance(node, Literal):
        (node,) = list(graph.objects(node, _EX.p))
        depth += 1
    assert node == Literal("end")
    return depth - 1


@pytest.mark.parametrize("oxigraph", [False, True], ids=["rdflib", "oxigraph"])
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_writes_a_deep_blank_node_chain(
    project: Project, fmt: str, oxigraph: bool
) -> None:
    """A chain [ p [ p … ] ] deeper than Python's stack: every format writes it (Turtle and
    JSON-LD nest at most MAX_NESTING levels) and reads back as the same chain."""
    from kgtools.store.oxigraph import OxigraphStore

    depth = 1_500
    store: Any = OxigraphStore() if oxigraph else MemoryStore()
    store.add(DATA_GRAPH, _chain(depth))
    data = serialize(store, fmt, inferred=False, context=load_context(project))
    graph = (
        reparse_dataset(data, fmt).graph(DATA_GRAPH)
        if fmt in export_module.DATASET_FORMATS
        else reparse_union(data, fmt)
    )
    assert len(graph) == depth + 1
    assert _walk_chain(graph) == depth
