"""The magics, through IPython's own shell: %%entrypoint (both forms), %entrypoint, %nbflow."""

from __future__ import annotations

import traceback

import pytest
from IPython.core.error import UsageError

import nbflow
from nbflow import InMemorySaver, SqliteSaver, Workflow
from nbflow.notebook.magics import Mermaid, parse_options, transform_entrypoint_cell
from nbflow.notebook.session import Session, parse_spec, reset_session
from nbflow.notebook.widgets import Inbox, RunView, Timeline


def start_ipython():
    """IPython's own test shell (one per process)."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.testing import globalipapp

    globalipapp.start_ipython()
    return InteractiveShell.instance()


@pytest.fixture
def ip(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NBFLOW_CHECKPOINTER", raising=False)
    reset_session(Session(tmp_path))
    shell = start_ipython()
    before = set(shell.user_ns)
    shell.run_line_magic("load_ext", "nbflow.notebook")
    shell.run_cell("from nbflow import task, interrupt, entrypoint, InMemorySaver")
    yield shell
    shell.run_line_magic("unload_ext", "nbflow.notebook")
    for name in set(shell.user_ns) - before:
        shell.user_ns.pop(name, None)
    reset_session(Session(tmp_path))


def ok(ip, cell):
    r = ip.run_cell(cell)
    assert r.success, (r.error_before_exec, r.error_in_exec)
    return r.result


# ---------------------------------------------------------------------------- %%entrypoint, def form
def test_def_form_uses_the_sqlite_default(ip, tmp_path):
    ok(ip, "@task\ndef double(x):\n    return 2 * x\n")
    assert ok(ip, "%%entrypoint flow\ndef flow(x: int) -> int:\n    return double(x).result() + 1\n") is None
    wf = ip.user_ns["flow"]
    assert isinstance(wf, Workflow) and wf.name == "flow"
    assert isinstance(wf.checkpointer, SqliteSaver)
    assert (tmp_path / ".nbflow" / "checkpoints.sqlite").is_file()
    assert wf.invoke(4, {"configurable": {"thread_id": "x"}}) == 9


def test_def_form_keeps_an_explicit_checkpointer(ip):
    ok(ip, "saver = InMemorySaver()")
    ok(ip, "%%entrypoint flow\n@entrypoint(checkpointer=saver)\ndef flow(x):\n    return x\n")
    assert ip.user_ns["flow"].checkpointer is ip.user_ns["saver"]


def test_def_form_by_assignment(ip):
    ok(ip, "def plain(x):\n    return x * 3\n")
    ok(ip, "%%entrypoint tripled\ntripled = entrypoint()(plain)\n")
    wf = ip.user_ns["tripled"]
    assert isinstance(wf, Workflow) and isinstance(wf.checkpointer, SqliteSaver)
    assert wf.invoke(2, {"configurable": {"thread_id": "t"}}) == 6


# ---------------------------------------------------------------------------- body form
def test_body_form_with_run_shows_a_view_and_numbers_threads(ip):
    view = ok(ip, '%%entrypoint greet --run {"name": "Ada"}\nreturn f"hello {inputs[\'name\']}"\n')
    assert isinstance(view, RunView)
    assert view.wait(60) == "done" and view.value == "hello Ada"
    assert view.thread_id == "greet-1"
    again = ok(ip, '%%entrypoint greet --run {"name": "Bob"}\nreturn f"hello {inputs[\'name\']}"\n')
    again.wait(60)
    assert again.thread_id == "greet-2"
    threads = ip.user_ns["greet"].list_threads()
    assert {"greet-1", "greet-2"} <= set(threads)  # re-running the cell kept the threads


def test_body_form_interrupt_then_resume_with_thread_and_wait(ip):
    view = ok(ip, '%%entrypoint ask --thread t1 --wait --run "cats"\n'
                  'answer = interrupt(f"Like {inputs}?")\n'
                  'return {"topic": inputs, "answer": answer}\n')
    assert view.status == "interrupted" and view.thread_id == "t1"
    assert view.transcript == "ask · thread t1 · waiting for input\n  ? 'Like cats?'"
    view.resume("yes")
    assert view.wait(60) == "done" and view.value == {"topic": "cats", "answer": "yes"}
    # --thread without --run shows the stored thread
    shown = ok(ip, '%%entrypoint ask --thread t1\nanswer = interrupt(f"Like {inputs}?")\nreturn answer\n')
    assert isinstance(shown, RunView) and shown.status == "done"


def test_body_form_keeps_multiline_strings_and_gets_previous(ip):
    cell = ('%%entrypoint counter --thread c --run 1\n'
            'text = """first\nsecond"""\n'
            'if previous is None:\n'
            '    return {"n": inputs, "text": text}\n'
            'return {"n": previous["n"] + inputs, "text": text}\n')
    view = ok(ip, cell)
    view.wait(60)
    assert view.value == {"n": 1, "text": "first\nsecond"}
    view = ok(ip, cell)
    view.wait(60)
    assert view.value["n"] == 2


def test_async_body(ip):
    view = ok(ip, "%%entrypoint later --run 5\nimport asyncio\nawait asyncio.sleep(0)\nreturn inputs * 2\n")
    assert view.wait(60) == "done" and view.value == 10
    assert ip.user_ns["later"].is_async


def test_comment_only_body_and_no_return(ip):
    ok(ip, "%%entrypoint nothing\n# nothing yet\n")
    assert ip.user_ns["nothing"].invoke(1, {"configurable": {"thread_id": "n"}}) is None


def test_runtime_traceback_points_at_the_cell_line(ip):
    ok(ip, "%%entrypoint crash\nx = 1\ny = inputs\nreturn x / y\n")
    wf = ip.user_ns["crash"]
    with pytest.raises(ZeroDivisionError) as info:
        wf.invoke(0, {"configurable": {"thread_id": "c"}})
    frame = [f for f in traceback.extract_tb(info.value.__traceback__) if f.name == "crash"][-1]
    assert frame.lineno == 4 and frame.line == "return x / y"


# ---------------------------------------------------------------------------- errors
@pytest.mark.parametrize("cell,lineno", [
    ("%%entrypoint bad\nx = 1\ny = (\nreturn 3\n", 3),
    ("%%entrypoint bad\ndef bad(x):\n    return x +\n", 3),
    ("%%entrypoint bad\nx = 1\n\n  y = 2\n", 4),
])
def test_syntax_errors_are_ipythons_own_with_the_cell_line(ip, cell, lineno):
    r = ip.run_cell(cell)
    assert isinstance(r.error_before_exec, SyntaxError)
    assert r.error_before_exec.lineno == lineno
    assert "bad" not in ip.user_ns


@pytest.mark.parametrize("line,message", [
    ("%%entrypoint", "give one workflow name"),
    ("%%entrypoint 1bad", "not a valid Python name"),
    ("%%entrypoint a b", "give one workflow name"),
    ("%%entrypoint f --bogus", "unknown option --bogus"),
    ("%%entrypoint f --thread", "--thread needs a value"),
    ("%%entrypoint f --run", "--run needs an expression"),
    ("%%entrypoint f --run (1,", "is not a Python expression"),
])
def test_bad_options_are_usage_errors(ip, line, message):
    r = ip.run_cell(line + "\nreturn 1\n")
    assert isinstance(r.error_before_exec, UsageError)
    assert message in str(r.error_before_exec)


def test_bad_checkpointer_option(ip):
    r = ip.run_cell("%%entrypoint f --checkpointer sqlite_nope\nreturn 1\n")
    assert isinstance(r.error_in_exec, UsageError) and "sqlite_nope" in str(r.error_in_exec)
    r = ip.run_cell("%%entrypoint f --checkpointer 42\nreturn 1\n")
    assert isinstance(r.error_in_exec, UsageError) and "not an nbflow saver" in str(r.error_in_exec)


def test_checkpointer_options(ip, tmp_path):
    ok(ip, "%%entrypoint a --checkpointer memory\nreturn 1\n")
    ok(ip, "%%entrypoint b --checkpointer memory\nreturn 1\n")
    assert isinstance(ip.user_ns["a"].checkpointer, InMemorySaver)
    assert ip.user_ns["a"].checkpointer is ip.user_ns["b"].checkpointer
    ok(ip, "%%entrypoint c --checkpointer sqlite:runs/c.sqlite\nreturn 1\n")
    assert (tmp_path / "runs" / "c.sqlite").is_file()
    ok(ip, "mine = InMemorySaver()")
    ok(ip, "%%entrypoint d --checkpointer mine\nreturn 1\n")
    assert ip.user_ns["d"].checkpointer is ip.user_ns["mine"]


def test_run_cell_magic_directly(ip):
    view = ip.run_cell_magic("entrypoint", "direct --run 3", "return inputs + 1\n")
    assert view.wait(60) == "done" and view.value == 4


# ---------------------------------------------------------------------------- %nbflow
def test_nbflow_settings_and_switching_the_default(ip, capsys, tmp_path):
    ip.run_line_magic("nbflow", "")
    out = capsys.readouterr().out
    assert "checkpointer: sqlite:.nbflow/checkpoints.sqlite (default)" in out
    assert "workflows: none yet" in out
    ip.run_line_magic("nbflow", "checkpointer memory")
    assert "checkpointer: memory (for workflows defined from now on)" in capsys.readouterr().out
    ok(ip, "%%entrypoint m\nreturn 1\n")
    assert isinstance(ip.user_ns["m"].checkpointer, InMemorySaver)
    ip.run_line_magic("nbflow", "checkpointer sqlite:other.sqlite")
    ok(ip, "%%entrypoint s\nreturn 1\n")
    assert isinstance(ip.user_ns["s"].checkpointer, SqliteSaver)
    assert (tmp_path / "other.sqlite").is_file()
    ip.run_line_magic("nbflow", "")
    out = capsys.readouterr().out
    assert "checkpointer: sqlite:other.sqlite (%nbflow checkpointer)" in out
    assert "workflows: m (memory), s (sqlite:other.sqlite)" in out
    with pytest.raises(UsageError, match="unknown checkpointer"):
        ip.run_line_magic("nbflow", "checkpointer redis://x")
    with pytest.raises(UsageError, match="unknown command"):
        ip.run_line_magic("nbflow", "frobnicate")


def test_env_var_overrides_the_default(tmp_path, monkeypatch):
    monkeypatch.setenv("NBFLOW_CHECKPOINTER", "memory")
    s = Session(tmp_path)
    assert s.default.kind == "memory" and s.default_source == "$NBFLOW_CHECKPOINTER"
    assert isinstance(s.default_saver(), InMemorySaver)
    monkeypatch.setenv("NBFLOW_CHECKPOINTER", "sqlite:x/y.sqlite")
    s = Session(tmp_path)
    assert s.default.path == tmp_path / "x" / "y.sqlite"
    with pytest.raises(ValueError):
        parse_spec("postgres://")


def test_history_graph_and_inbox(ip):
    view = ok(ip, '%%entrypoint review --wait --run "cats"\nreturn interrupt("ok?")\n')
    assert view.status == "interrupted"
    tl = ip.run_line_magic("nbflow", "history review")
    assert isinstance(tl, Timeline) and tl.thread_id == "review-1"
    assert ip.run_line_magic("nbflow", "history review --thread review-1").data["invocations"][0]["status"] == \
        "interrupted"
    graph = ip.run_line_magic("nbflow", "graph review --thread review-1")
    assert isinstance(graph, Mermaid)
    bundle = graph._repr_mimebundle_()
    assert bundle["text/vnd.mermaid"].startswith("flowchart TD") and bundle["text/plain"] == graph.text
    box = ip.run_line_magic("nbflow", "inbox")
    assert isinstance(box, Inbox) and [i["thread_id"] for i in box.items] == ["review-1"]
    assert ip.run_line_magic("nbflow", "inbox review").items[0]["workflow"] == "review"
    with pytest.raises(UsageError, match="no workflow named"):
        ip.run_line_magic("nbflow", "history nope")
    with pytest.raises(UsageError, match="usage"):
        ip.run_line_magic("nbflow", "graph")
    with pytest.raises(UsageError, match="no invocation"):
        ip.run_line_magic("nbflow", "graph review --thread empty")


# ---------------------------------------------------------------------------- pieces
def test_threads_and_prune(ip, capsys):
    ok(ip, "%%entrypoint chat\nreturn [*(previous or []), inputs] * 1\n")
    wf = ip.user_ns["chat"]
    for thread, n in (("long", 30), ("short", 2)):
        for i in range(n):
            wf.invoke(f"message {i} " + "words " * 20, {"configurable": {"thread_id": thread}})
    table = ip.run_line_magic("nbflow", "threads")
    rows = {r[2]: r for r in table.rows}
    assert rows["long"][3] == 60 and rows["short"][3] == 4  # an input and a loop checkpoint per turn
    assert rows["long"][4] > rows["short"][4] > 0
    bundle = table._repr_mimebundle_()
    assert "long" in bundle["text/plain"] and "<table" in bundle["text/html"]
    assert ip.run_line_magic("nbflow", "threads chat").rows == table.rows
    capsys.readouterr()
    ip.run_line_magic("nbflow", "prune chat --thread long --keep 4 --vacuum")
    said = capsys.readouterr().out
    assert "pruned thread 'long' of chat: 56 checkpoints" in said and "→" in said
    assert len(wf.checkpointer.list_checkpoints("long")) == 4
    assert wf.invoke("one more", {"configurable": {"thread_id": "long"}})[-1] == "one more"
    assert len(wf.get_state({"configurable": {"thread_id": "long"}}).values) == 31
    for bad, message in (("prune", "usage"), ("prune chat --keep 0 --thread long", "at least 1"),
                         ("prune chat --keep", "needs a number"), ("prune chat --frob", "unexpected")):
        with pytest.raises(UsageError, match=message):
            ip.run_line_magic("nbflow", bad)


def test_parse_options():
    o = parse_options("flow --checkpointer=memory --thread t --wait --run {'a': 1, 'b': [2, 3]}")
    assert (o.name, o.checkpointer, o.thread, o.wait, o.run) == ("flow", "memory", "t", True, "{'a': 1, 'b': [2, 3]}")


def test_transformer_keeps_line_numbers():
    lines = transform_entrypoint_cell(["%%entrypoint f\n", "x = '''a\n", "b'''\n", "return x"])
    assert lines == ["def f(inputs, previous=None):\n", "    x = '''a\n", "b'''\n", "    return x\n",
                     "get_ipython().run_line_magic('entrypoint', 'f')\n"]
    assert transform_entrypoint_cell(["x = 1\n"]) == ["x = 1\n"]
    assert transform_entrypoint_cell(["%%entrypointx\n"]) == ["%%entrypointx\n"]


def test_load_ext_nbflow_itself():
    if not hasattr(nbflow, "load_ipython_extension"):
        pytest.skip("nbflow/__init__.py does not expose load_ipython_extension yet (see the notebook report)")
    shell = start_ipython()
    shell.run_line_magic("load_ext", "nbflow")
    try:
        assert "entrypoint" in shell.magics_manager.magics["cell"]
        assert "nbflow" in shell.magics_manager.magics["line"]
    finally:
        shell.run_line_magic("unload_ext", "nbflow")
    assert transform_entrypoint_cell not in shell.input_transformers_cleanup


def test_entrypoint_prints_one_line_saying_what_it_defined(ip, capsys):
    ok(ip, "saver = InMemorySaver()")
    ok(ip, '%%entrypoint greet2 --checkpointer saver --thread g1 --wait --run "x"\nreturn inputs\n')
    capsys.readouterr()
    ok(ip, "%%entrypoint greet2 --checkpointer saver\nreturn inputs\n")
    out = capsys.readouterr().out.strip().splitlines()
    assert out == ["Defined workflow greet2(inputs) · checkpointer InMemorySaver · 1 thread"]
