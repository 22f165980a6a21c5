"""The background loader of kgtools.store.oxigraph: the store holds exactly the queued triples
(blank node labels included, which an incremental build relies on to remove them again), a failure
of the worker reaches the caller, and a cancelled loader stops."""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
import pytest

from kgtools.build import turtle as dumps
from kgtools.build.turtle import Section
from kgtools.store.oxigraph import BackgroundLoader, OxigraphStore, named

G = "https://example.org/graph"
P = ox.NamedNode("https://example.org/p")


def _triples(n: int) -> list:
    out = []
    for i in range(n):
        node = ox.BlankNode(f"file{i % 7}-{i}") if i % 3 else ox.NamedNode(f"https://e.org/{i}")
        out.append((node, P, ox.Literal(f'値 {i}\n"q"', language="ja")))
        out.append(
            (
                node,
                P,
                ox.Literal(
                    str(i), datatype=ox.NamedNode("http://www.w3.org/2001/XMLSchema#integer")
                ),
            )
        )
    return out


@pytest.mark.parametrize("as_sections", [False, True], ids=["triples", "sections"])
def test_store_holds_exactly_the_queued_triples(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, as_sections: bool
) -> None:
    """Triples (turned into N-Triples text by the worker) or a section's Turtle pieces (the full
    build's way): the store holds exactly them, blank-node labels included."""
    monkeypatch.setattr(BackgroundLoader, "CHUNK", 100)  # several bulk loads
    monkeypatch.setattr(dumps, "FEED_TRIPLES", 50)
    store = OxigraphStore(tmp_path / "store")
    loader = BackgroundLoader(store)
    triples = _triples(250)
    if as_sections:
        Section.of_triples(triples, feed=lambda piece: loader.put(G, piece))
    else:
        loader.put(G, triples)
    loader.close()
    loader.wait()
    stored = {
        (q.subject, q.predicate, q.object)
        for q in store.ox.quads_for_pattern(None, None, None, named(G))
    }
    assert stored == set(triples)


def test_worker_failure_reaches_the_caller(tmp_path: Path) -> None:
    store = OxigraphStore(tmp_path / "store")
    loader = BackgroundLoader(store)
    loader.put(G, [(ox.NamedNode("https://e.org/s"), P, object())])  # not an RDF term
    with pytest.raises(SyntaxError):
        loader.wait()
    loader.close(cancel=True)


def test_cancelled_loader_stops_after_its_chunk(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(BackgroundLoader, "CHUNK", 10)
    store = OxigraphStore(tmp_path / "store")
    loader = BackgroundLoader(store)
    triples = _triples(5_000)  # a thousand bulk loads: seconds of work
    loader.put(G, triples)
    loader.close(cancel=True)
    assert len(store.ox) < len(triples)
