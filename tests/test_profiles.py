"""The hypothesis profiles: `ci` (.ci/run) runs each property test at its full count, `dev` (the
default) at fewer, and no property test escapes them with a count written bare."""

from __future__ import annotations

import ast
import functools
import os
import subprocess
import sys

from hypothesis import settings

from . import test_hardening
from .conftest import FULL_STRENGTH, ROOT, examples

TESTS = ROOT / "tests"


@functools.cache
def _counts() -> list[tuple[str, ast.expr]]:
    """Every ``max_examples=`` in the test modules: (file:line, the value written)."""
    found = []
    for path in sorted(TESTS.glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "max_examples":
                found.append((f"{path.name}:{node.value.lineno}", node.value))
    return found


def _full(value: ast.expr) -> int | None:
    """N of ``examples(N)``, else None."""
    if (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Name)
        and value.func.id == "examples"
        and len(value.args) == 1
        and isinstance(value.args[0], ast.Constant)
        and isinstance(value.args[0].value, int)
    ):
        return value.args[0].value
    return None


def test_every_count_goes_through_the_profile() -> None:
    counts = _counts()
    assert len(counts) >= 36, counts  # guard: the scan must find the suite's property tests
    bare = [where for where, value in counts if _full(value) is None]
    assert not bare, f"write max_examples=examples(N) so that the profile applies: {bare}"


def test_ci_runs_the_full_count_and_dev_fewer() -> None:
    ci = settings.get_profile("ci").max_examples
    dev = settings.get_profile("dev").max_examples
    assert ci == FULL_STRENGTH == settings.get_profile("default").max_examples
    assert 0 < dev < ci
    for where, value in _counts():
        full = _full(value)
        assert full is not None
        assert max(1, full * ci // FULL_STRENGTH) == full, where
        assert 1 <= max(1, full * dev // FULL_STRENGTH) <= full, where
    # the profile this session loaded is the one examples() scales by
    assert examples(FULL_STRENGTH) == settings.default.max_examples


def test_the_environment_variable_selects_the_profile() -> None:
    """HYPOTHESIS_PROFILE=ci (set by .ci/run) gives each property test its full count, read from
    a test function as hypothesis will run it; unset, the dev profile. This session shows one
    case, a second process the other."""
    name = os.environ.get("HYPOTHESIS_PROFILE", "dev")
    assert settings.get_current_profile_name() == name
    dev = settings.get_profile("dev").max_examples
    counts = {"ci": "250", "dev": str(250 * dev // FULL_STRENGTH)}
    function = test_hardening.test_random_turtle_ish_text_into_the_loader
    assert str(function._hypothesis_internal_use_settings.max_examples) == counts[name]

    other = "dev" if name == "ci" else "ci"
    env = {k: v for k, v in os.environ.items() if k != "HYPOTHESIS_PROFILE"}
    if other == "ci":
        env["HYPOTHESIS_PROFILE"] = "ci"
    probe = (
        "import tests.test_hardening as m\n"
        "from hypothesis import settings\n"
        "print(settings.get_current_profile_name(),"
        " m.test_random_turtle_ish_text_into_the_loader._hypothesis_internal_use_settings"
        ".max_examples)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == [other, counts[other]]  # 250: the count in test_hardening.py


def test_ci_script_selects_the_ci_profile() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "export HYPOTHESIS_PROFILE=ci\n" in script
    assert script.index("export HYPOTHESIS_PROFILE=ci") < script.index('pytest -m "not browser"')
