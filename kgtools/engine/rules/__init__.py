"""A fast OWL 2 RL reasoner compiled from the ontology: owlrl's entailments at scale.

:mod:`kgtools.reference.owlrl` (owlrl) is the reference, but it re-applies every rule to every
triple each cycle: about 1 ms per triple, some 20 minutes at a million triples. ``reasonable``
(Rust) grew to 10 GB at 300k triples here, and its rule set is not owlrl's. This package gives
*exactly* the triples :func:`kgtools.reference.owlrl.entailments` gives for ``ontology + data``
(same noise filter, :mod:`.noise`) in a few seconds at a million triples, in pure Python.

:func:`compile` (:mod:`.ruleset`) reads the T-box once, closed by owlrl (``scm-*``,
:mod:`.schema`), and instantiates only the A-box rules the ontology uses, one module per table
of the rules (https://www.w3.org/TR/owl2-profiles/#Reasoning_in_OWL_2_RL_and_RDF_Graphs_using_Rules):
:mod:`.properties` and :mod:`.joins` (``prp-*``), :mod:`.classes` (``cax-*``, ``cls-nothing2``),
:mod:`.datatypes` (``dt-*``); what is not implemented (``eq-*``/``owl:sameAs``, restrictions …:
:mod:`.vocabulary`) raises :class:`~kgtools.errors.UnsupportedOntologyError`, so the engine never
silently answers differently from owlrl. The full closure (:mod:`.closure`) works on terms
interned to integers; :meth:`RuleSet.update` is DRed (:mod:`.dred`).

Known differences of representation (not of reasoning): rdflib normalises some literals when it
parses (``"01"^^xsd:integer`` becomes ``"1"``) and gives a ``^^xsd:string`` literal its datatype,
whereas pyoxigraph keeps the lexical form and cannot tell ``"a"`` from ``"a"^^xsd:string``; the
engine treats every ``xsd:string`` literal as a plain one, as
:func:`kgtools.engine.terms.to_rdflib` does.
"""

from kgtools.engine.rules.noise import is_noise
from kgtools.engine.rules.ruleset import RuleSet, compile
from kgtools.engine.rules.schema import tbox_closure

__all__ = ["RuleSet", "compile", "is_noise", "tbox_closure"]
