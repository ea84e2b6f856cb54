"""Long chat threads through the run loop, over every saver: what each checkpoint holds, time travel,
forks, pruning around a pending interrupt and a fork's origin, decoding once, old databases and
kill -9 (the saver-level half is nbflow.checkpoint.conformance.pieces)."""

from __future__ import annotations

import dataclasses
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, HumanMessage
from waiting import wait_until

from nbflow import Command, entrypoint, interrupt, task
from nbflow.checkpoint import SqliteSaver, values
from nbflow.compat.messages import add_messages
from nbflow.config import previous_of
from nbflow.serde import register_type

ROOT = Path(__file__).resolve().parents[2]


def make_chat(saver, seen: list | None = None, tag: str = ""):
    model = FakeMessagesListChatModel(responses=[AIMessage(content=f"answer {i}", id=f"ai-{tag}{i}")
                                                 for i in range(500)])

    @task
    def call_model(messages):
        return model.invoke(messages)

    @entrypoint(checkpointer=saver)
    def chat(text, *, previous=None):
        if seen is not None:
            seen.append(len(previous or []))
        msgs = add_messages(previous or [], [HumanMessage(content=text, id=f"h-{text}")])
        reply = call_model(msgs).result()
        if interrupt({"approve": reply.content}) != "yes":
            reply = AIMessage(content="(withheld)", id=f"w-{text}")
        msgs = add_messages(msgs, [reply])
        return entrypoint.final(value=reply, save=msgs)

    return chat


def turns(chat, cfg, start: int, n: int) -> None:
    for i in range(start, start + n):
        chat.invoke(f"question {i}", cfg)
        chat.invoke(Command(resume="yes"), cfg)


def stored_previous(saver, thread: str) -> dict[str, list[str]]:
    """checkpoint id -> the contents of the history it stores, read as a new process would."""
    values.forget(saver)
    out = {}
    for rec in saver.list_checkpoints(thread):
        history = previous_of(values.load(saver, rec)) or []
        out[rec.checkpoint_id] = [m["content"] if isinstance(m, dict) else m.content for m in history]
    return out


def test_every_checkpoint_of_a_chat_holds_its_own_history(checkpointer):
    chat = make_chat(checkpointer)
    cfg = {"configurable": {"thread_id": "chat"}}
    turns(chat, cfg, 0, 20)
    expected = []
    for i in range(20):
        expected += [f"question {i}", f"answer {i}"]
    by_id = stored_previous(checkpointer, "chat")
    loops = [r for r in checkpointer.list_checkpoints("chat") if r.source == "loop"]
    assert len(loops) == 20
    for k, rec in enumerate(reversed(loops)):  # oldest first: turn k saved 2k+2 messages
        assert by_id[rec.checkpoint_id] == expected[:2 * k + 2]
    # the same from the public history, read cold
    values.forget(checkpointer)
    snaps = list(chat.get_state_history(cfg))
    assert [s.values.content for s in snaps if s.metadata["source"] == "loop"][0] == "answer 19"
    values.forget(checkpointer)
    assert chat.get_state(cfg).values.content == "answer 19"


def test_time_travel_and_fork_read_the_old_history(checkpointer):
    seen: list = []
    chat = make_chat(checkpointer, seen)
    cfg = {"configurable": {"thread_id": "tt"}}
    turns(chat, cfg, 0, 12)
    inputs = [s for s in chat.get_state_history(cfg) if s.metadata["source"] == "input"]
    turn5 = inputs[-6]  # oldest last: the input checkpoint of turn 5
    seen.clear()
    values.forget(checkpointer)
    chat.invoke(None, turn5.config)  # replayed on a branch: it sees turn 4's history
    assert seen[0] == 10
    chat.invoke(Command(resume="yes"), cfg)
    seen.clear()
    chat.invoke("after the branch", cfg)
    assert seen[0] == 12  # the branch's history: 5 turns
    chat.invoke(Command(resume="yes"), cfg)
    # a fork into another thread copies what it needs: the new thread reads alone
    forked = chat.fork(turn5.config, task_index=1, thread_id="tt-fork")
    checkpointer.delete_thread("tt")
    values.forget(checkpointer)
    seen.clear()
    chat.invoke(None, forked)  # continues the fork from its copied state
    assert seen == [10]


def test_prune_around_a_pending_interrupt_and_a_fork_origin(checkpointer):
    chat = make_chat(checkpointer)
    cfg = {"configurable": {"thread_id": "p"}}
    turns(chat, cfg, 0, 10)
    origin = [s for s in chat.get_state_history(cfg) if s.metadata["source"] == "input"][-3]  # turn 2
    chat.fork(origin.config, task_index=1, thread_id="p-fork")
    chat.invoke("question 10", cfg)  # waits for its approval
    before = len(checkpointer.list_checkpoints("p"))
    out = checkpointer.prune(["p"], keep_invocations=1)
    kept = {r.checkpoint_id for r in checkpointer.list_checkpoints("p")}
    assert origin.config["configurable"]["checkpoint_id"] in kept  # a fork's origin stays
    assert out.checkpoints == before - len(kept) and len(kept) <= 4
    values.forget(checkpointer)
    assert chat.get_state(cfg).interrupts  # the question is still there
    reply = chat.invoke(Command(resume="yes"), cfg)
    assert reply.content == "answer 10"
    by_id = stored_previous(checkpointer, "p")
    assert by_id[checkpointer.get_checkpoint("p").checkpoint_id][-2:] == ["question 10", "answer 10"]
    assert len(by_id[checkpointer.get_checkpoint("p").checkpoint_id]) == 22
    # the fork still reads its history
    values.forget(checkpointer)
    assert chat.get_state({"configurable": {"thread_id": "p-fork"}}).next


@dataclasses.dataclass
class Note:
    text: str


DECODED: list = []


def _note_decode(v):
    DECODED.append(v)
    return Note(v)


register_type(Note, encode=lambda n: n.text, decode=_note_decode, name="tests.long_threads.Note")


def test_a_new_process_decodes_each_item_once(checkpointer):
    @entrypoint(checkpointer=checkpointer)
    def notes(text, *, previous=None):
        return [*(previous or []), Note(text)]

    cfg = {"configurable": {"thread_id": "notes"}}
    for i in range(30):
        notes.invoke(f"n{i}", cfg)
    DECODED.clear()
    values.forget(checkpointer)
    history = list(notes.get_state_history(cfg))
    assert len(history) == 60 and history[0].values[-1] == Note("n29")
    # each piece once (lists under 4 items are stored inline and read with their checkpoint): not once
    # per checkpoint that holds it, which would be ~900
    assert len(DECODED) <= 60
    DECODED.clear()
    notes.invoke("n30", cfg)  # the live value: nothing decoded again, nothing re-encoded
    assert DECODED == []


def test_a_version_1_database_keeps_working(tmp_path):
    path = tmp_path / "old.sqlite"

    class WholeValues(SqliteSaver):
        supports_pieces = False

    old = WholeValues(path)
    chat = make_chat(old)
    cfg = {"configurable": {"thread_id": "old"}}
    turns(chat, cfg, 0, 5)
    old.close()
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE pieces")
    conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    saver = SqliteSaver(path)  # migrated on open
    assert saver.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "2"
    chat = make_chat(saver, tag="new-")
    turns(chat, cfg, 5, 3)
    by_id = stored_previous(saver, "old")
    latest = saver.get_checkpoint("old").checkpoint_id
    assert by_id[latest][::2] == [f"question {i}" for i in range(8)]  # 5 old turns, 3 new ones
    assert by_id[latest][1:10:2] == [f"answer {i}" for i in range(5)]
    assert len(saver.piece_hashes("old")) > 0
    saver.close()


KILLED = textwrap.dedent("""
    import sys
    from nbflow import entrypoint, task
    from nbflow.checkpoint import SqliteSaver

    saver = SqliteSaver(sys.argv[1])

    @task
    def reply(n):
        return {"role": "assistant", "content": f"answer {n} " + "x" * 200}

    @entrypoint(checkpointer=saver)
    def chat(n, *, previous=None):
        history = [*(previous or []), {"role": "user", "content": f"question {n}"}]
        return [*history, reply(n).result()]

    cfg = {"configurable": {"thread_id": "k"}}
    start = len(chat.get_state(cfg).values or []) // 2
    for n in range(start, 100000):
        chat.invoke(n, cfg)
        print(n, flush=True)
""")


@pytest.mark.slow
def test_kill_9_never_leaves_a_checkpoint_without_its_pieces(tmp_path):
    script = tmp_path / "chat.py"
    script.write_text(KILLED)
    db = tmp_path / "chat.sqlite"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = 0
    for round_ in range(4):
        log = tmp_path / f"out{round_}.log"
        with open(log, "w") as out:
            proc = subprocess.Popen([sys.executable, str(script), str(db)], env=env, stdout=out)
            # killed somewhere in its next few turns, at a different point each round
            wait_until(lambda: len(log.read_text().split()) >= 5 + 3 * round_, what="the chat to make progress")
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(30)
        saver = SqliteSaver(db)
        history = stored_previous(saver, "k")  # every checkpoint reads cold: no piece missing
        newest = history[saver.get_checkpoint("k").checkpoint_id]
        n = len(newest) // 2
        assert n >= done  # nothing committed was lost
        assert [c for c in newest if c.startswith("question")] == [f"question {i}" for i in range(n)]
        done = n
        saver.close()
