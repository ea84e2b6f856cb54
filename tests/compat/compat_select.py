"""Choose LangGraph's Functional-API tests and write trimmed copies of their modules.

Pure AST work on the test files of LangGraph's sdist (fetched at run time into
the cache by :mod:`harness`; nothing of them lives in this repository).

A test function (module level, or a method of a ``Test*`` class) is *selected*
when its code, or the module-level helpers it reaches by name, decorates
something with ``entrypoint``/``task`` (or calls ``entrypoint(...)``). A
selected test is *excluded* when that same closure builds a ``StateGraph``
(a graph-API test that merely also uses a task) or when the test patches
LangGraph internals (``mocker.patch``/``monkeypatch`` aimed at ``langgraph``),
which an alias of public names cannot honour.

For each file with selected tests, :func:`trim_module` writes a module with the
selected tests, the module-level names they reach, and their imports. Every
``from X import a`` is guarded: a name nbflow does not answer is bound to a
:class:`Missing` marker that fails only the tests that touch it, with a message
naming the missing ``langgraph`` name.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["FILES", "Selected", "Excluded", "FileSelection", "select_file", "trim_module"]

FILES = (
    "test_pregel.py",
    "test_pregel_async.py",
    "test_retry.py",
    "test_deprecation.py",
    "test_interrupt_state.py",
    "test_stream_namespaces.py",
    "test_stream_events_v3.py",
    "test_pydantic.py",
)

# Kept-out cases whose assertions are about LangGraph's own bookkeeping, not the behaviour of the API.
_INTERNALS = {
    ("test_pregel.py", "test_falsy_return_from_task"):
        "tests a LangGraph internal: under durability='exit' its debug checkpoint payload reports "
        "parent_config=None for the final checkpoint (its in-run record of the last checkpoint it wrote), "
        "although the saved history LangGraph itself returns has that parent; every other field of the "
        "debug stream it checks is covered by nbflow's tests/test_streaming.py::test_debug_stream_like_langgraph",
}

_GRAPH_NAMES = frozenset({"StateGraph", "MessageGraph", "Pregel", "NodeBuilder"})
_PATCH_CALL = re.compile(r"\b(patch|patch\.object|setattr|mocker\.spy)\(\s*([\"']?)([\w.]+)")


@dataclass(frozen=True)
class Selected:
    """A kept test: ``qualname`` is ``test_x`` or ``TestClass::test_x``."""

    file: str
    qualname: str
    lineno: int


@dataclass(frozen=True)
class Excluded:
    file: str
    qualname: str
    reason: str


@dataclass(frozen=True)
class FileSelection:
    file: str
    selected: tuple[Selected, ...] = ()
    excluded: tuple[Excluded, ...] = ()
    source: str = field(default="", repr=False)


def _bound_names(node: ast.stmt) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)]
    if isinstance(node, (ast.AnnAssign, ast.AugAssign)) and isinstance(node.target, ast.Name):
        return [node.target.id]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split(".")[0] for a in node.names]
    return []


def _referenced(node: ast.AST) -> set[str]:
    names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    for n in ast.walk(node):  # fixtures named by argument
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
            names.update(a.arg for a in n.args.args + n.args.kwonlyargs)
    return names


def _functional_names(tree: ast.Module) -> set[str]:
    """Local names bound to ``langgraph.func.entrypoint`` / ``task``."""
    out = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "langgraph.func":
            for a in node.names:
                if a.name in ("entrypoint", "task"):
                    out.add(a.asname or a.name)
    return out


def _uses_functional(node: ast.AST, func_names: set[str]) -> bool:
    for n in ast.walk(node):
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for d in n.decorator_list:
                target = d.func if isinstance(d, ast.Call) else d
                if isinstance(target, ast.Name) and target.id in func_names:
                    return True
                if isinstance(target, ast.Attribute) and target.attr in ("entrypoint", "task"):
                    return True
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in func_names:
            return True
    return False


class _Module:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tree = ast.parse(source)
        self.defs: dict[str, list[ast.stmt]] = {}
        for node in self.tree.body:
            for name in _bound_names(node):
                self.defs.setdefault(name, []).append(node)
        self.func_names = _functional_names(self.tree)

    def patches_langgraph(self, text: str) -> bool:
        """Does ``text`` patch/spy on a ``langgraph`` object (by dotted string or imported name)?"""
        for m in _PATCH_CALL.finditer(text):
            target = m.group(3)
            if m.group(2) and target.startswith("langgraph"):
                return True
            if not m.group(2) and self.import_module(target.split(".")[0]).startswith("langgraph"):
                return True
        return False

    def import_module(self, local: str) -> str:
        for node in self.defs.get(local, ()):
            if isinstance(node, ast.ImportFrom):
                return node.module or ""
            if isinstance(node, ast.Import):
                return next(a.name for a in node.names if (a.asname or a.name).split(".")[0] == local)
        return ""

    def closure(self, root: ast.AST) -> list[ast.stmt]:
        """Module-level statements reachable by name from ``root`` (not imports)."""
        seen: list[ast.stmt] = []
        todo = list(_referenced(root))
        names_done: set[str] = set()
        while todo:
            name = todo.pop()
            if name in names_done:
                continue
            names_done.add(name)
            for node in self.defs.get(name, ()):
                if node in seen or isinstance(node, (ast.Import, ast.ImportFrom)):
                    continue
                seen.append(node)
                todo.extend(_referenced(node))
        return seen

    def tests(self) -> list[tuple[str, ast.AST, ast.ClassDef | None]]:
        out = []
        for node in self.tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
                out.append((node.name, node, None))
            elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
                for item in node.body:
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name.startswith("test"):
                        out.append((f"{node.name}::{item.name}", item, node))
        return out


def _class_shell(cls: ast.ClassDef) -> ast.ClassDef:
    """``cls`` without its test methods (what every kept method of it needs)."""
    body = [
        item for item in cls.body
        if not (isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name.startswith("test"))
    ] or [ast.Pass()]
    return ast.ClassDef(name=cls.name, bases=cls.bases, keywords=cls.keywords, body=body,
                        decorator_list=cls.decorator_list, type_params=getattr(cls, "type_params", []))


def select_file(name: str, source: str) -> FileSelection:
    mod = _Module(source)
    selected, excluded = [], []
    for qualname, node, cls in mod.tests():
        reach = [node, *mod.closure(node)]
        if cls is not None:
            shell = _class_shell(cls)
            reach += [shell, *mod.closure(shell)]
        if not any(_uses_functional(r, mod.func_names) for r in reach):
            continue
        names: set[str] = set()
        for r in reach:
            names |= _referenced(r)
        text = ast.get_source_segment(source, node) or ""
        if names & _GRAPH_NAMES:
            excluded.append(Excluded(name, qualname, "builds a StateGraph (Graph API)"))
        elif mod.patches_langgraph(text):
            excluded.append(Excluded(name, qualname, "patches LangGraph internals"))
        elif (name, qualname) in _INTERNALS:
            excluded.append(Excluded(name, qualname, _INTERNALS[(name, qualname)]))
        else:
            selected.append(Selected(name, qualname, node.lineno))
    return FileSelection(name, tuple(selected), tuple(excluded), source)


_GUARD_HELPER = '''
class Missing:
    """A langgraph name nbflow does not provide: any use fails the test touching it."""

    def __init__(self, module, name, error):
        self._where = f"{module}.{name}" if name else module
        self._error = error

    def _fail(self, *args, **kwargs):
        raise NotImplementedError(
            f"compat: nbflow does not provide {self._where} ({self._error})"
        )

    __call__ = __getattr__ = __getitem__ = __iter__ = __or__ = __ror__ = _fail
    __enter__ = __aenter__ = _fail

    def __mro_entries__(self, bases):
        self._fail()

    def __repr__(self):
        return f"<missing {self._where}>"
'''


def _segment(source: str, node: ast.stmt) -> str:
    """The source lines of a top-level statement, decorators included."""
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return "\n".join(source.splitlines()[first - 1:node.end_lineno])


def _guard_import(node: ast.stmt, used: set[str]) -> list[str]:
    lines = []
    if isinstance(node, ast.ImportFrom):
        if not (node.module or "").startswith("langgraph"):  # not aliased: import as written
            names = [a for a in node.names if (a.asname or a.name) in used]
            if not names:
                return []
            return [ast.unparse(ast.ImportFrom(module=node.module, names=names, level=node.level))]
        mod = "." * node.level + (node.module or "")
        for a in node.names:
            local = a.asname or a.name
            if local not in used:
                continue
            alias = f" as {a.asname}" if a.asname else ""
            lines += [
                "try:",
                f"    from {mod} import {a.name}{alias}",
                "except ImportError as _exc:",
                f"    {local} = _compat_missing({mod!r}, {a.name!r}, _exc)",
            ]
    else:
        for a in node.names:
            local = (a.asname or a.name).split(".")[0]
            if local not in used:
                continue
            if not a.name.startswith("langgraph"):
                lines.append(ast.unparse(ast.Import(names=[a])))
                continue
            lines += [
                "try:",
                f"    {ast.unparse(ast.Import(names=[a]))}",
                "except ImportError as _exc:",
                f"    {local} = _compat_missing({a.name!r}, '', _exc)",
            ]
    return lines


def trim_module(sel: FileSelection) -> str:
    """The text of a module holding only ``sel.selected`` and what they reach."""
    mod = _Module(sel.source)
    wanted = {s.qualname for s in sel.selected}
    keep_tests: dict[int, ast.stmt] = {}
    reach: list[ast.stmt] = []
    for qualname, node, cls in mod.tests():
        if qualname not in wanted:
            continue
        reach += [node, *mod.closure(node)]
        if cls is not None:
            shell = _class_shell(cls)
            reach += [shell, *mod.closure(shell)]
            keep_tests[id(cls)] = cls
        else:
            keep_tests[id(node)] = node
    reached_ids = {id(r) for r in reach}

    def always_kept(node: ast.stmt) -> bool:
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef,
                             ast.ClassDef, ast.AugAssign)):
            return False
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            return "pytestmark" in _bound_names(node)
        return not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))

    used: set[str] = set()
    for r in reach + [n for n in mod.tree.body if always_kept(n)]:
        used |= _referenced(r)
    futures = [n for n in mod.tree.body if isinstance(n, ast.ImportFrom) and n.module == "__future__"]
    out = [f"# Generated by nbflow's compat harness from LangGraph's {sel.file}; do not edit."]
    out += [ast.unparse(n) for n in futures]
    out += [_GUARD_HELPER, "_compat_missing = Missing", ""]
    for node in mod.tree.body:
        if node in futures or (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            out += _guard_import(node, used)
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            if id(node) not in keep_tests:
                if id(node) in reached_ids:
                    out.append(_segment(sel.source, node))
                continue
            body = [
                item for item in node.body
                if not (isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
                        and item.name.startswith("test")
                        and f"{node.name}::{item.name}" not in wanted)
            ]
            out.append(ast.unparse(ast.ClassDef(
                name=node.name, bases=node.bases, keywords=node.keywords, body=body,
                decorator_list=node.decorator_list, type_params=getattr(node, "type_params", []),
            )))
        elif always_kept(node) or id(node) in keep_tests or id(node) in reached_ids:
            out.append(_segment(sel.source, node))
        else:
            continue
        out.append("")
    return "\n".join(out) + "\n"


KNOWN_FAILURES = Path(__file__).resolve().parent / "known_failures.txt"


def read_known_failures(path: Path = KNOWN_FAILURES) -> dict[str, str]:
    """``{test id: category}`` from lines ``<test id> <category>: <note>``."""
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        test_id, _, rest = line.partition(" ")
        out[test_id] = rest.strip() or "uncategorised"
    return out
