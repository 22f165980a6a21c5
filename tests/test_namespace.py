"""The typed namespace is generated from the ontology and must not drift from it."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import URIRef

from kgtools.devtools import codegen
from kgtools.namespaces import TIP
from kgtools.project import Project


def test_generated_namespace_is_up_to_date(project: Project) -> None:
    current = Path(codegen.TARGET).read_text(encoding="utf-8")
    assert current == codegen.render(project.ontology), (
        "kgtools/_tip.py is stale: run `python -m kgtools.devtools.codegen`"
    )


def test_known_term_resolves_and_misspelt_term_fails() -> None:
    assert TIP.Plan == URIRef("https://w3id.org/tokyo-industry-plans/ontology#Plan")
    with pytest.raises(AttributeError):
        TIP.Plann  # noqa: B018 - the typo is the point
