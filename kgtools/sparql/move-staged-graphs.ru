# title: 仮置きグラフを本番グラフへ移す / Move a staged graph into place
# description: SPARQL 1.1 Update MOVE: the target graph gets exactly the staged triples (its
#   previous triples are removed) and the staging graph is dropped. `kg push` uploads into the
#   staging graph first and sends one MOVE per target graph in a single update request, which
#   the server applies as one transaction, so a failed upload never leaves a target truncated.
# parameters:
#   ?staging (IRI) — the staging graph, the target IRI + "/kg-push-staging"
#   ?target (IRI) — the graph to replace
MOVE GRAPH ?staging TO GRAPH ?target
