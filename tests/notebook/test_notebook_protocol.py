"""The typed widget protocol: one definition in Python, generated TypeScript, checked by tsc.

* the committed ``labextension/src/protocol.gen.ts`` is exactly what the Python types generate, for
  both wires: the widgets' messages and the Workflows sidebar's comm (change
  ``nbflow/notebook/protocol.py`` and rebuild: ``npm run build`` regenerates it);
* what the kernel really sends validates against the exported JSON schema (a drift on the
  Python side between the declared types and the payloads fails here);
* ``tsc --noEmit`` type-checks the front end against the generated types (skipped only when
  node is absent on a developer machine; under CI=true a missing node fails).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import typing
from pathlib import Path

import pytest

from nbflow import Command, InMemorySaver, entrypoint, interrupt, task
from nbflow.notebook import protocol
from nbflow.notebook.thread import ThreadModel, run_state

ROOT = Path(__file__).resolve().parents[2]
LABEXT = ROOT / "labextension"


def test_generated_typescript_matches_the_python_types():
    committed = (LABEXT / "src" / "protocol.gen.ts").read_text()
    assert committed == protocol.typescript(), (
        "labextension/src/protocol.gen.ts is out of date: run `npm run build` in labextension/ "
        "(or python nbflow/notebook/protocol.py --ts labextension/src/protocol.gen.ts)")


def test_the_drift_check_covers_both_wires(monkeypatch):
    """Changing a Python type of either protocol (widgets, sidebar comm) changes the generated file,
    so the committed one no longer matches and the test above fails until the build regenerates it."""
    committed = (LABEXT / "src" / "protocol.gen.ts").read_text()
    for name in ("SidebarThread", "SidebarAnswerMsg", "RunState"):
        assert f"export interface {name} {{" in committed, name
    assert "export type SidebarToKernel = " in committed and "export type SidebarToFrontend = " in committed
    assert 'export const SIDEBAR_TARGET = "nbflow.lab" as const;' in committed

    class SidebarThread(typing.TypedDict):  # the real one plus a field
        key: str
        pinned: bool

    monkeypatch.setattr(protocol, "TYPES", tuple(SidebarThread if t is protocol.SidebarThread else t
                                                 for t in protocol.TYPES))
    changed = protocol.typescript()
    assert changed != committed and "pinned: boolean;" in changed


def test_problems_name_the_field_and_what_is_wrong():
    ok = {"kind": "answer", "v": 1, "workflow": "w", "thread_id": "t", "id": "q", "value": {"any": ["json"]}}
    assert protocol.problems(ok, "SidebarToKernel") == []
    assert protocol.problems(dict(ok, option=2), "SidebarToKernel") == []
    assert protocol.problems({k: v for k, v in ok.items() if k != "id"}, "SidebarToKernel") == [
        {"field": "id", "message": "is missing"}]
    assert protocol.problems(dict(ok, option=True), "SidebarToKernel") == [
        {"field": "option", "message": "must be an integer, not a boolean"}]
    assert protocol.problems({"kind": "dance", "v": 1}, "SidebarToKernel")[0]["field"] == "kind"
    assert protocol.problems("list", "SidebarToKernel") == [
        {"field": "", "message": "a message is a JSON object, not a string"}]
    thread = {"key": "w/t", "workflow": "w", "thread_id": "t", "status": "sleeping", "last_activity": None,
              "checkpointer": "memory", "questions": [{"id": "q", "task": "ask", "summary": "?"}]}
    assert protocol.problems({"kind": "thread", "v": 1, "thread": thread}, "SidebarToFrontend") == [
        {"field": "thread.status", "message": 'must be one of "idle", "running", "interrupted", "done", "error" or '
                                              '"stopped", not "sleeping"'},
        {"field": "thread.questions[0].form", "message": "is missing"}]
    # the widget protocol's messages are checked the same way
    assert protocol.problems({"kind": "replay", "v": 2, "index": "3"}, "ToKernel") == [
        {"field": "index", "message": "must be an integer, not a string"}]


def test_the_front_end_folders_import_downward_only():
    """labextension/src: core/ (framework-free stores and renderers) imports neither widget/ nor lab/ nor a
    framework; widget/ (the anywidget glue) imports core/ only; lab/ (JupyterLab) may import core/, never widget/."""
    src = LABEXT / "src"
    imports = re.compile(r'^\s*(?:import|export)\b[^"\']*?from\s+["\']([^"\']+)["\']|^\s*import\s+["\']([^"\']+)["\']', re.M)
    seen = {}
    for folder, banned in (("core", ("widget", "lab", "@")), ("widget", ("lab", "@")), ("lab", ("widget",))):
        for path in sorted((src / folder).rglob("*.ts")):
            for m in imports.finditer(path.read_text()):
                target = m.group(1) or m.group(2)
                seen[path] = True
                where = (path.parent / target).resolve() if target.startswith(".") else None
                part = where.relative_to(src.resolve()).parts[0] if where and where.is_relative_to(src.resolve()) \
                    else target
                bad = [b for b in banned if part == b or (b == "@" and target.startswith("@"))]
                assert not bad, f"{path.relative_to(LABEXT)} imports {target}"
    assert len(seen) > 15


def test_the_generator_runs_as_a_script_with_no_nbflow_import(tmp_path):
    out = tmp_path / "p.ts"
    subprocess.run(["python3" if shutil.which("python3") else "python", str(ROOT / "nbflow/notebook/protocol.py"),
                    "--ts", str(out), "--schema", str(tmp_path / "s.json")], check=True, cwd=tmp_path)
    assert out.read_text() == protocol.typescript()
    assert json.loads((tmp_path / "s.json").read_text())["$defs"]["RunState"]["required"]


def _validate(value, schema: dict, defs: dict, where: str) -> None:
    """A small JSON-schema check for the subset the protocol uses (type, enum, anyOf, $ref, items)."""
    if "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[1]]
    if "anyOf" in schema:
        errors = []
        for option in schema["anyOf"]:
            try:
                _validate(value, option, defs, where)
                return
            except AssertionError as e:
                errors.append(str(e))
        raise AssertionError(f"{where}: {value!r} matches none of {errors}")
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"
        return
    kind = schema.get("type")
    checks = {"string": str, "boolean": bool, "null": type(None), "array": list, "object": dict}
    if kind == "integer":
        assert isinstance(value, int) and not isinstance(value, bool), f"{where}: {value!r} is not an integer"
    elif kind == "number":
        assert isinstance(value, (int, float)) and not isinstance(value, bool), f"{where}: {value!r} is not a number"
    elif kind in checks:
        assert isinstance(value, checks[kind]), f"{where}: {value!r} is not a {kind}"
    if kind == "array":
        for i, item in enumerate(value):
            _validate(item, schema["items"], defs, f"{where}[{i}]")
    if kind == "object":
        for name in schema.get("required", []):
            assert name in value, f"{where}: missing {name!r}"
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                _validate(value[name], sub, defs, f"{where}.{name}")


def test_real_payloads_validate_against_the_schema():
    schema = protocol.json_schema()
    defs = schema["$defs"]

    @task
    def ask(q: str) -> str:
        return interrupt({"question": q})

    @task
    def boom() -> int:
        raise ValueError("no")

    @entrypoint(checkpointer=InMemorySaver())
    def flow(x: int) -> str:
        a = ask("first?").result()
        if x:
            boom().result()
        return a

    cfg = {"configurable": {"thread_id": "p"}}
    m = ThreadModel("flow", "p")
    for e in flow.stream_events(0, cfg):
        m.apply(e)
    reset, rows, _ = m.take_changes()
    snap = protocol.message("snapshot", seq=m.seq, state=run_state(m), rows=rows)
    _validate(json.loads(json.dumps(snap)), {"$ref": "#/$defs/SnapshotMsg"}, defs, "snapshot")
    m.origin_hint = "test"
    for e in flow.stream_events(Command(resume="A"), cfg):
        m.apply(e)
    _r, rows, _ = m.take_changes()
    batch = protocol.message("batch", seq=m.seq, state=run_state(m), rows=rows)
    _validate(json.loads(json.dumps(batch)), {"$ref": "#/$defs/BatchMsg"}, defs, "batch")
    m2 = ThreadModel("flow", "q")
    for e in flow.stream_events(1, {"configurable": {"thread_id": "q"}}):
        m2.apply(e)
    _validate(json.loads(json.dumps(run_state(m2))), {"$ref": "#/$defs/RunState"}, defs, "state")
    with pytest.raises(AssertionError):
        _validate({"kind": "batch", "v": 2, "seq": "1", "rows": []}, {"$ref": "#/$defs/BatchMsg"}, defs, "bad")


def test_typescript_type_checks():
    """``tsc --noEmit`` over labextension/src (the front end against the generated protocol types)."""
    tsc = LABEXT / "node_modules" / ".bin" / "tsc"
    if shutil.which("node") is None or not tsc.exists():
        msg = "node or labextension/node_modules is missing (make js)"
        if os.environ.get("CI"):
            pytest.fail(msg + "; CI must install them")
        pytest.skip(msg)
    out = subprocess.run([str(tsc), "--noEmit", "-p", str(LABEXT)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
