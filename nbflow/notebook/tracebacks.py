"""A failed run's error as the views show it, pure: one line, the traceback without nbflow's frames, and
where in the user's code it happened (``Cell In[7], line 4, in f: code``, as IPython names cells).

Nothing here imports IPython: a cell's name is asked of IPython only when the process already imported it.
"""

from __future__ import annotations

import linecache
import os
import sys
import traceback as tb

TRACEBACK_LIMIT = 6000
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def error_text(exc: BaseException | None) -> str:
    if exc is None:
        return ""
    msg = str(exc)
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


def _is_internal(filename: str) -> bool:
    return os.path.abspath(filename).startswith(_PACKAGE_DIR)


def _is_library(filename: str) -> bool:
    path = os.path.abspath(filename)
    return "site-packages" in path or "/lib/python" in path


def _strip_internal(te: tb.TracebackException) -> None:
    """Drop nbflow's own frames from ``te`` and every exception chained to it (they say nothing about
    the user's code); source lines are looked up later, for the frames that remain only."""
    todo, seen = [te], set()
    while todo:
        t = todo.pop()
        if t is None or id(t) in seen:
            continue
        seen.add(id(t))
        t.stack = tb.StackSummary.from_list([_cached(f) for f in t.stack if not _is_internal(f.filename)])
        todo += [t.__cause__, t.__context__]  # type: ignore[list-item]  # None is skipped above


def _cell_name(filename: str) -> str | None:
    """IPython's name for a cell's code, ``"Cell In[7]"``, or None for anything else.

    IPython compiles each cell under a file name it maps to the execution count
    (``shell.compile.format_code_name``): a dict lookup, no file read. IPython is
    consulted only when the process already imported it (never imported here)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    fmt = getattr(getattr(shell, "compile", None), "format_code_name", None)
    if fmt is None:
        return None
    try:
        got = fmt(filename)
    except Exception:  # noqa: BLE001 - a label is a nicety; fall back to the file name
        return None
    return f"{got[0]} {got[1]}" if got else None


def _cached(f: tb.FrameSummary) -> tb.FrameSummary:
    """``f`` with its source line if it is the user's code (linecache: IPython keeps every cell there;
    a module's file is read), none for libraries, and no column positions (no compiling to draw carets).
    A cell's frame is renamed as IPython names it (``Cell In[7]``)."""
    own = f.lineno is not None and not _is_library(f.filename)
    line = linecache.getline(f.filename, f.lineno or 0) if own else ""
    name = _cell_name(f.filename) if own else None
    return tb.FrameSummary(name or f.filename, f.lineno, f.name, lookup_line=False, line=line)


def user_frame(exc: BaseException) -> tuple[str, str]:
    """The traceback text, and 'cell/file line N: code' of the innermost frame outside nbflow and the stdlib.

    Frames are extracted without their source (``lookup_lines=False``); lines are looked up for the
    user's frames only, so formatting an error never reads nbflow's or the standard library's files.
    """
    te = tb.TracebackException.from_exception(exc, lookup_lines=False)
    _strip_internal(te)
    text = "".join(te.format())
    if len(text) > TRACEBACK_LIMIT:
        text = "…\n" + text[-TRACEBACK_LIMIT:]
    where = ""
    for frame in te.stack:
        if _is_library(frame.filename):
            continue
        if frame.filename.startswith("Cell In["):  # renamed by _cached: IPython's own label
            label = frame.filename
        elif "ipykernel" in frame.filename or frame.filename.startswith("<ipython"):
            label = "cell"  # a cell IPython no longer knows (history cleared)
        else:
            label = os.path.basename(frame.filename)
        where = f"{label}, line {frame.lineno}, in {frame.name}: {(frame.line or '').strip()}"
    return text, where


__all__ = ["TRACEBACK_LIMIT", "error_text", "user_frame"]
