"""Tests for nbflow.schema: response schemas for interrupt()."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Literal

import pytest
from pydantic import BaseModel, Field

from nbflow.errors import ConfigError, NbflowError, ResumeError, ResumeValidationError
from nbflow.schema import (
    SchemaTypeError,
    UnsafeSchemaError,
    is_model_class,
    json_schema_of,
    resolve_schema_ref,
    schema_ref,
    to_plain,
    validate_value,
)

ROOT = Path(__file__).resolve().parents[2]


class Approval(BaseModel):
    approved: bool
    comment: str = ""


class Review(BaseModel):
    class Line(BaseModel):
        path: str
        score: int = Field(ge=0, le=10)

    verdict: Literal["accept", "reject"]
    lines: list[Line] = []


APPROVAL_JSON = {
    "title": "Approval",
    "type": "object",
    "properties": {
        "approved": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["approved"],
    "additionalProperties": False,
}


# -- import hygiene -------------------------------------------------------------------


def test_import_does_not_load_pydantic_or_jsonschema():
    code = textwrap.dedent(
        """
        import sys
        import nbflow.errors  # the package itself is someone else's business
        before = set(sys.modules)
        import nbflow.schema
        new = set(sys.modules) - before
        heavy = sorted(m for m in new if m.split(".")[0] in ("pydantic", "pydantic_core", "jsonschema"))
        assert not heavy, heavy
        # pure helpers work without pydantic loaded
        from nbflow.schema import is_model_class, resolve_schema_ref, schema_ref, to_plain
        assert not is_model_class(dict)
        assert resolve_schema_ref("os:path") is None
        assert schema_ref({"type": "string"}) is None
        assert to_plain(5) == 5
        assert not any(m.split(".")[0] == "pydantic" for m in set(sys.modules) - before)
        print("ok")
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
        env={"PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


# -- is_model_class / json_schema_of ----------------------------------------------------


def test_is_model_class():
    assert is_model_class(Approval)
    assert is_model_class(Review.Line)
    assert not is_model_class(BaseModel)
    assert not is_model_class(Approval(approved=True))
    assert not is_model_class(dict)
    assert not is_model_class({"type": "object"})


def test_json_schema_of_model():
    schema = json_schema_of(Approval)
    assert schema == Approval.model_json_schema()
    assert schema["required"] == ["approved"]
    assert schema["properties"]["approved"]["type"] == "boolean"


def test_json_schema_of_dict_is_checked_copy():
    schema = json_schema_of(APPROVAL_JSON)
    assert schema == APPROVAL_JSON and schema is not APPROVAL_JSON
    schema["properties"]["approved"]["type"] = "string"
    assert APPROVAL_JSON["properties"]["approved"]["type"] == "boolean"
    assert json_schema_of({}) == {}
    assert json_schema_of({"type": "string", "minLength": 1}) == {"type": "string", "minLength": 1}


@pytest.mark.parametrize(
    "bad,where",
    [
        ({"type": "nope"}, "type"),
        ({"type": "object", "properties": {"a": {"minLength": -1}}}, "properties/a/minLength"),
        ({"required": "approved"}, "required"),
    ],
)
def test_json_schema_of_bad_dict(bad, where):
    with pytest.raises(ConfigError, match=f"invalid JSON schema at {where}") as info:
        json_schema_of(bad)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("bad", [str, int, "Approval", None, [APPROVAL_JSON], Approval(approved=True)])
def test_json_schema_of_wrong_type(bad):
    with pytest.raises(SchemaTypeError, match="pydantic model class or a JSON-schema dict") as info:
        json_schema_of(bad)
    assert isinstance(info.value, TypeError) and isinstance(info.value, NbflowError)


# -- schema_ref / resolve_schema_ref ----------------------------------------------------------


def test_schema_ref_roundtrip():
    ref = schema_ref(Approval)
    assert ref == f"{__name__}:Approval"
    assert resolve_schema_ref(ref) is Approval
    nested = schema_ref(Review.Line)
    assert nested == f"{__name__}:Review.Line"
    assert resolve_schema_ref(nested) is Review.Line


def test_schema_ref_of_dict_is_none():
    assert schema_ref(APPROVAL_JSON) is None


def test_schema_ref_wrong_type():
    with pytest.raises(SchemaTypeError):
        schema_ref(int)


def test_local_class_ref_does_not_resolve():
    class Local(BaseModel):
        x: int

    ref = schema_ref(Local)
    assert "<locals>" in ref
    assert resolve_schema_ref(ref) is None


@pytest.mark.parametrize(
    "ref",
    [
        None,
        42,
        "",
        "no_colon",
        "a:b:c",
        f"{__name__}:",
        f"{__name__}:Missing",
        f"{__name__}:Review.Missing",
        f"{__name__}:APPROVAL_JSON",  # exists, not a model class
        f"{__name__}:BaseModel",  # the base itself is not a schema
        f"{__name__}:pytest",  # a module
        "pydantic:BaseModel",
        "nbflow_surely_not_imported_module:Thing",
    ],
)
def test_resolve_schema_ref_misses(ref):
    assert resolve_schema_ref(ref) is None


def test_resolve_schema_ref_never_imports():
    code = textwrap.dedent(
        """
        import sys
        from nbflow.schema import resolve_schema_ref
        had_pydantic = "pydantic" in sys.modules
        assert resolve_schema_ref("json:JSONDecoder") is None
        assert resolve_schema_ref("pydantic:BaseModel") is None
        assert ("pydantic" in sys.modules) == had_pydantic
        assert "xml.dom.minidom" not in sys.modules
        assert resolve_schema_ref("xml.dom.minidom:Document") is None
        assert "xml.dom.minidom" not in sys.modules
        print("ok")
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
        env={"PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


# -- validate_value: pydantic ----------------------------------------------------------------------


def test_validate_pydantic_from_dict_and_instance():
    got = validate_value(Approval, {"approved": True, "comment": "fine"})
    assert isinstance(got, Approval) and got.approved and got.comment == "fine"
    inst = Approval(approved=False)
    assert validate_value(Approval, inst) is inst
    coerced = validate_value(Approval, {"approved": "yes"})  # pydantic's lax mode
    assert coerced.approved is True


def test_validate_pydantic_errors():
    with pytest.raises(ResumeValidationError) as info:
        validate_value(Review, {"verdict": "maybe", "lines": [{"path": "a.py", "score": 11}, {"score": 1}]})
    err = info.value
    assert isinstance(err, ResumeError) and isinstance(err, ValueError)
    locs = [loc for loc, _ in err.errors]
    assert locs == [("verdict",), ("lines", 0, "score"), ("lines", 1, "path")]
    assert all(isinstance(msg, str) and msg for _, msg in err.errors)
    text = str(err)
    assert "\n" not in text
    assert text.startswith("resume value does not match response_schema Review (3 errors): ")
    assert "verdict: Input should be 'accept' or 'reject'" in text
    assert "lines[0].score: Input should be less than or equal to 10" in text
    assert "lines[1].path: Field required" in text


def test_validate_pydantic_non_dict_value():
    with pytest.raises(ResumeValidationError, match=r"\(1 error\): \(root\): ") as info:
        validate_value(Approval, "yes please")
    assert info.value.errors[0][0] == ()


# -- validate_value: JSON schema -------------------------------------------------------------------


def test_validate_json_schema_returns_value_unchanged():
    value = {"approved": True, "tags": ["a"]}
    assert validate_value(APPROVAL_JSON, value) is value
    assert validate_value({"type": "integer"}, 3) == 3
    assert validate_value({}, object) is object  # the empty schema accepts anything


def test_validate_json_schema_errors():
    with pytest.raises(ResumeValidationError) as info:
        validate_value(APPROVAL_JSON, {"tags": ["ok", 5], "extra": 1})
    err = info.value
    assert sorted(err.errors) == sorted([
        ((), "'approved' is a required property"),
        ((), "Additional properties are not allowed ('extra' was unexpected)"),
        (("tags", 1), "5 is not of type 'string'"),
    ])
    text = str(err)
    assert "\n" not in text
    assert text.startswith("resume value does not match response_schema 'Approval' (3 errors): ")
    assert "tags[1]: 5 is not of type 'string'" in text
    assert "(root): 'approved' is a required property" in text


def test_validate_json_schema_without_title():
    with pytest.raises(ResumeValidationError, match=r"^resume value does not match response_schema \(1 error\): \(root\): 'x' is not of type 'integer'$"):
        validate_value({"type": "integer"}, "x")


def test_validate_json_schema_errors_are_deterministic():
    schema = {"type": "object", "properties": {k: {"type": "integer"} for k in "dcba"}}
    value = dict.fromkeys("abcd", "x")
    first = None
    for _ in range(3):
        with pytest.raises(ResumeValidationError) as info:
            validate_value(schema, value)
        first = first or info.value.errors
        assert info.value.errors == first
    assert [loc for loc, _ in first] == [("a",), ("b",), ("c",), ("d",)]


def test_validate_with_bad_schema():
    with pytest.raises(ConfigError, match="invalid JSON schema"):
        validate_value({"type": 12}, 1)
    with pytest.raises(SchemaTypeError):
        validate_value(int, 1)


# -- to_plain ------------------------------------------------------------------------------------------


def test_to_plain():
    review = Review(verdict="accept", lines=[Review.Line(path="a.py", score=3)])
    assert to_plain(review) == {"verdict": "accept", "lines": [{"path": "a.py", "score": 3}]}
    for value in ({"a": 1}, [1, 2], "x", None, Approval):
        assert to_plain(value) is value


def test_to_plain_is_json_mode():
    import datetime
    import json

    class When(BaseModel):
        at: datetime.date

    plain = to_plain(When(at=datetime.date(2024, 5, 1)))
    assert plain == {"at": "2024-05-01"}
    json.dumps(plain)


# ---------------------------------------------------------------- regexes that could hang the kernel
SLOW_PATTERNS = [r"^(a+)+$", r"^(\w*\s?)*$", r"(a|b+)*c", r"(a+a)+$", r"^(\w+\s?)+$", r"(x+x+)+y", r"^(.*,)*$"]
SAFE_PATTERNS = [r"^\d{3}-\d{4}$", r"(\d{3}-)+", r"^[a-z]+(,[a-z]+)*$", r"^[\w.+-]+@[\w-]+(\.[\w-]+)+$",
                 r"^([^,]+,)*[^,]+$", r"^([01]?\d|2[0-3]):[0-5]\d$", r"^[A-Z][a-z]+( [A-Z][a-z]+)*$",
                 r"^(\w+\s)+$", r"(\S+\s)+", r"((a|b)c?)+", r"(a{1,3}){2}"]


@pytest.mark.parametrize("pattern", SLOW_PATTERNS)
def test_a_pattern_with_nested_repetition_is_refused_where_the_schema_is_taken(pattern):
    with pytest.raises(UnsafeSchemaError, match="exponential time"):
        json_schema_of({"type": "string", "pattern": pattern})
    with pytest.raises(UnsafeSchemaError, match="exponential time"):  # also as a patternProperties key
        json_schema_of({"type": "object", "patternProperties": {pattern: {"type": "integer"}}})


@pytest.mark.parametrize("pattern", SAFE_PATTERNS)
def test_common_patterns_are_taken(pattern):
    assert json_schema_of({"type": "string", "pattern": pattern})["pattern"] == pattern


def test_a_stored_schema_with_a_slow_pattern_is_refused_not_matched():
    """A schema read back from storage is checked again before an answer is validated: matching
    '^(a+)+$' against 40 a's and a '!' would take hours; the check answers at once."""
    import threading

    schema = {"type": "string", "pattern": r"^(a+)+$"}
    box: dict = {}

    def validate() -> None:
        try:
            validate_value(schema, "a" * 40 + "!")
        except ConfigError as exc:
            box["error"] = exc

    t = threading.Thread(target=validate, daemon=True)
    t.start()
    t.join(30)
    assert not t.is_alive(), "the pattern was matched against the answer"
    assert isinstance(box.get("error"), UnsafeSchemaError) and "(a+)+" in str(box["error"])


def test_interrupt_with_a_slow_pattern_fails_at_once_naming_it():
    from nbflow import InMemorySaver, entrypoint, interrupt

    @entrypoint(checkpointer=InMemorySaver())
    def ask(_):
        return interrupt("name?", response_schema={"type": "string", "pattern": r"^(\w+\s?)+$"})

    with pytest.raises(UnsafeSchemaError, match=r"pattern '\^\(\\\\w\+\\\\s\?\)\+\$' at /pattern"):
        ask.invoke(0, {"configurable": {"thread_id": "t"}})


def test_a_pattern_that_is_not_a_regex_or_too_long_is_refused():
    with pytest.raises(UnsafeSchemaError, match="not a valid regular expression"):
        json_schema_of({"type": "string", "pattern": "(unclosed"})
    with pytest.raises(UnsafeSchemaError, match="characters long"):
        json_schema_of({"type": "string", "pattern": "a" * 2000})


def test_pydantic_resume_error_is_also_pydantic_validation_error():
    """LangGraph lets pydantic's ValidationError out of a bad answer: code written for it must catch ours."""
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as info:
        validate_value(Review, {"verdict": "maybe", "lines": []})
    err = info.value
    assert isinstance(err, ResumeValidationError) and isinstance(err, ValueError)
    assert str(err).startswith("resume value does not match response_schema Review (1 error): verdict: ")
    assert err.errors == [(("verdict",), err.errors[0][1])]  # nbflow's pairs ...
    assert [e["loc"] for e in err.errors(include_url=False)] == [("verdict",)]  # ... and pydantic's errors()
    assert err.error_count() == 1 and err.title == "Review"


def test_pydantic_validation_error_on_resume_keeps_the_interrupt_pending(checkpointer):
    from pydantic import ValidationError

    from nbflow import Command, entrypoint, interrupt

    @entrypoint(checkpointer=checkpointer)
    def flow(x: int) -> Approval:
        return interrupt({"question": "approve?"}, response_schema=Approval)

    cfg = {"configurable": {"thread_id": "pyd"}}
    flow.invoke(1, cfg)
    with pytest.raises(ValidationError, match="response_schema Approval"):
        flow.invoke(Command(resume={"approved": "perhaps"}), cfg)
    assert len(flow.get_state(cfg).interrupts) == 1
    assert flow.invoke(Command(resume={"approved": True}), cfg).approved is True
