"""IPython magics: ``%%entrypoint NAME``, ``%entrypoint NAME`` and ``%nbflow ...``.

``%%entrypoint`` cells are rewritten by an input transformer (before IPython
compiles them), so the cell body is ordinary cell code: a syntax error is
IPython's own ``SyntaxError`` at the right cell line, and a bad option is a
plain ``UsageError``. Two forms:

* the cell defines ``def NAME(...)`` (or assigns ``NAME = ...``; helpers
  such as ``@task`` functions may live in the same or other cells): the
  ``%%entrypoint`` line becomes a blank line and the cell runs as it is;
* the cell is the **body**: the ``%%entrypoint`` line becomes
  ``def NAME(inputs, previous=None):`` (``async def`` when the body awaits)
  and the body lines are indented (not inside multi-line strings), so every
  line keeps its number; the run input is ``inputs``, a top-level ``return``
  ends it and ``previous`` is the thread's previous return value.

Either way one last line is appended, ``get_ipython().run_line_magic(
'entrypoint', ARGS)``, which turns the function into a workflow bound to
NAME, on the notebook's default checkpointer unless ``--checkpointer`` or
the decorator names one, and with ``--run EXPR`` returns a live run view
(the cell's output). Options::

    --checkpointer memory | sqlite:PATH | default | EXPR   (a saver object)
    --thread ID      thread of --run (default NAME-1, NAME-2, ... unique per
                     checkpointer); without --run, shows that thread
    --wait           with --run: block until the run stops (for nbval)
    --run EXPR       the rest of the line is the input expression

``%nbflow`` prints the settings; ``%nbflow checkpointer memory|sqlite:PATH|
default``; ``%nbflow history NAME [--thread ID]``; ``%nbflow graph NAME
[--thread ID]``; ``%nbflow inbox [NAME ...]``; ``%nbflow threads [NAME ...]`` (each thread's
checkpoints and size); ``%nbflow prune NAME [--thread ID] [--keep N | --keep-invocations N]
[--vacuum]`` (drop old checkpoints, see ``Workflow.prune``).
"""

from __future__ import annotations

import ast
import html
import inspect
import io
import keyword
import re
import shlex
import tokenize
from dataclasses import dataclass
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class

from ..checkpoint import BaseCheckpointSaver
from ..errors import NbflowError
from ..func import Workflow
from ..func import entrypoint as _entrypoint
from .session import SpecError, parse_spec, session

CELL_MAGIC = "%%entrypoint"
_RUN = re.compile(r"(?:^|\s)--run(?:=|\s|$)")


@dataclass
class Options:
    name: str
    checkpointer: str | None = None
    thread: str | None = None
    run: str | None = None
    wait: bool = False


def parse_options(line: str, who: str = "%%entrypoint") -> Options:
    """Parse ``NAME [--checkpointer X] [--thread ID] [--wait] [--run EXPR...]`` (UsageError if bad)."""
    run = None
    m = _RUN.search(line)
    if m is not None:
        run = line[m.end():].strip()
        line = line[:m.start()]
        if not run:
            raise UsageError(f"{who}: --run needs an expression, e.g. --run {{'topic': 'cats'}}")
        try:
            compile(run, "<--run>", "eval")
        except SyntaxError as e:
            raise UsageError(f"{who}: --run {run!r} is not a Python expression ({e.msg})") from None
    try:
        tokens = shlex.split(line)
    except ValueError as e:
        raise UsageError(f"{who}: cannot read the options: {e}") from None
    opts: dict[str, Any] = {}
    names: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.startswith("--"):
            key, eq, val = tok[2:].partition("=")
            if key == "wait" and not eq:
                opts["wait"] = True
            elif key in ("checkpointer", "thread"):
                if not eq:
                    i += 1
                    if i >= len(tokens) or tokens[i].startswith("--"):
                        raise UsageError(f"{who}: --{key} needs a value")
                    val = tokens[i]
                if not val:
                    raise UsageError(f"{who}: --{key} needs a value")
                opts[key] = val
            else:
                raise UsageError(f"{who}: unknown option --{key}; options are --checkpointer, --thread, "
                                 "--wait and --run")
        else:
            names.append(tok)
        i += 1
    if len(names) != 1:
        raise UsageError(f"{who}: give one workflow name, e.g. {who} review_flow --run 'cats'"
                         + (f" (got {' '.join(names)})" if names else ""))
    name = names[0]
    if not name.isidentifier() or keyword.iskeyword(name):
        raise UsageError(f"{who}: {name!r} is not a valid Python name")
    return Options(name, opts.get("checkpointer"), opts.get("thread"), run, bool(opts.get("wait")))


# ---------------------------------------------------------------------------- cell rewriting
def _defines(name: str, body: str) -> bool:
    try:
        tree = ast.parse(body)
    except SyntaxError:
        return re.search(rf"^(?:async\s+)?def\s+{re.escape(name)}\s*\(", body, re.MULTILINE) is not None
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return True
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] \
            if isinstance(node, ast.AnnAssign) else []
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return True  # NAME = entrypoint(...)(func)
    return False


def _scan(lines: list[str]) -> tuple[set[int], bool]:
    """(indices of lines that continue a multi-line string, whether there is any code)."""
    inside: set[int] = set()
    code = False
    quiet = (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER)
    try:
        for tok in tokenize.generate_tokens(io.StringIO("".join(lines)).readline):
            if tok.type not in quiet:
                code = True
            if tok.type == tokenize.STRING and tok.end[0] > tok.start[0]:
                inside.update(range(tok.start[0], tok.end[0]))
    except (tokenize.TokenError, SyntaxError):
        code = True
    return inside, code


def _needs_async(header: str, body: list[str]) -> bool:
    """True when the body awaits (outside nested functions), so it must become ``async def``."""
    try:
        tree = ast.parse(header + "".join(body))
    except SyntaxError:
        return False
    first: Any = tree.body[0] if tree.body else None
    todo = list(first.body) if first is not None else []
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.Await, ast.AsyncFor, ast.AsyncWith)):
            return True
        if isinstance(node, (ast.comprehension,)) and node.is_async:
            return True
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            todo.extend(ast.iter_child_nodes(node))
    return False


def transform_entrypoint_cell(lines: list[str]) -> list[str]:
    """IPython cleanup transformer for ``%%entrypoint`` cells (see the module docstring)."""
    if not lines or not lines[0].startswith(CELL_MAGIC):
        return lines
    first = lines[0]
    rest = first[len(CELL_MAGIC):]
    if rest and not rest[0].isspace():
        return lines
    args = rest.strip()
    opts = parse_options(args)
    body = list(lines[1:])
    if body and not body[-1].endswith("\n"):
        body[-1] += "\n"
    finish = f"get_ipython().run_line_magic('entrypoint', {args!r})\n"
    if _defines(opts.name, "".join(body)):
        return ["\n", *body, finish]
    inside, has_code = _scan(body)
    indented = [ln if i in inside or not ln.strip() else "    " + ln for i, ln in enumerate(body)]
    if not has_code:
        indented.append("    pass\n")
    header = f"def {opts.name}(inputs, previous=None):\n"
    if _needs_async(header, indented):
        header = "async " + header
    return [header, *indented, finish]


transform_entrypoint_cell.has_side_effects = True  # type: ignore[attr-defined]  # out of IPython's check_complete


# ---------------------------------------------------------------------------- display helpers
class Mermaid:
    """Mermaid text shown as ``text/vnd.mermaid`` (JupyterLab draws it), plain text elsewhere."""

    def __init__(self, text: str) -> None:
        self.text = text

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        return {"text/vnd.mermaid": self.text, "text/plain": self.text}

    def __repr__(self) -> str:
        return self.text


def human_bytes(n: int) -> str:
    """``n`` bytes for people: 812 B, 12.3 kB, 4.1 MB."""
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


class ThreadsTable:
    """``%nbflow threads``: each thread of the workflows' checkpointers, with its size on record."""

    def __init__(self, rows: list[tuple[str, str, str, int, int]]) -> None:
        self.rows = rows  # (workflow, checkpointer, thread, checkpoints, bytes)

    @classmethod
    def of(cls, wfs: list[Workflow], sess: Any) -> ThreadsTable:
        rows, seen = [], set()
        for wf in wfs:
            saver = wf.checkpointer
            if saver is None or id(saver) in seen:
                continue
            seen.add(id(saver))
            where = sess.describe_saver(saver)
            for tid in saver.list_threads():
                try:
                    size = int(saver.thread_size(tid))
                except NotImplementedError:
                    size = -1
                n = sum(len(saver.list_checkpoints(tid, ns)) for ns in _namespaces(saver, tid))
                rows.append((wf.name, where, tid, n, size))
        return cls(rows)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        head = ("workflow", "checkpointer", "thread", "checkpoints", "size")
        cells = [(w, c, t, str(n), human_bytes(b) if b >= 0 else "?") for w, c, t, n, b in self.rows]
        if not cells:
            return {"text/plain": "no threads yet"}
        widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(head)]
        text = "\n".join("  ".join(v.ljust(widths[i]) for i, v in enumerate(r)) for r in [head, *cells])
        body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in r) + "</tr>" for r in cells)
        table = ("<table class='nbflow-threads'><thead><tr>" + "".join(f"<th>{h}</th>" for h in head)
                 + f"</tr></thead><tbody>{body}</tbody></table>")
        return {"text/plain": text, "text/html": table}

    def __repr__(self) -> str:
        return self._repr_mimebundle_()["text/plain"]


def _namespaces(saver: Any, tid: str) -> list[str]:
    try:
        return saver.namespaces(tid)
    except NotImplementedError:
        return [""]


# ---------------------------------------------------------------------------- the magics
@magics_class
class NbflowMagics(Magics):
    """``%%entrypoint`` / ``%entrypoint`` and ``%nbflow`` (see the module docstring)."""

    @property
    def ip(self) -> Any:
        """The IPython shell these magics were registered with (always set once loaded)."""
        if self.shell is None:  # pragma: no cover - IPython registers magics with a shell
            raise UsageError("nbflow's magics need an IPython shell: %load_ext nbflow")
        return self.shell

    @line_cell_magic
    def entrypoint(self, line: str, cell: str | None = None) -> Any:
        if cell is not None:  # called as run_cell_magic(...), without the input transformer
            lines = transform_entrypoint_cell([f"{CELL_MAGIC} {line}\n", *cell.splitlines(keepends=True)])
            code = self.ip.transform_cell("".join(lines[:-1]))
            exec(compile(code, self.ip.compile.cache(code), "exec"), self.ip.user_ns)
        return self._define(parse_options(line, "%entrypoint"))

    def _saver(self, text: str) -> BaseCheckpointSaver:
        sess = session()
        if text == "default":
            return sess.default_saver()
        if text == "memory" or text.startswith("sqlite"):
            try:
                return sess.saver_for(parse_spec(text))
            except SpecError as e:
                raise UsageError(f"--checkpointer: {e}") from None
        try:
            saver = self.ip.ev(text)
        except Exception as e:  # noqa: BLE001 - reported as a usage error
            raise UsageError(f"--checkpointer {text!r}: {type(e).__name__}: {e}") from None
        if not isinstance(saver, BaseCheckpointSaver):
            raise UsageError(f"--checkpointer {text!r} is a {type(saver).__name__}, not an nbflow saver; use "
                             "memory, sqlite:PATH or an InMemorySaver()/SqliteSaver(path) object")
        return saver

    def _define(self, opts: Options) -> Any:
        from .widgets import show

        sess = session()
        ns = self.ip.user_ns
        obj = ns.get(opts.name)
        saver = self._saver(opts.checkpointer) if opts.checkpointer else None
        if isinstance(obj, Workflow):
            wf = obj
            if saver is not None:
                wf.checkpointer = saver
            elif wf.checkpointer is None:
                wf.checkpointer = sess.default_saver()
        elif callable(obj):
            try:
                wf = _entrypoint(checkpointer=saver or sess.default_saver())(obj)
            except (TypeError, NotImplementedError) as e:
                raise UsageError(f"%%entrypoint {opts.name}: {e}") from None
        else:
            raise UsageError(f"%%entrypoint {opts.name}: the cell must define def {opts.name}(...) "
                             "or be the workflow's body")
        ns[opts.name] = wf
        sess.register(wf)
        print(_defined_line(wf, sess))
        if opts.run is not None:
            value = self.ip.ev(opts.run)
            config = {"configurable": {"thread_id": opts.thread}} if opts.thread else None
            view = show(wf, value, config)
            if opts.wait:
                view.wait()
            return view
        if opts.thread:
            sess.last_thread[wf.name] = opts.thread
            if wf.checkpointer is not None and wf.checkpointer.get_checkpoint(opts.thread, "") is not None:
                return show(wf, config={"configurable": {"thread_id": opts.thread}})
        return None

    # ------------------------------------------------------------------ %nbflow
    def _workflow(self, name: str) -> Workflow:
        wf = session().workflows.get(name)
        obj = self.ip.user_ns.get(name)
        if isinstance(obj, Workflow):
            wf = obj
        if wf is None:
            raise UsageError(f"%nbflow: no workflow named {name!r}; define it with %%entrypoint {name}")
        return wf

    def _thread(self, wf: Workflow, args: list[str], who: str) -> dict:
        thread = None
        rest = list(args)
        while rest:
            tok = rest.pop(0)
            if tok == "--thread" and rest:
                thread = rest.pop(0)
            elif tok.startswith("--thread="):
                thread = tok.split("=", 1)[1]
            else:
                raise UsageError(f"%nbflow {who}: unexpected {tok!r}; usage: %nbflow {who} NAME [--thread ID]")
        thread = thread or session().last_thread.get(wf.name)
        if not thread:
            raise UsageError(f"%nbflow {who} {wf.name}: which thread? add --thread ID")
        if wf.checkpointer is None:
            raise UsageError(f"%nbflow {who}: workflow {wf.name!r} has no checkpointer, so it keeps no history")
        return {"configurable": {"thread_id": thread}}

    @line_magic
    def nbflow(self, line: str) -> Any:
        from .widgets import inbox, timeline

        try:
            args = shlex.split(line)
        except ValueError as e:
            raise UsageError(f"%nbflow: {e}") from None
        sess = session()
        if not args:
            print(sess.settings_text())
            return None
        cmd, rest = args[0], args[1:]
        if cmd == "checkpointer":
            if len(rest) != 1:
                raise UsageError("usage: %nbflow checkpointer memory | sqlite:PATH | default")
            try:
                spec = sess.set_default(rest[0])
            except SpecError as e:
                raise UsageError(f"%nbflow checkpointer: {e}") from None
            print(f"checkpointer: {spec.text} (for workflows defined from now on)")
            return None
        if cmd in ("history", "graph"):
            if not rest or rest[0].startswith("--"):
                raise UsageError(f"usage: %nbflow {cmd} NAME [--thread ID]")
            wf = self._workflow(rest[0])
            config = self._thread(wf, rest[1:], cmd)
            try:
                if cmd == "history":
                    return timeline(wf, config)
                return Mermaid(wf.get_graph_mermaid(config))
            except NbflowError as e:
                raise UsageError(f"%nbflow {cmd}: {e}") from None
        if cmd == "inbox":
            wfs = [self._workflow(n) for n in rest]
            return inbox(wfs or None)
        if cmd == "threads":
            wfs = [self._workflow(n) for n in rest] or list(sess.workflows.values())
            return ThreadsTable.of(wfs, sess)
        if cmd == "prune":
            return self._prune(rest)
        raise UsageError(f"%nbflow: unknown command {cmd!r}; use %nbflow, %nbflow checkpointer ..., "
                         "%nbflow history NAME, %nbflow graph NAME, %nbflow inbox, %nbflow threads [NAME] or "
                         "%nbflow prune NAME [--thread ID] [--keep N | --keep-invocations N] [--vacuum]")

    def _prune(self, args: list[str]) -> None:
        usage = "usage: %nbflow prune NAME [--thread ID] [--keep N | --keep-invocations N] [--vacuum]"
        if not args or args[0].startswith("--"):
            raise UsageError(usage)
        wf = self._workflow(args[0])
        rest, thread_args = args[1:], []
        opts: dict[str, Any] = {}
        while rest:
            tok = rest.pop(0)
            name, eq, val = tok.partition("=")
            if name in ("--keep", "--keep-invocations"):
                if not eq:
                    if not rest:
                        raise UsageError(f"%nbflow prune: {name} needs a number; {usage}")
                    val = rest.pop(0)
                if not val.isdigit() or int(val) < 1:
                    raise UsageError(f"%nbflow prune: {name} takes a whole number of at least 1, got {val!r}")
                opts["keep_last" if name == "--keep" else "keep_invocations"] = int(val)
            elif tok == "--vacuum":
                opts["vacuum"] = True
            elif name == "--thread":
                thread_args += [tok] if eq else [tok, rest.pop(0) if rest else ""]
            else:
                raise UsageError(f"%nbflow prune: unexpected {tok!r}; {usage}")
        config = self._thread(wf, thread_args, "prune")
        try:
            out = wf.prune(config, **opts)
        except NbflowError as e:
            raise UsageError(f"%nbflow prune: {e}") from None
        thread = config["configurable"]["thread_id"]
        print(f"pruned thread {thread!r} of {wf.name}: {out.checkpoints} checkpoint"
              f"{'s' if out.checkpoints != 1 else ''} and {out.pieces} piece{'s' if out.pieces != 1 else ''} "
              f"removed; {human_bytes(out.bytes_before)} → {human_bytes(out.bytes_after)}"
              + ("" if opts.get("vacuum") else " (add --vacuum to give the space back to the disk)"))


def load_ipython_extension(ip: Any) -> None:
    """``%load_ext nbflow``: register the magics and the ``%%entrypoint`` cell transformer, and start
    listening to the tap (once per kernel), so every view hears every change to its thread."""
    from .live import hub

    session()
    hub()
    ip.register_magics(NbflowMagics)
    from .comm import register as register_sidebar_comm  # JupyterLab's Workflows sidebar talks to this kernel

    register_sidebar_comm(ip)
    cleanup = ip.input_transformers_cleanup
    if transform_entrypoint_cell not in cleanup:
        cleanup.append(transform_entrypoint_cell)


def unload_ipython_extension(ip: Any) -> None:
    from .live import reset_hub

    reset_hub()
    cleanup = ip.input_transformers_cleanup
    while transform_entrypoint_cell in cleanup:
        cleanup.remove(transform_entrypoint_cell)
    for kind, names in (("line", ("entrypoint", "nbflow")), ("cell", ("entrypoint",))):
        table = ip.magics_manager.magics.get(kind, {})
        for n in names:
            table.pop(n, None)



def _defined_line(wf: Workflow, sess: Any) -> str:
    """One line saying what ``%%entrypoint`` defined: name, inputs, checkpointer, threads so far."""
    try:
        params = list(inspect.signature(wf.func).parameters)
    except (TypeError, ValueError):
        params = []
    inputs = ", ".join(p for p in params if p not in ("previous", "config", "writer", "store", "runtime")) or "no input"
    saver = wf.checkpointer
    try:
        threads = len(saver.list_threads()) if saver is not None else 0
    except Exception:  # noqa: BLE001 - a count is a nicety, never a reason to fail the cell
        threads = 0
    where = sess.describe_saver(saver)
    return (f"Defined workflow {wf.name}({inputs}) · checkpointer {where} · "
            f"{threads} thread{'s' if threads != 1 else ''}")

__all__ = [
    "Mermaid",
    "NbflowMagics",
    "Options",
    "load_ipython_extension",
    "parse_options",
    "transform_entrypoint_cell",
    "unload_ipython_extension",
]
