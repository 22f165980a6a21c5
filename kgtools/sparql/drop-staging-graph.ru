# title: 仮置きグラフの削除 / Drop a staging graph
# description: Removes a staging graph that `kg push` left behind when an upload failed; SILENT,
#   so a graph that was never created is not an error.
# parameters:
#   ?staging (IRI) — the staging graph to drop
DROP SILENT GRAPH ?staging
