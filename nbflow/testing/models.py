"""A deterministic fake chat model that streams and reports usage, for tests, tutorials and demos.

:func:`fake_chat_model` builds a LangChain chat model (a subclass of langchain-core's own
``GenericFakeChatModel``, so it goes through LangChain's real callback and streaming machinery)
that answers with the replies it is given, in order:

* text streams word by word (``on_llm_new_token`` for each), optionally ``delay`` seconds apart
  and optionally held at ``gate`` (a ``threading.Event``) halfway through, so a test can look at a
  half-streamed answer without depending on timing;
* a reply may carry ``tool_calls`` (they stream as one final chunk, as real providers send them);
* every reply reports ``usage_metadata``: input tokens = the words of the prompt, output tokens =
  the words of the reply (plus 10 per tool call), so figures are exact and easy to check;
* ``model_name`` is what LangChain reports as ``ls_model_name`` (what price tables are keyed by).

Importing this module imports ``langchain_core``; nothing else in nbflow does.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult


def words(text: Any) -> int:
    """How many whitespace-separated words ``text`` (a message's content) has."""
    if isinstance(text, list):
        text = " ".join(b if isinstance(b, str) else str(b.get("text", "")) for b in text if isinstance(b, (str, dict)))
    return len(str(text).split())


class FakeStreamingChatModel(GenericFakeChatModel):
    """See the module docstring; build one with :func:`fake_chat_model`."""

    model_name: str = "fake-chat"
    delay: float = 0.0
    gate: Any = None  # a threading.Event the stream waits for halfway through its text
    provider: str = "fake"

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> Any:
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_model_name"] = self.model_name
        params["ls_provider"] = self.provider
        return params

    def _reply(self, messages: list[BaseMessage]) -> AIMessage:
        reply = next(self.messages)
        msg = AIMessage(content=reply) if isinstance(reply, str) else reply
        inp = sum(words(m.content) for m in messages)
        out = words(msg.content) + 10 * len(msg.tool_calls)
        usage = {"input_tokens": inp, "output_tokens": out, "total_tokens": inp + out}
        return msg.model_copy(update={"usage_metadata": usage,
                                      "response_metadata": {"model_name": self.model_name}})

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None,
                  **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._reply(messages))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None, run_manager: Any = None,
                **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        msg = self._reply(messages)
        mid = msg.id
        content = msg.content if isinstance(msg.content, str) else ""
        tokens = [t for t in re.split(r"(\s+)", content) if t]
        half = len(tokens) // 2
        for i, token in enumerate(tokens):
            if i == half and self.gate is not None:
                self.gate.wait()
            elif i and self.delay:
                time.sleep(self.delay)  # the model's own pace (a real model takes time per token)
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=token, id=mid))
            if run_manager:
                run_manager.on_llm_new_token(token, chunk=chunk)
            yield chunk
        last = AIMessageChunk(content="", id=mid, usage_metadata=msg.usage_metadata,
                              response_metadata={"model_name": self.model_name},
                              tool_call_chunks=[{"name": tc["name"], "args": _json(tc["args"]), "id": tc["id"],
                                                 "index": i} for i, tc in enumerate(msg.tool_calls)],
                              chunk_position="last")
        chunk = ChatGenerationChunk(message=last)
        if run_manager:
            run_manager.on_llm_new_token("", chunk=chunk)
        yield chunk

    @property
    def _llm_type(self) -> str:
        return "nbflow-fake-streaming-chat"


def _json(args: Any) -> str:
    import json

    return json.dumps(args)


def fake_chat_model(replies: Sequence[AIMessage | str], *, model_name: str = "fake-chat", delay: float = 0.0,
                    gate: threading.Event | None = None) -> FakeStreamingChatModel:
    """A chat model answering with ``replies`` in order (see the module docstring)."""
    return FakeStreamingChatModel(messages=iter(list(replies)), model_name=model_name, delay=delay, gate=gate)


__all__ = ["FakeStreamingChatModel", "fake_chat_model", "words"]
