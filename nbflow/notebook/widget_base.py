"""What every nbflow widget shares: the front-end bundle, typed messages, answering forms.

* :class:`_Base` -- an anywidget loading the bundle built from ``labextension/``
  (``static/widget.js`` / ``widget.css``, or a placeholder saying how to build
  it), sending :mod:`.protocol` messages and giving each view its own
  ``text/plain`` / ``text/html`` fallbacks;
* :func:`_answer` -- decode answers a form sent and resume the thread through
  :mod:`.actions`, sending refusals back to the form;
* :func:`checked` -- a front-end message as its type in :mod:`.protocol` says, or one
  ``action_error`` reply naming the fields (a hostile or stale front end never reaches a handler);
* :func:`_check_workflow`, :func:`_error_message`.

The views themselves live in :mod:`.widgets` (run view, timeline) and
:mod:`.inbox_view`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import anywidget

from ..errors import NbflowError, ResumeValidationError
from . import actions, protocol
from .forms import AnswerError, errors_by_field
from .live import Live

STATIC = Path(__file__).parent / "static"
_ESM_FILE = STATIC / "widget.js"
_CSS_FILE = STATIC / "widget.css"
_MISSING: Any = object()
ATTACH: Any = object()  # show() without an input: attach to the thread's stored state

_FALLBACK_ESM = """
export default { render({ model, el }) {
  el.classList.add("nbflow-run");
  el.dataset.status = model.get("status") || "";
  el.textContent = "nbflow: the front end is not built (run `make js` or `npm run build` in labextension/).";
} };
"""


def _asset(path: Path, fallback: str) -> Any:
    return path if path.is_file() else fallback


class _Base(anywidget.AnyWidget):
    _esm = _asset(_ESM_FILE, _FALLBACK_ESM)
    _css = _asset(_CSS_FILE, "")

    def _send_kind(self, kind: str, **fields: Any) -> None:
        self.send(protocol.message(kind, **fields))

    def _bundle(self, text: str, html: str, kwargs: dict) -> Any:
        out = super()._repr_mimebundle_(**kwargs)
        data, meta = out if isinstance(out, tuple) else (out or {}, {})
        data = dict(data)
        data["text/plain"] = text
        data["text/html"] = html
        return data, meta


def _error_message(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _answer(widget: Any, live: Live, msgs: list, origin: str, extra: dict | None = None) -> None:
    """Decode front-end answers and resume ``live`` with them; refusals go back to the form."""
    iid = ""
    try:
        answers = {}
        for m in msgs:
            iid = str(m.get("id", "")) if isinstance(m, Mapping) else ""
            if not isinstance(m, Mapping):
                raise AnswerError("an answer must be an object {id, value}")
            k, v = actions.answer(live, m)
            answers[k] = v
        actions.resume(live, answers, origin)
    except ResumeValidationError as exc:
        widget._send_kind("resume_error", id=iid, message=_error_message(exc), errors=errors_by_field(exc.errors),
                          **(extra or {}))
    except (NbflowError, ValueError, RuntimeError, TypeError, KeyError) as exc:
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else _error_message(exc)
        widget._send_kind("resume_error", id=iid, message=str(msg), errors=[], **(extra or {}))


def checked(widget: Any, content: Any) -> Mapping | None:
    """``content`` when it is a well-formed ``ToKernel`` message of this protocol version; else None, after one
    ``action_error`` reply (through ``widget``) naming what is wrong, so a malformed message never reaches a
    handler and nothing is raised into the kernel's comm machinery."""
    found = protocol.problems(content, "ToKernel")
    if not found and content.get("v") != protocol.VERSION:
        found = [{"field": "v", "message": f"must be {protocol.VERSION} (reload the page so the view and the "
                                          f"kernel speak the same version)"}]
    if not found:
        return content
    where = "; ".join(f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in found[:5])
    kind = content.get("kind") if isinstance(content, Mapping) else None
    try:
        widget._send_kind("action_error", message=(f"the view sent a malformed {kind!r} message: {where}"
                                                   if isinstance(kind, str) else f"malformed message: {where}")[:2000])
    except Exception:  # noqa: BLE001 - the comm itself is gone: nobody to tell
        pass
    return None


def _check_workflow(workflow: Any) -> None:
    if not callable(getattr(workflow, "stream_events", None)):
        raise TypeError(f"expected an nbflow workflow (made with @entrypoint), got {type(workflow).__name__}")


__all__ = ["ATTACH", "STATIC", "checked"]
