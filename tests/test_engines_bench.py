"""The engines bench (kgtools.devtools.engines_bench), smoke-tested on a tiny synthetic project.

One municipality with one plan per deliberate violation kind (so every kind the generator makes
is met once): pySHACL over a ``pyoxigraph.Store`` must give the compiled validator's results and
find every deliberate violation; owlrl must give the compiled rules' entailments; and the table
must say "no" when two engines differ or a deliberate violation is missed. The figures
themselves are measured by hand (docs/performance.md), never in the suite.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pyshacl.graph_abstraction import OxigraphDataGraph

from kgtools.devtools import engines_bench as eb
from kgtools.devtools.synth import VIOLATION_KINDS, SynthSpec, generate
from kgtools.project import Project


@pytest.fixture(scope="module")
def tiny(project: Project, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    root = tmp_path_factory.mktemp("engines") / "project"
    spec = SynthSpec(1, rounds=len(VIOLATION_KINDS), violation_rate=1.0)
    generate(spec, root, source_project=project)
    manifest = json.loads((root / "synth.json").read_text(encoding="utf-8"))
    assert {v["kind"] for v in manifest["violations"]} == set(VIOLATION_KINDS)
    return root, manifest


@pytest.fixture(scope="module")
def compiled(tiny: tuple[Path, dict[str, Any]]) -> list[str]:
    return eb.run_engine("compiled", tiny[0])[1]


def test_pyshacl_over_oxigraph_gives_the_compiled_results(
    tiny: tuple[Path, dict[str, Any]], compiled: list[str]
) -> None:
    root, manifest = tiny
    figures, keys = eb.run_engine("pyshacl-oxigraph+bool", root)
    assert keys == compiled
    assert figures.results == len(keys) >= len(manifest["violations"])
    assert eb.missed_violations(manifest, set(keys)) == set()
    assert "__bool__" not in vars(OxigraphDataGraph)  # the variant's patch is undone


def test_owlrl_gives_the_compiled_rules_entailments(
    project: Project, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """One plan (owlrl takes about a millisecond per triple, the ontology's included)."""
    root = tmp_path_factory.mktemp("engines") / "one-plan"
    generate(SynthSpec(1, rounds=1), root, source_project=project)
    _figures, rules = eb.run_engine("rules", root)
    figures, owlrl = eb.run_engine("owlrl", root)
    assert rules == owlrl
    assert figures.results == len(rules) > 100


def _outcome(engine: str, keys: list[str], seconds: float) -> eb.Outcome:
    figures = eb.Figures(engine, run_s=seconds, results=len(keys), extra={"cpu_s": seconds / 2})
    return eb.Outcome(engine, 1, figures, set(keys))


def _shacl_table(
    manifest: dict[str, Any], compiled: list[str], other: list[str], seconds: float
) -> tuple[dict[str, Any], list[str]]:
    """The SHACL family's summary and printed lines: the compiled validator's ``compiled``
    results in 2 s against pySHACL-over-Oxigraph's ``other`` in ``seconds``."""
    lines: list[str] = []
    summary = eb._report_family(
        "SHACL",
        ("compiled", "pyshacl-oxigraph"),
        [_outcome("compiled", compiled, 2.0), _outcome("pyshacl-oxigraph", other, seconds)],
        manifest,
        lines.append,
    )
    return summary, lines


def test_the_table_says_no_on_a_difference_or_a_missed_violation(
    tiny: tuple[Path, dict[str, Any]], compiled: list[str]
) -> None:
    _root, manifest = tiny
    for dropped in range(len(compiled)):
        fewer = compiled[:dropped] + compiled[dropped + 1 :]
        summary, lines = _shacl_table(manifest, compiled, fewer, 3.0)
        assert not summary["all_equal"]
        assert summary["rows"][1]["only_home"] == 1 and summary["rows"][1]["ratio"] == 1.5
        assert any(compiled[dropped].replace("\t", "  ") in line for line in lines)
    summary, lines = _shacl_table(manifest, compiled, compiled, 1.0)
    assert summary["all_equal"] and lines[-1].endswith(": yes")
    assert lines[-2].split()[-2:] == ["0.50×", "0.50×"]  # wall and CPU ratios
