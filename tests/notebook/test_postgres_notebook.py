"""The notebook layer on PostgreSQL: ``NBFLOW_CHECKPOINTER=postgresql://...`` and
``%nbflow checkpointer postgresql://...``, and a question asked in one kernel
answered from another kernel's inbox (two real processes, one real server)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from nbflow.checkpoint.postgres import PostgresSaver
from nbflow.notebook.session import Session, SpecError, parse_spec, reset_session

REPO_ROOT = Path(__file__).resolve().parents[2]

KERNEL_A = """
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.testing import globalipapp
    globalipapp.start_ipython()
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "nbflow.notebook")
    ip.run_cell("from nbflow import interrupt")
    r = ip.run_cell('%%entrypoint review --wait --run "cats"\\nreturn {"topic": inputs, "ok": interrupt("publish?")}\\n')
    assert r.success, (r.error_before_exec, r.error_in_exec)
    assert ip.user_ns["review"].get_state({"configurable": {"thread_id": "review-1"}}).interrupts
    print("asked", ip.user_ns["review"].checkpointer)
"""


def test_parse_spec_accepts_postgres_uris_and_hides_the_password():
    spec = parse_spec("postgresql://ann:pw@db.example:5432/team")
    assert spec.kind == "postgres" and spec.uri == "postgresql://ann:pw@db.example:5432/team"
    assert spec.text == "postgresql://ann:***@db.example:5432/team"
    assert spec.key != parse_spec("postgresql://ann:pw@db.example:5432/other").key
    for bad in ("postgres://", "postgresql://u@h:port/db"):
        with pytest.raises(SpecError):
            parse_spec(bad)


def test_env_var_and_magic_select_postgres_and_another_kernel_answers(
    postgres_schemas, tmp_path, monkeypatch
):
    uri = postgres_schemas.uri()
    # kernel A: a separate process, checkpointer from the environment, asks a question
    env = {**os.environ, "NBFLOW_CHECKPOINTER": uri,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(KERNEL_A)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert "PostgresSaver" in proc.stdout

    # kernel B: this process, the same workflow defined after %nbflow checkpointer <uri>
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.testing import globalipapp

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NBFLOW_CHECKPOINTER", raising=False)
    reset_session(Session(tmp_path))
    globalipapp.start_ipython()
    ip = InteractiveShell.instance()
    before = set(ip.user_ns)
    ip.run_line_magic("load_ext", "nbflow.notebook")
    try:
        ip.run_cell("from nbflow import interrupt")
        ip.run_line_magic("nbflow", f"checkpointer {uri}")
        r = ip.run_cell('%%entrypoint review\nreturn {"topic": inputs, "ok": interrupt("publish?")}\n')
        assert r.success, (r.error_before_exec, r.error_in_exec)
        wf = ip.user_ns["review"]
        assert isinstance(wf.checkpointer, PostgresSaver)
        box = ip.run_line_magic("nbflow", "inbox")
        assert [i["thread_id"] for i in box.items] == ["review-1"]  # asked in kernel A
        assert [x.value for x in box.items[0]["interrupts"]] == ["publish?"]
        box.resume("review-1", "yes")
        box.wait(60)
        state = wf.get_state({"configurable": {"thread_id": "review-1"}})
        assert state.values == {"topic": "cats", "ok": "yes"}
        assert box.items == []
    finally:
        ip.run_line_magic("unload_ext", "nbflow.notebook")
        for name in set(ip.user_ns) - before:
            ip.user_ns.pop(name, None)
        for saver in reset_session(Session(tmp_path)).savers.values():
            saver.close()
