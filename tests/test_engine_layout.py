"""Every module of kgtools imports alone (in a process that imported no other module of the
package first), and the compiled engines (``kgtools/engine/shacl/``, ``kgtools/engine/rules/``)
keep their layout: one module per family of the spec, each saying in its docstring which section
it implements, and the engines a lower layer that never reaches the builder, the stores, the
queries, the readers or the command line.

The import graph (every ``import``, also inside functions) and its other rules — no cycle at all,
readers never reach the builder — are in ``tests/test_layout.py``.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

from .test_layout import GRAPH, MODULES, import_graph

#: Third-party packages the check's parent process imports before forking (top-level packages
#: only: a child is then in the state a fresh interpreter reaches by importing them itself).
PRELOADED = ("rdflib", "pyoxigraph", "click", "markupsafe")

_CHECK = r"""
import importlib, json, os, sys, traceback

preloaded, modules = json.loads(sys.argv[1]), json.loads(sys.argv[2])
assert not [m for m in sys.modules if m.split(".")[0] == "kgtools"], "kgtools imported already"
for name in preloaded:
    importlib.import_module(name)
failed = {}
for module in modules:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: import the one module, say how it ended, exit at once
        os.close(read)
        try:
            importlib.import_module(module)
            message = ""
        except BaseException as exc:
            message = traceback.format_exception_only(exc)[-1].strip() or repr(exc)
        os.write(write, message.encode("utf-8"))
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as answer:
        message = answer.read().decode("utf-8")
    _, status = os.waitpid(pid, 0)
    if message or status != 0:
        failed[module] = message or f"exit status {status}"
print(json.dumps(failed))
"""


def imports_alone(modules: list[str], path: Path | None = None) -> dict[str, str]:
    """``import M`` for each module, each in a process of its own that has imported no module
    of the package before: forked from one interpreter that imported only Python's own modules
    and the top-level packages of :data:`PRELOADED` (a fresh interpreter per module did the
    same, and started those packages a hundred times over). The modules that fail, with the
    last line of their error."""
    env = dict(os.environ)
    if path is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(path), env.get("PYTHONPATH")]))
    command = [sys.executable, "-c", _CHECK, json.dumps(PRELOADED), json.dumps(modules)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_every_module_imports_alone() -> None:
    """An import that works only because another module was imported first (a cycle half
    initialised, an attribute of a package set by a sibling's import) fails here."""
    failed = imports_alone(sorted(MODULES))
    assert not failed, failed


def test_the_check_sees_a_module_that_needs_another_imported_first(tmp_path: Path) -> None:
    """Control: ``a`` uses ``pkg.b`` without importing it, which works only after ``pkg.b``."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "b.py").write_text("VALUE = 1\n")
    (pkg / "a.py").write_text("import pkg\n\nVALUE = pkg.b.VALUE\n")
    (pkg / "c.py").write_text("import pkg.b\nimport pkg.a\n")
    failed = imports_alone(["pkg.a", "pkg.b", "pkg.c"], tmp_path)
    assert set(failed) == {"pkg.a"}
    assert "AttributeError" in failed["pkg.a"]


ENGINES = {
    "kgtools.engine.shacl": "https://www.w3.org/TR/shacl/",
    "kgtools.engine.rules": (
        "https://www.w3.org/TR/owl2-profiles/#Reasoning_in_OWL_2_RL_and_RDF_Graphs_using_Rules"
    ),
}
ENGINE_MODULES = sorted(
    (name, spec)
    for engine, spec in ENGINES.items()
    for name in MODULES
    if name == engine or name.startswith(engine + ".")
)


def test_the_engines_are_split_by_family() -> None:
    """Control on the list below: both packages are there, with their family modules."""
    names = {name for name, _ in ENGINE_MODULES}
    for family in ("value_type", "cardinality", "value_range", "string_based", "property_pair"):
        assert f"kgtools.engine.shacl.{family}" in names
    for family in ("logical", "shape_based", "other", "sparql", "compiler", "run", "values"):
        assert f"kgtools.engine.shacl.{family}" in names
    for family in ("properties", "joins", "classes", "datatypes", "schema", "closure", "dred"):
        assert f"kgtools.engine.rules.{family}" in names


@pytest.mark.parametrize(("module", "spec"), ENGINE_MODULES)
def test_every_engine_module_says_what_it_implements(module: str, spec: str) -> None:
    """A docstring of a few lines that links the spec section the module implements."""
    docstring = ast.get_docstring(ast.parse(MODULES[module].read_text(encoding="utf-8")))
    assert docstring, f"{module} has no docstring"
    assert spec in docstring, f"{module}'s docstring does not link {spec}"
    assert len(MODULES[module].read_text(encoding="utf-8").splitlines()) < 700, module


#: What the engines may import from the rest of kgtools: the typed errors, the vocabulary, the
#: report type both validators share, the reference they are held to (owlrl closes the T-box),
#: the load stage (``kg validate`` reads files with the build's checks), and the per-process memo
#: (which imports nothing of kgtools).
ENGINE_MAY_IMPORT = (
    "kgtools._tip",
    "kgtools.errors",
    "kgtools.memo",
    "kgtools.namespaces",
    "kgtools.validation",
    "kgtools.reference.owlrl",
    "kgtools.load.fast",
    "kgtools.load.checks",
    "kgtools.load.schema",
)


def engine_reaches(graph: nx.DiGraph) -> dict[str, list[str]]:
    """Engine module → the kgtools modules outside the engine and the allowed list it imports."""
    found: dict[str, list[str]] = {}
    for module, target in graph.edges:
        if module.startswith("kgtools.engine") and not (
            target.startswith("kgtools.engine") or target in ENGINE_MAY_IMPORT
        ):
            found.setdefault(module, []).append(target)
    return found


def test_the_engines_are_a_lower_layer() -> None:
    offenders = engine_reaches(GRAPH)
    assert not offenders, f"engine modules importing beyond their layer: {offenders}"


def test_the_layer_check_sees_an_import_inside_a_function(tmp_path: Path) -> None:
    """Control: an engine module importing the builder inside a function is found."""
    (tmp_path / "x.py").write_text("def f():\n    from kgtools.build.pipeline import build\n")
    (tmp_path / "p.py").write_text("")
    graph = import_graph(
        {"kgtools.engine.rules.x": tmp_path / "x.py", "kgtools.build.pipeline": tmp_path / "p.py"}
    )
    assert engine_reaches(graph) == {"kgtools.engine.rules.x": ["kgtools.build.pipeline"]}
