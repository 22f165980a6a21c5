"""The ``kg`` command: a thin layer that parses options, calls the library and maps errors.

Exit codes: 0 success; 1 the data does not conform to the shapes; 2 bad input or usage
(a syntax error, an ill-typed literal, a missing file, a wrong option); 3 an internal error
(a bug — please report it with the traceback).
"""

from __future__ import annotations

import errno
import math
import os
import re
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import click

from kgtools import __version__
from kgtools.errors import KGError, NonConformingDataError, printable

# kgtools.network imports networkx and matplotlib only inside its functions: importing its
# constants here keeps `kg --help` fast.
from kgtools.network import FORMATS as NETWORK_FORMATS
from kgtools.network import VIEWS as NETWORK_VIEWS
from kgtools.project import Project, check_inside, find_project

EXIT_OK, EXIT_NONCONFORMING, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3


class KGGroup(click.Group):
    """Turns the library's typed errors into a message and a documented exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NonConformingDataError as exc:
            emit(exc.report)
            click.echo("error: the data does not conform to the shapes (see above)", err=True)
            ctx.exit(EXIT_NONCONFORMING)
        except KGError as exc:
            click.echo(f"error: {printable(str(exc), lines=True)}", err=True)
            ctx.exit(exc.exit_code)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:  # output piped into `head` and closed: not an error
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(EXIT_OK)
        except Exception as exc:
            if isinstance(exc, OSError) and exc.filename is not None and exc.errno in _USERS_ERRNOS:
                # the system refused a path (no permission, a read-only or full disk, a folder
                # where a file is wanted): the user's to change, not a bug
                where = printable(str(exc.filename))
                click.echo(f"error: {where}: {exc.strerror or exc}{_OS_HINT}", err=True)
                ctx.exit(EXIT_BAD_INPUT)
            # a bug, not a user mistake: keep the traceback for the report
            click.echo(traceback.format_exc(), err=True)
            click.echo("internal error: this is a bug in kg; please report it", err=True)
            ctx.exit(EXIT_INTERNAL)


_OS_HINT = " — check the path, its permissions and the free space on its disk"


def emit(text: str) -> None:
    """An answer on standard output, every character as made: click strips ANSI sequences from
    what it prints when the output is not a terminal, which changed the data of `kg query -f csv
    > file`. (What is for people, tables and reports, shows such characters as ``\\uXXXX``:
    :func:`kgtools.errors.printable`.)"""
    click.echo(text, nl=False, color=True)


#: What the system says of a path the user chose or of its disk. Not ENOENT: a file kg itself
#: made or ships that is gone is a bug (or a broken install), reported with its traceback.
_USERS_ERRNOS = frozenset(
    getattr(errno, name)
    for name in (
        "EACCES",
        "EPERM",
        "EROFS",
        "ENOSPC",
        "EDQUOT",
        "EFBIG",
        "ENAMETOOLONG",
        "ENOTDIR",
        "EISDIR",
        "ELOOP",
        "EEXIST",
        "ENOTEMPTY",
        "EXDEV",
    )
    if hasattr(errno, name)
)


class UserPath(click.Path):
    """A path given on the command line, refused here when the system or the stores could not
    use it, instead of failing later: a name that is not UTF-8 (Oxigraph opens only UTF-8
    paths, and the build records its paths in JSON), or a name or path longer than the system
    allows (``NAME_MAX`` bytes a name, ``PATH_MAX`` a path)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str | bytes) and not value:
            # (click makes '' the current folder: `kg docs -o "$UNSET"` wrote the pages among
            # whatever files are there)
            self.fail(
                "the path is empty — give a file or folder (. for the current one)", param, ctx
            )
        path = super().convert(value, param, ctx)
        text = os.fspath(path)
        if not isinstance(text, str) or text == "-":
            return path
        try:
            encoded = text.encode("utf-8")
        except UnicodeEncodeError as exc:
            byte = ord(text[exc.start]) & 0xFF
            self.fail(
                f"{text!r} is not a UTF-8 name (byte 0x{byte:02X} at character {exc.start + 1});"
                " rename it or choose a path in UTF-8",
                param,
                ctx,
            )
        longest = max(encoded.split(b"/"), key=len)
        if len(longest) > _NAME_MAX or len(encoded) >= _PATH_MAX:
            what = (
                f"a name of {len(longest)} bytes"
                if len(longest) > _NAME_MAX
                else f"{len(encoded)} bytes in all"
            )
            self.fail(
                f"the path is too long: {what}, where the system allows {_NAME_MAX} bytes a name"
                f" and {_PATH_MAX - 1} a path",
                param,
                ctx,
            )
        return path


def _limit(name: str, default: int) -> int:
    try:
        return os.pathconf("/", name)
    except (OSError, ValueError, AttributeError):  # (not every system has pathconf)
        return default


_NAME_MAX, _PATH_MAX = _limit("PC_NAME_MAX", 255), _limit("PC_PATH_MAX", 4096)


class Seconds(click.ParamType):
    """A time limit in seconds: a finite number above 0 and at most a day (``inf``, ``nan`` and
    ``1e300`` are refused here instead of overflowing a wait later)."""

    name = "seconds"

    def __init__(self, minimum: float = 0.1, maximum: float = 86_400.0) -> None:
        self.minimum = minimum
        self.maximum = maximum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        else:
            try:
                number = float(str(value).strip())
            except ValueError:
                self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if not math.isfinite(number) or not self.minimum <= number <= self.maximum:
            self.fail(
                f"{value!r} is not a time limit: give seconds from {self.minimum:g} to "
                f"{self.maximum:g} (a day)",
                param,
                ctx,
            )
        return number


SECONDS = Seconds()


def _project(ctx: click.Context) -> Project:
    return find_project(ctx.obj.get("project"))


def shown(path: Path) -> str:
    """A path as the user reads it best: relative to the current folder when below it."""
    try:
        relative = path.resolve().relative_to(Path.cwd().resolve())
    except (ValueError, OSError):
        return str(path)
    return "." if relative == Path() else str(relative)


def _open_built(project: Project, given: Path | None, strict: bool) -> tuple[Any, Path]:
    """The built graph (built first if the inputs changed) and its folder; while the data on
    disk does not conform, the last good build with a one-line warning (``--strict``: refuse)."""
    from kgtools.api import open_graph

    out_dir = project.out_dir(given)
    store, summary, stale = open_graph(project, out_dir, strict=strict)
    if stale is not None:
        click.echo(
            f"kg: warning: the data on disk does not conform to the shapes (`kg validate` "
            f"shows why); answering from the last good build in {shown(out_dir)}/ "
            "(--strict refuses instead)",
            err=True,
        )
    elif not summary.reused:
        click.echo(f"kg: built the graph into {shown(out_dir)}/ first (inputs changed)", err=True)
    return store, out_dir


@click.group(cls=KGGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kg")
@click.option(
    "--project",
    type=UserPath(path_type=Path, file_okay=False),
    envvar="KG_PROJECT",
    help="Project folder (with ontology/ and data/). Default: the current folder or a parent, "
    "else the copy installed with the package.",
)
@click.pass_context
def cli(ctx: click.Context, project: Path | None) -> None:
    """Build, validate and use the knowledge graph of Tokyo's regional industry
    revitalization plans (地域産業活性化計画).

    Exit codes: 0 ok, 1 data does not conform, 2 bad input or usage, 3 internal error.
    """
    ctx.ensure_object(dict)
    ctx.obj["project"] = project


@cli.command()
@click.option(
    "-o",
    "--out",
    type=UserPath(path_type=Path, file_okay=False),
    default=None,
    help="Folder to write the built graph to. Default: dist/ in the project's root (wherever "
    "in the project kg runs), or a per-user cache folder when no project is around.",
)
@click.option(
    "--force", is_flag=True, help="Rebuild even if no input changed since the last build."
)
@click.pass_context
def build(ctx: click.Context, out: Path | None, force: bool) -> None:
    """Load, validate (SHACL), reason (OWL RL) and write the graph to OUT.

    Writes the store (store-*/, opened by query, export, network, docs and serve),
    asserted.ttl, inferred.ttl, validation.txt, network/ and build.json. When no input changed
    the last build is reused; when only data files changed, only their part of the graph is
    redone (incremental); --force redoes everything. If the data does not conform, nothing in
    OUT changes and the exit code is 1. One build at a time writes OUT: another waits for it
    (and says so). On a terminal each stage shows its progress.
    """
    from kgtools.build.pipeline import build as run_build
    from kgtools.progress import Progress

    project = _project(ctx)
    out = project.out_dir(out)
    started = time.perf_counter()

    def waiting(pid: int | None) -> None:
        who = f" (pid {pid})" if pid else ""
        click.echo(f"kg build: another build is running in {out}{who}; waiting for it …", err=True)

    summary = run_build(project, out, force=force, progress=Progress(), on_busy=waiting)
    elapsed = time.perf_counter() - started
    state = {
        "reuse": "up to date (reused the last build)",
        "incremental": "updated (incremental: only the changed data files)",
    }.get(summary.mode, "built")
    click.echo(f"kg build: {state} in {elapsed:.1f} s — project {shown(project.root)}")
    click.echo(
        f"triples: {summary.asserted_triples:,} asserted "
        f"(ontology {summary.ontology_triples:,}, data {summary.data_triples:,}), "
        f"{summary.inferred_triples:,} inferred"
    )
    click.echo("validation: conforms (0 violations)" if summary.conforms else "validation: FAILED")
    click.echo("instances per class (asserted + inferred):")
    width = max((len(name) for name in summary.instances), default=0)
    for name, count in summary.instances.items():
        click.echo(f"  {name:<{width}}  {count:>5}")
    files = [name for name in summary.outputs if "/" not in name]
    views = len(summary.outputs) - len(files)
    if summary.reused:
        click.echo(f"wrote nothing: {shown(out)}/ is current")
        return
    click.echo(
        f"wrote {shown(out)}/: {', '.join(files)}"
        + (f"; {views} network files in network/" if views else "")
    )


@cli.command()
@click.argument("files", nargs=-1, type=UserPath(path_type=Path, dir_okay=False))
@click.option(
    "--pyshacl",
    "reference",
    is_flag=True,
    help="Validate with pySHACL, the reference implementation, on rdflib graphs (the same "
    "results; minutes instead of seconds at a million triples).",
)
@click.pass_context
def validate(ctx: click.Context, files: tuple[Path, ...], reference: bool) -> None:
    """Validate the project's data, or FILES, against the SHACL shapes.

    With FILES, each file is checked together with the project's shared files (the .ttl files
    directly in data/: sources, local governments, concepts, fiscal years, scheme; and the
    approval rounds in data/rounds/), so a new plan file can refer to them. Prints a report
    grouped by focus node with the shapes' messages in Japanese and English. Exit code 0
    conforms, 1 does not conform, 2 bad input.

    The shapes are checked by the build's compiled validator (kgtools.engine.shacl), which the tests
    hold to pySHACL's results; --pyshacl runs pySHACL itself.
    """
    project = _project(ctx)
    if files:
        # os.path.realpath, not Path.resolve: it never raises (a loop of links is left for
        # the loader to report with the file's name; resolve raised a RuntimeError).
        given = {os.path.realpath(f) for f in files}
        # the shared files: directly in data/, and the approval rounds in data/rounds/, which
        # plan files refer to (tip:round)
        rounds = project.data_dir / "rounds"
        candidates = [
            *sorted(project.data_dir.iterdir()),
            *(sorted(rounds.iterdir()) if rounds.is_dir() and not rounds.is_symlink() else []),
        ]
        shared = [
            p
            for p in candidates
            if p.suffix.lower() == ".ttl" and not p.is_dir() and os.path.realpath(p) not in given
        ]
        check_inside(shared, project.root)
        data_paths = [*shared, *files]
    else:
        data_paths = project.data_files()
    if reference:
        from kgtools.load.reference import load_files
        from kgtools.load.schema import schema_terms
        from kgtools.reference.pyshacl import validate as run_validate

        ontology = load_files([project.ontology])
        shapes = load_files([project.shapes])
        data = load_files(data_paths, schema=schema_terms(ontology))
        report = run_validate(data, shapes, ontology)
        triples = len(data)
    else:
        from kgtools.engine.shacl import validate_files

        report, triples = validate_files(data_paths, project.shapes, project.ontology)
    if not report.conforms:
        raise NonConformingDataError(report.text())
    emit(report.text())
    click.echo(f"checked {len(data_paths)} file(s), {triples:,} triples")


_OUT_DIR = click.option(
    "--out-dir",
    type=UserPath(path_type=Path, file_okay=False),
    default=None,
    help="The build folder to read, as `kg build -o` (built first if missing or out of date). "
    "Default: dist/ in the project's root.",
)
_STRICT = click.option(
    "--strict",
    is_flag=True,
    help="While the data on disk does not conform to the shapes, refuse (exit 1) instead of "
    "answering from the last good build with a warning.",
)


def OUT_DIR_OPTION(command: Any) -> Any:
    """--out-dir and --strict: every command that reads the built graph takes both."""
    return _OUT_DIR(_STRICT(command))


def _not_empty(message: str) -> Any:
    """A click callback that refuses a value given empty (an unset ``"$VAR"``) with
    ``message``: read as not given, ``--endpoint ''`` answered from the local build instead of
    the server asked for, and the system reads ``--host ''`` as every interface."""

    def check(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise click.BadParameter(message, ctx, param)
        return value

    return check


ENDPOINT_OPTION = click.option(
    "--endpoint",
    metavar="URL",
    default=None,
    callback=_not_empty("the URL is empty — give the server's URL"),
    help="Read the graph from this SPARQL server instead of the built graph: a query endpoint "
    "URL, or http://HOST:PORT for Oxigraph (its /query). The graph must be there (`kg push`).",
)


def _warn_insecure(*urls: str | None) -> None:
    """Say on stderr, once per URL, when the credentials would travel in clear text (the library
    then warns with :class:`~kgtools.store.remote.InsecureCredentialsWarning`, silenced here)."""
    import warnings

    from kgtools.errors import InsecureCredentialsWarning
    from kgtools.store.remote import insecure_credentials

    for note in insecure_credentials(u for u in urls if u):
        click.echo(f"warning: {note}", err=True)
    warnings.filterwarnings("ignore", category=InsecureCredentialsWarning)


def _remote_store(endpoint: str, timeout: float) -> Any:
    from kgtools.store.remote import RemoteStore, resolve_endpoints

    query_endpoint = resolve_endpoints(endpoint).query
    _warn_insecure(query_endpoint)
    return RemoteStore(query_endpoint, timeout=timeout)


@cli.command()
@click.argument("query", required=False, metavar="NAME|FILE|-")
@click.option(
    "--list",
    "list_queries",
    is_flag=True,
    help="List the query library: each query's title, parameters and result columns; an alias "
    "(an old name with parameters fixed, e.g. fy2023) says what it stands for.",
)
@click.option(
    "--describe",
    is_flag=True,
    help="Print the query's header (title, description, parameters) and its result columns "
    "instead of running it.",
)
@click.option(
    "-p",
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="Bind a parameter, once each: VALUE is plain text, an absolute IRI written <…>, or "
    'a literal quoted as in N-Triples ("<EC>", "北区"@ja). A value outside the domain the query '
    "declares is refused with the valid ones; a label parameter matches in any language; an "
    "integer parameter takes the digits 0-9 only; a list parameter takes values separated by "
    "commas (-p codes=131067,131113), each once, each checked as a single value.",
)
@click.option(
    "--lang",
    metavar="ja|en",
    help="Answer in this language: labels (a query's ?lang parameter, default ja), the column "
    "titles of a table or Markdown (csv, tsv and json keep the variable names) and the titles "
    "of --list.",
)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "tsv", "json", "md"]),
    default="table",
    show_default=True,
    help="Result format for SELECT/ASK (json = SPARQL 1.1 Query Results JSON); "
    "CONSTRUCT/DESCRIBE always print Turtle.",
)
@click.option(
    "--inferred/--asserted",
    default=True,
    show_default=True,
    help="Query the asserted triples plus the OWL RL entailments, or the asserted ones only.",
)
@click.option(
    "--timeout",
    type=SECONDS,
    default=30.0,
    show_default=True,
    help="Stop the query after this many seconds.",
)
@ENDPOINT_OPTION
@OUT_DIR_OPTION
@click.pass_context
def query(
    ctx: click.Context,
    query: str | None,
    list_queries: bool,
    describe: bool,
    params: tuple[str, ...],
    lang: str | None,
    fmt: str,
    inferred: bool,
    timeout: float,
    endpoint: str | None,
    out_dir: Path | None,
    strict: bool,
) -> None:
    """Run a SPARQL query: a library query by NAME, a .rq FILE, or SPARQL from stdin (-).

    Updates, SERVICE and FROM / FROM NAMED are refused before anything runs, and the
    query runs in a process without network access. The project's prefixes (tip:, id:,
    rdfs:, schema: …) may be used without PREFIX declarations.

    \b
    Examples:
      kg query --list
      kg query cashless --describe
      kg query cashless
      kg query municipality --param code=131172 --format csv
      kg query fiscal-year -p fy=2023      (kg query fy2023 is its alias)
      kg query compare -p codes=131067,131113
      kg query plans --lang en
      echo 'SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }' | kg query -
    """
    from kgtools.files import is_file
    from kgtools.namespaces import graphs_for
    from kgtools.query.domains import bind_labels, check_domains
    from kgtools.query.library import QueryLibrary, decode_query, read_query_file, user_query
    from kgtools.query.params import bound_params, check_language, parse_params
    from kgtools.query.run import run

    if lang is not None:
        check_language(lang)
    project = _project(ctx)
    library = QueryLibrary(project.queries_dir)
    if list_queries:
        # an alias (`# aliases:` in a query's header) is listed under its own name too
        names = sorted([*library.names(), *library.aliases()])
        width = max((len(n) for n in names), default=0)
        for name in names:
            entry = library.get(name)
            # ?lang is bound by the tool (--lang), and an alias's fixed values are not asked for
            asked = [p for p in entry.parameters if p not in entry.languages | set(entry.preset)]
            params_text = " ".join(f"?{p}" for p in asked)
            title = entry.title if lang is None else entry.title_in(lang)
            click.echo(f"{name:<{width}}  {title}" + (f"  [{params_text}]" if params_text else ""))
            alias = f"= {_alias_text(library, entry)} " if entry.alias else ""
            click.echo(f"{'':<{width}}  {alias}→ {_columns_text(entry.columns)}")
        return
    if not query:
        raise click.UsageError("give a query NAME, a .rq FILE or - for stdin (or --list)")
    if query == "-":
        data: bytes = sys.stdin.buffer.read()  # decoded by kg: bad bytes are a clear error
        prepared = user_query(decode_query(data, "<stdin>"), "<stdin>")
    elif is_file(Path(query)):
        prepared = user_query(read_query_file(Path(query)), query)
    else:
        prepared = library.get(query)
    if describe:
        click.echo(_describe(prepared, library), nl=False)
        return
    bindings = bound_params(prepared, parse_params(params), lang)
    if endpoint:
        store = _remote_store(endpoint, timeout)
    else:
        store, out_dir = _open_built(project, out_dir, strict)
    graphs = graphs_for(inferred=inferred)
    if bindings:
        bindings = bind_labels(store, prepared, bindings, graphs=graphs)
        check_domains(store, prepared, bindings, library, graphs=graphs)
    result = run(store, prepared, bindings, graphs=graphs, timeout=timeout)
    headers = None if lang is None else prepared.headers(result.variables, lang)
    emit(result.serialize(fmt, headers))


def _columns_text(columns: tuple[str, ...] | None) -> str:
    return ", ".join(columns) if columns is not None else "a graph, a boolean, or every variable"


def _alias_text(library: Any, query: Any) -> str:
    """What an alias stands for: ``cq/fiscal-year -p fy=2023``."""
    name = query.path.relative_to(library.root).with_suffix("").as_posix()
    return " ".join([name, *(f"-p {k}={v}" for k, v in query.preset.items())])


def _describe(query: Any, library: Any = None) -> str:
    """``kg query NAME --describe``: the query's header comment as written, then its columns
    (for an alias, first what it stands for)."""
    header = []
    if query.alias and library is not None:
        header.append(f"# {query.alias} is an alias: kg query {_alias_text(library, query)}")
    for line in query.text.splitlines():
        if not line.lstrip().startswith("#"):
            break
        header.append(line)
    return "\n".join([*header, f"# columns: {_columns_text(query.columns)}"]) + "\n"


@cli.command("search")
@click.argument("text", metavar="TEXT")
@click.option(
    "--lang",
    type=click.Choice(["ja", "en"]),
    help="Only texts in this language; the table's column headers in it too.",
)
@click.option(
    "--type",
    "type_",
    metavar="TYPE",
    help="Only entities of this type: plan, initiative, programme, facility, event, "
    "illustration, … (a class name in kebab case, or its last part; subclasses count: a trade "
    "fair is an event). An unknown one is refused with the valid ones.",
)
@click.option(
    "--municipality", metavar="CODE", help="Only texts of this municipality (6-digit code)."
)
@click.option(
    "--fy",
    type=int,
    metavar="YEAR",
    help="Only texts of plans whose period includes this fiscal year (1900–2200, e.g. 2023).",
)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@click.option(
    "--limit", type=click.IntRange(min=1), default=50, show_default=True, help="At most N rows."
)
@OUT_DIR_OPTION
@click.pass_context
def search_command(
    ctx: click.Context,
    text: str,
    lang: str | None,
    type_: str | None,
    municipality: str | None,
    fy: int | None,
    fmt: str,
    limit: int,
    out_dir: Path | None,
    strict: bool,
) -> None:
    """Search every text in the graph: titles, labels (Japanese and English), backgrounds,
    initiatives' original text, programme, facility and event names, captions.

    Matching ignores width (ＳＤＧｓ = SDGs), Latin case and katakana/hiragana; an ASCII word
    matches whole (EC does not match ecosystem); several words (separated by spaces of either
    width) must all be in the text. Titles and labels come first; each hit is marked «…».
    The index (dist/search/) is written by a full build and patched by an incremental
    one; when a build left none, it is made from the build the first time it is searched.

    \b
    Examples:
      kg search ＳＤＧｓ
      kg search EC --type initiative
      kg search "産業 フェア" --municipality 131067 -f json
    """
    from kgtools.build.layout import read_manifest
    from kgtools.errors import SearchError
    from kgtools.search import SearchIndex, format_hits, index_for, terms

    if not terms(text):
        raise SearchError("the search text is empty — give one or more words to look for")
    project = _project(ctx)
    store, out_dir = _open_built(project, out_dir, strict)
    store.close()
    manifest = read_manifest(out_dir, outputs=False)
    if manifest is None:  # (a build replaced it between the two reads: search that one)
        raise SearchError(f"{shown(out_dir)}/: the build changed while searching; search again")
    index = SearchIndex(index_for(out_dir, manifest.store))
    try:
        hits = index.search(
            text, lang=lang, type=type_, municipality=municipality, fy=fy, limit=limit
        )
    finally:
        index.close()
    emit(format_hits(hits, fmt, lang))


@cli.command("diff")
@click.argument("plans", nargs=-1, metavar="[PLAN_A PLAN_B]")
@click.option(
    "--municipality",
    metavar="CODE",
    help="Compare every consecutive pair of this municipality's plans (6-digit code), in the "
    "order of their first fiscal year, instead of two named plans.",
)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@OUT_DIR_OPTION
@click.pass_context
def diff_command(
    ctx: click.Context,
    plans: tuple[str, ...],
    municipality: str | None,
    fmt: str,
    out_dir: Path | None,
    strict: bool,
) -> None:
    """What a later plan kept, dropped and added against an earlier one: headings,
    initiatives, facilities, programmes, partner kinds and themes, from the built graph.

    PLAN_A (the earlier) and PLAN_B (the later) are plan IRIs, absolute or relative to the
    data's base (plan/131067/2015). Facilities, programmes, partner kinds and themes match by
    IRI; headings and initiatives, whose IRIs belong to their round or plan, by Japanese label.
    A plan known only by its approval is not compared (the output says so).

    \b
    Examples:
      kg diff plan/131067/2015 plan/131067/2021
      kg diff --municipality 131113 -f json
    """
    from kgtools.diff import diff_municipality, diff_plans, render

    if municipality is not None and plans:
        raise click.UsageError("give either two plans or --municipality CODE, not both")
    if municipality is None and len(plans) != 2:
        raise click.UsageError("give two plans (the earlier first) or --municipality CODE")
    project = _project(ctx)
    store, out_dir = _open_built(project, out_dir, strict)
    if municipality is not None:
        diffs = diff_municipality(store, municipality)
    else:
        diffs = [diff_plans(store, plans[0], plans[1])]
    emit(render(diffs, fmt))


@cli.command("export")
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["ttl", "nt", "nq", "trig", "jsonld", "xml"]),
    default="ttl",
    show_default=True,
    help="ttl (Turtle), nt (N-Triples), nq (N-Quads), trig, jsonld (JSON-LD with the context "
    "of ontology/context.jsonld embedded), xml (RDF/XML). nq and trig keep the named graphs "
    "(ontology, data, inferred); the others write their union.",
)
@click.option(
    "--inferred/--asserted-only",
    default=True,
    show_default=True,
    help="Include the OWL RL entailments, or export the asserted triples only.",
)
@click.option(
    "-o",
    "--output",
    type=UserPath(path_type=Path, dir_okay=False, allow_dash=True),
    default=None,
    help="File to write (replaced in one step, so a failed export leaves the old file; through "
    "a symlink, the file it points to); its folder must exist. A device or a named pipe "
    "(/dev/stdout) is written into. Default or '-': standard output.",
)
@OUT_DIR_OPTION
@click.pass_context
def export_command(
    ctx: click.Context,
    fmt: str,
    inferred: bool,
    output: Path | None,
    out_dir: Path | None,
    strict: bool,
) -> None:
    """Export the built graph as Turtle, N-Triples, N-Quads, TriG, JSON-LD or RDF/XML.

    The output is byte-for-byte the same for the same graph (sorted, stable prefixes and
    blank-node labels), so exports can be committed and diffed.
    """
    from kgtools.export import check_output_path, load_context
    from kgtools.export import export as run_export

    project = _project(ctx)
    target = None if output is None or str(output) == "-" else output
    if target is not None:
        check_output_path(target, fmt)  # before anything is built
    store, out_dir = _open_built(project, out_dir, strict)
    context = load_context(project) if fmt == "jsonld" else None
    data = run_export(store, fmt, inferred=inferred, out=target, context=context)
    if target is None:
        click.echo(data, nl=False)
    else:
        scope = "asserted + inferred" if inferred else "asserted only"
        click.echo(f"kg export: wrote {target} ({fmt}, {scope}, {len(data):,} bytes)", err=True)


@cli.command("network")
@click.option(
    "--view",
    type=click.Choice((*NETWORK_VIEWS, "timeline")),
    default="bipartite",
    show_default=True,
    help="bipartite: municipalities ↔ partner groups, kinds of partner, facilities and "
    "programmes; municipalities: municipalities linked by shared kinds of partner or themes; "
    "partners: partners linked by shared initiatives; timeline: municipalities × fiscal years, "
    "one bar per plan (formats html, png, svg, json; filter: --municipality only).",
)
@click.option(
    "--municipality",
    metavar="CODE",
    help="Keep only this municipality's plans: its 6-digit local government code "
    "(e.g. 131164 = 豊島区).",
)
@click.option(
    "--heading",
    type=int,
    metavar="N",
    help="Keep only initiatives under heading N (1, 2 or 3); links stated by a plan as a whole "
    "are left out.",
)
@click.option(
    "--theme",
    metavar="SLUG",
    help="Keep only initiatives (and plans) with this theme: a slug such as ec or "
    "cashless-payment, or the theme's IRI.",
)
@click.option(
    "--stats",
    is_flag=True,
    help="Print every node's degree, weighted degree, betweenness and community as a table.",
)
@click.option(
    "--lang",
    metavar="ja|en",
    help="Label the PNG and SVG in this language only (the nodes, or the timeline's "
    "municipalities, bars and titles), and open the HTML page in it (default: Japanese with "
    "the English below; the page can switch).",
)
@click.option(
    "--csv",
    "csv_path",
    type=UserPath(path_type=Path, dir_okay=False),
    default=None,
    help="Write the statistics table as CSV to this file.",
)
@click.option(
    "-f",
    "--format",
    "formats",
    multiple=True,
    type=click.Choice(NETWORK_FORMATS),
    help="Output format, repeatable: html (interactive, offline), png, svg, graphml, gexf, json "
    "(node-link). Default: all of them — or none when --stats or --csv is given.",
)
@click.option(
    "-o",
    "--output-dir",
    type=UserPath(path_type=Path, file_okay=False),
    default=None,
    help="Folder for the drawings and graph files (named VIEW[-FILTERS].FORMAT). "
    "Default: OUT_DIR/network.",
)
@ENDPOINT_OPTION
@OUT_DIR_OPTION
@click.pass_context
def network_command(
    ctx: click.Context,
    view: str,
    municipality: str | None,
    heading: int | None,
    theme: str | None,
    stats: bool,
    lang: str | None,
    csv_path: Path | None,
    formats: tuple[str, ...],
    output_dir: Path | None,
    endpoint: str | None,
    out_dir: Path | None,
    strict: bool,
) -> None:
    """Who works with whom: the plans' partner networks, with statistics and drawings.

    Builds a networkx graph from the built graph (asserted + inferred triples). Edge weight =
    number of initiatives behind the edge (a link a plan states as a whole counts once).
    Pictures: labels never overlap (one that would is left out), text is 8 pt or more, and a
    view of more than 60 nodes labels its 40 nodes of highest degree; the legend says how many.
    Pages embed the Japanese glyphs they use.
    Unknown municipality codes, headings or themes are refused (exit code 2).

    \b
    Examples:
      kg network
      kg network --view municipalities --stats
      kg network --municipality 131164 --format html --format png
      kg network --view partners --theme startups --csv partners.csv
      kg network --view timeline --format png
      kg network --lang en --format png
      kg network --view timeline --lang en --format svg
    """
    from kgtools.files import atomic_write_text, check_output_file, check_output_folder
    from kgtools.network import (
        build_view,
        load_data,
        node_stats,
        stats_csv,
        stats_table,
        write_view,
    )

    if lang is not None:
        from kgtools.query.params import check_language

        check_language(lang)
    if view == "timeline" and (heading is not None or theme or stats or csv_path):
        raise click.UsageError(
            "the timeline view takes --municipality only (not --heading, --theme, --stats or "
            "--csv): it has one bar per plan, not a graph"
        )
    if csv_path is not None:  # before anything is read or built
        check_output_file(csv_path, "stats.csv")
    if output_dir is not None:
        check_output_folder(output_dir)
    project = _project(ctx)
    if endpoint:
        store = _remote_store(endpoint, 60.0)
        out_dir = project.out_dir(out_dir)
    else:
        store, out_dir = _open_built(project, out_dir, strict)
    if view == "timeline":
        _timeline(store, project, municipality, lang, formats, output_dir or out_dir / "network")
        return
    data = load_data(store, project, municipality=municipality, heading=heading, theme=theme)
    graph = build_view(data, view)
    if lang is not None:
        graph.graph["lang"] = lang
    click.echo(
        f"kg network: {view} — {graph.number_of_nodes()} nodes, {graph.number_of_edges()} "
        f"edges (filters: {data.filters.describe()})",
        err=True,
    )
    rows = node_stats(graph) if stats or csv_path else []
    if stats:
        emit(stats_table(rows))
    if csv_path is not None:
        atomic_write_text(csv_path, stats_csv(rows))
        click.echo(f"wrote {csv_path}", err=True)
    chosen = formats or (() if stats or csv_path else NETWORK_FORMATS)
    if chosen:
        target = output_dir if output_dir is not None else out_dir / "network"
        name = view + data.filters.suffix()
        written = write_view(graph, target, name, chosen)
        click.echo(f"wrote {target}/: {', '.join(p.name for p in written)}", err=True)


def _timeline(
    store: Any,
    project: Project,
    municipality: str | None,
    lang: str | None,
    formats: tuple[str, ...],
    target: Path,
) -> None:
    """``kg network --view timeline``: load, say what it holds, write the formats asked for."""
    from kgtools.timeline import FORMATS, check_formats, load_timeline, write_timeline

    chosen = formats or FORMATS
    check_formats(chosen)
    timeline = load_timeline(store, project, municipality=municipality, lang=lang)
    click.echo(
        f"kg network: timeline — {len(timeline.bars)} plans, {len(timeline.rows())} "
        f"municipalities (filters: {timeline.filters})",
        err=True,
    )
    written = write_timeline(timeline, target, "timeline" + _suffix(municipality), chosen)
    click.echo(f"wrote {shown(target)}/: {', '.join(p.name for p in written)}", err=True)


def _suffix(municipality: str | None) -> str:
    return f"-{municipality.strip()}" if municipality else ""


@cli.command("docs")
@click.option(
    "-o",
    "--output-dir",
    type=UserPath(path_type=Path, file_okay=False),
    default=None,
    help="Folder to write the HTML pages to (index.html, ontology.html, shapes.html, "
    "queries.html). Default: OUT_DIR/docs, i.e. dist/docs.",
)
@click.option(
    "--lang",
    metavar="ja|en",
    help="The query library's titles, column headers and answers in this language (default: "
    "Japanese labels; the ontology and shapes pages show both languages either way).",
)
@OUT_DIR_OPTION
@click.pass_context
def docs_command(
    ctx: click.Context,
    output_dir: Path | None,
    lang: str | None,
    out_dir: Path | None,
    strict: bool,
) -> None:
    """Write HTML documentation of the ontology, the shapes and the query library.

    Four pages that work offline (no scripts or links to other hosts; each page embeds the
    Japanese glyphs it uses, so it needs no Japanese system font): the ontology's
    classes and properties with Japanese and English labels and definitions; every SHACL shape
    with its constraints and messages; and every library query with its SPARQL text and its
    current answer over the built graph (parameterised queries use the example values in
    tests/queries/NAME.params.json, else they are shown without an answer). The same inputs
    give the same files byte for byte.
    """
    from kgtools.docs import generate_docs
    from kgtools.files import check_output_folder

    if lang is not None:
        from kgtools.query.params import check_language

        check_language(lang)
    if output_dir is not None:  # before anything is read or built
        check_output_folder(output_dir)
    project = _project(ctx)
    store, out_dir = _open_built(project, out_dir, strict)
    target = output_dir if output_dir is not None else out_dir / "docs"
    written = generate_docs(project, store, target, lang=lang)
    click.echo(f"kg docs: wrote {target}/: {', '.join(p.name for p in written)}")


@cli.command("serve")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    callback=_not_empty(
        "the address is empty — give one (127.0.0.1 for this machine only; 0.0.0.0 or :: for "
        "every interface, which publishes the graph)"
    ),
    help="Address to listen on. Anything but a loopback address makes the endpoint reachable "
    "from other machines (a warning is printed); 0.0.0.0 or :: is every interface, and an "
    "empty address is refused.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=7878,
    show_default=True,
    help="Port to listen on; 0 = any free port (the URL is printed).",
)
@click.option(
    "--timeout",
    type=SECONDS,
    default=30.0,
    show_default=True,
    help="Stop each query after this many seconds (the answer is 503).",
)
@click.option(
    "--max-rows",
    type=click.IntRange(min=1),
    default=10_000,
    show_default=True,
    help="Most rows (or triples) in one answer; a cut answer has X-Result-Truncated: true "
    'and, in JSON, "truncated": true.',
)
@click.option(
    "--max-query-length",
    type=click.IntRange(min=1),
    default=50_000,
    show_default=True,
    help="Longest query accepted, in characters (longer ones get 413).",
)
@click.option(
    "--max-concurrent",
    type=click.IntRange(min=2),
    default=8,
    show_default=True,
    help="Queries running at once. One of these slots is kept for short queries: when the "
    "others are busy, a query runs there for at most 2 s (503 past that), so slow queries "
    "cannot keep a quick one waiting.",
)
@click.option(
    "--allow-origin",
    "allow_origins",
    multiple=True,
    metavar="ORIGIN",
    help="Let web pages of this origin (e.g. https://example.org; * for any) query the "
    "endpoint from a browser. Without it, requests from other origins get 403. Repeatable.",
)
@click.option(
    "--inferred/--asserted",
    default=True,
    show_default=True,
    help="Serve the asserted triples plus the OWL RL entailments, or the asserted ones only.",
)
@OUT_DIR_OPTION
@click.pass_context
def serve_command(
    ctx: click.Context,
    host: str,
    port: int,
    timeout: float,
    max_rows: int,
    max_query_length: int,
    max_concurrent: int,
    allow_origins: tuple[str, ...],
    inferred: bool,
    out_dir: Path | None,
    strict: bool,
) -> None:
    """Serve the built graph as a read-only SPARQL 1.1 endpoint, with a query page.

    The endpoint is http://HOST:PORT/sparql (GET or POST, SPARQL 1.1 Protocol; GET without a
    query gives the service description); http://HOST:PORT/ is a query page with the query
    library as examples that works offline. Updates get 403; SERVICE, FROM / FROM NAMED and
    default-graph-uri / named-graph-uri get 400. Each query reads the build current when it
    starts, so `kg build` may run while the server does. Requests from web pages of other
    origins get 403 unless --allow-origin names them. Ctrl-C stops the server.

    \b
    Examples:
      kg serve
      kg serve --port 0 --timeout 10 --max-rows 1000
      kg serve --allow-origin https://example.org
      curl -H 'Accept: text/csv' --data-urlencode query@queries/cq/plans.rq \\
        http://127.0.0.1:7878/sparql
    """
    from kgtools.build.layout import read_manifest
    from kgtools.namespaces import graphs_for
    from kgtools.query.library import QueryLibrary
    from kgtools.serve import BuildFolder, ServeConfig, is_loopback, make_server

    for origin in allow_origins:
        if origin != "*" and not re.fullmatch(r"[a-z][a-z0-9+.-]*://[^/\s?#]+|null", origin):
            raise click.BadParameter(
                f"{origin!r} is not an origin: write scheme://host[:port], e.g. "
                "https://example.org (no path, no trailing slash), or *",
                param_hint="--allow-origin",
            )
    project = _project(ctx)
    _store, out_dir = _open_built(project, out_dir, strict)
    config = ServeConfig(
        timeout=timeout,
        max_rows=max_rows,
        max_query_length=max_query_length,
        max_concurrent=max_concurrent,
        graphs=tuple(graphs_for(inferred=inferred)),
        allow_origins=allow_origins,
    )

    def current_store() -> str | None:
        # The store build.json names; not the Turtle files, which a rebuild may be replacing.
        manifest = read_manifest(out_dir, outputs=False)
        return manifest.store if manifest is not None else None

    server = make_server(
        BuildFolder(out_dir, current_store),
        host,
        port,
        config=config,
        library=QueryLibrary(project.queries_dir),
        log=lambda line: click.echo(line, err=True),
    )
    if not is_loopback(host):
        rule = "!" * 78
        click.echo(
            f"{rule}\nWARNING: kg serve listens on {host}, not on a loopback address: anyone "
            "who can reach\nWARNING: this machine on port "
            f"{server.server_address[1]} can run queries. There is no authentication and no\n"
            "WARNING: TLS. Use the default --host 127.0.0.1 unless you mean to publish the "
            f"graph.\n{rule}",
            err=True,
        )
    scope = "asserted + inferred" if inferred else "asserted only"
    click.echo(
        f"kg serve: SPARQL endpoint {server.url}sparql — query page {server.url} "
        f"({scope}; {timeout:g} s, {max_rows:,} rows per query). Ctrl-C stops it.",
        err=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("kg serve: stopped", err=True)
    finally:
        server.server_close()


@cli.command("push")
@click.option(
    "--endpoint",
    required=True,
    metavar="URL",
    help="The server: http://HOST:PORT for Oxigraph (Graph Store /store, queries /query), "
    "http://HOST:8890/sparql-auth for Virtuoso (Graph Store /sparql-graph-crud-auth, HTTP "
    "Digest), or its SPARQL query endpoint URL together with --store-endpoint.",
)
@click.option(
    "--graph",
    "graph_iri",
    metavar="IRI",
    default=None,
    help="Replace this one named graph with everything chosen. Default: replace the toolkit's "
    "own named graphs (…/graph/ontology, …/graph/data, …/graph/inferred), which `kg query "
    "--endpoint` reads.",
)
@click.option(
    "--store-endpoint",
    metavar="URL",
    default=None,
    help="The SPARQL 1.1 Graph Store HTTP Protocol endpoint, if not ENDPOINT/store (Oxigraph) "
    "or, beside Virtuoso's /sparql-auth and /sparql, its /sparql-graph-crud-auth and "
    "/sparql-graph-crud.",
)
@click.option(
    "--update-endpoint",
    metavar="URL",
    default=None,
    help="The SPARQL 1.1 Update endpoint, for the MOVE that puts the uploaded graph in place: "
    "default ENDPOINT/update for Oxigraph (also beside …/query), else ENDPOINT itself "
    "(Virtuoso, Fuseki's dataset URL).",
)
@click.option(
    "--inferred",
    "which",
    flag_value="all",
    default=True,
    help="Upload the asserted triples and the OWL RL entailments (default).",
)
@click.option("--asserted-only", "which", flag_value="asserted", help="Upload the asserted only.")
@click.option(
    "--only-inferred", "which", flag_value="inferred", help="Upload the entailments only."
)
@click.option(
    "--via",
    type=click.Choice(["graph-store", "update"]),
    default="graph-store",
    show_default=True,
    help="How to upload: the Graph Store HTTP Protocol, or SPARQL Update INSERT DATA to the "
    "update endpoint, for a server whose Graph Store endpoint is not enabled.",
)
@click.option(
    "--chunk-size",
    type=click.IntRange(min=1),
    default=None,
    help="Triples per request (N-Triples); triples sharing a blank node stay together. "
    "Default: 5000 through the Graph Store, 1000 through INSERT DATA (Virtuoso's SPARQL "
    "compiler refuses 5000).",
)
@click.option(
    "--timeout",
    type=SECONDS,
    default=60.0,
    show_default=True,
    help="Seconds to wait for each request.",
)
@OUT_DIR_OPTION
@click.pass_context
def push_command(
    ctx: click.Context,
    endpoint: str,
    graph_iri: str | None,
    store_endpoint: str | None,
    update_endpoint: str | None,
    which: str,
    via: str,
    chunk_size: int | None,
    timeout: float,
    out_dir: Path | None,
    strict: bool,
) -> None:
    """Upload the built graph to a SPARQL server, replacing the named graph(s), and verify it.

    Uploads each graph into a staging graph (its IRI + /kg-push-staging) with the SPARQL 1.1
    Graph Store HTTP Protocol (PUT the first chunk, POST the rest), counts the staged triples,
    then moves all staging graphs into place in one SPARQL Update request (MOVE), and counts
    again. If anything fails, the target graphs keep their previous triples, the staging graphs
    are dropped, and the message says so (exit code 2). Credentials come from the environment
    only: KG_ENDPOINT_USER and KG_ENDPOINT_PASSWORD (HTTP Basic, or Digest where the server
    asks for it, as Virtuoso's …-auth endpoints do); redirects to another server
    are not followed.

    \b
    Examples:
      kg push --endpoint http://127.0.0.1:7878
      kg push --endpoint http://127.0.0.1:7878 --graph https://example.org/g --asserted-only
      kg push --endpoint http://127.0.0.1:8890/sparql-auth     # Virtuoso
      kg push --endpoint http://127.0.0.1:8890/sparql-auth --via update
    """
    from kgtools.errors import RemoteError
    from kgtools.store.push import DEFAULT_CHUNK, UPDATE_CHUNK, push
    from kgtools.store.remote import resolve_endpoints

    endpoints = resolve_endpoints(endpoint, store_endpoint, update_endpoint)
    if via == "update":
        chunk_size = chunk_size or UPDATE_CHUNK
        store_url = endpoints.store or endpoints.update
    else:
        chunk_size = chunk_size or DEFAULT_CHUNK
        store_url = endpoints.store
    if store_url is None:
        raise RemoteError(
            f"give --store-endpoint: {endpoint} is a query endpoint and its Graph Store endpoint "
            "cannot be guessed (or upload with --via update, through SPARQL Update)"
        )
    _warn_insecure(endpoints.query, endpoints.store, endpoints.update)
    project = _project(ctx)
    store, out_dir = _open_built(project, out_dir, strict)
    pushed = push(
        store,
        store_url,
        graph_iri,
        which,
        query_endpoint=endpoints.query,
        update_endpoint=endpoints.update,
        chunk_size=chunk_size,
        timeout=timeout,
        via=via,
    )
    for name, count in pushed.graphs.items():
        click.echo(f"  <{name}>  {count:>9,} triples")
    click.echo(
        f"kg push: replaced {len(pushed.graphs)} graph(s), {pushed.triples:,} triples in "
        f"{pushed.requests} request(s), {pushed.seconds:.1f} s; counts verified on "
        f"{endpoints.query}"
    )


@cli.command("ingest")
@click.argument("overview", type=UserPath(path_type=Path, dir_okay=False))
@click.option(
    "--round",
    "round_id",
    required=True,
    help="The approval round's id: its press date as stated (2015-06, 2025-03-24) or fy2021 "
    "for the source overview. Fixed headings become <heading/ROUND/n>.",
)
@click.option(
    "-o",
    "--out",
    type=UserPath(path_type=Path, file_okay=False),
    required=True,
    help="New (or empty) folder for the drafts and REVIEW.md; written all at once or not at all.",
)
@click.option(
    "--source",
    default=None,
    help="Slug of the overview's <source/…> node (default: overview-ROUND), e.g. "
    "approved-plans-overview-r3-r5.",
)
@click.pass_context
def ingest_command(
    ctx: click.Context, overview: Path, round_id: str, out: Path, source: str | None
) -> None:
    """Read a round's overview of approved plans (UTF-8 text) into draft plan files.

    Writes one {code}-{first fy}-{romaji}.ttl per plan (title, municipality, period, background,
    headings, initiatives with their original text, the programmes they name, captions), a
    headings file for a round whose fixed headings are not in data/ yet, and REVIEW.md: what a
    person must still decide. `kg validate OUT/*.ttl` lists the same points per node (missing
    English labels, skos:editorialNote review points). Municipalities are looked up by name in
    data/local-governments.ttl. Bad input exits 2 and writes nothing.

    \b
    Example:
      kg ingest sources/approved-plans-overview-r3-r5.txt --round fy2021 \\
        --source approved-plans-overview-r3-r5 -o drafts/
    """
    from kgtools.ingest import ingest

    project = _project(ctx)
    result = ingest(overview, round_id, out, data_dir=project.data_dir, source=source)
    click.echo(
        f"kg ingest: {result.plans} plan draft(s) → {shown(out)}/: {', '.join(result.files)}; "
        f"{result.review_points} review point(s) listed in {shown(out)}/REVIEW.md"
    )


@cli.command()
@click.option(
    "-n",
    "--municipalities",
    type=click.IntRange(min=1),
    default=None,
    help="Number of synthetic municipalities (or give --triples).",
)
@click.option(
    "--triples",
    type=click.IntRange(min=1),
    default=None,
    help="Aim for about this many data triples instead of giving --municipalities.",
)
@click.option(
    "--rounds", type=click.IntRange(min=1), default=3, show_default=True, help="Approval rounds."
)
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option(
    "--violations",
    "violation_rate",
    type=click.FloatRange(min=0.0, max=1.0),
    default=0.0,
    show_default=True,
    help="Fraction of plans that get one deliberate shape violation (listed in synth.json).",
)
@click.option(
    "-o",
    "--out",
    type=UserPath(path_type=Path, file_okay=False),
    required=True,
    help="Folder for the synthetic project (new, or a previous kg synth output).",
)
@click.pass_context
def synth(
    ctx: click.Context,
    municipalities: int | None,
    triples: int | None,
    rounds: int,
    seed: int,
    violation_rate: float,
    out: Path,
) -> None:
    """Generate a synthetic project shaped like the real data, for scale tests and kg bench.

    The same options always give byte-identical files. Municipalities are obviously fictional
    (合成市0001 / Synthetic City 0001); the ontology, shapes and queries are copied from the
    project as they are now (make the project again after changing them).

    \b
    Build it with:
      kg --project OUT build -o OUT/dist

    \b
    Examples:
      kg synth --municipalities 100 --rounds 3 --seed 1 -o /tmp/synth
      kg synth --triples 1000000 -o /tmp/synth-1m
    """
    from kgtools.devtools.synth import SynthSpec, generate, spec_for_triples
    from kgtools.progress import Progress

    if (municipalities is None) == (triples is None):
        raise click.UsageError("give exactly one of --municipalities and --triples")
    if triples is not None:
        spec = spec_for_triples(triples, rounds=rounds, seed=seed, violation_rate=violation_rate)
    else:
        assert municipalities is not None
        spec = SynthSpec(municipalities, rounds, seed, violation_rate)
    progress = Progress()
    started = time.perf_counter()
    with progress.stage("synth"):
        result = generate(
            spec,
            out,
            source_project=_project(ctx),
            progress=lambda done, total: progress.count(done, total, "plan files"),
        )
    click.echo(
        f"kg synth: {result.triples:,} data triples in {len(result.files):,} files "
        f"({spec.municipalities:,} municipalities × {spec.rounds} rounds, seed {spec.seed}, "
        f"{len(result.violations)} deliberate violation(s)) in "
        f"{time.perf_counter() - started:.1f} s → {out}/"
    )


@cli.command("bench")
@click.option(
    "--triples",
    type=click.IntRange(min=1000),
    default=100_000,
    show_default=True,
    help="Size of the synthetic data (data triples).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed for the data.")
@click.option(
    "--skip-naive",
    is_flag=True,
    help="Run only the project's pipeline (the naive one takes ~20 min at 1M triples).",
)
@click.option(
    "--json",
    "json_path",
    type=UserPath(path_type=Path, dir_okay=False),
    default=None,
    help="Also write every figure to this JSON file.",
)
@click.option(
    "--workdir",
    type=UserPath(path_type=Path, file_okay=False),
    default=None,
    help="Keep the synthetic project and its build here (default: a temporary folder, removed).",
)
def bench_command(
    triples: int, seed: int, skip_naive: bool, json_path: Path | None, workdir: Path | None
) -> None:
    """Benchmark: the naive pipeline (rdflib, owlrl, pySHACL) and kg's, side by side.

    Generates synthetic data, runs both full builds (load, validate, reason, export Turtle,
    network statistics) each in its own process, times the competency queries, and times an
    incremental rebuild after one plan file changes. Prints wall time, peak RSS and the ratio
    per stage, ending with: speedup: X× vs naive at N triples; build S s; peak RSS M MiB.

    \b
    Examples:
      kg bench --triples 100000
      kg bench --triples 1000000 --skip-naive --json bench-1m.json
    """
    import json

    from kgtools.devtools.bench import bench
    from kgtools.files import atomic_write_text

    if workdir is not None and workdir.exists() and any(workdir.iterdir()):
        raise click.UsageError(f"--workdir {workdir} is not empty")
    results = bench(triples, seed=seed, skip_naive=skip_naive, workdir=workdir, echo=click.echo)
    if json_path is not None:
        atomic_write_text(json_path, json.dumps(results, indent=2, sort_keys=True) + "\n")


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="kg")
