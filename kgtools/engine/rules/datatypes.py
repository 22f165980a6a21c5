"""OWL 2 RL's datatype rules (``dt-*``, Table 8), as owlrl applies them.

https://www.w3.org/TR/owl2-profiles/#Reasoning_in_OWL_2_RL_and_RDF_Graphs_using_Rules — owlrl
types a literal of an OWL RL datatype with that datatype and its supertypes (``dt-type2``), makes
datatypes disjoint (``dt-diff``, checked by ``cax-dw``) and checks each typed literal's lexical
form (``dt-not-type``). The tables are owlrl's own, read once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyoxigraph as ox

from kgtools.engine.vocab import XSD_STRING


def _rdflib_datatype(literal: ox.Literal) -> ox.NamedNode | None:
    """The datatype rdflib gives the literal: none for plain and language-tagged ones."""
    if literal.language:
        return None
    datatype = literal.datatype
    return None if datatype == XSD_STRING else datatype


@dataclass(frozen=True)
class Datatypes:
    """owlrl's one-time datatype rules (``dt-type2``, subsumption, disjointness, lexical check)."""

    rl: frozenset[ox.NamedNode]
    subsumptions: dict[ox.NamedNode, tuple[ox.NamedNode, ...]]
    disjoint: tuple[tuple[ox.NamedNode, ox.NamedNode], ...]
    converters: dict[ox.NamedNode, Callable[[str], object]]

    @classmethod
    def from_owlrl(cls) -> Datatypes:
        from owlrl.AxiomaticTriples import OWLRL_Datatypes_Disjointness
        from owlrl.DatatypeHandling import AltXSDToPYTHON
        from owlrl.XsdDatatypes import OWL_Datatype_Subsumptions, OWL_RL_Datatypes

        def nn(x: object) -> ox.NamedNode:
            return ox.NamedNode(str(x))

        return cls(
            rl=frozenset(nn(d) for d in OWL_RL_Datatypes),
            subsumptions={
                nn(d): tuple(nn(x) for x in subs) for d, subs in OWL_Datatype_Subsumptions.items()
            },
            disjoint=tuple((nn(a), nn(b)) for a, _, b in OWLRL_Datatypes_Disjointness),
            converters={nn(d): f for d, f in AltXSDToPYTHON.items()},
        )

    def implicit_types(self, literal: ox.Literal) -> tuple[ox.NamedNode, ...]:
        datatype = _rdflib_datatype(literal)
        if datatype is None or datatype not in self.rl:
            return ()
        return (datatype, *self.subsumptions.get(datatype, ()))

    def lexical_error(self, literal: ox.Literal) -> str | None:
        datatype = _rdflib_datatype(literal)
        if datatype is None or datatype not in self.rl:
            return None
        converter = self.converters.get(datatype)
        if converter is None:
            return None
        try:
            converter(literal.value)
        except ValueError:
            return (
                f"Lexical value of the literal '{literal.value}' does not match"
                f" its datatype ({datatype.value})"
            )
        return None
