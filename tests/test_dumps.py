"""Block-structured Turtle sections (kgtools.dumps): they hold exactly their graph, and a patched
section is byte-identical to one written from scratch for the graph after the change."""

from __future__ import annotations

import random
from pathlib import Path

import pyoxigraph as ox
import pytest

from kgtools import dumps
from kgtools.dumps import Section, StoreFeed, header, write
from kgtools.errors import DumpCacheError
from kgtools.load import read_file
from kgtools.project import Project

P = ox.NamedNode("https://example.org/p")


@pytest.fixture(scope="module")
def triples(project: Project) -> set:
    found: set = set()
    for path in project.data_files():
        found |= set(read_file(path, label_key=path.name))
    # awkward terms: a blank node, quotes and a newline, a language tag, a non-ASCII IRI
    node = ox.BlankNode("b0")
    found.add((ox.NamedNode("https://example.org/s"), P, node))
    found.add((node, P, ox.Literal('一行目\n"二行目"', language="ja")))
    found.add((ox.NamedNode("https://example.org/地域"), P, ox.Literal("x")))
    return found


def _graph(body: bytes) -> set:
    return {
        (q.subject, q.predicate, q.object)
        for q in ox.parse(header() + body, format=ox.RdfFormat.TURTLE)
    }


def test_section_holds_its_graph(triples: set, tmp_path: Path) -> None:
    section = Section.of_triples(triples)
    assert _graph(section.body) == triples
    assert section.keys == sorted({str(s) for s, _, _ in triples})
    assert sum(section.sizes) == len(section.body)
    write(tmp_path / "out.ttl", [section])
    assert {
        (q.subject, q.predicate, q.object)
        for q in ox.parse(path=tmp_path / "out.ttl", format=ox.RdfFormat.TURTLE)
    } == triples


def test_feed_pieces_hold_the_graph_and_keep_blank_nodes_as_terms(
    triples: set, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dumps, "FEED_TRIPLES", 300)  # several pieces
    pieces: list[StoreFeed] = []
    section = Section.of_triples(triples, feed=pieces.append)
    assert section == Section.of_triples(triples)  # feeding changes nothing written
    assert len(pieces) > 3
    fed: set = set()
    for piece in pieces:
        assert piece.turtle.startswith(header())
        as_text = {
            (q.subject, q.predicate, q.object)
            for q in ox.parse(piece.turtle, format=ox.RdfFormat.TURTLE)
        }
        assert not any(isinstance(t, ox.BlankNode) for triple in as_text for t in triple)
        assert not fed & (as_text | set(piece.blank))
        fed |= as_text | set(piece.blank)
    assert fed == triples
    blank = [t for piece in pieces for t in piece.blank]
    with_blank = {t for t in triples if any(isinstance(term, ox.BlankNode) for term in t)}
    assert with_blank and with_blank <= set(blank)


@pytest.mark.parametrize("seed", range(8))
def test_patched_equals_written_from_scratch(triples: set, seed: int) -> None:
    rng = random.Random(seed)
    ordered = sorted(triples, key=str)
    section = Section.of_triples(triples)
    removed = set(rng.sample(ordered, 40))
    subject = rng.choice(ordered)[0]
    removed |= {t for t in triples if t[0] == subject}  # one subject disappears
    added = {
        (s, p, ox.Literal(f"new {seed} {rng.random()}")) for s, p, _ in rng.sample(ordered, 25)
    }
    added.add((ox.NamedNode(f"https://example.org/new/{seed}"), P, ox.Literal("z")))
    after = (triples - removed) | added
    patched = section.patched(added, removed)
    fresh = Section.of_triples(after)
    assert patched.body == fresh.body
    assert (patched.keys, patched.sizes) == (fresh.keys, fresh.sizes)
    assert _graph(patched.body) == after


def test_saved_index_round_trips_and_damage_is_detected(triples: set, tmp_path: Path) -> None:
    section = Section.of_triples(triples)
    section.save_index(tmp_path, "data")
    content = b"before" + section.body
    assert Section.load(tmp_path, "data", content, len(b"before")) == section
    with pytest.raises(DumpCacheError, match="does not match its index"):
        Section.load(tmp_path, "data", content[:-1], len(b"before"))
    keys = tmp_path / "data.keys"
    keys.write_bytes(b"\n".join(reversed(keys.read_bytes().split(b"\n"))))
    with pytest.raises(DumpCacheError, match="does not match its index"):
        Section.load(tmp_path, "data", content, len(b"before"))
    (tmp_path / "data.sizes").write_bytes(b"\x01\x02\x03")  # not a whole number of sizes
    with pytest.raises(DumpCacheError, match="unreadable"):
        Section.load(tmp_path, "data", content, 0)
