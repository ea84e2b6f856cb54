"""Stored data is inert: a corpus of hostile rows, written straight into real SQLite files.

Each case starts from a real paused thread (a task result, a pending interrupt
with a JSON response schema) and rewrites one row. A separate, pre-warmed
interpreter then reads every case through ``get_state``,
``get_state_history``, the notebook inbox and resume
(``invoke(Command(resume=...))``) under an audit hook, and reports what it saw:
new ``sys.modules`` entries, files opened, sockets, subprocesses, methods
called on a canary class, and the error raised. An HTTP server on 127.0.0.1
counts requests, to prove no ``$ref`` is fetched.
"""

from __future__ import annotations

import http.server
import json
import os
import pickle
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from nbflow.serde.pieces import unsqueeze

ROOT = Path(__file__).resolve().parents[2]

# Imported by the test and by the reader process: the workflow and the canary.
WF_MODULE = '''
import dataclasses, enum
from typing import NamedTuple
from nbflow import entrypoint, task, interrupt

CALLS = []


def _log(name):
    def method(self, *a, **k):
        CALLS.append(name)
        raise RuntimeError(f"canary method {name} was called")
    return method


@dataclasses.dataclass(eq=False, repr=False)
class Canary:
    x: object = None


for _name in ("__hash__", "__eq__", "__ne__", "__lt__", "__str__", "__repr__", "__format__", "__iter__",
              "__len__", "__float__", "__int__", "__index__", "__complex__", "__bool__", "__fspath__",
              "__getitem__", "__contains__", "__reduce__", "__reduce_ex__", "__deepcopy__", "__copy__",
              "replace", "encode", "decode", "startswith", "strip", "keys", "items", "values", "get",
              "utcoffset", "tzname", "dst", "__getattr__"):
    setattr(Canary, _name, _log(_name))


# A frozen dataclass with its own __hash__ / __eq__, compiled from "<string>" as a class made with
# exec (or `python -c`) is: its methods look like the ones dataclasses generates, by file and name.
exec(compile("""
@dataclasses.dataclass(frozen=True)
class Sneaky:
    x: object = None

    def __hash__(self):
        return _log("__hash__")(self)

    def __eq__(self, other):
        return _log("__eq__")(self, other)
""", "<string>", "exec", dont_inherit=True), globals())


class Color(enum.Enum):
    RED = 1


class Pair(NamedTuple):
    a: object
    b: object = None


# check_args=False: the corpus swaps the stored input (the "channels" cases), so a resume calls
# fetch with other arguments than the recorded call on purpose; this test is about reading.
@task(check_args=False)
def fetch(x):
    return {"n": x, "color": Color.RED}


def make(saver):
    @entrypoint(checkpointer=saver)
    def flow(x):
        got = fetch(x).result()
        answer = interrupt({"question": "ok?", "got": got["n"]}, response_schema={"type": "string"})
        return {"got": got["n"], "answer": answer}
    return flow
'''

LAZY_MODULE = '''
LOADED = []


def __getattr__(name):
    LOADED.append(name)
    import wave  # noqa: F401 - a module nothing else imports: its arrival would show
    raise AttributeError(name)
'''

READER = r'''
import json, sys, os
sys.path.insert(0, sys.argv[1])
cases = json.loads(open(sys.argv[2]).read())

import pydantic  # imported, but not pydantic.main: its lazy imports stay armed
import nbflow, nbflow.notebook
from nbflow import Command
from nbflow.checkpoint.sqlite import SqliteSaver
from nbflow.errors import NbflowError
import inert_wf, lazymod

CFG = {"configurable": {"thread_id": "t"}}


def ops(wf):
    return [("get_state", lambda: wf.get_state(CFG)),
            ("get_state_history", lambda: list(wf.get_state_history(CFG))),
            ("inbox", lambda: nbflow.notebook.inbox(wf).items),
            ("resume", lambda: wf.invoke(Command(resume="yes"), CFG))]


# Pre-warm: every read path once on a clean copy, so lazy imports of nbflow's own
# dependencies (jsonschema, the widget stack...) are done before we watch.
warm = inert_wf.make(SqliteSaver(sys.argv[3]))
for name, op in ops(warm):
    op()
try:
    nbflow.serde.loads(b'{"__nb__": "tz", "zone": "Nowhere/Land"}')
except NbflowError:
    pass

flows = {c["name"]: inert_wf.make(SqliteSaver(c["db"])) for c in cases}
real_open = open
DB = tuple(c["db"] for c in cases)
events = []
WATCH = ("import", "open", "os.", "socket.", "urllib", "http.", "subprocess", "shutil", "ctypes",
         "compile", "exec", "sqlite3.connect", "glob", "pathlib")


# A failed run's traceback shows the user's own line: reading the workflow's source file (named by
# the running code object, never by stored data) is the one file read allowed.
OWN_SOURCE = os.path.abspath(inert_wf.__file__)


def hook(event, args):
    if event == "open" and args and isinstance(args[0], str) and os.path.abspath(args[0]) == OWN_SOURCE:
        return
    if event.startswith(WATCH):
        events.append((event, repr(args)[:200]))


sys.addaudithook(hook)
out = []
for c in cases:
    for name, op in ops(flows[c["name"]]):
        before = set(sys.modules)
        del events[:]
        del inert_wf.CALLS[:]
        del lazymod.LOADED[:]
        err = None
        try:
            op()
        except BaseException as e:  # noqa: BLE001 - reported to the test
            err = {"type": type(e).__name__, "nbflow": isinstance(e, NbflowError),
                   "message": str(e)[:600]}
        out.append({"case": c["name"], "op": name, "error": err, "events": list(events),
                    "modules": sorted(set(sys.modules) - before), "calls": list(inert_wf.CALLS),
                    "lazy": list(lazymod.LOADED)})
sys.stdout.write(json.dumps(out))
'''


class _Counter(http.server.BaseHTTPRequestHandler):
    hits: list = []

    def do_GET(self):
        type(self).hits.append(self.path)
        body = b'{"type": "integer"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server():
    _Counter.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", _Counter.hits
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def wf_module(tmp_path, monkeypatch):
    (tmp_path / "inert_wf.py").write_text(WF_MODULE)
    (tmp_path / "lazymod.py").write_text(LAZY_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("inert_wf", "lazymod"):
        sys.modules.pop(name, None)
    import inert_wf

    yield inert_wf
    for name in ("inert_wf", "lazymod"):
        sys.modules.pop(name, None)


def _base_db(path: Path, wf_module) -> None:
    from nbflow.checkpoint.sqlite import SqliteSaver

    saver = SqliteSaver(path)
    flow = wf_module.make(saver)
    flow.invoke(5, {"configurable": {"thread_id": "t"}})
    assert flow.get_state({"configurable": {"thread_id": "t"}}).interrupts
    saver.close()  # the WAL is folded into the file: a plain copy is complete


def _dc(cls: str, **f) -> dict:
    return {"__nb__": "dataclass", "cls": cls, "f": f}


CANARY = _dc("inert_wf:Canary")
SNEAKY = _dc("inert_wf:Sneaky", x=1)


def _channels(value) -> bytes:
    return json.dumps({"__start__": value}).encode()


def _hostile_cases(url: str) -> list[tuple[str, str, object]]:
    """(name, target, new value). target: which row/column is rewritten."""
    cases: list[tuple[str, str, object]] = []

    def ch(name, value, raw=False):
        cases.append((name, "channels", value if raw else _channels(value)))

    # names of dangerous or lazily-loaded things, in every tag that names a class
    for ref in ("os:system", "subprocess:Popen", "builtins:eval", "builtins:exec", "posix:system",
                "not_imported_mod:Thing", "nbflow:show", "pydantic:validate_call", "pydantic:BaseModel",
                "lazymod:Thing", "inert_wf:make", "inert_wf:fetch"):
        for tag in ("dataclass", "pydantic", "enum", "namedtuple"):
            ch(f"{tag}-{ref}", {"__nb__": tag, "cls": ref, "f": {}, "v": ["ls"], "root": 1})
    ch("ext-unregistered", {"__nb__": "ext", "name": "os.system", "v": "ls"})
    ch("path-popen", {"__nb__": "path", "cls": "Popen", "v": "/bin/sh"})
    ch("reduce-tag", {"__nb__": "reduce", "f": "os:system", "args": ["ls"]})
    ch("pickle-bytes", pickle.dumps(os.system), raw=True)
    ch("pickle-in-bytes-tag", {"__nb__": "bytes", "v": "gASVEwAAAAAAAACMBXBvc2l4lIwGc3lzdGVtlJOULg=="})
    # jsonpickle / LangChain-style constructor payloads are plain data to nbflow: read back as dicts
    ch("jsonpickle", {"py/reduce": [{"py/function": "os.system"}, {"py/tuple": ["touch /tmp/x"]}]})
    ch("langchain-constructor", {"lc": 1, "type": "constructor", "id": ["subprocess", "Popen"],
                                 "kwargs": {"args": ["ls"]}})
    # size, depth, digits, malformed
    ch("deep-100k", b'{"__start__": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", raw=True)
    ch("deep-600-tagged", b'{"__start__": ' + b'{"__nb__": "tuple", "v": [' * 300 + b"]}" * 300 + b"}", raw=True)
    ch("deep-450", b'{"__start__": ' + b"[" * 450 + b"]" * 450 + b"}", raw=True)
    ch("huge-int-decimal", b'{"__start__": 1' + b"0" * 5000 + b"}", raw=True)
    ch("huge-int-hex", {"__nb__": "int", "v": "f" * 200_000})
    ch("huge-decimal", {"__nb__": "decimal", "v": "1" * 200_000})
    ch("malformed-json", b'{"__start__": [1, 2', raw=True)
    ch("not-utf8", b"\xff\xfe\x00\x01", raw=True)
    ch("empty", b"", raw=True)
    ch("channels-not-a-dict", b"[1, 2, 3]", raw=True)
    ch("nan-literal", b'{"__start__": NaN}', raw=True)
    # time zones: only loaded zones, never the tz database
    ch("tz-unloaded", {"__nb__": "datetime", "v": [2024, 1, 1, 0, 0, 0, 0],
                       "tz": {"__nb__": "tz", "zone": "America/Argentina/Ushuaia"}})
    ch("tz-traversal", {"__nb__": "tz", "zone": "../../../etc/passwd"})
    # the canary: revived (its constructor is allowed), then smuggled where a method would run
    ch("canary-alone", CANARY)
    for tag, doc in {
        "decimal": {"__nb__": "decimal", "v": CANARY}, "path": {"__nb__": "path", "cls": "Path", "v": CANARY},
        "set": {"__nb__": "set", "v": [CANARY]}, "frozenset": {"__nb__": "frozenset", "v": [1, CANARY]},
        "dict-key": {"__nb__": "dict", "v": [[CANARY, 1]]}, "counter": {"__nb__": "counter", "v": [[CANARY, 1]]},
        "odict": {"__nb__": "odict", "v": [[CANARY, 1]]}, "tuple": {"__nb__": "tuple", "v": CANARY},
        "complex": {"__nb__": "complex", "v": [CANARY, 1.0]}, "deque": {"__nb__": "deque", "v": [], "maxlen": CANARY},
        "datetime-fold": {"__nb__": "datetime", "v": [2024, 1, 1, 0, 0, 0, 0], "tz": None, "fold": CANARY},
        "datetime-tz": {"__nb__": "datetime", "v": [2024, 1, 1, 0, 0, 0, 0], "tz": CANARY},
        "uuid": {"__nb__": "uuid", "v": CANARY}, "date": {"__nb__": "date", "v": CANARY},
        "int": {"__nb__": "int", "v": CANARY}, "float": {"__nb__": "float", "v": CANARY},
        "bytes": {"__nb__": "bytes", "v": CANARY}, "timedelta": {"__nb__": "timedelta", "v": CANARY},
        "enum-value": {"__nb__": "enum", "cls": "inert_wf:Color", "v": CANARY},
        "namedtuple": {"__nb__": "namedtuple", "cls": "inert_wf:Pair", "v": CANARY},
        "dataclass-fields": {"__nb__": "dataclass", "cls": "inert_wf:Canary", "f": CANARY},
        "tz-name": {"__nb__": "tz", "offset": [0, 3600, 0], "name": CANARY},
        "ndarray-shape": {"__nb__": "ndarray", "dtype": "O", "shape": CANARY, "v": []},
        "class-ref": {"__nb__": "dataclass", "cls": CANARY, "f": {}},
        "ext-name": {"__nb__": "ext", "name": CANARY, "v": 1},
        "path-cls": {"__nb__": "path", "cls": CANARY, "v": "x"},
        "tag": {"__nb__": CANARY},
        "zone-key": {"__nb__": "tz", "zone": CANARY},
        "enum-missing": {"__nb__": "enum", "cls": "inert_wf:Color", "v": [CANARY]},
        "own-hash-set": {"__nb__": "set", "v": [SNEAKY]},
        "own-hash-frozenset": {"__nb__": "frozenset", "v": [1, SNEAKY]},
        "own-hash-dict-key": {"__nb__": "dict", "v": [[SNEAKY, 1]]},
        "own-hash-nested": {"__nb__": "set", "v": [{"__nb__": "tuple", "v": [1, SNEAKY]}]},
    }.items():
        ch(f"canary-{tag}", doc)
    # stored column types
    # (TEXT columns convert numbers to text on the way in, so a BLOB is what breaks them)
    for col, value in (("channels", 300_000_000), ("channels", 2**60), ("metadata", 1.5), ("step", "x"),
                       ("created_at", b"\x00"), ("parent_id", b"\x07"), ("source", b"input")):
        cases.append((f"column-{col}-{type(value).__name__}", f"ckpt-column:{col}", value))
    for col, value in (("payload", 300_000_000), ("payload", 2**60), ("kind", b"interrupt"), ("wave", "w"),
                       ("path", b"\x00"), ("started_at", "yesterday")):
        cases.append((f"write-column-{col}-{type(value).__name__}", f"write-column:{col}", value))
    # task results (read when resume replays the task)
    for name, value in (("result-os-system", _dc("os:system")), ("result-canary-set", {"__nb__": "set", "v": [CANARY]}),
                        ("result-deep", None), ("result-malformed", None)):
        raw = (b"[" * 50_000 + b"]" * 50_000 if name == "result-deep" else b"{oops" if name == "result-malformed"
               else json.dumps(value).encode())
        cases.append((name, "result", raw))
    # interrupt rows: schema_ref names, JSON-schema references, shapes
    for ref in ("nbflow:show", "pydantic:validate_call", "lazymod:Thing", "os:system", "builtins:eval",
                "not_imported_mod:Model", "inert_wf:Canary"):
        cases.append((f"schema_ref-{ref}", "interrupt-field:schema_ref", ref))
    for name, schema in (
        ("ref-http", {"$ref": f"{url}/schema.json"}),
        ("ref-http-nested", {"type": "object", "properties": {"a": {"$ref": f"{url}/a.json#/x"}}}),
        ("ref-file", {"$ref": "file:///etc/hostname"}),
        ("ref-file-passwd", {"$ref": "file:///etc/passwd#/x"}),
        ("ref-urn", {"$ref": "urn:example:thing"}),
        ("ref-relative", {"$ref": "other.json"}),
        ("ref-id-rebased", {"$id": f"{url}/", "$ref": "#/definitions/x"}),
        ("dynamic-ref-http", {"$dynamicRef": f"{url}/d.json"}),
        ("ref-not-a-string", {"$ref": CANARY}),
        ("const-canary", {"const": CANARY}),
        ("enum-canary", {"enum": [{"__nb__": "set", "v": [1]}, CANARY]}),
        ("pattern-backtracking", {"type": "string", "pattern": r"^(\w+\s?)+$"}),
        ("pattern-properties-backtracking", {"type": "object", "patternProperties": {"^(a|a+)+$": {}}}),
    ):
        cases.append((f"json_schema-{name}", "interrupt-field:json_schema", schema))
    for name, payload in (("interrupt-not-a-list", {"id": 1}), ("interrupt-entry-int", [5]),
                          ("interrupt-id-canary", [{"id": CANARY}]), ("interrupt-entry-canary", [CANARY])):
        cases.append((name, "interrupt-payload", json.dumps(payload).encode()))
    # extra rows: a root error and a resume answer of the wrong shape
    for name, kind, payload in (("error-row-list", "error", b"[1]"),
                                ("error-row-canary", "error", json.dumps({"type": CANARY, "message": "m"}).encode()),
                                ("resume-row-list", "resume", b"[1, 2]"),
                                ("resume-row-int", "resume", 123)):
        cases.append((name, f"extra:{kind}", payload))
    return cases


def _apply(db: Path, target: str, value) -> None:
    conn = sqlite3.connect(db)
    try:
        kind, _, field = target.partition(":")
        if kind == "channels":
            conn.execute("UPDATE checkpoints SET channels = ?", (value,))
        elif kind == "ckpt-column":
            conn.execute(f"UPDATE checkpoints SET {field} = ?", (value,))
        elif kind == "write-column":
            conn.execute(f"UPDATE writes SET {field} = ? WHERE kind = 'interrupt'", (value,))
        elif kind == "result":
            conn.execute("UPDATE writes SET payload = ? WHERE kind = 'result'", (value,))
        elif kind == "interrupt-payload":
            conn.execute("UPDATE writes SET payload = ? WHERE kind = 'interrupt'", (value,))
        elif kind == "interrupt-field":
            (payload,) = conn.execute("SELECT payload FROM writes WHERE kind = 'interrupt'").fetchone()
            items = json.loads(unsqueeze(payload))  # stored compressed when long
            items[0][field] = value
            conn.execute("UPDATE writes SET payload = ? WHERE kind = 'interrupt'", (json.dumps(items).encode(),))
        elif kind == "extra":
            row = conn.execute("SELECT thread_id, checkpoint_ns, checkpoint_id, task_id, name FROM writes "
                               "WHERE kind = 'interrupt'").fetchone()
            conn.execute("INSERT INTO writes (thread_id, checkpoint_ns, checkpoint_id, task_id, name, path, kind,"
                         " payload) VALUES (?, ?, ?, ?, ?, '', ?, ?)", (*row, field, value))
        else:  # pragma: no cover
            raise AssertionError(target)
        conn.commit()
    finally:
        conn.close()


# Cases whose rows are harmless data: reading them must succeed (and stay inert).
HARMLESS = {"jsonpickle", "langchain-constructor", "canary-alone", "nan-literal", "pickle-in-bytes-tag"} | {
    f"schema_ref-{r}" for r in ("nbflow:show", "pydantic:validate_call", "lazymod:Thing", "os:system",
                                "builtins:eval", "not_imported_mod:Model", "inert_wf:Canary")}
# Cases only the resume path reads (get_state does not decode task results).
RESUME_ONLY = {"result-os-system", "result-canary-set", "result-deep", "result-malformed"}


def test_hostile_rows_are_inert(tmp_path, wf_module, http_server):
    url, hits = http_server
    base = tmp_path / "base.sqlite"
    _base_db(base, wf_module)
    shutil.copy(base, tmp_path / "warm.sqlite")
    cases = []
    for i, (name, target, value) in enumerate(_hostile_cases(url)):
        db = tmp_path / f"case{i}.sqlite"
        shutil.copy(base, db)
        _apply(db, target, value)
        cases.append({"name": name, "db": str(db)})
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    (tmp_path / "reader.py").write_text(READER)
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{tmp_path}"}
    proc = subprocess.run([sys.executable, str(tmp_path / "reader.py"), str(tmp_path), str(tmp_path / "cases.json"),
                           str(tmp_path / "warm.sqlite")], capture_output=True, text=True, env=env, timeout=600,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-4000:]
    results = json.loads(proc.stdout)
    assert len(results) == 4 * len(cases)
    problems = []
    by_case: dict[str, list] = {}
    for r in results:
        by_case.setdefault(r["case"], []).append(r)
        tag = f"{r['case']} / {r['op']}"
        if r["modules"]:
            problems.append(f"{tag}: imported {r['modules'][:8]}")
        if r["events"]:
            problems.append(f"{tag}: audit events {r['events'][:4]}")
        if r["calls"]:
            problems.append(f"{tag}: canary methods called {r['calls']}")
        if r["lazy"]:
            problems.append(f"{tag}: a lazy module __getattr__ ran for {r['lazy']}")
        err = r["error"]
        if err is not None:
            if not err["nbflow"] or err["type"] != "DeserializationError":
                problems.append(f"{tag}: {err['type']}: {err['message'][:300]}")
            elif "thread 't'" not in err["message"] or "checkpoint" not in err["message"]:
                problems.append(f"{tag}: the error does not name the thread and checkpoint: {err['message'][:300]}")
    for name, rs in by_case.items():
        errors = {r["op"]: r["error"] for r in rs}
        if name in HARMLESS:
            bad = {op: e for op, e in errors.items() if e is not None}
            if bad:
                problems.append(f"{name}: harmless data was refused: {bad}")
        elif name in RESUME_ONLY:
            if errors["resume"] is None:
                problems.append(f"{name}: resume did not refuse the row")
        elif errors["get_state"] is None or errors["resume"] is None:
            problems.append(f"{name}: not refused ({ {op: e is None for op, e in errors.items()} })")
    assert not problems, "\n".join(problems)
    assert hits == [], f"the reader fetched {hits}"


def test_column_type_errors_name_the_row(tmp_path, wf_module):
    """An INTEGER payload is refused before any allocation: no bytes(n), no MemoryError."""
    from nbflow.checkpoint.sqlite import SqliteSaver
    from nbflow.errors import DeserializationError

    base = tmp_path / "base.sqlite"
    _base_db(base, wf_module)
    for value in (300_000_000, 2**60):
        _apply(base, "channels", value)
        saver = SqliteSaver(base)
        flow = wf_module.make(saver)
        with pytest.raises(DeserializationError) as ei:
            flow.get_state({"configurable": {"thread_id": "t"}})
        msg = str(ei.value)
        assert "column 'channels' holds a int, expected" in msg and "thread 't'" in msg and "checkpoint" in msg
        saver.close()


def test_interrupt_with_remote_ref_is_refused_when_called(tmp_path, http_server):
    """The author sees the error at interrupt() time, and nothing is fetched."""
    from nbflow import entrypoint, interrupt
    from nbflow.checkpoint.sqlite import SqliteSaver
    from nbflow.schema import UnsafeSchemaError

    url, hits = http_server
    saver = SqliteSaver(tmp_path / "x.sqlite")
    schemas = [{"$ref": f"{url}/x.json"}, {"properties": {"a": {"$ref": "file:///etc/hostname"}}},
               {"$id": f"{url}/", "$ref": "#/x"}]

    @entrypoint(checkpointer=saver)
    def ask(i):
        return interrupt("?", response_schema=schemas[i])

    for i in range(len(schemas)):
        with pytest.raises(UnsafeSchemaError, match="only in-document|Remove the \\$id"):
            ask.invoke(i, {"configurable": {"thread_id": f"t{i}"}})
    assert hits == []
    saver.close()


def test_validation_never_retrieves_even_past_the_static_check(http_server):
    """The registry itself refuses retrieval: a clear nbflow error, not _WrappedReferencingError."""
    from jsonschema import Draft202012Validator

    from nbflow import schema
    from nbflow.errors import ConfigError, NbflowError

    url, hits = http_server
    for ref in (f"{url}/x.json", "file:///etc/hostname"):
        validator = Draft202012Validator({"$ref": ref}, registry=schema._registry())
        with pytest.raises(Exception) as ei:
            list(validator.iter_errors(5))
        assert "Unresolvable" in repr(ei.value)  # refused by our registry, not fetched
        with pytest.raises(ConfigError) as ei2:
            schema.validate_value({"$ref": ref}, 5)
        assert isinstance(ei2.value, NbflowError)
    assert hits == []
    # in-document references still work
    doc = {"$defs": {"n": {"type": "integer"}}, "$ref": "#/$defs/n"}
    assert schema.validate_value(doc, 5) == 5
    with pytest.raises(Exception, match="resume value does not match"):
        schema.validate_value(doc, "x")


def test_schema_ref_never_fires_lazy_getattr():
    code = textwrap.dedent("""
        import sys, pydantic, nbflow
        from nbflow.schema import resolve_schema_ref
        before = set(sys.modules)
        for ref in ("nbflow:show", "nbflow:inbox", "pydantic:validate_call", "pydantic:BaseModel", "os:system"):
            assert resolve_schema_ref(ref) is None, ref
        new = set(sys.modules) - before
        assert not new, sorted(new)[:10]
        print("ok")
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-3000:]


def test_loading_imports_no_submodules_of_imported_libraries():
    """A pydantic tag never fires pydantic's lazy imports; a tz tag never reads the tz database."""
    code = textwrap.dedent("""
        import datetime as dt, json, sys
        import pydantic
        from pydantic import BaseModel
        import nbflow.serde as serde
        from nbflow.errors import DeserializationError

        class M(BaseModel):
            x: int
            when: dt.datetime | None = None

        m = M(x=1, when=dt.datetime(2024, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=2))))
        data = serde.dumps(m)
        serde.loads(data)  # warm: the first validation may finish pydantic's own setup
        events = []
        sys.addaudithook(lambda e, a: events.append(e) if e in ("open", "import") else None)
        before = set(sys.modules)
        assert serde.loads(data) == m
        refused = 0
        for doc in ({"__nb__": "pydantic", "cls": "pydantic:validate_call", "f": {}},
                    {"__nb__": "pydantic", "cls": "pydantic:RootModel", "root": 1},
                    {"__nb__": "pydantic", "cls": "pydantic.networks:AnyUrl", "f": {}},
                    {"__nb__": "dataclass", "cls": "pydantic.dataclasses:dataclass", "f": {}},
                    {"__nb__": "tz", "zone": "Europe/Paris"},
                    {"__nb__": "tz", "zone": "Antarctica/Troll"}):
            try:
                serde.loads(json.dumps(doc).encode())
            except DeserializationError:
                refused += 1
        new = set(sys.modules) - before
        assert refused == 6 and not new and not events, (refused, sorted(new)[:10], events[:5])
        print("ok")
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr[-3000:]


SCHEMA_AFTER_RESTART = r'''
import sys
sys.path.insert(0, sys.argv[1])
from nbflow import Command, ResumeValidationError, entrypoint, task
from nbflow.checkpoint.sqlite import SqliteSaver
import inert_wf

# Warm what is not about schemas: the engine, on a run without one, on another database.
warm_saver = SqliteSaver(sys.argv[3])

@task
def step(x):
    return x

@entrypoint(checkpointer=warm_saver)
def warm(x):
    return step(x).result()

warm.invoke(1, {"configurable": {"thread_id": "w"}})
list(warm.get_state_history({"configurable": {"thread_id": "w"}}))

saver = SqliteSaver(sys.argv[2])  # after a restart: the first thing that opens the database
flow = inert_wf.make(saver)
cfg = {"configurable": {"thread_id": "t"}}
before = set(sys.modules)
assert flow.get_state(cfg).interrupts
try:
    flow.invoke(Command(resume=5), cfg)  # not a string: refused by the stored JSON schema
    raise SystemExit("the stored schema did not refuse 5")
except ResumeValidationError:
    pass
assert flow.invoke(Command(resume="yes"), cfg) == {"got": 5, "answer": "yes"}
new = sorted(set(sys.modules) - before)
print("NEW", new)
'''


def test_first_schema_validation_after_a_restart_imports_nothing(tmp_path, wf_module):
    """Reading a stored interrupt and validating answers against its JSON schema in a new process."""
    base = tmp_path / "base.sqlite"
    _base_db(base, wf_module)
    (tmp_path / "restart.py").write_text(SCHEMA_AFTER_RESTART)
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{tmp_path}"}
    proc = subprocess.run([sys.executable, str(tmp_path / "restart.py"), str(tmp_path), str(base),
                           str(tmp_path / "warm.sqlite")], capture_output=True, text=True, env=env, timeout=300,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    new = json.loads(proc.stdout.split("NEW", 1)[1].replace("'", '"'))
    assert new == [], f"reading and validating imported {len(new)} modules: {new[:12]}"
