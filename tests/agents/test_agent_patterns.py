"""The agent-patterns suite: each pattern of :mod:`patterns` under nbflow and under LangGraph 1.2.22.

Transcripts must be equal. LangGraph comes from the ``compat`` extra (part of
``test``); without it the LangGraph half is skipped locally and fails under CI.
Threads continued in a new process run the pattern module as a script, as a
restarted kernel would.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from . import patterns as P

HERE = Path(__file__).resolve().parent

CHAT_TURNS = P.CHAT_TURNS


def _runtime(name: str):
    """nbflow's names (imported here), or a check that LangGraph is installed (it runs in a subprocess)."""
    if name == "langgraph" and importlib.util.find_spec("langgraph") is None:
        if os.environ.get("CI"):
            pytest.fail("LangGraph 1.2.22 (the compat extra) is not installed in the test environment")
        pytest.skip("LangGraph is not installed (pip install -e '.[compat]')")
    return P.runtime(name) if name == "nbflow" else None


def _in_memory(pattern: str, name: str) -> list:
    return P.in_memory(_runtime(name), pattern)


def _json(x: object) -> object:
    """Tuples as lists, as a transcript printed by a subprocess has them."""
    return json.loads(json.dumps(x))


@pytest.fixture(scope="module")
def langgraph_transcripts() -> dict[str, list]:
    """Every pattern under LangGraph, in one subprocess: this test process never imports LangGraph
    (the compat tests own the ``langgraph`` namespace here)."""
    _runtime("langgraph")  # skip or fail now when LangGraph is missing
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, str(HERE / "patterns.py"), "langgraph", "all"],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("pattern", list(P.PATTERNS))
def test_pattern_matches_langgraph(pattern: str, langgraph_transcripts: dict) -> None:
    assert _json(_in_memory(pattern, "nbflow")) == langgraph_transcripts[pattern]


def test_patterns_say_something() -> None:
    """The transcripts are not empty shells: the facts each pattern exists to show are in nbflow's."""
    chat = _in_memory("chat_with_approval", "nbflow")
    assert chat[5][1] == {"type": "ai", "content": "(reply withheld: too silly)"}
    last = "you said 'bye' (6 so far, 11 messages; first: \"hi, I'm Ada\")"
    assert chat[-2][1] == chat[-1][1] == {"type": "ai", "content": last}  # the whole history reached turn 6
    react = _in_memory("react_parallel_tools", "nbflow")[0][1]
    assert [m["type"] for m in react] == ["human", "ai", "tool", "tool", "tool", "ai"]
    assert react[-1]["content"] == "call_w_paris=sunny, 24C; call_w_rome=cloudy, 19C; call_p_rome=2750000"
    review = _in_memory("tool_review_inbox", "nbflow")
    assert [kind for kind, _ in review] == ["asked"] * 4 + ["result"]
    final = review[-1][1][-1]["content"]
    assert final == ("call_1:sunny, 24C | call_2:unknown | call_3:Paris has about two million people. | "
                     "call_4:(ignored by the reviewer)")
    streamed = _in_memory("token_streaming", "nbflow")
    assert "".join(c for _, c, _ in streamed) == "the tide comes in twice a day" and len(streamed) > 5
    assert {node for _, _, node in streamed} == {"call_model"}
    seeds = _in_memory("seeds_review_tool_calls", "nbflow")
    assert [m for kind, m in seeds if kind == "answered"] == [
        {"type": "ai", "content": "Done: sunny, 24C"}, {"type": "ai", "content": "Done: cloudy, 19C"},
        {"type": "ai", "content": "Done: Use the Norwegian service instead."}]
    flaky = _in_memory("tool_raised_then_resumed", "nbflow")
    assert flaky[-1] == ("model calls", [1, 3], "tool calls", 2)  # the model ran once per step, exactly


# ---------------------------------------------------------------- continued in a new process
def _script(runtime: str, pattern: str, **kwargs: object) -> list:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, str(HERE / "patterns.py"), runtime, pattern, json.dumps(kwargs)],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _chat_in_two_processes(runtime: str, saver: str) -> list:
    """Three turns in one process, the rest in a new one: each turn resumes, the history survives."""
    first = _script(runtime, "chat_with_approval", saver=saver, thread="t", turns=CHAT_TURNS[:3])
    second = _script(runtime, "chat_with_approval", saver=saver, thread="t", turns=CHAT_TURNS[3:])
    return [first, second]


def test_chat_continues_in_a_new_process_sqlite(tmp_path: Path) -> None:
    ours = _chat_in_two_processes("nbflow", f"sqlite:{tmp_path / 'nb.sqlite'}")
    _runtime("langgraph")
    theirs = _chat_in_two_processes("langgraph", f"sqlite:{tmp_path / 'lg.sqlite'}")
    assert ours == theirs
    assert ours[1][-1][1]["content"] == "you said 'bye' (6 so far, 11 messages; first: \"hi, I'm Ada\")"


def test_chat_continues_in_a_new_process_postgres(tmp_path: Path, postgres_schemas) -> None:
    ours = _chat_in_two_processes("nbflow", f"postgres:{postgres_schemas.uri()}")
    reference = _chat_in_two_processes("nbflow", f"sqlite:{tmp_path / 'nb.sqlite'}")
    assert ours == reference
