"""kg bench: the harness runs and reports every stage (a behaviour test, not a timed one).

The naive side (owlrl, pySHACL) is exercised by `.ci/run`, which runs `kg bench` at a small size;
here the report's shape is checked on real figures from the project's pipeline, and on a naive
side given as figures.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from kgtools.cli import cli
from kgtools.devtools.bench import STAGES, report_lines

LAST_LINE = re.compile(
    r"^speedup: (?P<x>[0-9.]+|n/a \(naive skipped\))× vs naive at (?P<n>[0-9,]+) triples; "
    r"build (?P<s>[0-9.]+) s; peak RSS (?P<m>[0-9]+) MiB$"
)


def test_report_ratio_is_naive_over_project() -> None:
    stage = {"seconds": 1.0, "peak_mib": 100.0}
    results = {
        "data_triples": 1000,
        "municipalities": 2,
        "rounds": 3,
        "project": {
            "stages": {name: dict(stage) for name in STAGES},
            "queries_ms": {"plans": 2.0},
            "asserted": 1500,
            "inferred": 700,
            "incremental": {"seconds": 0.5, "mode": "incremental", "file": "data/plans/x.ttl"},
        },
        "naive": {
            "stages": {name: {"seconds": 40.0, "peak_mib": 300.0} for name in STAGES},
            "queries_ms": {"plans": 20.0},
        },
    }
    lines = report_lines(results)
    assert lines[-1] == "speedup: 40.0× vs naive at 1,000 triples; build 5.0 s; peak RSS 100 MiB"
    assert any(line.startswith("plans") and line.rstrip().endswith("10.0×") for line in lines)


def test_cli_bench_reports_every_stage_and_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    work = tmp_path / "work"
    result = CliRunner().invoke(
        cli,
        ["bench", "--triples", "3000", "--skip-naive", "--json", str(out), "--workdir", str(work)],
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(out.read_text(encoding="utf-8"))
    project = figures["project"]
    assert project["asserted"] > 3000
    assert set(STAGES) <= set(project["stages"])
    assert all(entry["seconds"] > 0 for entry in project["stages"].values())
    assert project["incremental"]["mode"] == "incremental"
    assert set(project["queries_ms"]) >= {"cashless", "plans", "subsidies"}
    search = project["search"]
    assert search["warm_median_ms"] > 0 and search["process_median_s"] > 0
    assert 0 < search["index_share"] < 1
    assert search["index_cpu_seconds"] > 0 and 0 < search["index_cpu_share"] < 1
    assert any(line.startswith("search: ") for line in result.output.splitlines())
    match = LAST_LINE.match(result.output.rstrip().splitlines()[-1])
    assert match is not None, result.output
    assert match["x"] == "n/a (naive skipped)"
    assert int(match["n"].replace(",", "")) == figures["data_triples"]
    assert (work / "project" / "synth.json").is_file()
