"""Time library queries side by side on one build: the median of N runs each, interleaved (one
run of each query in turn, N times, so that a busy machine slows them alike), with each median's
ratio to the first query's.

    python -m kgtools.devtools.query_bench --out-dir /tmp/p100k/dist --repeat 5 \\
        old-fy2023.rq fiscal-year:fy=2023

A query is a library name (``fiscal-year``, an alias such as ``fy2023``) or a ``.rq`` file,
optionally followed by parameters, each after a colon (``compare:codes=131067,131113:lang=en``);
each is bound as ``kg query`` binds it (``?lang`` and an alias's values included, a ``VALUES``
block in the text) and run in this process on the build's Oxigraph store over the asserted and
inferred graphs. A file may be a query as it was in an earlier commit
(``git show 61f24a8:queries/cq/fy2023.rq > old-fy2023.rq``), to compare a rewrite with what it
replaced.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from kgtools.namespaces import graphs_for
from kgtools.project import find_project
from kgtools.query.library import QueryFile, QueryLibrary, load_query
from kgtools.query.params import bound_params, parse_param
from kgtools.store.oxigraph import OxigraphStore
from kgtools.store.sparql_text import bind_text


def bound_query(spec: str, library: QueryLibrary) -> tuple[QueryFile, str]:
    """``NAME|FILE[:p=v…]`` → the query and its text with the parameters bound."""
    name, *given = spec.split(":")
    query = load_query(Path(name)) if name.endswith(".rq") else library.get(name)
    params = dict(parse_param(p) for p in given)
    return query, bind_text(query.text, bound_params(query, params))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("queries", nargs="+", metavar="NAME|FILE[:p=v...]")
    parser.add_argument("--out-dir", type=Path, required=True, help="a kg build folder")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each query (default 5)")
    args = parser.parse_args(argv)
    library = QueryLibrary(find_project(None).queries_dir)
    texts = [bound_query(spec, library)[1] for spec in args.queries]
    store = OxigraphStore(next(args.out_dir.glob("store-*")), read_only=True)
    graphs = graphs_for(inferred=True)
    times: list[list[float]] = [[] for _ in texts]
    rows: list[int] = [0] * len(texts)
    for _ in range(args.repeat):
        for index, text in enumerate(texts):
            start = time.perf_counter()
            rows[index] = len(list(store.query_text(text, graphs=graphs)))
            times[index].append((time.perf_counter() - start) * 1000)
    first = statistics.median(times[0])
    width = max(len(s) for s in args.queries)
    for spec, runs, count in zip(args.queries, times, rows, strict=True):
        median = statistics.median(runs)
        print(
            f"{spec:<{width}}  {count:6,} rows  median {median:8.1f} ms  "
            f"(min {min(runs):.1f}, max {max(runs):.1f})  ×{median / first:.2f}"
        )
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
