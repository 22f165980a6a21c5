"""Regenerate the README's example outputs, so that they cannot drift from what ``kg`` prints.

A fenced block in ``README.md`` preceded by an HTML comment is an example:

* ``<!-- example: kg build -->`` — the block is what that command prints;
* ``<!-- example: session -->`` — the block is a session: each ``$ …`` line is a command and
  the lines after it, up to the next ``$``, are what it printed.

A picture preceded by ``<!-- picture: kg network … -->`` is what that command draws: the
command runs after the examples, in the same copy, with ``-o`` a temporary folder, and must
write exactly one file, which becomes the image the Markdown line after the comment names
(``docs/images/…``). The images are compared byte for byte: the drawings are reproducible.

A command is ``kg ARGS``, optionally fed by ``echo 'TEXT' |`` and cut by ``| head -N``. Every
example runs in README order, in one fresh copy of the project (ontology, data, queries) in a
temporary folder, with ``kg`` run in-process (click's runner: what a terminal shows, standard
output and standard error together), so that paths are relative and a first ``kg build``
really builds. Timings (``3.8 s``) are the only figures that differ between runs:
:func:`normalise` replaces them, and the test compares the rest exactly.

    python -m kgtools.devtools.readme           # exit 1 and a diff if the README is stale
    python -m kgtools.devtools.readme --write   # rewrite the blocks (and pictures) in place

Written here rather than with a documentation tool (cog, mdx) because the commands run
in-process against a throwaway copy of the project: a few lines, no new dependency.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

_BLOCK = re.compile(
    r"(?P<head><!-- example: (?P<spec>[^>]*?) -->\n```text\n)(?P<body>.*?)(?P<tail>^```$)",
    re.DOTALL | re.MULTILINE,
)
_PICTURE = re.compile(r"<!-- picture: (?P<spec>kg [^>]*?) -->\n!\[[^\]]*\]\((?P<path>[^)\s]+)\)")
_TIMING = re.compile(r"\b\d+(?:\.\d+)? s\b")
PROJECT_FOLDERS = ("ontology", "data", "queries")


@dataclass(frozen=True)
class Example:
    """One example block: its command(s) and the text the README shows."""

    spec: str
    body: str

    def commands(self) -> list[str]:
        if self.spec != "session":
            return [self.spec]
        return [line[2:] for line in self.body.splitlines() if line.startswith("$ ")]


def examples(readme: str) -> list[Example]:
    """The example blocks of a README's text, in order."""
    return [Example(m.group("spec").strip(), m.group("body")) for m in _BLOCK.finditer(readme)]


def normalise(text: str) -> str:
    """The text with timings replaced (the one figure that changes from run to run)."""
    return _TIMING.sub("‹t› s", text)


def run_command(command: str) -> str:
    """What ``command`` prints, run in-process in the current folder."""
    from click.testing import CliRunner

    from kgtools.cli import cli

    lexer = shlex.shlex(command, posix=True, punctuation_chars="|")
    lexer.whitespace_split = True
    stages: list[list[str]] = [[]]
    for token in lexer:
        if token == "|":
            stages.append([])
        else:
            stages[-1].append(token)
    stdin = None
    if stages[0][:1] == ["echo"]:
        stdin = " ".join(stages.pop(0)[1:]) + "\n"
    args = stages.pop(0)
    if args[:1] != ["kg"]:
        raise ValueError(f"an example runs kg, not {args[:1]}: {command}")
    head = None
    for stage in stages:
        if stage[:1] != ["head"] or len(stage) != 2 or not stage[1].startswith("-"):
            raise ValueError(f"only `| head -N` may follow kg in an example: {command}")
        head = int(stage[1][1:])
    result = CliRunner().invoke(cli, args[1:], input=stdin, catch_exceptions=False)
    output = result.output
    if head is not None:
        output = "".join(output.splitlines(keepends=True)[:head])
    return output if output.endswith("\n") or not output else output + "\n"


def render(example: Example) -> str:
    """The block's text as the commands print it now."""
    if example.spec != "session":
        return run_command(example.spec)
    parts = []
    for command in example.commands():
        parts.append(f"$ {command}\n{run_command(command)}")
    return "\n".join(parts)


@contextmanager
def project_copy(root: Path) -> Iterator[Path]:
    """A fresh copy of the project in a temporary folder, as the current folder, with no
    ``KG_PROJECT`` and a private cache folder."""
    saved_cwd = os.getcwd()
    saved_env = {k: os.environ.get(k) for k in ("KG_PROJECT", "XDG_CACHE_HOME")}
    with tempfile.TemporaryDirectory(prefix="kg-readme-") as tmp:
        copy = Path(tmp) / "project"
        for folder in PROJECT_FOLDERS:
            shutil.copytree(root / folder, copy / folder)
        os.environ.pop("KG_PROJECT", None)
        os.environ["XDG_CACHE_HOME"] = str(Path(tmp) / "cache")
        os.chdir(copy)
        try:
            yield copy
        finally:
            os.chdir(saved_cwd)
            for key, value in saved_env.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def pictures(readme: str) -> dict[str, str]:
    """The README's generated pictures: image path (relative to the README) → command."""
    return {m.group("path"): m.group("spec").strip() for m in _PICTURE.finditer(readme)}


def draw(command: str) -> bytes:
    """The one file ``command`` (a ``kg`` command that writes files) writes, as bytes."""
    with tempfile.TemporaryDirectory(prefix="kg-readme-picture-") as out:
        run_command(f"{command} -o {shlex.quote(out)}")
        written = sorted(Path(out).iterdir())
        if len(written) != 1:
            names = ", ".join(p.name for p in written) or "nothing"
            raise SystemExit(f"README picture `{command}` wrote {names}, not one file")
        return written[0].read_bytes()


def regenerate(readme: str, root: Path) -> tuple[str, dict[str, bytes]]:
    """The README's text with every example block regenerated, and every picture's bytes."""
    with project_copy(root):
        rendered = [render(example) for example in examples(readme)]
        drawn = {path: draw(command) for path, command in pictures(readme).items()}
    chunks = iter(rendered)
    text = _BLOCK.sub(lambda m: m.group("head") + next(chunks) + m.group("tail"), readme)
    return text, drawn


def stale_pictures(root: Path, drawn: dict[str, bytes]) -> list[str]:
    """The pictures whose file differs from what the command draws now (or is missing)."""
    return [
        path
        for path, data in drawn.items()
        if not (root / path).is_file() or (root / path).read_bytes() != data
    ]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    root = Path(__file__).resolve().parents[2]
    path = root / "README.md"
    current = path.read_text(encoding="utf-8")
    fresh, drawn = regenerate(current, root)
    if "--write" in args:
        if fresh != current:
            path.write_text(fresh, encoding="utf-8")
        for name in stale_pictures(root, drawn):
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(drawn[name])
        print(
            f"{path.name}: {len(examples(current))} example blocks and {len(drawn)} pictures "
            "regenerated"
        )
        return 0
    stale = stale_pictures(root, drawn)
    if normalise(fresh) == normalise(current) and not stale:
        return 0
    if stale:
        print(f"README pictures are stale: {', '.join(stale)}")
    sys.stdout.writelines(
        difflib.unified_diff(
            current.splitlines(keepends=True), fresh.splitlines(keepends=True), "README.md", "now"
        )
    )
    print("README examples are stale: python -m kgtools.devtools.readme --write")
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
