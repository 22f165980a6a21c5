"""The per-user cache of derived values (kgtools.usercache): owlrl's closure of the ontology, the
pages' font subsets and the network views' files. A hit gives exactly what a miss computes; a
damaged entry is detected and computed again, never trusted; a cache folder that cannot be
written still builds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kgtools import glyphs, usercache
from kgtools.build.full import build_ruleset
from kgtools.build.inputs import relative_path
from kgtools.build.pipeline import build
from kgtools.engine import rules
from kgtools.load.fast import read_file
from kgtools.project import Project

from .conftest import examples


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty per-user cache for one test."""
    home = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    return home / "kgtools" / "derived"


def _entries(root: Path, kind: str) -> list[Path]:
    folder = root / kind
    return (
        sorted(p for p in folder.iterdir() if not p.name.startswith(".")) if folder.exists() else []
    )


# -- the store itself ---------------------------------------------------------------------------


@settings(max_examples=examples(60), deadline=None)
@given(content=st.binary(max_size=300), data=st.data())
def test_an_entry_reads_back_and_any_damage_is_a_miss(
    tmp_path_factory: pytest.TempPathFactory, content: bytes, data: st.DataObject
) -> None:
    home = tmp_path_factory.mktemp("xdg")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(home))
        usercache.put("k", "entry", content)
        assert usercache.get("k", "entry") == content
        path = usercache.folder() / "k" / "entry"
        raw = path.read_bytes()
        if data.draw(st.booleans(), label="truncate"):
            cut = data.draw(st.integers(0, len(raw) - 1), label="keep")
            path.write_bytes(raw[:cut])
        else:
            at = data.draw(st.integers(0, len(raw) - 1), label="byte")
            flip = data.draw(st.integers(1, 255), label="xor")
            path.write_bytes(raw[:at] + bytes([raw[at] ^ flip]) + raw[at + 1 :])
        assert usercache.get("k", "entry") is None
        assert not path.exists(), "a damaged entry is removed"
        assert usercache.cached("k", "entry", lambda: content) == content
        assert usercache.get("k", "entry") == content


def test_an_entry_cut_before_its_newline_is_a_miss(tmp_path: Path) -> None:
    """Found by the property above: an empty entry cut by its last byte (its checksum line
    without the newline) passed the checksum, which is the empty content's."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(tmp_path))
        for content in (b"", b"x"):
            usercache.put("k", "entry", content)
            path = usercache.folder() / "k" / "entry"
            raw = path.read_bytes()
            path.write_bytes(raw[: raw.index(b"\n")])
            assert usercache.get("k", "entry") is None, content
            assert not path.exists()


def test_the_key_changes_with_every_part() -> None:
    base = ("a", b"b", "c")
    keys = {usercache.key(*base)}
    for variant in [("a", b"b"), ("ab", b"", "c"), ("a", b"b", "d"), ("a", b"b", "c", "")]:
        keys.add(usercache.key(*variant))
    assert len(keys) == 5
    assert usercache.key(*base) == usercache.key(*base)


def test_old_entries_are_pruned(cache_home: Path) -> None:
    for n in range(usercache.KEEP + 5):
        usercache.put("k", f"e{n:03}", b"x")
        os.utime(cache_home / "k" / f"e{n:03}", (n, n))  # e000 is the oldest
    kept = [p.name for p in _entries(cache_home, "k")]
    assert kept == [f"e{n:03}" for n in range(5, usercache.KEEP + 5)]  # the newest KEEP


def test_an_unusable_cache_folder_is_no_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would go")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    usercache.put("k", "entry", b"content")  # cannot be written: ignored
    assert usercache.get("k", "entry") is None
    assert usercache.cached("k", "entry", lambda: b"computed") == b"computed"


# -- owlrl's closure of the ontology ------------------------------------------------------------


def _ruleset(project: Project, out_dir: Path) -> rules.RuleSet:
    key = relative_path(project, project.ontology)
    ontology = read_file(project.ontology, label_key=key)
    return build_ruleset(out_dir, project, ontology, {key: "0" * 64})


def test_the_closure_from_the_cache_is_owlrls(
    project: Project, cache_home: Path, tmp_path: Path
) -> None:
    key = relative_path(project, project.ontology)
    ontology = read_file(project.ontology, label_key=key)
    reference = rules.tbox_closure(ontology)

    miss = _ruleset(project, tmp_path / "one")
    assert len(_entries(cache_home, "tbox")) == 1
    hit = _ruleset(project, tmp_path / "two")  # a fresh folder: read from the user cache
    assert miss.tbox == hit.tbox == reference
    files = [sorted((tmp_path / d / "cache").glob("tbox-*.nt")) for d in ("one", "two")]
    assert [p.read_bytes() for p in files[0]] == [p.read_bytes() for p in files[1]]

    # a damaged entry is not trusted: computed again, and written again whole
    (entry,) = _entries(cache_home, "tbox")
    raw = entry.read_bytes()
    entry.write_bytes(raw[: len(raw) // 2])
    again = _ruleset(project, tmp_path / "three")
    assert again.tbox == reference
    assert entry.read_bytes() == raw


def test_a_build_with_an_unwritable_cache_equals_one_with_a_warm_cache(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three builds of the real project into fresh folders: with no usable cache (computed), with
    an empty cache (computed and stored) and with the filled cache (read): the same bytes."""

    def outputs(out: Path) -> dict[str, bytes]:
        return {
            p.relative_to(out).as_posix(): p.read_bytes()
            for p in sorted(out.rglob("*"))
            if p.is_file()
            and not p.relative_to(out).parts[0].startswith("store-")
            and p.relative_to(out).parts[:2] not in (("cache", "sources"), ("cache", "export"))
            and p.name != "build.json"
        }

    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    glyphs._cached_subset.cache_clear()
    build(project, tmp_path / "none", force=True)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    glyphs._cached_subset.cache_clear()
    build(project, tmp_path / "cold", force=True)
    derived = tmp_path / "xdg" / "kgtools" / "derived"
    assert _entries(derived, "tbox") and _entries(derived, "glyphs") and _entries(derived, "views")
    glyphs._cached_subset.cache_clear()
    build(project, tmp_path / "warm", force=True)
    none, cold, warm = (outputs(tmp_path / d) for d in ("none", "cold", "warm"))
    assert any(name.endswith(".html") for name in none)
    assert none == cold == warm


# -- the font subsets ---------------------------------------------------------------------------


@settings(max_examples=examples(8), deadline=None)
@given(chars=st.text(alphabet="東京都地域産業活性化計画台東区大田区承認", min_size=1, max_size=12))
def test_a_cached_subset_is_the_subset(
    tmp_path_factory: pytest.TempPathFactory, chars: str
) -> None:
    chars = glyphs.page_characters(chars, glyphs.covered())
    path = str(glyphs.font_path())
    flavor = glyphs.font_format()[0]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg")))
        glyphs._cached_subset.cache_clear()
        fresh = glyphs._subset(chars, path, flavor)
        assert glyphs.subset_font(chars) == fresh  # miss: computed and stored
        (entry,) = _entries(usercache.folder(), "glyphs")
        glyphs._cached_subset.cache_clear()
        assert glyphs.subset_font(chars) == fresh  # hit
        raw = entry.read_bytes()
        entry.write_bytes(raw[:-1] + bytes([raw[-1] ^ 1]))  # damaged
        glyphs._cached_subset.cache_clear()
        assert glyphs.subset_font(chars) == fresh
        assert entry.read_bytes() == raw
    glyphs._cached_subset.cache_clear()


# -- the network views ---------------------------------------------------------------------------
TOSHIMA = "data/plans/131164-2021-toshima.ttl"


@pytest.mark.parametrize(
    "old, new",
    [
        # an initiative's label: the edges it is evidence for carry it
        (
            'rdfs:label "起業家ネットワーク構築支援"@ja, "Support for building',
            'rdfs:label "起業家のネットワーク構築支援"@ja, "Support for building',
        ),
        # a link less: an edge (or its weight) goes
        (
            "tip:involvesPartnerKind <partner-kind/university>, <partner-kind/company> ;",
            "tip:involvesPartnerKind <partner-kind/university> ;",
        ),
    ],
)
def test_a_view_from_the_cache_is_never_an_older_drawing(
    copy: Path, monkeypatch: pytest.MonkeyPatch, old: str, new: str
) -> None:
    """After an edit that changes a view's graph, a rebuild with the warm cache writes the views
    that a build drawing everything again writes, not the cached drawing of the graph before."""

    def views(out: Path) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in sorted((out / "network").iterdir())}

    build(Project(copy), copy / "before", force=True)  # its views are now in the cache
    before = views(copy / "before")
    path = copy / TOSHIMA
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")
    build(Project(copy), copy / "dist")  # the warm cache holds the views before the edit
    warm = views(copy / "dist")
    # every view drawn again (the ontology's closure and the font subsets, which the edit does
    # not change, still come from the cache: owlrl ran again for nothing, ~3 s a case)
    cached_value = usercache.get
    monkeypatch.setattr(
        usercache, "get", lambda kind, entry: None if kind == "views" else cached_value(kind, entry)
    )
    build(Project(copy), copy / "fresh", force=True)
    assert warm == views(copy / "fresh")
    assert warm != before, "the edit must change a view for this test to say anything"
