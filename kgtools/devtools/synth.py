"""Deterministic synthetic data: a whole project folder of made-up plans, for scale and tests.

``generate(spec, out_dir, source_project=...)`` writes a *project folder* (see
:mod:`kgtools.project`) that ``kg build --project out_dir`` builds:

* ``ontology/tip.ttl``, ``ontology/shapes.ttl``, ``ontology/context.jsonld`` and ``queries/`` are
  copied byte for byte from the source project, so the real ontology, shapes and queries are used;
* ``data/concepts.ttl`` is copied; ``data/sources.ttl`` and ``data/fiscal-years.ttl`` are copied
  and, where needed, extended at the end (the source document ``<source/synthetic-data>`` that
  every synthetic node cites, and fiscal years beyond the real file, modelled as the real ones);
* ``data/local-governments.ttl`` holds the real prefecture node (東京都, copied from the source
  project) and ``N`` synthetic municipalities;
* ``data/plans/{code}-{fy}-synthetic.ttl`` holds one plan (municipality × approval round) per
  file, shaped like the real plan files: period, approval, background, initiatives under the
  three headings with ordinals, themes, target segments, partner kinds (Zipf-skewed, so a few
  kinds are hubs), partner groups, programmes and subsidies, facilities, events, places, people,
  future visions and illustrations;
* ``synth.json`` records the spec, the counts and every deliberate violation.

Synthetic municipalities can never pass as real ones:

* labels are ``"合成市0001"@ja`` / ``"Synthetic City 0001"@en`` (or 合成区 / Synthetic Ward);
* codes are 6-digit JIS X 0402 codes with a correct check digit whose prefecture part is
  **99, 98, … 50** — no real prefecture has a code above 47 — and whose municipality part runs
  001..999 (the first 999 municipalities are ``99001x``..``99999x``, the next 999 use 98, …), so at
  most :data:`MAX_MUNICIPALITIES` municipalities;
* their Wikidata item is ``wd:Q0``, which is no Wikidata item (item numbers start at Q1): the
  shapes require an item of the form ``wd:Q<digits>``;
* every node they describe cites ``<source/synthetic-data>``, never a real source document.

They are linked as the real ones are: ``tip:prefecture`` the real 東京都 node, and each plan's
approval has ``tip:approvingAuthority`` 東京都.

Round ``r`` (0-based) of plans starts in fiscal year ``2021 + 3·r`` and covers three fiscal
years. Plan content depends only on (seed, municipality number, round): growing ``N`` adds files
and leaves the others byte-identical. Output is Turtle written from string templates (no rdflib
serialisation), deterministic (``random.Random`` seeded from the spec only), and the number of
data triples is counted exactly as it is written.
"""

from __future__ import annotations

import json
import random
import re
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, SH, SKOS
from rdflib.term import Node

from kgtools._tip import TIP
from kgtools.errors import OutputFolderError, ProjectLayoutError, UsageError
from kgtools.namespaces import ID
from kgtools.project import DATA_DIR, ONTOLOGY_FILE, QUERIES_DIR, SHAPES_FILE, Project
from kgtools.store.sparql_text import nt_string

#: The record of a synthetic project (its presence marks a folder ``generate`` may overwrite).
MANIFEST = "synth.json"
#: Relative IRI of the source document every synthetic node cites.
SYNTHETIC_SOURCE = "source/synthetic-data"
#: Code ranges: prefecture part 99 down to 50, municipality part 001..999.
FIRST_PREFECTURE_PART = 99
LAST_PREFECTURE_PART = 50
MUNICIPALITIES_PER_PREFIX = 999
MAX_MUNICIPALITIES = (FIRST_PREFECTURE_PART - LAST_PREFECTURE_PART + 1) * MUNICIPALITIES_PER_PREFIX
#: The smallest ``target`` :func:`spec_for_triples` accepts (shared files alone hold ~800).
MIN_TARGET_TRIPLES = 2_000
#: The first approval round starts in this fiscal year; each round lasts this many years.
FIRST_FISCAL_YEAR = 2021
ROUND_YEARS = 3
#: The most rounds: the last one's period must end (31 March after its last fiscal year) in a
#: year of four digits, which is what xsd:date's readers (rdflib, Python's ``date``) accept.
MAX_ROUNDS = (9999 - FIRST_FISCAL_YEAR) // ROUND_YEARS
#: The fake Wikidata item of every synthetic municipality (no Wikidata item is Q0).
FAKE_WIKIDATA_ITEM = "http://www.wikidata.org/entity/Q0"
#: The kinds of deliberate violation, used in turn over the chosen plans.
VIOLATION_KINDS = (
    "missing-en-label",
    "ordinal-not-positive-integer",
    "label-trailing-space",
    "theme-not-a-theme",
    "missing-background",
    "period-end-mismatch",
)
#: Triples in one synthetic municipality's block of local-governments.ttl.
_MUNICIPALITY_TRIPLES = 7
_PLAN_FILE = re.compile(r"^[0-9]{6}-[0-9]{4}-synthetic\.ttl$")
_SHARED_FILES = ("concepts.ttl", "sources.ttl", "fiscal-years.ttl", "local-governments.ttl")
_SH = str(SH)

_PREFIXES = (
    "@prefix tip: <https://w3id.org/tokyo-industry-plans/ontology#> .\n"
    "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
    "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
    "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
    "@prefix dcterms: <http://purl.org/dc/terms/> .\n"
    "@prefix wd: <http://www.wikidata.org/entity/> .\n"
    f"@base <{ID}> .\n"
)

_FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _lang(text: str, lang: str) -> str:
    return nt_string(text) + "@" + lang


def _both(ja: str, en: str) -> list[str]:
    """A text in Japanese and in English: the two literals of a bilingual property."""
    return [_lang(ja, "ja"), _lang(en, "en")]


def _typed(text: str, datatype: str) -> str:
    return nt_string(text) + "^^xsd:" + datatype


def _ref(relative: str) -> str:
    return "<" + relative + ">"


def check_digit(five: str) -> str:
    """The JIS X 0402 check digit of a 5-digit local government code."""
    total = sum(weight * int(d) for weight, d in zip((6, 5, 4, 3, 2), five, strict=True))
    return str((11 - total % 11) % 10)


def synthetic_code(index: int) -> str:
    """The 6-digit code of synthetic municipality ``index`` (0-based); see the module docstring."""
    if not 0 <= index < MAX_MUNICIPALITIES:
        raise UsageError(f"municipalities: at most {MAX_MUNICIPALITIES} synthetic codes exist")
    prefecture = FIRST_PREFECTURE_PART - index // MUNICIPALITIES_PER_PREFIX
    five = f"{prefecture:02d}{index % MUNICIPALITIES_PER_PREFIX + 1:03d}"
    return five + check_digit(five)


def _full_width(number: int) -> str:
    return str(number).translate(_FULL_WIDTH)


def _fiscal_year_ja(fy: int) -> str:
    return f"令和{_full_width(fy - 2018)}年度"


# ------------------------------------------------------------------------------------ the API


@dataclass(frozen=True)
class SynthSpec:
    """What to generate: ``municipalities`` × ``rounds`` plans from ``seed``."""

    municipalities: int
    #: Approval rounds (plan periods); round ``r`` starts in FY 2021 + 3·r and lasts 3 years.
    rounds: int = 3
    seed: int = 0
    #: Fraction of plans that get exactly one deliberate shape violation.
    violation_rate: float = 0.0

    def check(self) -> None:
        """Raise :class:`UsageError` naming the first argument out of range."""
        _check_int("municipalities", self.municipalities, 1, MAX_MUNICIPALITIES)
        _check_int("rounds", self.rounds, 1, MAX_ROUNDS)
        _check_int("seed", self.seed, None, None)
        _check_rate(self.violation_rate)


@dataclass
class SynthResult:
    """What :func:`generate` wrote."""

    root: Path
    #: The data files written (below ``root/data``), sorted.
    files: list[Path]
    #: Triples in the data graph (every data file; the ontology not included), counted exactly.
    triples: int
    #: One entry per deliberate violation: file, focus, path, component, severity (and kind).
    violations: list[dict[str, str]] = field(default_factory=list)


def _check_int(name: str, value: object, low: int | None, high: int | None) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise UsageError(f"{name} must be an integer, got {value!r}")
    if low is not None and value < low:
        raise UsageError(f"{name} must be at least {low}, got {value}")
    if high is not None and value > high:
        raise UsageError(f"{name} must be at most {high}, got {value}")


def _check_rate(value: object) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise UsageError(f"violation_rate must be a number between 0 and 1, got {value!r}")
    if not 0.0 <= float(value) <= 1.0:
        raise UsageError(f"violation_rate must be between 0 and 1, got {value}")


def spec_for_triples(
    target: int,
    *,
    rounds: int = 3,
    seed: int = 0,
    violation_rate: float = 0.0,
    source_project: Project | None = None,
) -> SynthSpec:
    """A spec whose data graph has about ``target`` triples (within a few per cent).

    The per-municipality sizes of the first municipalities are counted exactly (the generator
    runs without writing); beyond 256 municipalities their mean is extrapolated.
    ``source_project`` defaults to :func:`kgtools.project.find_project`.
    """
    _check_int("target", target, MIN_TARGET_TRIPLES, None)
    SynthSpec(1, rounds, seed, violation_rate).check()
    if source_project is None:
        from kgtools.project import find_project

        source_project = find_project()
    gen = _Generator(SynthSpec(1, rounds, seed, violation_rate), source_project)
    total = gen.shared_triples()
    sample = min(256, MAX_MUNICIPALITIES)
    for index in range(sample):
        size = gen.municipality_triples(index)
        if total + size >= target:
            # stop before or after this municipality, whichever lands nearer
            chosen = index + 1 if (total + size - target) <= (target - total) else index
            return SynthSpec(max(chosen, 1), rounds, seed, violation_rate)
        total += size
    mean = (total - gen.shared_triples()) / sample
    count = sample + round((target - total) / mean)
    if count > MAX_MUNICIPALITIES:
        raise UsageError(
            f"target: {target} triples needs about {count} municipalities, "
            f"more than the {MAX_MUNICIPALITIES} synthetic codes available"
        )
    return SynthSpec(count, rounds, seed, violation_rate)


def generate(
    spec: SynthSpec,
    out_dir: Path,
    *,
    source_project: Project,
    progress: Callable[[int, int], None] | None = None,
) -> SynthResult:
    """Write the synthetic project of ``spec`` to ``out_dir``; see the module docstring."""
    spec.check()
    out_dir = Path(out_dir)
    _prepare_out_dir(out_dir, source_project)
    gen = _Generator(spec, source_project)

    # Mark the folder first, so that a run stopped half-way can be repeated into it.
    _write(out_dir / MANIFEST, '{"complete": false}\n')
    _copy_fixed_files(source_project, out_dir)
    data = out_dir / DATA_DIR
    plans_dir = data / "plans"
    plans_dir.mkdir(parents=True, exist_ok=True)

    files: list[Path] = []
    shared_text = gen.shared_texts()
    for name in _SHARED_FILES:
        _write(data / name, shared_text[name])
        files.append(data / name)
    triples = gen.shared_triples() + gen.local_government_triples()

    plan_files = set()
    violations: list[dict[str, str]] = []
    total = spec.municipalities * spec.rounds
    done = 0
    for index in range(spec.municipalities):
        for round_ in range(spec.rounds):
            plan = gen.plan(index, round_, gen.violation_of(index, round_))
            path = plans_dir / plan.file_name
            _write(path, plan.text)
            plan_files.add(path.name)
            files.append(path)
            triples += plan.triples
            relpath = path.relative_to(out_dir).as_posix()
            violations.extend({"file": relpath, **v} for v in plan.violations)
            done += 1
            if progress is not None:
                progress(done, total)
    for stale in sorted(plans_dir.iterdir()):
        if _PLAN_FILE.match(stale.name) and stale.name not in plan_files:
            stale.unlink()  # a plan file of an earlier, larger synthetic project

    violations.sort(key=lambda v: (v["file"], v["focus"], v["path"], v["component"]))
    manifest = {
        "generator": "kgtools.devtools.synth",
        "spec": asdict(spec),
        "counts": {
            "municipalities": spec.municipalities,
            "plans": total,
            "files": len(files),
            "triples": triples,
        },
        "codes": f"{synthetic_code(0)}..{synthetic_code(spec.municipalities - 1)} "
        f"(prefecture part {FIRST_PREFECTURE_PART} down to {LAST_PREFECTURE_PART}: "
        "no real prefecture)",
        "violations": violations,
    }
    _write(
        out_dir / MANIFEST,
        json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n",
    )
    return SynthResult(root=out_dir, files=sorted(files), triples=triples, violations=violations)


# -------------------------------------------------------------------------- folder handling


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))


def _prepare_out_dir(out_dir: Path, source: Project) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputFolderError(f"out_dir: {out_dir} exists and is not a folder")
    if out_dir.exists() and out_dir.resolve() == source.root.resolve():
        raise OutputFolderError(f"out_dir: {out_dir} is the source project itself")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / MANIFEST).is_file():
        raise OutputFolderError(
            f"out_dir: {out_dir} is not empty and holds no {MANIFEST} (it is not an earlier "
            "synthetic project): choose an empty or new folder; nothing was changed"
        )
    out_dir.mkdir(parents=True, exist_ok=True)


def _copy_fixed_files(source: Project, out_dir: Path) -> None:
    for relative in (ONTOLOGY_FILE, SHAPES_FILE):
        if not (source.root / relative).is_file():
            raise ProjectLayoutError(f"{source.root / relative}: the source project lacks it")
        _copy(source.root / relative, out_dir / relative)
    context = source.root / "ontology" / "context.jsonld"
    if context.is_file():
        _copy(context, out_dir / "ontology" / "context.jsonld")
    queries = source.root / QUERIES_DIR
    if queries.is_dir():
        for path in sorted(queries.rglob("*")):
            if path.is_file():
                _copy(path, out_dir / QUERIES_DIR / path.relative_to(queries))


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


# ------------------------------------------------------------------------------- vocabulary


@dataclass(frozen=True)
class _Concept:
    iri: str  # relative to ID, e.g. "theme/ec"
    ja: str
    en: str

    @property
    def slug(self) -> str:
        return self.iri.rsplit("/", 1)[-1]

    @property
    def en_title(self) -> str:
        return self.en[:1].upper() + self.en[1:]


def _relative(node: Node) -> str:
    text = str(node)
    return text[len(str(ID)) :] if text.startswith(str(ID)) else text


def _concepts(graph: Graph, cls: URIRef) -> list[_Concept]:
    found = []
    for node in graph.subjects(RDF.type, cls):
        labels = {
            lit.language: str(lit)
            for lit in graph.objects(node, SKOS.prefLabel)
            if isinstance(lit, Literal)
        }
        if (
            isinstance(node, URIRef)
            and str(node).startswith(str(ID))
            and {"ja", "en"} <= set(labels)
        ):
            found.append(_Concept(_relative(node), labels["ja"], labels["en"]))
    return sorted(found, key=lambda c: c.iri)


_QNAMES = {
    str(TIP): "tip:",
    "http://www.w3.org/2000/01/rdf-schema#": "rdfs:",
    "http://www.w3.org/2001/XMLSchema#": "xsd:",
    "http://www.w3.org/2004/02/skos/core#": "skos:",
    "http://purl.org/dc/terms/": "dcterms:",
    "http://www.wikidata.org/entity/": "wd:",
}
_LOCAL_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def _term(node: Node) -> str:
    """A node of the source project's graph as a Turtle term (IRIs relative to the @base)."""
    if isinstance(node, URIRef):
        text = str(node)
        if text.startswith(str(ID)):
            return _ref(text[len(str(ID)) :])
        for namespace, prefix in _QNAMES.items():
            local = text[len(namespace) :]
            if text.startswith(namespace) and _LOCAL_NAME.fullmatch(local):
                return prefix + local
        return "<" + text + ">"
    if isinstance(node, Literal):
        if node.language:
            return _lang(str(node), node.language)
        if node.datatype is not None:
            return nt_string(str(node)) + "^^<" + str(node.datatype) + ">"
        return nt_string(str(node))
    raise ProjectLayoutError(f"unexpected blank node {node!r} in the prefecture's description")


# ---------------------------------------------------------------------------- Turtle writer


class _Doc:
    """A Turtle document built from subject blocks; counts the triples it writes.

    Why not rdflib's or Oxigraph's serializer: the files stand in for the hand-written data
    files (``data/plans/*.ttl``: one block per subject, comments, IRIs relative to ``@base``),
    which those serializers do not write, and the bench writes a million triples of them
    straight from strings, without an rdflib or Oxigraph object per term. Strings go through
    the project's one string writer (:func:`kgtools.store.sparql_text.nt_string`); the tests
    read the generated files back with Oxigraph's parser and the project's loader."""

    __slots__ = ("parts", "triples")

    def __init__(self, header: str) -> None:
        self.parts = [header]
        self.triples = 0

    def comment(self, text: str) -> None:
        self.parts.append(f"\n# {text}\n")

    def node(self, iri: str, types: Sequence[str], props: Iterable[tuple[str, Sequence[str]]]):
        lines = [f"\n{_ref(iri)}\n    a {' , '.join(types)}"]
        count = len(types)
        for predicate, objects in props:
            if objects:
                lines.append(f"    {predicate} {' , '.join(objects)}")
                count += len(objects)
        self.parts.append(" ;\n".join(lines) + " .\n")
        self.triples += count

    def text(self) -> str:
        return "".join(self.parts)


_TEXT_FORMS = (
    ("{}の推進", "Promoting {}"),
    ("{}に向けた支援", "Support for {}"),
    ("{}の強化", "Strengthening {}"),
    ("{}への取組", "Work on {}"),
    ("{}の充実", "Enhancing {}"),
)
_EVENT_KINDS = (
    ("tip:TradeFair", "見本市", "Trade Fair", "trade-fair"),
    ("tip:BusinessMeeting", "商談会", "Business Meeting", "business-meeting"),
    ("tip:Contest", "コンテスト", "Contest", "contest"),
    ("tip:Event", "セミナー", "Seminar", "seminar"),
)
_PLACE_KINDS = (
    ("中央公園", "Central Park", "central-park"),
    ("駅前広場", "Station Square", "station-square"),
    ("産業会館", "Industry Hall", "industry-hall"),
    ("川沿い緑地", "Riverside Green", "riverside-green"),
)


@dataclass
class _Municipality:
    index: int
    code: str
    ward: bool
    first_edition: int

    @property
    def iri(self) -> str:
        return f"local-government/{self.code}"

    @property
    def ja(self) -> str:
        return f"合成{'区' if self.ward else '市'}{self.index + 1:04d}"

    @property
    def en(self) -> str:
        return f"Synthetic {'Ward' if self.ward else 'City'} {self.index + 1:04d}"


@dataclass
class _Plan:
    file_name: str
    text: str
    triples: int
    violations: list[dict[str, str]]


@dataclass
class _Initiative:
    heading: int
    ordinal: int
    themes: list[_Concept]
    segments: list[_Concept] = field(default_factory=list)
    kinds: list[_Concept] = field(default_factory=list)
    programme: str | None = None  # "programme" | "subsidy"
    event: int | None = None  # index into _EVENT_KINDS
    series: bool = False
    facility: str | None = None  # "facility" | "desk"
    facility_year: int | None = None
    scheduled: int | None = None
    group: int | None = None
    # IRIs of the nodes it names, minted when the plan is written
    programme_iri: str = ""
    event_iri: str = ""
    facility_iri: str = ""

    @property
    def key(self) -> str:
        return f"{self.heading}-{self.ordinal}"


class _Generator:
    """Holds what the source project provides and writes the text of every file."""

    def __init__(self, spec: SynthSpec, source: Project) -> None:
        self.spec = spec
        data = source.data_dir
        missing = [name for name in _SHARED_FILES if not (data / name).is_file()]
        if missing:
            raise ProjectLayoutError(
                f"{data}: the source project lacks {', '.join(missing)} (needed to synthesise)"
            )
        self.raw = {name: (data / name).read_bytes().decode("utf-8") for name in _SHARED_FILES}
        concepts = Graph().parse(data=self.raw["concepts.ttl"], format="turtle")
        self.themes = _concepts(concepts, TIP.Theme)
        self.kinds = _concepts(concepts, TIP.PartnerKind)
        self.segments = _concepts(concepts, TIP.TargetSegment)
        self.industries = _concepts(concepts, TIP.Industry)
        headings = _concepts(concepts, TIP.Heading)
        if not (self.themes and self.kinds and self.segments and self.industries and headings):
            raise ProjectLayoutError(
                f"{data / 'concepts.ttl'}: needs themes, partner kinds, target segments, "
                "industries and headings with skos:prefLabel @ja and @en"
            )
        self.headings = [h.iri for h in headings]
        self._by_iri = {c.iri: c for c in (*self.themes, *self.kinds, *self.segments)}
        self._by_iri.update({c.iri: c for c in self.industries})

        sources = Graph().parse(data=self.raw["sources.ttl"], format="turtle")
        art208 = ID["source/local-autonomy-act-art208"]
        self.has_art208 = (art208, RDF.type, TIP.SourceDocument) in sources
        self.has_synthetic_source = (ID[SYNTHETIC_SOURCE], None, None) in sources
        years = Graph().parse(data=self.raw["fiscal-years.ttl"], format="turtle")
        self.real_years = {
            int(_relative(node).removeprefix("fiscal-year/"))
            for node in years.subjects(RDF.type, TIP.FiscalYear)
            if re.fullmatch(r"fiscal-year/[0-9]{4}", _relative(node))
        }

        governments = Graph().parse(data=self.raw["local-governments.ttl"], format="turtle")
        prefectures = sorted(
            {o for o in governments.objects(None, TIP.prefecture) if isinstance(o, URIRef)}
            or {s for s in governments.subjects(RDF.type, TIP.Prefecture) if isinstance(s, URIRef)},
            key=str,
        )
        if not prefectures:
            raise ProjectLayoutError(
                f"{data / 'local-governments.ttl'}: no prefecture (tip:Prefecture) to link to"
            )
        self.prefecture = prefectures[0]
        self.prefecture_iri = _relative(self.prefecture)
        self.prefecture_triples = sorted(governments.triples((self.prefecture, None, None)))

        # Partner kinds ranked once per seed: weight 1/rank^1.2, so a few kinds are hubs.
        ranked = list(self.kinds)
        random.Random(f"kgtools.synth/{spec.seed}/partner-kinds").shuffle(ranked)
        self.ranked_kinds = ranked
        weights = [1.0 / (rank + 1) ** 1.2 for rank in range(len(ranked))]
        self.kind_cum = [sum(weights[: i + 1]) for i in range(len(weights))]
        self._shared_texts: dict[str, str] | None = None
        self._shared_triples: int | None = None
        self._chosen: dict[tuple[int, int], str] | None = None

    # ---------------------------------------------------------------- shared files

    def _years(self) -> list[int]:
        years = set()
        for round_ in range(self.spec.rounds):
            first = FIRST_FISCAL_YEAR + ROUND_YEARS * round_
            years.update({first, first + ROUND_YEARS - 1})
        return sorted(years)

    def _year_sources(self) -> list[str]:
        sources = [_ref(SYNTHETIC_SOURCE)]
        if self.has_art208:
            sources.append(_ref("source/local-autonomy-act-art208"))
        return sources

    def shared_texts(self) -> dict[str, str]:
        """The text of every shared data file (computed once)."""
        if self._shared_texts is None:
            self._shared_texts = self._make_shared_texts()
        return self._shared_texts

    def _make_shared_texts(self) -> dict[str, str]:
        texts = {"concepts.ttl": self.raw["concepts.ttl"]}

        sources = self.raw["sources.ttl"]
        if not self.has_synthetic_source:
            doc = _Doc(_appendix_header("the source document of the synthetic data"))
            doc.node(
                SYNTHETIC_SOURCE,
                ["tip:SourceDocument"],
                [
                    (
                        "dcterms:title",
                        _both("合成データ（実在しない）", _SYN_EN),
                    ),
                    ("rdfs:label", _both("合成データ（実在しない）", _SYN_EN)),
                    ("rdfs:comment", _both(_SYN_COMMENT_JA, _SYN_COMMENT_EN)),
                ],
            )
            sources = _joined(sources, doc.text())
        texts["sources.ttl"] = sources

        missing = [fy for fy in self._years() if fy not in self.real_years]
        years = self.raw["fiscal-years.ttl"]
        if missing:
            doc = _Doc(_appendix_header("fiscal years the synthetic plans need"))
            for fy in missing:
                doc.node(
                    f"fiscal-year/{fy}",
                    ["tip:FiscalYear"],
                    [
                        ("rdfs:label", _both(_fiscal_year_ja(fy), f"FY{fy}")),
                        ("tip:year", [_typed(str(fy), "gYear")]),
                        ("tip:startDate", [_typed(f"{fy}-04-01", "date")]),
                        ("tip:endDate", [_typed(f"{fy + 1}-03-31", "date")]),
                        ("dcterms:source", self._year_sources()),
                    ],
                )
            years = _joined(years, doc.text())
        texts["fiscal-years.ttl"] = years
        texts["local-governments.ttl"] = self._local_governments()
        return texts

    def shared_triples(self) -> int:
        """Triples of concepts, sources and fiscal years (parsed: they are small) + prefecture."""
        if self._shared_triples is None:
            texts = self.shared_texts()
            graph = Graph()
            for name in ("concepts.ttl", "sources.ttl", "fiscal-years.ttl"):
                graph.parse(data=texts[name], format="turtle")
            self._shared_triples = len(graph) + len(self.prefecture_triples)
        return self._shared_triples

    def municipality(self, index: int) -> _Municipality:
        rng = random.Random(f"kgtools.synth/{self.spec.seed}/municipality/{index}")
        ward = rng.random() < 0.3
        first_edition = 2 if index == 0 else rng.choices((1, 2, 3), (0.7, 0.2, 0.1))[0]
        return _Municipality(index, synthetic_code(index), ward, first_edition)

    def _municipality_block(self, doc: _Doc, m: _Municipality) -> None:
        doc.node(
            m.iri,
            ["tip:SpecialWard" if m.ward else "tip:City"],
            [
                ("rdfs:label", _both(m.ja, m.en)),
                ("tip:localGovernmentCode", [nt_string(m.code)]),
                ("tip:wikidataItem", ["wd:Q0"]),
                ("tip:prefecture", [_ref(self.prefecture_iri)]),
                ("dcterms:source", [_ref(SYNTHETIC_SOURCE)]),
            ],
        )

    def local_government_triples(self) -> int:
        """Triples of the synthetic municipalities' blocks (the prefecture not included)."""
        return _MUNICIPALITY_TRIPLES * self.spec.municipalities

    def _local_governments(self) -> str:
        doc = _Doc(_LG_HEADER + _PREFIXES)
        doc.comment("The real prefecture, copied from the source project's local-governments.ttl.")
        props: dict[str, list[str]] = {}
        types: list[str] = []
        for _, predicate, obj in self.prefecture_triples:
            if predicate == RDF.type:
                types.append(_term(obj))
            else:
                props.setdefault(_term(predicate), []).append(_term(obj))
        doc.node(self.prefecture_iri, types, list(props.items()))
        doc.comment("Synthetic municipalities (not real: see the header).")
        for index in range(self.spec.municipalities):
            self._municipality_block(doc, self.municipality(index))
        return doc.text()

    def municipality_triples(self, index: int) -> int:
        """Triples one municipality adds (its block and its plans), without violations."""
        total = _MUNICIPALITY_TRIPLES
        for round_ in range(self.spec.rounds):
            total += self.plan(index, round_, None).triples
        return total

    # ---------------------------------------------------------------- violations

    def violation_of(self, index: int, round_: int) -> str | None:
        if self._chosen is None:
            plans = self.spec.municipalities * self.spec.rounds
            count = round(self.spec.violation_rate * plans)
            rng = random.Random(f"kgtools.synth/{self.spec.seed}/violations")
            chosen = sorted(rng.sample(range(plans), count))
            self._chosen = {
                divmod(number, self.spec.rounds): VIOLATION_KINDS[i % len(VIOLATION_KINDS)]
                for i, number in enumerate(chosen)
            }
        return self._chosen.get((index, round_))

    # ---------------------------------------------------------------- one plan

    def _kind_sample(self, rng: random.Random, count: int) -> list[_Concept]:
        chosen: list[_Concept] = []
        for _ in range(count * 4):
            kind = rng.choices(self.ranked_kinds, cum_weights=self.kind_cum)[0]
            if kind not in chosen:
                chosen.append(kind)
            if len(chosen) == count:
                break
        return chosen

    def _forced(self, iri: str) -> _Concept | None:
        return self._by_iri.get(iri)

    def _initiatives(
        self, rng: random.Random, showcase: bool, fy1: int, groups: int
    ) -> list[_Initiative]:
        initiatives = []
        fy3 = fy1 + ROUND_YEARS - 1
        for number, _heading in enumerate(self.headings, start=1):
            for ordinal in range(1, rng.randint(1, 4) + (1 if showcase else 0) + 1):
                themes = rng.sample(self.themes, min(len(self.themes), rng.randint(1, 3)))
                item = _Initiative(number, ordinal, themes)
                if rng.random() < 0.3:
                    item.segments = [rng.choice(self.segments)]
                if number == 1 or rng.random() < 0.2:
                    item.kinds = self._kind_sample(rng, rng.randint(1, 3))
                if rng.random() < 0.55:
                    item.programme = "subsidy" if rng.random() < 0.35 else "programme"
                if rng.random() < 0.15:
                    item.event = rng.randrange(len(_EVENT_KINDS))
                    item.series = rng.random() < 0.3
                if rng.random() < 0.1:
                    item.facility = "desk" if rng.random() < 0.4 else "facility"
                    if rng.random() < 0.3:
                        item.facility_year = rng.choice((fy1, fy3))
                if rng.random() < 0.1:
                    item.scheduled = rng.choice((fy1, fy3))
                if groups and rng.random() < 0.3:
                    item.group = rng.randrange(groups)
                initiatives.append(item)
        if showcase:
            self._showcase(initiatives, fy3)
        return initiatives

    def _showcase(self, items: list[_Initiative], fy3: int) -> None:
        """Plan 1 of municipality 1 has what every competency question looks for."""
        for item, slug in zip(
            items,
            ("business-succession", "cashless-payment", "ec", "sdgs", "startups", "trade-fairs"),
            strict=False,
        ):
            theme = self._forced(f"theme/{slug}")
            if theme is not None:
                item.themes = [theme, *(t for t in item.themes if t != theme)]
        kinds = [
            self._forced("partner-kind/university"),
            self._forced("partner-kind/financial-institution"),
        ]
        segments = [
            self._forced("target-segment/manufacturer"),
            self._forced("target-segment/entrepreneur"),
        ]
        first, second, third, fourth, fifth = (items * 5)[:5]  # repeats if the plan is short
        first.kinds = [k for k in kinds if k] + [k for k in first.kinds if k not in kinds]
        second.programme = "subsidy"
        third.event = 0  # _EVENT_KINDS[0]: a trade fair
        fourth.facility, fourth.facility_year = "facility", fy3
        fifth.segments = [s for s in segments if s]

    def plan(self, index: int, round_: int, violation: str | None) -> _Plan:
        m = self.municipality(index)
        rng = random.Random(f"kgtools.synth/{self.spec.seed}/plan/{index}/{round_}")
        fy1 = FIRST_FISCAL_YEAR + ROUND_YEARS * round_
        fy3 = fy1 + ROUND_YEARS - 1
        showcase = index == 0 and round_ == 0
        base = f"plan/{m.code}/{fy1}"
        src = [_ref(SYNTHETIC_SOURCE)]
        violations: list[dict[str, str]] = []

        def report(focus: str, path: str, component: str) -> None:
            violations.append(
                {
                    "kind": violation or "",
                    "focus": str(ID) + focus,
                    "path": path,
                    "component": _SH + component + "ConstraintComponent",
                    "severity": _SH + "Violation",
                }
            )

        doc = _Doc(
            f"# Synthetic plan (合成データ, not real) of {m.ja} / {m.en}, "
            f"{_fiscal_year_ja(fy1)}～{_fiscal_year_ja(fy3)} (FY{fy1}–FY{fy3}).\n"
            f"# Generated by kgtools.devtools.synth (seed {self.spec.seed}); every node cites "
            f"<{SYNTHETIC_SOURCE}>.\n\n" + _PREFIXES
        )

        # -- plan-level choices
        industry = None
        if showcase:
            industry = self._forced("industry/manufacturing") or self.industries[0]
        elif rng.random() < 0.6:
            industry = rng.choice(self.industries)
        plan_themes = rng.sample(self.themes, min(len(self.themes), rng.randint(2, 5)))
        plan_segments = (
            rng.sample(self.segments, min(len(self.segments), rng.randint(1, 2)))
            if rng.random() < 0.5
            else []
        )
        plan_kinds = self._kind_sample(rng, rng.randint(1, 3)) if rng.random() < 0.7 else []
        group_kinds = [self._kind_sample(rng, rng.randint(1, 2)) for _ in range(rng.randint(0, 2))]
        has_person = rng.random() < 0.08
        horizon = rng.choice((5, 10, 20)) if rng.random() < 0.3 else None
        edition = m.first_edition + round_
        initiatives = self._initiatives(rng, showcase, fy1, len(group_kinds))

        # -- nodes the initiatives name, minted first so that illustrations can depict them
        programmes: list[tuple[str, str, str, str, _Initiative]] = []  # iri, kind, ja, en, item
        events: list[tuple[str, str, str, str, str]] = []  # iri, class, ja, en, super-event
        facilities: list[tuple[str, str, str, str, int | None]] = []  # iri, kind, ja, en, year
        places: list[tuple[str, str, str]] = []  # iri, ja, en
        depictable: list[tuple[str, str, str]] = []  # iri, ja, en
        for item in initiatives:
            theme = item.themes[0]
            if item.programme:
                item.programme_iri = (
                    f"programme/{m.code}/fy{fy1}-{theme.slug}-{item.programme}-{item.key}"
                )
                if item.programme == "subsidy":
                    ja, en = f"{theme.ja}補助金", f"{theme.en_title} Subsidy"
                else:
                    ja, en = f"{theme.ja}支援事業", f"{theme.en_title} Support Programme"
                programmes.append((item.programme_iri, item.programme, ja, en, item))
                depictable.append((item.programme_iri, ja, en))
            if item.event is not None:
                cls, ja_kind, en_kind, slug_kind = _EVENT_KINDS[item.event]
                item.event_iri = f"event/{m.code}/fy{fy1}-{slug_kind}-{item.key}"
                ja, en = f"{m.ja}{theme.ja}{ja_kind}", f"{m.en} {theme.en_title} {en_kind}"
                events.append((item.event_iri, cls, ja, en, ""))
                if item.series:  # the initiative names the series; an edition hangs below it
                    edition_iri = f"{item.event_iri}-{fy1}"
                    ja, en = f"{ja} {fy1}", f"{en} {fy1}"
                    events.append((edition_iri, cls, ja, en, item.event_iri))
                    depictable.append((edition_iri, ja, en))
                else:
                    depictable.append((item.event_iri, ja, en))
            if item.facility:
                item.facility_iri = f"facility/{m.code}/fy{fy1}-{item.facility}-{item.key}"
                if item.facility == "desk":
                    ja = f"{m.ja}{theme.ja}相談窓口"
                    en = f"{m.en} {theme.en_title} Consultation Desk"
                else:
                    ja, en = f"{m.ja}{theme.ja}センター", f"{m.en} {theme.en_title} Centre"
                facilities.append((item.facility_iri, item.facility, ja, en, item.facility_year))
                depictable.append((item.facility_iri, ja, en))
        for number in range(rng.randint(0, 2)):
            ja_kind, en_kind, slug_kind = rng.choice(_PLACE_KINDS)
            iri = f"place/synthetic-{m.code}-{fy1}-{slug_kind}-{number + 1}"
            places.append((iri, f"{m.ja}{ja_kind}", f"{m.en} {en_kind}"))
            depictable.append(places[-1])
        illustrations: list[tuple[str, str, str, str]] = []  # iri, caption ja, en, depicts
        if horizon is not None and rng.random() < 0.5:
            ja, en = _vision_labels(horizon)
            illustrations.append(
                (f"{base}/illustration/future-vision-figure", ja, en, f"{base}/future-vision")
            )
        shown = rng.sample(depictable, min(len(depictable), rng.randint(0, 2)))
        for number, (iri, ja, en) in enumerate(shown, start=1):
            illustrations.append(
                (f"{base}/illustration/photo-{number}", f"{ja}の様子", f"Scene: {en}", iri)
            )

        # -- the plan
        title_ja = f"{m.ja}地域産業活性化計画"
        title_en = f"{m.en} Regional Industry Revitalization Plan"
        if edition >= 2:
            title_ja = f"【第{_full_width(edition)}次】{title_ja}"
            title_en = f"{title_en} ({_ordinal_en(edition)})"
        label_ja = title_ja + (" " if violation == "label-trailing-space" else "")
        if violation == "label-trailing-space":
            report(base, "rdfs:label", "Pattern")
        kind_words = "・".join(k.ja for k in plan_kinds) or "多様な主体"
        centre = industry.ja if industry else "多様な産業"
        background = (
            f"{m.ja}は{centre}を中心とする合成データ上の地域である。"
            f"{plan_themes[0].ja}や{plan_themes[-1].ja}への対応が課題となっている。"
            f"そこで、{kind_words}との連携を通じて、地域産業の活性化を目指す。"
        )
        comment_en = (
            f"Synthetic background: {m.en} is a made-up area centred on "
            f"{industry.en if industry else 'diverse industries'}; it faces "
            f"{plan_themes[0].en} and {plan_themes[-1].en}, and aims to revitalise local "
            "industry through collaboration."
        )
        if violation == "missing-background":
            # a plan with initiatives but no background (tips:Plan-initiatives-need-background)
            report(base, "tip:background", "SPARQL")
        groups = [f"partner-group/{m.code}/fy{fy1}-group-{n + 1}" for n in range(len(group_kinds))]
        doc.node(
            base,
            ["tip:Plan"],
            [
                ("rdfs:label", _both(label_ja, title_en)),
                ("dcterms:title", _both(title_ja, title_en)),
                ("tip:edition", [str(edition)] if edition >= 2 else []),
                (
                    "tip:editionLabel",
                    [_lang(f"第{_full_width(edition)}次", "ja")] if edition >= 2 else [],
                ),
                ("tip:municipality", [_ref(m.iri)]),
                ("tip:period", [_ref(f"{base}/period")]),
                ("tip:hasApproval", [_ref(f"{base}/approval")]),
                (
                    "tip:background",
                    [] if violation == "missing-background" else [_lang(background, "ja")],
                ),
                ("rdfs:comment", [_lang(comment_en, "en")]),
                ("tip:focusIndustry", [_ref(industry.iri)] if industry else []),
                ("tip:theme", [_ref(t.iri) for t in plan_themes]),
                ("tip:targetSegment", [_ref(s.iri) for s in plan_segments]),
                ("tip:involvesPartnerKind", [_ref(k.iri) for k in plan_kinds]),
                ("tip:collaboratesWith", [_ref(g) for g in groups]),
                ("tip:person", [_ref(f"person/synthetic-{m.code}-{fy1}")] if has_person else []),
                ("tip:futureVision", [_ref(f"{base}/future-vision")] if horizon else []),
                ("tip:hasIllustration", [_ref(i[0]) for i in illustrations]),
                ("dcterms:source", src),
            ],
        )
        end = f"{fy3 + 1}-03-31"
        if violation == "period-end-mismatch":
            end = f"{fy3 + 1}-03-30"
            report(f"{base}/period", "tip:endDate", "SPARQL")
        doc.node(
            f"{base}/period",
            ["tip:PlanPeriod"],
            [
                (
                    "rdfs:label",
                    _both(f"{_fiscal_year_ja(fy1)}～{_fiscal_year_ja(fy3)}", f"FY{fy1}–FY{fy3}"),
                ),
                ("tip:firstFiscalYear", [_ref(f"fiscal-year/{fy1}")]),
                ("tip:lastFiscalYear", [_ref(f"fiscal-year/{fy3}")]),
                ("tip:startDate", [_typed(f"{fy1}-04-01", "date")]),
                ("tip:endDate", [_typed(end, "date")]),
                ("dcterms:source", [*src, *self._year_sources()[1:]]),
            ],
        )
        doc.node(
            f"{base}/approval",
            ["tip:Approval"],
            [("tip:approvingAuthority", [_ref(self.prefecture_iri)]), ("dcterms:source", src)],
        )
        if horizon:
            ja, en = _vision_labels(horizon)
            doc.node(
                f"{base}/future-vision",
                ["tip:FutureVision"],
                [
                    ("rdfs:label", _both(ja, en)),
                    ("tip:timeHorizonYears", [str(horizon)]),
                    ("dcterms:source", src),
                ],
            )

        # -- initiatives
        doc.comment(_rule("initiatives"))
        for position, item in enumerate(initiatives):
            iri = f"{base}/initiative/{item.key}"
            form_ja, form_en = _TEXT_FORMS[(item.heading + item.ordinal) % len(_TEXT_FORMS)]
            ja = form_ja.format(item.themes[0].ja)
            en = form_en.format(item.themes[0].en)
            detail = "、".join(t.ja for t in item.themes[1:]) or item.themes[0].ja
            original = f"{ja}（{m.ja}の合成データ：{detail}）"
            labels = _both(ja, en)
            ordinal = str(item.ordinal)
            themes = [_ref(t.iri) for t in item.themes]
            if position == 0 and violation == "missing-en-label":
                labels = labels[:1]
                report(iri, "rdfs:label", "QualifiedMinCount")
            if position == 0 and violation == "ordinal-not-positive-integer":
                ordinal = "0"  # ordinals start at 1
                report(iri, "tip:ordinal", "MinInclusive")
            if position == 0 and violation == "theme-not-a-theme":
                themes.append(_ref(self.ranked_kinds[0].iri))  # a partner kind, not a theme
                report(iri, "tip:theme", "Class")
            group = [_ref(groups[item.group])] if item.group is not None else []
            year = [_ref(f"fiscal-year/{item.scheduled}")] if item.scheduled else []
            doc.node(
                iri,
                ["tip:Initiative"],
                [
                    ("tip:partOfPlan", [_ref(base)]),
                    ("tip:heading", [_ref(self.headings[item.heading - 1])]),
                    ("tip:ordinal", [ordinal]),
                    ("rdfs:label", labels),
                    ("tip:originalText", [_lang(original, "ja")]),
                    ("tip:theme", themes),
                    ("tip:targetSegment", [_ref(s.iri) for s in item.segments]),
                    ("tip:involvesPartnerKind", [_ref(k.iri) for k in item.kinds]),
                    ("tip:collaboratesWith", group),
                    ("tip:programme", _refs(item.programme_iri)),
                    ("tip:event", _refs(item.event_iri)),
                    ("tip:facility", _refs(item.facility_iri)),
                    ("tip:scheduledFor", year),
                    ("dcterms:source", src),
                ],
            )

        # -- programmes, events, facilities, partner groups, places, person, illustrations
        if programmes:
            doc.comment(_rule("programmes"))
        for iri, kind, ja, en, item in programmes:
            expense = []
            if kind == "subsidy" and rng.random() < 0.5:
                expense = [_lang(f"{item.themes[0].ja}に要する経費", "ja")]
            doc.node(
                iri,
                ["tip:Subsidy" if kind == "subsidy" else "tip:SupportProgramme"],
                [
                    ("rdfs:label", _both(ja, en)),
                    ("tip:operatedBy", [_ref(m.iri)]),
                    ("tip:fundedExpense", expense),
                    ("dcterms:source", src),
                ],
            )
        if events:
            doc.comment(_rule("events"))
        for iri, cls, ja, en, super_event in events:
            # an edition names its series; a series is organised by the municipality, mostly
            organizer = [] if super_event or rng.random() < 0.25 else [_ref(m.iri)]
            doc.node(
                iri,
                [cls],
                [
                    ("rdfs:label", _both(ja, en)),
                    ("tip:superEvent", _refs(super_event)),
                    ("tip:organizer", organizer),
                    ("dcterms:source", src),
                ],
            )
        if facilities:
            doc.comment(_rule("facilities"))
        for iri, kind, ja, en, year_of in facilities:
            doc.node(
                iri,
                ["tip:ConsultationDesk" if kind == "desk" else "tip:Facility"],
                [
                    ("rdfs:label", _both(ja, en)),
                    ("tip:operatedBy", [_ref(m.iri)]),
                    ("tip:locatedIn", [_ref(places[0][0] if places else m.iri)]),
                    ("tip:scheduledFor", _refs(f"fiscal-year/{year_of}" if year_of else "")),
                    ("dcterms:source", src),
                ],
            )
        if groups:
            doc.comment(_rule("partner groups"))
        for iri, kinds in zip(groups, group_kinds, strict=True):
            ja = f"{m.ja}内の{'・'.join(k.ja for k in kinds)}"
            en = f"{' and '.join(k.en for k in kinds)} in {m.en}"
            doc.node(
                iri,
                ["tip:PartnerGroup"],
                [
                    ("rdfs:label", _both(ja, en)),
                    ("tip:partnerKind", [_ref(k.iri) for k in kinds]),
                    ("dcterms:source", src),
                ],
            )
        if places:
            doc.comment(_rule("places"))
        for iri, ja, en in places:
            doc.node(
                iri,
                ["tip:Place"],
                [
                    ("rdfs:label", _both(ja, en)),
                    ("tip:locatedIn", [_ref(m.iri)]),
                    ("dcterms:source", src),
                ],
            )
        if has_person:
            doc.node(
                f"person/synthetic-{m.code}-{fy1}",
                ["tip:Person"],
                [
                    (
                        "rdfs:label",
                        _both(f"合成人物{m.code}", f"Synthetic Person {m.code}"),
                    ),
                    ("dcterms:source", src),
                ],
            )
        if illustrations:
            doc.comment(_rule("illustrations"))
        for iri, ja, en, depicts in illustrations:
            doc.node(
                iri,
                ["tip:Illustration"],
                [
                    ("rdfs:label", _both(ja, en)),
                    ("tip:caption", [_lang(ja, "ja")]),
                    ("tip:depicts", [_ref(depicts)]),
                    ("dcterms:source", src),
                ],
            )
        return _Plan(f"{m.code}-{fy1}-synthetic.ttl", doc.text(), doc.triples, violations)


def _refs(relative: str) -> list[str]:
    return [_ref(relative)] if relative else []


def _rule(title: str) -> str:
    return f"{'-' * 64} {title}"


def _vision_labels(horizon: int) -> tuple[str, str]:
    return (
        f"実現を目指す {horizon} 年後の地域産業の将来像",
        f"The future of the local industry we aim to realise in {horizon} years",
    )


def _ordinal_en(number: int) -> str:
    suffix = (
        "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    )
    return f"{number}{suffix}"


def _joined(text: str, appendix: str) -> str:
    return text.rstrip("\n") + "\n\n" + appendix


def _appendix_header(what: str) -> str:
    return f"# ---- added by kgtools.devtools.synth: {what} (synthetic, not real)\n" + _PREFIXES


_SYN_EN = "Synthetic data (not real)"
_SYN_COMMENT_JA = (
    "kgtools.devtools.synth が乱数から生成した合成データ。"
    "実在する計画・団体・事業を記述するものではない。"
)
_SYN_COMMENT_EN = (
    "Data generated at random by kgtools.devtools.synth. "
    "It describes no real plan, body or programme."
)
_LG_HEADER = (
    "# Local governments of a SYNTHETIC project (generated by kgtools.devtools.synth; not real).\n"
    "# The prefecture node is the real one, copied from the source project. The municipalities\n"
    "# are made up: labels 合成市/合成区 NNNN, codes with prefecture part 99..50 (no real\n"
    "# prefecture has such a code) and a valid JIS X 0402 check digit, Wikidata item wd:Q0 (no\n"
    "# such item exists), source <source/synthetic-data>.\n\n"
)
