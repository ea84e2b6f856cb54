"""The widget wire format, defined once: message kinds and typed payloads (pure, no nbflow imports).

Every custom comm message is a JSON object ``{"kind": ..., "v": VERSION, ...}``.
The payload types below are the single source of truth: :func:`json_schema`
exports them as a JSON schema and :func:`typescript` turns that schema into
``labextension/src/protocol.gen.ts``, which the front end imports. The build
regenerates it (``npm run build`` runs this file as a script) and
``tests/test_notebook_protocol.py`` fails when the committed file drifts.

Kernel → front end
    ``snapshot``      the whole state of a view: ``{seq, state, rows}``
    ``batch``         what changed since the previous message: ``{seq, state?, rows}``;
                      each row replaces the row with the same ``key`` (or is added)
    ``resume_error``  an answer was refused: ``{id, message, errors: [{field, message}]}``
    ``action_error``  a timeline/inbox action failed: ``{message}``
    ``comparison``    timeline: two invocations side by side: ``{left, right, rows: [CompareRow]}``
    ``state``         timeline: the state saved at an invocation's checkpoint:
                      ``{index, thread_id, pretty, json, note}``
    ``graph``         run view: the Mermaid text of what the thread's current invocation ran: ``{mermaid, note}``

Front end → kernel
    ``snapshot_request``  a view was (re)rendered and wants the whole state
    ``resume``            answer one question: ``{id, value}`` or ``{id, option}``
                          (plus ``thread_id``/``workflow`` from the inbox)
    ``resume_all``        answer several questions of one thread at once: ``{answers: [Answer]}``
    ``replay`` / ``fork`` timeline actions; ``refresh`` reload from the checkpointer
    ``compare``           timeline: ``{left, right}`` invocation indexes (``right_thread``: ``right`` is an
                          invocation of that other thread of the workflow; -1 is its latest)
    ``state_request``     timeline: the state at invocation ``{index}``'s checkpoint
    ``stop``              run view: stop the thread's running invocation (``Workflow.stop``)
    ``continue``          run view: continue a stopped invocation (``invoke(None, config)``)
    ``graph_request``     run view: the Graph tab is open and wants the current picture

The Workflows sidebar's comm (target ``nbflow.lab``, :mod:`.comm` on the kernel side,
``labextension/src/lab/kernel.ts`` on the front end) is defined here too, with its own version
(``SIDEBAR_VERSION``), in the same schema and the same generated file:

Front end → kernel (``SidebarToKernel``)
    ``list``          every thread the kernel's workflows know
    ``answer``        answer one question of a thread: ``{workflow, thread_id, id, value | option}``
    ``stop`` / ``continue`` / ``timeline``  on one thread: ``{workflow, thread_id}``

Kernel → front end (``SidebarToFrontend``)
    ``threads``       the whole list: ``{threads: [SidebarThread], workflows}``
    ``thread``        one thread changed (or appeared): ``{thread}``
    ``timeline_code`` the Python that shows a thread's timeline: ``{key, code}``
    ``ok`` / ``error`` the outcome of a request: ``{request, key}`` (+ ``message``, ``errors``)

:func:`problems` checks a received message against these types (the kernel answers a malformed
one with an error naming the field, instead of failing somewhere later).

This module is also a script: ``python protocol.py --ts OUT`` writes the
TypeScript types, ``--schema OUT`` the JSON schema.
"""

from __future__ import annotations

import json
import sys
import typing
from typing import Any, Literal, NotRequired, TypedDict

VERSION = 2

TO_FRONTEND = ("snapshot", "batch", "resume_error", "action_error", "comparison", "graph", "state")
TO_KERNEL = ("snapshot_request", "resume", "resume_all", "replay", "fork", "refresh", "compare", "stop", "continue",
             "graph_request", "state_request")
ROW_KINDS = ("task", "message", "run")
ROW_STATES = ("running", "ok", "cached", "error", "waiting", "stopped")
FORM_KINDS = ("schema", "inbox", "options", "text")
STATUSES = ("idle", "running", "interrupted", "done", "error", "stopped")
QUESTION_STATES = ("pending", "answered", "superseded")

Status = Literal["idle", "running", "interrupted", "done", "error", "stopped"]
RowState = Literal["running", "ok", "cached", "error", "waiting", "stopped"]  # stopped: abandoned by a stop
QuestionState = Literal["pending", "answered", "superseded"]


# ---------------------------------------------------------------------------- forms
class FieldSpec(TypedDict):
    """One input of a schema form (built by ``forms.field_spec``)."""
    name: str
    label: str
    type: Literal["string", "integer", "number", "boolean", "enum", "json"]
    required: bool
    nullable: bool
    multiline: NotRequired[bool]
    description: NotRequired[str]
    default: NotRequired[Any]
    enum: NotRequired[list[Any]]
    enum_labels: NotRequired[list[str]]
    minimum: NotRequired[float]
    maximum: NotRequired[float]
    exclusiveMinimum: NotRequired[float]
    exclusiveMaximum: NotRequired[float]
    minLength: NotRequired[int]
    maxLength: NotRequired[int]
    pattern: NotRequired[str]
    multipleOf: NotRequired[float]


class ValueField(TypedDict):
    label: str
    text: str
    long: bool


class ValueView(TypedDict):
    """How to show a question's value: labelled fields, one text block, or nothing."""
    type: Literal["fields", "text", "none"]
    fields: NotRequired[list[ValueField]]
    text: NotRequired[str]
    long: NotRequired[bool]


class OptionSpec(TypedDict):
    label: str
    index: int


class FormSpec(TypedDict):
    """The form for one question (built by ``forms.form_spec``)."""
    id: str
    index: int
    task: str
    kind: Literal["schema", "inbox", "options", "text"]
    display: ValueView
    title: NotRequired[str]
    fields: NotRequired[list[FieldSpec]]
    object: NotRequired[bool]
    options: NotRequired[list[OptionSpec]]
    actions: NotRequired[list[Literal["accept", "edit", "response", "ignore"]]]
    action: NotRequired[str]
    args: NotRequired[Any]
    wrap: NotRequired[bool]
    description: NotRequired[str]


# ---------------------------------------------------------------------------- thread state
class ToolCallView(TypedDict):
    """A tool call in a conversation: its arguments (pretty JSON) and, once a tool message answered it,
    its result (``error``: the tool failed)."""
    id: str
    name: str
    args: str
    result: str
    error: bool
    answered: bool


class ChatMessage(TypedDict):
    """One message of a conversation (``notebook/conversation.py``): content is markdown; ``long`` is drawn folded."""
    role: Literal["user", "assistant", "system", "tool"]
    name: str
    content: str
    long: bool
    tool_calls: list[ToolCallView]
    tool_call_id: str
    error: bool
class UsageSummary(TypedDict):
    """Model usage summed over a task, an invocation or a thread (``nbflow.observe.UsageTotals``)."""
    calls: int
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cost: float       # US dollars, over the calls that had a price
    unpriced: int     # calls without a price (cost leaves them out)
    models: list[str]
    text: str         # one line: "2 model calls · 1,234 tokens (1,000 in / 234 out) · $0.0042"


class ToolCallRow(TypedDict):
    """A tool call a task's model asked for (streamed, then from its final message)."""
    id: str
    name: str
    args: str  # JSON text (as it streams, possibly incomplete)


class Row(TypedDict):
    """One row of a run view: a task call position (or a streamed message), updated in place."""
    key: str
    kind: Literal["task", "message", "run"]
    name: str
    path: str
    depth: int
    state: RowState
    preview: str
    error: str
    duration: float
    cached: bool
    replayed: bool  # the result came from the checkpoint (not run again)
    text: str
    chat: NotRequired[list[ChatMessage]]  # the task's result read as a conversation (chat messages)
    stream: NotRequired[str]  # the text a chat model in the task is streaming (cleared when the task ends)
    tools: NotRequired[list[ToolCallRow]]  # tool calls its model asked for (streaming, then final)
    usage: NotRequired[UsageSummary]  # its model calls, every attempt (absent: none)


class Question(TypedDict):
    """A question the thread asked in its current invocation, and what became of it."""
    id: str
    task: str
    state: QuestionState
    summary: str  # a one-line preview of the value (the text/plain views)
    text: str     # human text: the question string when there is one, else compact JSON (sidebar, saved views)
    answer: str
    origin: str  # where the answer came from: "this view", "the inbox", "code", ...
    form: FormSpec


class Liveness(TypedDict):
    """Whether an unfinished run is going on (``nbflow.checkpoint.leases``): ``elsewhere`` (another process
    renews its lease) or ``gone`` (it stopped without finishing); ``since``: its last sign of life."""
    state: Literal["here", "elsewhere", "gone"]
    owner: str  # "process 123 on host h (kernel 1a2b3c4d)"
    since: float | None


class RunState(TypedDict):
    """Everything a run view shows besides its rows."""
    name: str
    workflow: str
    thread_id: str | None
    status: Status
    done: int
    total: int
    active_s: float
    waiting_s: float
    since: float | None  # epoch seconds the current running/waiting stretch began (None when settled)
    error: str
    error_where: str
    traceback: str
    result: str
    result_preview: str
    has_result: bool
    events: int
    last_event: str
    questions: list[Question]
    invocation: int  # how many invocations of this thread this kernel has seen start (a new one resets rows)
    result_chat: NotRequired[list[ChatMessage]]  # the result read as a conversation (chat messages)
    moved_on: NotRequired[bool]  # a view kept on its own invocation: the thread has started a newer one
    liveness: NotRequired[Liveness | None]  # an unfinished run not going on in this kernel (None otherwise)
    usage: NotRequired[UsageSummary]         # the model calls of the current invocation (absent: none)
    thread_usage: NotRequired[UsageSummary]  # ... of every invocation of the thread


# ---------------------------------------------------------------------------- inbox
class InboxItem(TypedDict):
    """One thread in the inbox: waiting for input, running, or answered (kept, collapsed)."""
    key: str
    workflow: str
    thread_id: str
    state: Literal["waiting", "running", "answered", "done", "error"]
    message: str
    questions: list[Question]
    result: str
    updated: float
    usage: NotRequired[UsageSummary]  # the thread's model usage and cost (absent: no model calls)


# ---------------------------------------------------------------------------- messages
class FieldError(TypedDict):
    field: str
    message: str


class SnapshotMsg(TypedDict):
    kind: Literal["snapshot"]
    v: int
    seq: int
    state: RunState
    rows: list[Row]


class BatchMsg(TypedDict):
    kind: Literal["batch"]
    v: int
    seq: int
    state: NotRequired[RunState]
    rows: list[Row]


class ResumeErrorMsg(TypedDict):
    kind: Literal["resume_error"]
    v: int
    id: str
    message: str
    errors: list[FieldError]
    thread_id: NotRequired[str]


class ActionErrorMsg(TypedDict):
    kind: Literal["action_error"]
    v: int
    message: str


class CompareRow(TypedDict):
    """One line of a side-by-side comparison: what, left value, right value, equal or not."""
    what: str
    left: str
    right: str
    same: bool


class ComparisonMsg(TypedDict):
    kind: Literal["comparison"]
    v: int
    left: int
    right: int
    left_label: NotRequired[str]   # "#2", or "thread t-2 #0" for another thread
    right_label: NotRequired[str]
    rows: list[CompareRow]


class CompareMsg(TypedDict):
    kind: Literal["compare"]
    v: int
    left: int
    right: int
    right_thread: NotRequired[str]


class StateRequestMsg(TypedDict):
    kind: Literal["state_request"]
    v: int
    index: int


class StateMsg(TypedDict):
    """The state saved at an invocation's checkpoint, as readable text and as JSON."""
    kind: Literal["state"]
    v: int
    index: int
    thread_id: str
    pretty: str
    json: str
    note: str
    chat: NotRequired[list[ChatMessage]]  # the state's messages as a conversation


class Answer(TypedDict):
    id: str
    value: NotRequired[Any]
    option: NotRequired[int]


class ResumeMsg(TypedDict):
    kind: Literal["resume"]
    v: int
    id: str
    value: NotRequired[Any]
    option: NotRequired[int]
    thread_id: NotRequired[str]
    workflow: NotRequired[str]


class ResumeAllMsg(TypedDict):
    kind: Literal["resume_all"]
    v: int
    answers: list[Answer]
    thread_id: NotRequired[str]
    workflow: NotRequired[str]


class SnapshotRequestMsg(TypedDict):
    kind: Literal["snapshot_request"]
    v: int


class RefreshMsg(TypedDict):
    kind: Literal["refresh"]
    v: int


class ReplayMsg(TypedDict):
    kind: Literal["replay"]
    v: int
    index: int


class GraphMsg(TypedDict):
    """The Mermaid text of what ran (``Workflow.get_graph_mermaid``); ``note`` says why it is empty."""
    kind: Literal["graph"]
    v: int
    mermaid: str
    note: str


class GraphRequestMsg(TypedDict):
    kind: Literal["graph_request"]
    v: int


class StopMsg(TypedDict):
    kind: Literal["stop"]
    v: int


class ContinueMsg(TypedDict):
    kind: Literal["continue"]
    v: int


class ForkMsg(TypedDict):
    kind: Literal["fork"]
    v: int
    invocation: int
    task: int
    value: NotRequired[Any]
    same_thread: NotRequired[bool]


# ---------------------------------------------------------------------------- the sidebar comm (nbflow.lab)
SIDEBAR_TARGET = "nbflow.lab"
SIDEBAR_VERSION = 1
SIDEBAR_TO_KERNEL = ("list", "answer", "stop", "continue", "timeline", "prices")
SIDEBAR_TO_FRONTEND = ("threads", "thread", "timeline_code", "ok", "error")

SidebarRequestKind = Literal["list", "answer", "stop", "continue", "timeline", "prices"]


class SidebarQuestion(TypedDict):
    """A question waiting in a sidebar row: its one-line text and the run view's form for it."""
    id: str
    task: str
    summary: str  # human text (forms.question_text): the question string, else compact JSON
    form: FormSpec


class SidebarThread(TypedDict):
    """One row of the Workflows sidebar: a thread, its status and the questions it waits on."""
    key: str  # "workflow/thread_id"
    workflow: str
    thread_id: str
    status: Status
    last_activity: float | None  # epoch seconds
    checkpointer: str
    questions: list[SidebarQuestion]
    liveness: NotRequired[str]  # an unfinished run not going on in this kernel: "elsewhere" or "gone" ("" otherwise)
    note: NotRequired[str]      # what the liveness means: "running elsewhere: process 1 on host h" / "stopped without…"
    size: NotRequired[int]      # bytes the thread's rows hold in its checkpointer (read when it settles); -1: unknown
    usage: NotRequired[UsageSummary]  # the thread's model usage and cost (absent: no model calls)
    streaming: NotRequired[str]       # the tail of what a chat model in the thread is streaming right now


class SidebarListMsg(TypedDict):
    kind: Literal["list"]
    v: int


class SidebarPricesMsg(TypedDict):
    """JupyterLab's *Model prices* setting: the kernel's default price table (``set_prices`` entries win)."""
    kind: Literal["prices"]
    v: int
    prices: Any  # {model: {"input": usd, "output": usd, "cache_read": usd}} per million tokens


class SidebarAnswerMsg(TypedDict):
    """Answer one question (decoded as a run view's form answer) and continue the thread."""
    kind: Literal["answer"]
    v: int
    workflow: str
    thread_id: str
    id: str
    value: NotRequired[Any]
    option: NotRequired[int]


class SidebarStopMsg(TypedDict):
    kind: Literal["stop"]
    v: int
    workflow: str
    thread_id: str


class SidebarContinueMsg(TypedDict):
    kind: Literal["continue"]
    v: int
    workflow: str
    thread_id: str


class SidebarTimelineMsg(TypedDict):
    kind: Literal["timeline"]
    v: int
    workflow: str
    thread_id: str


class SidebarThreadsMsg(TypedDict):
    kind: Literal["threads"]
    v: int
    threads: list[SidebarThread]
    workflows: list[str]


class SidebarThreadMsg(TypedDict):
    kind: Literal["thread"]
    v: int
    thread: SidebarThread


class SidebarTimelineCodeMsg(TypedDict):
    kind: Literal["timeline_code"]
    v: int
    key: str
    code: str


class SidebarOkMsg(TypedDict):
    kind: Literal["ok"]
    v: int
    request: SidebarRequestKind
    key: str


class SidebarErrorMsg(TypedDict):
    """A request failed: ``request`` is the kind it had (None when it had none), ``key`` its thread."""
    kind: Literal["error"]
    v: int
    request: str | None
    message: str
    key: str
    id: NotRequired[str]  # the question, when an answer was refused
    errors: NotRequired[list[FieldError]]  # a malformed request: which fields, and what is wrong


TYPES: tuple[type, ...] = (FieldSpec, ValueField, ValueView, OptionSpec, FormSpec, ToolCallView, ChatMessage,
                           UsageSummary, ToolCallRow, Row, Liveness, Question, RunState,
                           InboxItem, FieldError, SnapshotMsg, BatchMsg, ResumeErrorMsg, ActionErrorMsg,
                           CompareRow, ComparisonMsg, CompareMsg,
                           Answer, ResumeMsg, ResumeAllMsg, SnapshotRequestMsg, RefreshMsg, ReplayMsg, ForkMsg,
                           StopMsg, ContinueMsg, GraphMsg, GraphRequestMsg,
                           StateRequestMsg, StateMsg,
                           SidebarQuestion, SidebarThread, SidebarListMsg, SidebarPricesMsg, SidebarAnswerMsg,
                           SidebarStopMsg, SidebarContinueMsg, SidebarTimelineMsg, SidebarThreadsMsg, SidebarThreadMsg,
                           SidebarTimelineCodeMsg, SidebarOkMsg, SidebarErrorMsg)
UNIONS = {"ToFrontend": ("SnapshotMsg", "BatchMsg", "ResumeErrorMsg", "ActionErrorMsg", "ComparisonMsg",
                         "GraphMsg", "StateMsg"),
          "ToKernel": ("SnapshotRequestMsg", "ResumeMsg", "ResumeAllMsg", "RefreshMsg", "ReplayMsg", "ForkMsg",
                       "CompareMsg", "StopMsg", "ContinueMsg", "GraphRequestMsg",
                       "StateRequestMsg"),
          "SidebarToKernel": ("SidebarListMsg", "SidebarAnswerMsg", "SidebarStopMsg", "SidebarContinueMsg",
                              "SidebarTimelineMsg", "SidebarPricesMsg"),
          "SidebarToFrontend": ("SidebarThreadsMsg", "SidebarThreadMsg", "SidebarTimelineCodeMsg", "SidebarOkMsg",
                                "SidebarErrorMsg")}
CONSTANTS = {"VERSION": VERSION, "TO_FRONTEND": TO_FRONTEND, "TO_KERNEL": TO_KERNEL, "ROW_STATES": ROW_STATES,
             "FORM_KINDS": FORM_KINDS, "STATUSES": STATUSES, "QUESTION_STATES": QUESTION_STATES,
             "SIDEBAR_TARGET": SIDEBAR_TARGET, "SIDEBAR_VERSION": SIDEBAR_VERSION,
             "SIDEBAR_TO_KERNEL": SIDEBAR_TO_KERNEL, "SIDEBAR_TO_FRONTEND": SIDEBAR_TO_FRONTEND}


def message(kind: str, **fields: Any) -> dict:
    """A wire message of ``kind`` (checked against the known kinds)."""
    if kind not in TO_FRONTEND and kind not in TO_KERNEL:
        raise ValueError(f"unknown nbflow widget message kind {kind!r}")
    return {"kind": kind, "v": VERSION, **fields}


def sidebar_message(kind: str, **fields: Any) -> dict:
    """A sidebar comm message of ``kind`` (checked against the known kinds)."""
    if kind not in SIDEBAR_TO_FRONTEND and kind not in SIDEBAR_TO_KERNEL:
        raise ValueError(f"unknown nbflow sidebar message kind {kind!r}")
    return {"kind": kind, "v": SIDEBAR_VERSION, **fields}


# ---------------------------------------------------------------------------- checking a received message
def problems(data: Any, union: str) -> list[FieldError]:
    """What is wrong with ``data`` as a message of ``union`` (``"SidebarToKernel"``, ``"ToKernel"``...), by field.

    The member is picked by ``kind``; every declared field is checked against the schema (extra
    fields are allowed, as in the schema). An empty list means the message is well formed.
    """
    defs = _defs()
    members = {_kind_of(defs[ref["$ref"].rsplit("/", 1)[1]]): ref["$ref"].rsplit("/", 1)[1]
               for ref in defs[union]["anyOf"]}
    if not isinstance(data, dict):
        return [{"field": "", "message": f"a message is a JSON object, not {_type_name(data)}"}]
    kind = data.get("kind")
    if kind not in members:
        return [{"field": "kind", "message": f"unknown kind {kind!r} (expected {_or(list(members))})"}]
    out: list[FieldError] = []
    _check(data, {"$ref": f"#/$defs/{members[kind]}"}, defs, "", out)
    return out


def _kind_of(d: dict) -> str:
    return d["properties"]["kind"]["enum"][0]


_DEFS: dict[str, Any] = {}


def _defs() -> dict[str, Any]:
    if not _DEFS:
        _DEFS.update(json_schema()["$defs"])
    return _DEFS


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "an integer",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def _or(words: list) -> str:
    words = [str(w) for w in words]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


_JSON_TYPES: dict[str, Any] = {"string": str, "boolean": bool, "null": type(None), "array": list, "object": dict}


def _fits(value: Any, kind: str) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, _JSON_TYPES[kind])


def _describe(schema: dict, defs: dict) -> str:
    if "$ref" in schema:
        return "an object"
    if "enum" in schema:
        return "one of " + _or([json.dumps(v) for v in schema["enum"]])
    if "anyOf" in schema:
        return _or([_describe(s, defs) for s in schema["anyOf"]])
    kind = schema.get("type")
    return {"string": "a string", "boolean": "true or false", "null": "null", "array": "an array",
            "object": "an object", "integer": "an integer", "number": "a number"}.get(str(kind), "any value")


def _check(value: Any, schema: dict, defs: dict, where: str, out: list[FieldError]) -> None:
    """Append a FieldError to ``out`` for each place ``value`` breaks ``schema`` (the subset the protocol uses)."""
    if "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[1]]
    if "anyOf" in schema:
        for option in schema["anyOf"]:
            trial: list[FieldError] = []
            _check(value, option, defs, where, trial)
            if not trial:
                return
        out.append({"field": where, "message": f"must be {_describe(schema, defs)}, not {json.dumps(value)[:60]}"})
        return
    if "enum" in schema:
        if value not in schema["enum"]:
            out.append({"field": where, "message": f"must be {_describe(schema, defs)}, not {json.dumps(value)[:60]}"})
        return
    kind = schema.get("type")
    if kind is None:
        return
    if not _fits(value, kind):
        out.append({"field": where, "message": f"must be {_describe(schema, defs)}, not {_type_name(value)}"})
        return
    if kind == "array":
        for i, item in enumerate(value):
            _check(item, schema["items"], defs, f"{where}[{i}]", out)
    elif kind == "object":
        for name in schema.get("required", []):
            if name not in value:
                out.append({"field": f"{where}.{name}" if where else name, "message": "is missing"})
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                _check(value[name], sub, defs, f"{where}.{name}" if where else name, out)


# ---------------------------------------------------------------------------- schema export
def _schema_of(tp: Any) -> dict:
    origin = typing.get_origin(tp)
    if tp is Any:
        return {}
    if tp is type(None):
        return {"type": "null"}
    if tp is str:
        return {"type": "string"}
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer"}
    if tp is float:
        return {"type": "number"}
    if origin is Literal:
        return {"enum": list(typing.get_args(tp))}
    if origin is list:
        (item,) = typing.get_args(tp)
        return {"type": "array", "items": _schema_of(item)}
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        return {"anyOf": [_schema_of(a) for a in typing.get_args(tp)]}
    if typing.is_typeddict(tp):
        return {"$ref": f"#/$defs/{tp.__name__}"}
    raise TypeError(f"protocol: no JSON schema for {tp!r}")


def _strip_not_required(tp: Any) -> Any:
    return typing.get_args(tp)[0] if typing.get_origin(tp) is NotRequired else tp


def json_schema() -> dict:
    """Every payload type as one JSON schema (``$defs``), plus the message unions and constants."""
    defs: dict[str, Any] = {}
    for td in TYPES:
        hints = typing.get_type_hints(td, include_extras=True)
        props = {name: _schema_of(_strip_not_required(tp)) for name, tp in hints.items()}
        required = [n for n, tp in hints.items() if typing.get_origin(tp) is not NotRequired]
        defs[td.__name__] = {"type": "object", "description": (td.__doc__ or "").strip(),
                             "properties": props, "required": required, "additionalProperties": True}
    for name, members in UNIONS.items():
        defs[name] = {"anyOf": [{"$ref": f"#/$defs/{m}"} for m in members]}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "nbflow wire protocols (widgets, sidebar comm)",
            "x-constants": {k: list(v) if isinstance(v, tuple) else v for k, v in CONSTANTS.items()},
            "$defs": defs}


def _ts_type(s: dict) -> str:
    if "$ref" in s:
        return s["$ref"].rsplit("/", 1)[1]
    if "enum" in s:
        return " | ".join(json.dumps(v) for v in s["enum"])
    if "anyOf" in s:
        return " | ".join(_ts_type(x) for x in s["anyOf"])
    kind = s.get("type")
    if kind == "array":
        inner = _ts_type(s["items"])
        return f"({inner})[]" if "|" in inner else f"{inner}[]"
    return {"string": "string", "integer": "number", "number": "number", "boolean": "boolean",
            "null": "null"}.get(str(kind), "JsonValue")


def typescript(schema: dict | None = None) -> str:
    """TypeScript declarations for the schema (what ``labextension/src/protocol.gen.ts`` holds)."""
    schema = schema or json_schema()
    out = ["// GENERATED from nbflow/notebook/protocol.py by `python nbflow/notebook/protocol.py --ts`.",
           "// Do not edit: change the Python types and rebuild (npm run build regenerates this file).", ""]
    for name, value in schema["x-constants"].items():
        out.append(f"export const {name} = {json.dumps(value)} as const;")
    out.append("")
    out.append("/** Any JSON value (what ``Any`` is on the wire). */")
    out.append("export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };")
    for name, d in schema["$defs"].items():
        if "anyOf" in d:
            out.append(f"export type {name} = {' | '.join(_ts_type(x) for x in d['anyOf'])};")
            continue
        if d.get("description"):
            out.append(f"/** {' '.join(d['description'].split())} */")
        out.append(f"export interface {name} {{")
        for prop, ps in d["properties"].items():
            opt = "" if prop in d["required"] else "?"
            out.append(f"  {prop}{opt}: {_ts_type(ps)};")
        out.append("}")
    out.append("")
    return "\n".join(out)


def _main(argv: list[str]) -> int:
    args = list(argv)
    while args:
        flag, path = args.pop(0), args.pop(0)
        text = typescript() if flag == "--ts" else json.dumps(json_schema(), indent=1) + "\n"
        try:
            with open(path, encoding="utf-8") as f:
                if f.read() == text:
                    continue
        except FileNotFoundError:
            pass
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))


__all__ = ["FORM_KINDS", "QUESTION_STATES", "ROW_STATES", "SIDEBAR_TARGET", "SIDEBAR_TO_FRONTEND",
           "SIDEBAR_TO_KERNEL", "SIDEBAR_VERSION", "STATUSES", "TO_FRONTEND", "TO_KERNEL", "TYPES", "VERSION",
           "json_schema", "message", "problems", "sidebar_message", "typescript"]
