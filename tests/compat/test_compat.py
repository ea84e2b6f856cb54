"""LangGraph 1.2.22's own Functional-API tests, run against nbflow (see harness.py).

``test_langgraph_functional_api_suite`` is the whole compat session (a
subprocess; it downloads LangGraph's sdist with pip on first use into
``.cache/compat``). The other tests check the harness's own parts.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import compat_alias as alias  # noqa: E402
import compat_select as select_tests  # noqa: E402
from compat_select import read_known_failures  # noqa: E402  (compat_plugin would install the alias here)


def test_langgraph_functional_api_suite(tmp_path):
    report = tmp_path / "report.json"
    env = {**os.environ, "NBFLOW_COMPAT_REPORT": str(report)}
    proc = subprocess.run(
        [sys.executable, str(HERE / "harness.py"), "-q"],
        capture_output=True, text=True, env=env, timeout=1800,
    )
    tail = (proc.stdout + proc.stderr)[-6000:]
    assert proc.returncode == 0, f"compat session failed (exit {proc.returncode}):\n{tail}"
    data = json.loads(report.read_text())
    counts = data["counts"]
    print(f"compat: {counts.get('passed', 0)} of {data['total']} pass; {counts}")
    assert counts.get("passed", 0) + counts.get("xfailed", 0) == data["total"]
    assert data["total"] >= 150  # the selection did not silently shrink


SAMPLE = textwrap.dedent('''
    import pytest
    from langgraph.func import entrypoint, task
    from langgraph.graph import StateGraph
    from langgraph.pregel._loop import PregelLoop
    from unittest.mock import patch

    pytestmark = pytest.mark.anyio

    def _helper():
        @entrypoint()
        def wf(x):
            return x
        return wf

    def test_uses_helper():
        assert _helper().invoke(1) == 1

    def test_direct(sync_checkpointer):
        @task
        def t(): return 1

    def test_graph_api():
        StateGraph(dict)
        @task
        def t(): return 1

    def test_patches():
        with patch.object(PregelLoop, "put_writes", None):
            _helper()

    def test_unrelated():
        assert True

    class TestThing:
        def test_in_class(self):
            _helper()

        def test_other(self):
            StateGraph(dict)
''')


def test_selection_rules():
    sel = select_tests.select_file("test_sample.py", SAMPLE)
    assert [s.qualname for s in sel.selected] == ["test_uses_helper", "test_direct", "TestThing::test_in_class"]
    assert {e.qualname: e.reason for e in sel.excluded} == {
        "test_graph_api": "builds a StateGraph (Graph API)",
        "test_patches": "patches LangGraph internals",
    }
    trimmed = select_tests.trim_module(sel)
    tree = ast.parse(trimmed)
    names = {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    assert {"test_uses_helper", "test_direct", "TestThing", "test_in_class", "_helper"} <= names
    assert not names & {"test_graph_api", "test_patches", "test_unrelated", "test_other"}
    assert "StateGraph" not in trimmed and "PregelLoop" not in trimmed  # unused imports dropped
    assert "pytestmark = pytest.mark.anyio" in trimmed


def test_trimmed_module_marks_missing_names_per_test(tmp_path, monkeypatch):
    source = textwrap.dedent('''
        from langgraph.func import entrypoint
        from langgraph.types import NoSuchThingInNbflow

        def test_ok():
            @entrypoint()
            def wf(x):
                return x + 1
            assert wf.invoke(1) == 2

        def test_needs_missing():
            @entrypoint()
            def wf(x):
                return NoSuchThingInNbflow(x)
            wf.invoke(1)
    ''')
    sel = select_tests.select_file("test_m.py", source)
    (tmp_path / "trimmed_sample.py").write_text(select_tests.trim_module(sel))
    monkeypatch.syspath_prepend(str(tmp_path))
    alias.install()
    try:
        mod = importlib.import_module("trimmed_sample")
        mod.test_ok()
        with pytest.raises(NotImplementedError, match="langgraph.types.NoSuchThingInNbflow"):
            mod.test_needs_missing()
    finally:
        alias.uninstall()
        sys.modules.pop("trimmed_sample", None)


def test_alias_answers_with_nbflow_objects_and_owns_the_namespace():
    import nbflow
    from nbflow.checkpoint import AsyncSqliteSaver, SqliteSaver

    alias.install()
    try:
        from langgraph.checkpoint.sqlite import SqliteSaver as LgSqlite
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver as LgAsync
        from langgraph.func import entrypoint
        from langgraph.types import Command

        assert (entrypoint, Command, LgSqlite, LgAsync) == (
            nbflow.entrypoint, nbflow.Command, SqliteSaver, AsyncSqliteSaver)
        with pytest.raises(ModuleNotFoundError, match="langgraph.graph"):
            importlib.import_module("langgraph.graph")
        with pytest.raises(ImportError):
            exec("from langgraph.types import NotAThing", {})
        assert getattr(sys.modules["langgraph"], "__nbflow_alias__", False)
    finally:
        alias.uninstall()
        for name in [m for m in sys.modules if m == "langgraph" or m.startswith("langgraph.")]:
            del sys.modules[name]


def test_known_failures_file_is_well_formed():
    known = read_known_failures()
    categories = {"cancellation", "timeouts", "stream v2", "stream v2/tools", "stream events",
                  "callbacks", "tasks/debug shape", "invoke(None)", "schema methods", "deprecation",
                  "interrupt shape", "history", "time travel"}
    for test_id, note in known.items():
        assert test_id.startswith("tests/test_") and "::" in test_id, test_id
        assert note.split(":")[0] in categories, f"{test_id}: unknown category in {note!r}"


def test_a_tampered_sdist_is_refused_and_removed(tmp_path):
    import harness

    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / harness.SDIST).write_bytes(b"not the real sdist")
    with pytest.raises(harness.CompatSetupError, match="expected"):
        harness.fetch_sdist(tmp_path)
    assert not (dist / harness.SDIST).exists()
