"""Block-structured Turtle sections (kgtools.build.turtle): they hold exactly their graph, and a
patched section is byte-identical to one written from scratch for the graph after the change."""

from __future__ import annotations

import random
from pathlib import Path

import pyoxigraph as ox
import pytest

from kgtools.build import turtle as dumps
from kgtools.build.turtle import Section, StoreFeed, header, write
from kgtools.errors import DumpCacheError
from kgtools.load.fast import read_file
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


def _file_backed(section: Section, folder: Path) -> tuple[Section, Path]:
    """``section`` written to a Turtle file and loaded back from it and its index, unread."""
    path = folder / "out.ttl"
    write(path, [section])
    section.save_index(folder, "data")
    info = path.stat()
    loaded = Section.load(
        folder, "data", path, len(header()), stamp=(info.st_size, info.st_mtime_ns)
    )
    assert all(isinstance(part, dumps.FileSpan) for part in loaded.parts)
    return loaded, path


@pytest.mark.parametrize("kernel_copy", [True, False])
def test_patched_file_backed_section_is_written_from_spans_of_the_old_file(
    triples: set, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kernel_copy: bool
) -> None:
    """A section loaded from its file keeps its body there; patched, its unchanged runs are
    copied from that file (by copy_file_range, or by reads where that is refused) and the new
    file equals one written from scratch."""
    if not kernel_copy:

        def refuse(*_args: object) -> int:
            raise OSError(18, "Invalid cross-device link")

        monkeypatch.setattr(dumps.os, "copy_file_range", refuse, raising=False)
    ordered = sorted(triples, key=str)
    loaded, _ = _file_backed(Section.of_triples(triples), tmp_path)
    removed = set(ordered[5:9]) | {ordered[-1]}
    added = {(ordered[20][0], P, ox.Literal("added")), (ox.NamedNode("https://a.example/"), P, P)}
    patched = loaded.patched(added, removed)
    assert any(isinstance(part, dumps.FileSpan) for part in patched.parts)
    after = (triples - removed) | added
    fresh = Section.of_triples(after)
    assert (patched.keys, patched.sizes, patched.body) == (fresh.keys, fresh.sizes, fresh.body)
    write(tmp_path / "new.ttl", [patched])
    assert (tmp_path / "new.ttl").read_bytes() == header() + fresh.body


def test_a_file_changed_after_its_index_was_checked_is_never_copied(
    triples: set, tmp_path: Path
) -> None:
    loaded, path = _file_backed(Section.of_triples(triples), tmp_path)
    patched = loaded.patched({(ox.NamedNode("https://a.example/"), P, P)}, set())
    with path.open("r+b") as handle:  # same size, other bytes, a later time
        handle.write(b"#")
    with pytest.raises(DumpCacheError, match="changed during the build"):
        write(tmp_path / "new.ttl", [patched])
    assert not (tmp_path / "new.ttl").exists()


def test_an_index_is_written_without_its_keys_only_while_they_are_unchanged(
    triples: set, tmp_path: Path
) -> None:
    loaded, _ = _file_backed(Section.of_triples(triples), tmp_path)
    subject, predicate, _ = sorted(triples, key=str)[0]
    same = loaded.patched({(subject, predicate, ox.Literal("another value"))}, set())
    assert [p.name for p in same.index_files(tmp_path, "data")] == ["data.sizes"]
    new = loaded.patched({(ox.NamedNode("https://a.example/"), P, P)}, set())
    gone = loaded.patched(set(), {t for t in triples if t[0] == subject})
    for section in (new, gone, Section.of_triples(triples)):
        files = section.index_files(tmp_path, "data")
        assert sorted(p.name for p in files) == ["data.keys", "data.sizes"]
        assert files[tmp_path / "data.keys"] == "\n".join(section.keys).encode()
    assert len(same.index_files(tmp_path, "data", complete=True)) == 2
