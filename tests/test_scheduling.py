"""The xdist groups (tests/conftest.py): files that share reference answers run on one worker,
the long groups start first, and the lists name only what exists."""

from __future__ import annotations

import tomllib
from types import SimpleNamespace

from .conftest import GROUPS, ROOT, SLOWEST_FIRST, pytest_xdist_make_scheduler, xdist_group

FILES = sorted(p.name for p in (ROOT / "tests").glob("test_*.py"))


def test_a_test_runs_in_its_files_group_unless_listed() -> None:
    assert xdist_group("tests/test_cli.py::test_help[build]") == "test_cli.py"
    assert xdist_group("tests/test_shapes.py::test_shape_case[plan]") == "pyshacl-cases"
    assert xdist_group("tests/test_shacl_fast.py::test_real_data_matches_pyshacl") == (
        "pyshacl-cases"
    )
    assert xdist_group("tests/test_equivalence.py::test_entailments_equal_owlrl") == (
        "equivalence-owlrl"
    )
    assert xdist_group("tests/test_equivalence.py::test_validation_equals_pyshacl") == (
        "equivalence-pyshacl"
    )


def test_the_lists_name_existing_files_and_groups() -> None:
    for key in GROUPS:
        name, _, test = key.partition("::")
        assert name in FILES, key
        if test:
            assert f"def {test}(" in (ROOT / "tests" / name).read_text(encoding="utf-8"), key
    groups = {xdist_group(f"tests/{name}::t") for name in FILES} | set(GROUPS.values())
    assert set(SLOWEST_FIRST) <= groups, set(SLOWEST_FIRST) - groups
    assert len(set(SLOWEST_FIRST)) == len(SLOWEST_FIRST)


def test_pytest_distributes_by_group_in_the_given_order() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    addopts = config["tool"]["pytest"]["ini_options"]["addopts"].split()
    assert "loadgroup" in addopts[addopts.index("--dist") + 1 :][:1]
    assert "--no-loadscope-reorder" in addopts  # xdist would sort groups by test count


class _Config:
    """What xdist's scheduler reads of the controller's config."""

    def __init__(self, dist: str) -> None:
        self.option = SimpleNamespace(dist=dist, tx=["2*popen"], loadscopereorder=False)

    def getvalue(self, name: str) -> object:
        return getattr(self.option, name)


def test_the_scheduler_splits_by_group() -> None:
    """xdist asks conftest for its scheduler: under --dist loadgroup one that keeps a group on
    one worker (by xdist_group, not by marks, which xdist 3.8 cannot apply under pytest 9.2)."""
    scheduler = pytest_xdist_make_scheduler(_Config("loadgroup"), None)  # type: ignore[arg-type]
    for nodeid in (
        "tests/test_shapes.py::test_shape_case[plan]",
        "tests/test_shacl_fast.py::test_case_file_matches_pyshacl[plan]",
        "tests/test_equivalence.py::test_queries_equal_rdflib",
        "tests/test_cli.py::test_help",
    ):
        assert scheduler._split_scope(nodeid) == xdist_group(nodeid)
    assert pytest_xdist_make_scheduler(_Config("load"), None) is None  # type: ignore[arg-type]
