#!/usr/bin/env python3
"""A long chat thread, nbflow against LangGraph 1.2.22: size on disk, time per turn, reading it back.

    python bench/long_thread.py                          # 1,000 turns each, SQLite, PostgreSQL, memory
    python bench/long_thread.py --turns 300 --savers sqlite
    python bench/long_thread.py --langgraph-turns 300    # LangGraph's turns cost grows: stop it earlier
    python bench/long_thread.py --json out.json

The same chat script runs under both libraries (only the imports differ): an entrypoint with
``previous`` and ``add_messages``, one model task (a deterministic fake returning a ~300-character
message with an id, as chat models do), ``entrypoint.final(value=reply, save=messages)``; each turn
adds a ~300-character question and the reply. The savers are the ones a user makes:
``SqliteSaver(sqlite3.connect(path, check_same_thread=False))``, ``PostgresSaver`` on a throwaway
local server, ``InMemorySaver()``.

Reported (nothing asserted): the database's size at 10, 100, 300 and 1,000 turns (the SQLite file
after a WAL checkpoint; PostgreSQL's tables with their indexes and TOAST), against the raw bytes of
the messages (each message's own JSON, ``message.model_dump_json()``); the mean time per turn over
turns 1-100, 200-300 and 900-1,000; and, from a new process, ``get_state`` and the whole
``get_state_history`` listing. The in-memory saver's memory is measured with tracemalloc.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import tracemalloc

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

MARKS = (10, 100, 300, 1000)
WORDS = ["time", "year", "people", "way", "day", "man", "thing", "woman", "life", "child", "world", "school", "state", "family", "student", "group", "country", "problem", "hand", "part", "place", "case", "week", "company", "system", "program", "question", "work", "government", "number", "night", "point", "home", "water", "room", "mother", "area", "money", "story", "fact", "month", "lot", "right", "study", "book", "eye", "job", "word", "business", "issue", "side", "kind", "head", "house", "service", "friend", "father", "power", "hour", "game", "line", "end", "member", "law", "car", "city", "community", "name", "president", "team", "minute", "idea", "kid", "body", "information", "back", "parent", "face", "others", "level", "office", "door", "health", "person", "art", "war", "history", "party", "result", "change", "morning", "reason", "research", "girl", "guy", "moment", "air", "teacher", "force", "education", "make", "know", "think", "take", "see", "come", "want", "look", "use", "find", "give", "tell", "ask", "seem", "feel", "try", "leave", "call", "keep", "provide", "hold", "turn", "follow", "begin", "bring", "like", "going", "help", "start", "run", "write", "set", "move", "play", "pay", "hear", "include", "believe", "allow", "meet", "lead", "live", "stand", "happen", "carry", "talk", "appear", "produce", "sit", "offer", "consider", "expect", "suggest", "let", "read", "require", "continue", "lose", "add", "change", "fall", "remain", "remember", "buy", "speak", "stop", "send", "receive", "decide", "win", "understand", "describe", "develop", "agree", "open", "reach", "build", "involve", "spend", "return", "draw", "die", "hope", "create", "walk", "sell", "wait", "cause", "good", "new", "first", "last", "long", "great", "little", "own", "other", "old", "big", "high", "different", "small", "large", "next", "early", "young", "important", "few", "public", "bad", "same", "able"]


def text(seed: int, n: int = 300) -> str:
    rng = random.Random(seed)
    out: list[str] = []
    size = 0
    while size < n:
        w = rng.choice(WORDS)
        out.append(w)
        size += len(w) + 1
    return " ".join(out)[:n]


def build(lib: str, saver):
    """The chat script, written once; ``lib`` picks the imports (nbflow or langgraph)."""
    from langchain_core.messages import AIMessage, HumanMessage

    if lib == "nbflow":
        from nbflow import add_messages, entrypoint, task
    else:
        from langgraph.func import entrypoint, task
        from langgraph.graph.message import add_messages

    @task
    def model(messages):
        n = len(messages)
        return AIMessage(content=text(10_000 + n), id=f"run-{n:06d}-0000-4000-8000-000000000000")

    @entrypoint(checkpointer=saver)
    def chat(question: str, *, previous=None):
        messages = add_messages(previous or [], [HumanMessage(content=question)])
        reply = model(messages).result()
        messages = add_messages(messages, [reply])
        return entrypoint.final(value=reply, save=messages)

    return chat


# ---------------------------------------------------------------------------- savers
class Where:
    """One saver kind for one library: how to open it, its size, and how a new process opens it."""

    def __init__(self, kind: str, lib: str, tmp: str, pg_uri: str | None) -> None:
        self.kind, self.lib, self.tmp, self.pg_uri = kind, lib, tmp, pg_uri
        self.path = os.path.join(tmp, f"{lib}.sqlite")
        self.schema = f"bench_{lib}_{os.path.basename(tmp).lower().replace('-', '_')}"  # the reader finds it
        self._close = None

    def open(self):
        if self.kind == "memory":
            if self.lib == "nbflow":
                from nbflow.checkpoint import InMemorySaver
            else:
                from langgraph.checkpoint.memory import InMemorySaver
            return InMemorySaver()
        if self.kind == "sqlite":
            conn = sqlite3.connect(self.path, check_same_thread=False)
            if self.lib == "nbflow":
                from nbflow.checkpoint import SqliteSaver
            else:
                from langgraph.checkpoint.sqlite import SqliteSaver
            saver = SqliteSaver(conn)
            if self.lib == "langgraph":
                saver.setup()
            self._close = conn.close
            return saver
        uri = f"{self.pg_uri}?options=-csearch_path%3D{self.schema}"
        import psycopg

        with psycopg.connect(self.pg_uri, autocommit=True) as c:
            c.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
        if self.lib == "nbflow":
            from nbflow.checkpoint.postgres import PostgresSaver

            saver = PostgresSaver.open(uri)
            saver.setup()
            self._close = saver.close
            return saver
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row

        conn = psycopg.connect(uri, autocommit=True, prepare_threshold=0, row_factory=dict_row)
        saver = PostgresSaver(conn)
        saver.setup()
        self._close = conn.close
        return saver

    def size(self, saver) -> int:
        if self.kind == "sqlite":
            with sqlite3.connect(self.path) as c:
                c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return os.path.getsize(self.path)
        if self.kind == "postgres":
            import psycopg

            with psycopg.connect(self.pg_uri, autocommit=True) as c:
                row = c.execute("SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c JOIN "
                                "pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'",
                                (self.schema,)).fetchone()
            return int(row[0])
        return -1

    def close(self) -> None:
        if self._close is not None:
            self._close()


READER = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
from long_thread import Where, build
w = Where(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5] or None)
saver = w.open()
chat = build(sys.argv[3], saver)
cfg = {"configurable": {"thread_id": "user-42"}}
chat.get_state({"configurable": {"thread_id": "no-such-thread"}})  # connected, imports done: both alike
t0 = time.perf_counter(); state = chat.get_state(cfg); t1 = time.perf_counter()
n = sum(1 for _ in chat.get_state_history(cfg)); t2 = time.perf_counter()
print(json.dumps({"get_state_ms": (t1 - t0) * 1000, "history_ms": (t2 - t1) * 1000, "checkpoints": n}))
"""


def read_cold(w: Where) -> dict:
    out = subprocess.run([sys.executable, "-c", READER, HERE, w.kind, w.lib, w.tmp, w.pg_uri or ""],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(kind: str, lib: str, turns: int, tmp: str, pg_uri: str | None) -> dict:
    w = Where(kind, lib, tmp, pg_uri)
    saver = w.open()
    chat = build(lib, saver)
    cfg = {"configurable": {"thread_id": "user-42"}}
    if kind == "memory":  # warm up first (lazy imports, caches), so only the thread's memory is counted
        for i in range(3):
            chat.invoke(text(i), {"configurable": {"thread_id": "warm-up"}})
        saver.delete_thread("warm-up")
        gc.collect()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
    times: list[float] = []
    sizes: dict[int, int] = {}
    from langchain_core.messages import AIMessage, HumanMessage

    for i in range(1, turns + 1):
        q = text(i)
        t0 = time.perf_counter()
        chat.invoke(q, cfg)
        times.append(time.perf_counter() - t0)
        if i in MARKS:
            sizes[i] = w.size(saver)
    out: dict = {"saver": kind, "library": lib, "turns": turns, "raw_bytes_at": {}, "size_at": sizes}
    raw_at, raw = {}, 0
    for i in range(1, turns + 1):
        raw += len(HumanMessage(content=text(i)).model_dump_json()) + len(
            AIMessage(content=text(10_000 + 2 * i - 1),
                      id=f"run-{2 * i - 1:06d}-0000-4000-8000-000000000000").model_dump_json())
        if i in MARKS:
            raw_at[i] = raw
    out["raw_bytes_at"] = raw_at

    def window(a: int, b: int) -> float | None:
        part = times[a - 1:b]
        return round(sum(part) / len(part) * 1000, 3) if len(part) == b - a + 1 else None

    out["ms_per_turn"] = {"1-100": window(1, 100), "200-300": window(200, 300), "900-1000": window(900, 1000)}
    if kind == "memory":
        if lib == "nbflow":
            from nbflow.checkpoint import values

            from nbflow.compat import messages

            values.forget(saver)  # the live value is the caller's, not the saver's
            messages._LAST = None  # nor is the history add_messages returned last
        del chat
        gc.collect()
        out["memory_bytes"] = tracemalloc.get_traced_memory()[0] - base
        tracemalloc.stop()
        out["cold"] = None
    else:
        w.close()
        out["cold"] = read_cold(w)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--turns", type=int, default=1000)
    ap.add_argument("--langgraph-turns", type=int, default=None, help="LangGraph's turns (default: --turns)")
    ap.add_argument("--savers", nargs="+", default=["sqlite", "postgres", "memory"],
                    choices=["sqlite", "postgres", "memory"])
    ap.add_argument("--only", choices=["nbflow", "langgraph"])
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args(argv)
    server = None
    pg_uri = None
    if "postgres" in args.savers:
        from nbflow.checkpoint.conformance.pgserver import TempPostgres

        server = TempPostgres().start()
        pg_uri = server.uri
    results = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for kind in args.savers:
                for lib in ("nbflow", "langgraph"):
                    if args.only and lib != args.only:
                        continue
                    turns = args.turns if lib == "nbflow" else (args.langgraph_turns or args.turns)
                    r = run(kind, lib, turns, tmp, pg_uri)
                    results.append(r)
                    print(json.dumps(r), flush=True)
    finally:
        if server is not None:
            server.stop()
    report(results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"long_thread": results}, f, indent=1)
    return 0


def report(results: list[dict]) -> None:
    print("\nsaver     library    turns  size at 10 / 100 / 300 / 1000 turns (x raw)            ms/turn 1-100 / "
          "200-300 / 900-1000   cold get_state / history ms")
    for r in results:
        sizes = " / ".join(
            f"{r['size_at'][k] / 1e6:.2f} MB ({r['size_at'][k] / r['raw_bytes_at'][k]:.1f}x)"
            if k in r["size_at"] and r["size_at"][k] >= 0 else "-" for k in MARKS)
        if r.get("memory_bytes") is not None:
            raw = r["raw_bytes_at"].get(r["turns"], 1)
            sizes = f"memory {r['memory_bytes'] / 1e6:.2f} MB ({r['memory_bytes'] / raw:.1f}x raw)"
        t = r["ms_per_turn"]
        cold = r.get("cold") or {}
        print(f"{r['saver']:9} {r['library']:10} {r['turns']:5}  {sizes:55}  "
              f"{t['1-100']} / {t['200-300']} / {t['900-1000']}   "
              f"{cold.get('get_state_ms', float('nan')):.1f} / {cold.get('history_ms', float('nan')):.1f}")


if __name__ == "__main__":
    sys.exit(main())
