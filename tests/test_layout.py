"""The package's layout holds (README "Layout"): no import cycles, readers never import the
builder, every typed error lives in ``kgtools.errors``, no ontology IRI is typed out in code
(they come from the generated namespace), and every module says what it is for in its docstring.
That every module imports on its own, in a process that imported no other module first, is in
``tests/test_engine_layout.py``.

Imports are read from the source (every ``import`` statement, also those inside functions), so a
cycle hidden in a function is a cycle too.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import networkx as nx
import pytest

import kgtools
from kgtools.errors import KGError

PACKAGE = Path(kgtools.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def import_graph(modules: dict[str, Path]) -> nx.DiGraph:
    """Module → the kgtools modules it imports anywhere in its text (``TYPE_CHECKING`` too)."""
    graph = nx.DiGraph()
    for name, path in modules.items():
        graph.add_node(name)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets.append(node.module)
                targets += [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                targets += [alias.name for alias in node.names]
            for target in targets:
                if target in modules and target != name:
                    graph.add_edge(name, target)
    return graph


GRAPH = import_graph(MODULES)

#: The builder: only the command line, the Python API and the developer tools decide to build.
BUILDER = {
    f"kgtools.build.{m}"
    for m in ("pipeline", "full", "incremental", "staging", "cache", "stats", "inputs")
}
MAY_BUILD = {"kgtools.cli", "kgtools.__main__", "kgtools.api"}


def test_the_import_graph_has_no_cycle() -> None:
    cycles = list(nx.simple_cycles(GRAPH))
    assert not cycles, "import cycles: " + "; ".join(" → ".join(c) for c in cycles)


def test_the_check_finds_a_cycle(tmp_path: Path) -> None:
    """Control: the same reading sees a cycle made inside a function."""
    (tmp_path / "a.py").write_text("def f():\n    from kgtools.b import g\n")
    (tmp_path / "b.py").write_text("from kgtools.a import f\n")
    graph = import_graph({"kgtools.a": tmp_path / "a.py", "kgtools.b": tmp_path / "b.py"})
    assert list(nx.simple_cycles(graph))


def test_readers_never_import_the_builder() -> None:
    offenders = {
        module: sorted(BUILDER & nx.descendants(GRAPH, module))
        for module in MODULES
        if module not in BUILDER
        and module not in MAY_BUILD
        and not module.startswith("kgtools.devtools")
        and module != "kgtools.build"
    }
    offenders = {m: b for m, b in offenders.items() if b}
    assert not offenders, f"modules that reach the builder: {offenders}"
    assert BUILDER & nx.descendants(GRAPH, "kgtools.cli")  # (control: the CLI does)


def _all_modules() -> list[object]:
    return [
        importlib.import_module(info.name)
        for info in pkgutil.walk_packages(kgtools.__path__, "kgtools.")
        if not info.name.endswith("__main__")
    ]


def test_every_typed_error_lives_in_errors() -> None:
    classes = {
        cls
        for module in _all_modules()
        for _, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, KGError | Warning) and cls.__module__.startswith("kgtools")
    }
    elsewhere = sorted(
        f"{c.__module__}.{c.__qualname__}" for c in classes if c.__module__ != "kgtools.errors"
    )
    assert not elsewhere, f"typed errors outside kgtools/errors.py: {elsewhere}"
    assert len(classes) > 40  # (control: the errors were found)


#: An ontology or RDF-vocabulary IRI typed out in a string; the generated namespace
#: (``kgtools._tip``) and rdflib's namespaces give them.
_TYPED_IRI = re.compile(
    r"""["'](?:https://w3id\.org/tokyo-industry-plans/ontology#|http://www\.w3\.org/"""
    r"""(?:1999/02/22-rdf-syntax-ns|2000/01/rdf-schema|2002/07/owl|2001/XMLSchema|2004/02/skos/core)#)\w"""
)
#: Files where the IRIs are data: the generated namespace and the generator itself.
_IRIS_ARE_DATA = {"kgtools._tip", "kgtools.devtools.codegen"}


@pytest.mark.parametrize("module", sorted(set(MODULES) - _IRIS_ARE_DATA))
def test_no_vocabulary_iri_is_typed_out(module: str) -> None:
    text = MODULES[module].read_text(encoding="utf-8")
    found = [m.group() for m in _TYPED_IRI.finditer(text)]
    assert not found, f"{module} types out {found}: use kgtools.namespaces / engine.vocab"


def test_the_iri_check_sees_a_typed_iri() -> None:
    assert _TYPED_IRI.search('X = "https://w3id.org/tokyo-industry-plans/ontology#Plan"')
    assert _TYPED_IRI.search("t = 'http://www.w3.org/2000/01/rdf-schema#label'")
    assert not _TYPED_IRI.search("RDFS.label")


#: A docstring left to be written: a module must say what it is for and why.
_PLACEHOLDER = re.compile(r"\b(?:TODO|FIXME|TBD|XXX)\b|^\W*$")


def docstring_problem(source: str) -> str | None:
    """What is wrong with the module docstring of ``source``, or None: every module (a package's
    ``__init__`` too) opens with a docstring of at least one sentence, not a placeholder."""
    text = ast.get_docstring(ast.parse(source))
    if text is None:
        return "has no module docstring"
    if _PLACEHOLDER.search(text) or len(text) < 40:
        return f"has a placeholder for a docstring: {text!r}"
    return None


@pytest.mark.parametrize("module", sorted(MODULES))
def test_every_module_says_what_it_is_for(module: str) -> None:
    problem = docstring_problem(MODULES[module].read_text(encoding="utf-8"))
    assert problem is None, f"{module} {problem}"


@pytest.mark.parametrize(
    "source",
    ['"""TODO docstring."""\n', "import os\n", "", '"""Tools."""\n', '"""FIXME: say why."""\n'],
)
def test_the_docstring_check_sees_a_missing_one(source: str) -> None:
    assert docstring_problem(source) is not None


def _layout_block() -> list[str]:
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Layout\n", 1)[1]
    return section.split("```\n", 2)[1].splitlines()


def _package_text(lines: list[str], package: str) -> str:
    """The lines of ``package/``'s part of the drawn tree: from its header line to the next
    header at its indentation or less (the top level, ``kgtools``: its whole block)."""
    header = re.compile(r"^(\s*)(\w+)/(\s|$)")
    start = next(i for i, line in enumerate(lines) if (m := header.match(line)) and m[2] == package)
    indent = len(header.match(lines[start])[1])  # type: ignore[index]
    end = next(
        (
            i
            for i in range(start + 1, len(lines))
            if (m := header.match(lines[i])) and len(m[1]) <= indent
        ),
        len(lines),
    )
    if package == "kgtools":
        end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("tests/"))
    return "\n".join(lines[start:end])


def test_the_readme_layout_names_every_module_and_template() -> None:
    """The README's tree is where a maintainer looks first: each module and template is named
    in the part of the tree of the package that holds it."""
    lines = _layout_block()
    missing = []
    files = [*PACKAGE.rglob("*.py"), *(PACKAGE / "templates").glob("*.j2")]
    for path in sorted(files):
        if path.name == "__init__.py" or "__pycache__" in path.parts:
            continue
        package = path.parent.name
        if not re.search(rf"(?<![\w.]){re.escape(path.name)}\b", _package_text(lines, package)):
            missing.append(str(path.relative_to(PACKAGE)))
    assert missing == [], f"README's Layout does not name: {missing}"


def test_the_layout_check_sees_a_module_the_readme_does_not_name() -> None:
    lines = _layout_block()
    assert re.search(r"(?<![\w.])checks\.py\b", _package_text(lines, "load"))
    assert not re.search(r"(?<![\w.])checks\.py\b", _package_text(lines, "store"))
    assert not re.search(r"(?<![\w.])closure\.py\b", _package_text(lines, "shacl"))
