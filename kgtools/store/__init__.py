"""Where the graph lives, behind one protocol (``base.Store``): the embedded Oxigraph store
(``oxigraph``, the default), SPARQL servers (``remote``; credentials only for the host named),
``kg push`` (``push``), and the one writer of N-Triples terms and VALUES bindings
(``sparql_text``)."""
