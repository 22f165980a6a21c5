# title: 仮置きグラフへの追加 / Add a chunk to a staging graph
# description: `kg push --via update` sends each chunk of N-Triples this way, for a server whose
#   Graph Store endpoint is not enabled. The triples replace the line `# triples`; they are
#   rdflib's N-Triples serialisation of the chunk (N-Triples is SPARQL's triple syntax). An
#   INSERT template with WHERE {}, not INSERT DATA: Virtuoso refuses blank nodes in INSERT DATA
#   (SP031), and one solution gives each blank node label one fresh node, as in the chunk.
# parameters:
#   ?staging (IRI) — the staging graph to add to
INSERT { GRAPH ?staging {
# triples
} } WHERE { }
