"""Interrupt forms, pure: what to ask for a pending interrupt, and how to read the answer.

:func:`form_spec` turns an :class:`nbflow.Interrupt` into a JSON-able dict the
front end renders as one ``<form>``; :func:`decode_answer` turns what that
form sent back into the Python value to resume with. The kind of form is
chosen from the interrupt, first match wins:

``schema``
    the interrupt has a response schema (``json_schema``): one typed field per
    property (text, number, checkbox, choice), with the schema's constraints
    for client-side checks. A non-object schema gives one field named ``value``.
``inbox``
    an Agent Inbox request ``{action_request: {action, args}, config:
    {allow_accept, allow_edit, allow_respond, allow_ignore}, description}``
    (alone or as a one-item list): Accept / Edit / Respond / Ignore, answered
    the way Agent Inbox answers, ``{"type": ..., "args": ...}`` (in a list when
    the request came in a list).
``options``
    a list of choices, or a dict with an ``options`` list: one button each;
    the answer is the chosen option itself (the Python object, not a copy).
``text``
    anything else: a text box whose content is sent as a string, or parsed
    as JSON when the form's JSON toggle is on.

No I/O and no Jupyter imports here; everything is tested as plain data.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from ..errors import AnswerError
from ..schema import UnsafeSchemaError, check_refs
from ..serde import summarize

LONG_TEXT = 20_000  # characters of a string shown in full before cutting
MAX_OPTIONS = 50
INBOX_ACTIONS = (("accept", "allow_accept"), ("edit", "allow_edit"), ("response", "allow_respond"),
                 ("ignore", "allow_ignore"))
_SCALARS = (str, int, float, bool)


# ---------------------------------------------------------------------------- values for display
def jsonable(obj: Any, depth: int = 0) -> Any:
    """``obj`` as plain JSON data; anything JSON cannot hold becomes a short preview string."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int):
        return obj if abs(obj) < 2**53 else str(obj)
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else repr(obj)
    if depth > 20:
        return summarize(obj, 80)
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v, depth + 1) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v, depth + 1) for v in obj]
    dump = getattr(obj, "model_dump", None)
    if callable(dump) and isinstance(obj, object) and not isinstance(obj, type):
        try:
            return jsonable(dump(mode="json"), depth + 1)
        except Exception:  # noqa: BLE001 - fall back to a preview
            pass
    return summarize(obj, 200)


def pretty(obj: Any, limit: int = LONG_TEXT) -> str:
    """Readable multi-line text for a value: strings as they are, data as indented JSON."""
    if isinstance(obj, str):
        text = obj
    else:
        try:
            text = json.dumps(jsonable(obj), indent=2, ensure_ascii=False)
        except (TypeError, ValueError):
            text = summarize(obj, limit)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def value_view(value: Any) -> dict:
    """How to show an interrupt's value: labelled fields for a dict, else one text block."""
    if isinstance(value, Mapping) and value and all(isinstance(k, str) for k in value):
        fields = []
        for k, v in value.items():
            text = pretty(v)
            fields.append({"label": k, "text": text, "long": "\n" in text or len(text) > 80})
        return {"type": "fields", "fields": fields}
    if value is None:
        return {"type": "none"}
    text = pretty(value)
    return {"type": "text", "text": text, "long": "\n" in text or len(text) > 80}


QUESTION_KEYS = ("question", "prompt", "message", "text")


def question_text(value: Any, limit: int = 200) -> str:
    """One line of human text for a question, as its form's heading would say it.

    A string is itself; a dict's ``question`` (or ``prompt``, ``message``, ``text``)
    string when it has one; an Agent Inbox request's description (else its action);
    anything else compact JSON (``{"draft": "x", "n": 2}``), never a Python repr.
    """
    request, _ = _inbox_request(value)
    if request is not None:
        desc = request.get("description")
        action = request["action_request"].get("action", "")
        text = desc if isinstance(desc, str) and desc.strip() else f"Review {action}"
    elif isinstance(value, str):
        text = value
    elif isinstance(value, Mapping) and any(isinstance(value.get(k), str) and value[k].strip() for k in QUESTION_KEYS):
        text = next(value[k] for k in QUESTION_KEYS if isinstance(value.get(k), str) and value[k].strip())
    elif (isinstance(value, Mapping) and len(value) == 1 and isinstance(next(iter(value)), str)
          and isinstance(next(iter(value.values())), str)):
        (key, only), = value.items()  # {"send": "Sure, here is more."} reads "send: Sure, here is more."
        text = f"{key}: {only}"
    elif value is None:
        text = "(no question text)"
    else:
        try:
            text = json.dumps(jsonable(value), ensure_ascii=False, separators=(", ", ": "))
        except (TypeError, ValueError):
            text = summarize(value, limit)
    text = " ".join(str(text).split())
    limit = max(int(limit), 2)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------------------- JSON schema → fields
def _deref(node: Any, root: Mapping) -> Any:
    seen = 0
    while isinstance(node, Mapping) and isinstance(node.get("$ref"), str) and seen < 20:
        ref = node["$ref"]
        target: Any = root
        if not ref.startswith("#"):
            return {}
        for part in ref.lstrip("#/").split("/") if ref not in ("#", "#/") else ():
            target = target.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(target, Mapping) else {}
        extra = {k: v for k, v in node.items() if k != "$ref"}
        node = {**target, **extra} if isinstance(target, Mapping) else {}
        seen += 1
    return node if isinstance(node, Mapping) else {}


def _flatten(prop: Mapping, root: Mapping) -> tuple[dict, bool]:
    """Resolve refs, single-item allOf and ``X | None`` unions; returns (schema, nullable)."""
    prop = dict(_deref(prop, root))
    nullable = False
    all_of = prop.pop("allOf", None)
    if isinstance(all_of, list) and len(all_of) == 1:
        prop = {**_deref(all_of[0], root), **prop}
    for key in ("anyOf", "oneOf"):
        options = prop.get(key)
        if isinstance(options, list):
            options = [_deref(o, root) for o in options]
            real = [o for o in options if o.get("type") != "null"]
            nullable = nullable or len(real) < len(options)
            if len(real) == 1:
                rest = {k: v for k, v in prop.items() if k != key}
                prop = {**real[0], **rest}
    kind = prop.get("type")
    if isinstance(kind, list):
        real_types = [t for t in kind if t != "null"]
        nullable = nullable or len(real_types) < len(kind)
        prop["type"] = real_types[0] if len(real_types) == 1 else None
    return prop, nullable


_CONSTRAINTS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength",
                "pattern", "multipleOf")


def field_spec(name: str, prop: Mapping, required: bool, root: Mapping) -> dict:
    """One form field for property ``name`` of a JSON schema."""
    prop, nullable = _flatten(prop, root)
    kind = prop.get("type")
    spec: dict[str, Any] = {"name": name, "label": str(prop.get("title") or name), "required": bool(required),
                            "nullable": nullable}
    if "enum" in prop or "const" in prop:
        values = list(prop["enum"]) if isinstance(prop.get("enum"), list) else [prop.get("const")]
        spec["type"] = "enum"
        spec["enum"] = [jsonable(v) for v in values]
        spec["enum_labels"] = [v if isinstance(v, str) else json.dumps(jsonable(v)) for v in values]
    elif kind in ("string", "integer", "number", "boolean"):
        spec["type"] = kind
    else:
        spec["type"] = "json"  # objects, arrays, unions: edited as JSON text
    if spec["type"] == "string":
        fmt = prop.get("format")
        spec["multiline"] = bool(fmt in ("textarea", "multiline") or (prop.get("maxLength") or 0) > 200)
    if isinstance(prop.get("description"), str):
        spec["description"] = prop["description"]
    if "default" in prop:
        spec["default"] = jsonable(prop["default"])
    for c in _CONSTRAINTS:
        if c in prop and isinstance(prop[c], (int, float, str)) and not isinstance(prop[c], bool):
            spec[c] = prop[c]
    if "pattern" in spec and not _safe_pattern(spec["pattern"]):
        del spec["pattern"]  # the browser would backtrack on it too; the kernel refuses the schema
    return spec


def _safe_pattern(pattern: Any) -> bool:
    """True for a regex the browser may test answers against (see :func:`nbflow.schema.check_refs`)."""
    try:
        check_refs({"pattern": pattern})
    except UnsafeSchemaError:
        return False
    return True


def schema_fields(schema: Mapping) -> tuple[list[dict], bool]:
    """The fields of a JSON schema and whether the answer is an object (else the single ``value``)."""
    root, _ = _flatten(schema, schema)
    props = root.get("properties")
    if root.get("type") in ("object", None) and isinstance(props, Mapping) and props:
        required = set(root.get("required") or ())
        return [field_spec(str(k), v if isinstance(v, Mapping) else {}, k in required, schema)
                for k, v in props.items()], True
    return [field_spec("value", root, True, schema)], False


def _type_of(value: Any) -> dict:
    """A field schema for editing an existing value (Agent Inbox ``edit``)."""
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "integer"}
    if isinstance(value, float):
        return {"type": "number"}
    if isinstance(value, str):
        return {"type": "string", "format": "textarea" if "\n" in value or len(value) > 80 else None}
    return {}


# ---------------------------------------------------------------------------- form kinds
def is_inbox_request(value: Any) -> bool:
    """True for an Agent Inbox ``HumanInterrupt`` dict."""
    return (isinstance(value, Mapping) and isinstance(value.get("action_request"), Mapping)
            and "action" in value["action_request"] and isinstance(value.get("config", {}), Mapping))


def _inbox_request(value: Any) -> tuple[Mapping | None, bool]:
    if is_inbox_request(value):
        return value, False
    if isinstance(value, (list, tuple)) and len(value) == 1 and is_inbox_request(value[0]):
        return value[0], True
    return None, False


_REVIEW_ACTIONS = {"accept": "accept", "edit": "edit", "respond": "response", "response": "response",
                   "ignore": "ignore"}


def _tool_review(schema: Any, value: Any) -> dict | None:
    """A tool-call review question (``interrupt({"tool_call": call, ...}, response_schema=Review)`` where
    ``Review`` has an ``action`` among accept/edit/respond/ignore and one data field): how to draw it as
    Agent Inbox buttons and how to encode their answers in the schema's shape; None for anything else."""
    if not isinstance(schema, Mapping) or not isinstance(value, Mapping):
        return None
    props = schema.get("properties")
    call = value.get("tool_call")
    if not isinstance(props, Mapping) or set(props) - {"action"} == set() or len(props) != 2 or \
            not isinstance(call, Mapping) or not isinstance(call.get("args"), Mapping):
        return None
    enum = (props.get("action") or {}).get("enum")
    if not isinstance(enum, list) or not enum or any(a not in _REVIEW_ACTIONS for a in enum):
        return None
    (data_key,) = [k for k in props if k != "action"]
    return {"call": call, "data": data_key, "actions": {_REVIEW_ACTIONS[a]: a for a in enum}}


def _option_list(value: Any) -> list | None:
    items = value.get("options") if isinstance(value, Mapping) else value
    if not isinstance(items, (list, tuple)) or not 0 < len(items) <= MAX_OPTIONS:
        return None
    for item in items:
        if isinstance(item, _SCALARS) or item is None:
            continue
        if isinstance(item, Mapping) and ("label" in item or "value" in item):
            continue
        return None
    return list(items)


def _option_label(item: Any) -> str:
    if isinstance(item, Mapping):
        label = item.get("label", item.get("value"))
        return label if isinstance(label, str) else summarize(label, 60)
    return item if isinstance(item, str) else summarize(item, 60)


def _option_value(item: Any) -> Any:
    if isinstance(item, Mapping) and "value" in item:
        return item["value"]
    return item


def form_spec(intr: Any, index: int = 0) -> dict:
    """The form for one pending interrupt (JSON-able)."""
    value = intr.value
    task = getattr(intr, "task", "") or ""
    spec: dict[str, Any] = {"id": intr.id, "index": index, "task": task}
    schema = getattr(intr, "json_schema", None)
    if schema is None and isinstance(getattr(intr, "response_schema", None), Mapping):
        schema = intr.response_schema
    request, wrapped = _inbox_request(value)
    options = None if schema is not None or request is not None else _option_list(value)
    review = _tool_review(schema, value) if schema is not None else None
    if review is not None:  # a tool-call review schema: Agent Inbox buttons, the tool's arguments as fields
        args = review["call"]["args"]
        spec.update(kind="inbox", actions=list(review["actions"]), action=str(review["call"].get("name", "")),
                    args=jsonable(args), wrap=False, description=question_text(value, 2000),
                    fields=[field_spec(str(k), _type_of(v), False, {}) | {"default": jsonable(v)}
                            for k, v in args.items()],
                    display=value_view(args) if args else {"type": "none"})
    elif schema is not None:
        fields, is_object = schema_fields(schema)
        spec.update(kind="schema", fields=fields, object=is_object, display=value_view(value))
        if isinstance(schema.get("title"), str):
            spec["title"] = schema["title"]
    elif request is not None:
        action = request["action_request"]
        config = request.get("config") or {}
        args = action.get("args") if isinstance(action.get("args"), Mapping) else {}
        actions = [name for name, flag in INBOX_ACTIONS if config.get(flag)]
        arg_fields = [field_spec(str(k), _type_of(v), False, {}) | {"default": jsonable(v)} for k, v in args.items()]
        desc = request.get("description")
        spec.update(kind="inbox", actions=actions or ["response"], action=str(action.get("action", "")),
                    args=jsonable(args), fields=arg_fields, wrap=wrapped,
                    description=desc if isinstance(desc, str) else pretty(desc) if desc is not None else "",
                    display=value_view(args) if args else {"type": "none"})
    elif options is not None:
        rest = {k: v for k, v in value.items() if k != "options"} if isinstance(value, Mapping) else None
        spec.update(kind="options", options=[{"label": _option_label(o), "index": i} for i, o in enumerate(options)],
                    display=value_view(rest) if rest else {"type": "none"})
    else:
        spec.update(kind="text", display=value_view(value))
    return spec


def form_specs(interrupts: Any) -> list[dict]:
    return [form_spec(i, n) for n, i in enumerate(interrupts or ())]


# ---------------------------------------------------------------------------- answers
def decode_answer(intr: Any, msg: Mapping) -> Any:
    """The resume value for ``intr`` from a front-end ``resume`` message (see the module doc)."""
    spec = form_spec(intr)
    kind = spec["kind"]
    if kind == "options":
        items = _option_list(intr.value) or []
        idx = msg.get("option")
        if not isinstance(idx, int) or isinstance(idx, bool) or not 0 <= idx < len(items):
            raise AnswerError(f"choose one of the {len(items)} options")
        return _option_value(items[idx])
    if "value" not in msg:
        raise AnswerError("the answer has no value")
    value = msg["value"]
    if kind == "inbox":
        if not isinstance(value, Mapping) or value.get("type") not in spec["actions"]:
            raise AnswerError(f"the answer must be one of the allowed actions: {', '.join(spec['actions'])}")
        kind_ = value["type"]
        schema = getattr(intr, "json_schema", None) or getattr(intr, "response_schema", None)
        review = _tool_review(schema, intr.value)
        if review is not None:  # answered in the review schema's own shape (it validates it on resume)
            answer: dict[str, Any] = {"action": review["actions"][kind_]}
            if kind_ == "edit":
                if not isinstance(value.get("args"), Mapping):
                    raise AnswerError("edit needs the edited arguments as an object")
                answer[review["data"]] = dict(value["args"])
            elif kind_ == "response":
                if not isinstance(value.get("args"), str) or not value["args"].strip():
                    raise AnswerError("write a response first")
                answer[review["data"]] = value["args"]
            return answer
        request, wrapped = _inbox_request(intr.value)
        assert request is not None
        if kind_ == "accept":
            response = {"type": "accept", "args": request["action_request"]}
        elif kind_ == "edit":
            args = value.get("args")
            if not isinstance(args, Mapping):
                raise AnswerError("edit needs the edited arguments as an object")
            response = {"type": "edit", "args": {"action": request["action_request"].get("action"),
                                                 "args": dict(args)}}
        elif kind_ == "response":
            text = value.get("args")
            if not isinstance(text, str) or not text.strip():
                raise AnswerError("write a response first")
            response = {"type": "response", "args": text}
        else:
            response = {"type": "ignore", "args": None}
        return [response] if wrapped else response
    return value


def errors_by_field(errors: Any) -> list[dict]:
    """``ResumeValidationError.errors`` as ``[{field, message}]`` (field = first key, or "")."""
    out = []
    for loc, message in errors or ():
        loc = tuple(loc or ())
        field = str(loc[0]) if loc else ""
        where = ".".join(str(p) for p in loc[1:])
        out.append({"field": field, "message": f"{where}: {message}" if where else str(message)})
    return out


__all__ = [
    "AnswerError",
    "decode_answer",
    "errors_by_field",
    "field_spec",
    "form_spec",
    "form_specs",
    "is_inbox_request",
    "jsonable",
    "pretty",
    "schema_fields",
    "value_view",
]
