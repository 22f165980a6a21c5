"""The fast engines ``kg build`` runs, each held to its reference in :mod:`kgtools.reference`
by tests: triples and in-memory indexes (``terms``), the compiled SHACL validator (``shacl``),
the compiled OWL RL reasoner (``rules``), the network degree statistics (``degree``) and
canonical blank-node labels (``bnodes``). They import nothing above them (no builder, store,
query or CLI)."""
