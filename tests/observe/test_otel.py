"""OpenTelemetry export (issue 20): spans from the tap, checked with the SDK's in-memory exporter and
with the OTLP/HTTP exporter sending to a real local receiver that decodes the OTLP protobuf."""

from __future__ import annotations

import gzip
import http.server
import threading
import zlib

import pytest
from langchain_core.messages import AIMessage, HumanMessage

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from waiting import wait_until

import nbflow
from nbflow import Command, InMemorySaver, RetryPolicy, entrypoint, interrupt, task
from nbflow.cache import InMemoryCache
from nbflow.observe import otel
from nbflow.policies import CachePolicy
from nbflow.testing.helpers import cfg
from nbflow.testing.models import fake_chat_model


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    listener = otel.instrument(provider)
    yield exporter
    listener.close()
    nbflow.set_prices({}, replace=True)


def _agent(model):
    tries = []

    @task(retry_policy=RetryPolicy(max_attempts=2, initial_interval=0.0, jitter=False, retry_on=ValueError))
    def draft(q: str) -> str:
        text = model.invoke([HumanMessage(q)]).content
        tries.append(1)
        if len(tries) == 1:
            raise ValueError("flaky")
        return text

    @task(cache_policy=CachePolicy())
    def lookup(x: str) -> str:
        return x.upper()

    @task
    def review(text: str) -> str:
        return interrupt({"approve": text})

    @entrypoint(checkpointer=InMemorySaver(), cache=InMemoryCache())
    def agent(q: str) -> dict:
        text = draft(q).result()
        lookup("k").result()
        lookup("k").result()
        return {"text": text, "verdict": review(text).result()}

    return agent


def test_invocations_tasks_model_calls_and_interrupts_become_spans(spans):
    nbflow.set_prices({"fake-chat": {"input": 1.0, "output": 1.0}})
    agent = _agent(fake_chat_model(["first draft", "second good draft"]))
    agent.invoke("write it", cfg("o1"))
    agent.invoke(Command(resume="yes"), cfg("o1"))
    got = spans.get_finished_spans()
    by_name: dict[str, list] = {}
    for s in got:
        by_name.setdefault(s.name, []).append(s)
    first, second = sorted(by_name["invoke_agent agent"], key=lambda s: s.start_time)
    assert first.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert first.attributes["gen_ai.conversation.id"] == "o1" == first.attributes["nbflow.thread_id"]
    assert first.attributes["nbflow.status"] == "interrupted" and second.attributes["nbflow.status"] == "done"
    assert first.attributes["nbflow.checkpoint_id"] == second.attributes["nbflow.checkpoint_id"] != ""
    assert first.attributes["nbflow.usage.calls"] == 2 and "nbflow.usage.calls" not in second.attributes
    assert first.instrumentation_scope.schema_url.endswith(otel.SEMCONV_VERSION)
    # the pause is linked to the resume that answered it
    (intr,) = by_name["interrupt review"]
    assert intr.parent.span_id == first.context.span_id
    assert [link.context.span_id for link in second.links] == [intr.context.span_id]
    # the retried task: one span, its retry as an event, its two model calls as GenAI chat spans
    drafts = [s for s in by_name["task draft"] if not s.attributes.get("nbflow.task.replayed")]
    (draft,) = drafts
    assert draft.parent.span_id == first.context.span_id
    assert draft.attributes["nbflow.task.attempts"] == 2
    (retry,) = draft.events
    assert retry.name == "retry" and dict(retry.attributes) == {
        "nbflow.attempt": 1, "error.type": "ValueError", "exception.message": "flaky"}
    chats = by_name["chat fake-chat"]
    assert len(chats) == 2 and all(c.parent.span_id == draft.context.span_id for c in chats)
    c = sorted(chats, key=lambda s: s.attributes["nbflow.attempt"])[1]
    assert c.attributes["gen_ai.operation.name"] == "chat" and c.attributes["gen_ai.request.model"] == "fake-chat"
    assert c.attributes["gen_ai.usage.input_tokens"] == 2 and c.attributes["gen_ai.usage.output_tokens"] == 3
    assert c.attributes["gen_ai.provider.name"] == "fake"
    assert c.attributes["nbflow.usage.cost_usd"] == pytest.approx(5e-6)
    # the cache hit and the replayed task on resume are events
    lookups = by_name["task lookup"]
    assert any(e.name == "cache_hit" for s in lookups for e in s.events)
    assert any(s.attributes.get("nbflow.task.replayed") for s in by_name["task draft"])
    # payloads are off by default
    assert not any(k in s.attributes for s in got for k in ("nbflow.input", "nbflow.output"))


def test_payloads_are_opt_in_and_capped():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    @task
    def echo(x: str) -> str:
        return x * 2

    @entrypoint(checkpointer=InMemorySaver())
    def wf(x: str) -> str:
        return echo(x).result()

    with otel.instrument(provider, capture_payloads=True, max_payload_chars=50):
        wf.invoke("ab" * 500, cfg("p"))
    spans = {s.name: s for s in exporter.get_finished_spans()}
    out = spans["task echo"].attributes["nbflow.output"]
    assert 0 < len(out) <= 50 and spans["invoke_agent wf"].attributes["nbflow.input"]


def test_an_error_marks_its_spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    @task
    def boom(x: int) -> int:
        raise KeyError("nope")

    @entrypoint(checkpointer=InMemorySaver())
    def wf(x: int) -> int:
        return boom(x).result()

    with otel.instrument(provider), pytest.raises(KeyError):
        wf.invoke(1, cfg("e"))
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert spans["task boom"].status.status_code.name == "ERROR"
    assert spans["task boom"].attributes["error.type"] == "KeyError"
    assert spans["invoke_agent wf"].attributes["nbflow.status"] == "error"


def test_off_means_no_listener():
    from nbflow import tap
    from nbflow.observe import propagate

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    listener = otel.instrument(provider)
    assert tap.listening() and propagate.carrier_hook is not None
    listener.close()
    assert propagate.carrier_hook is None


# ---------------------------------------------------------------------- a real OTLP/HTTP receiver
class _Receiver(http.server.BaseHTTPRequestHandler):
    """POST /v1/traces: decodes the body as OTLP's ExportTraceServiceRequest protobuf."""

    def do_POST(self):
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
            ExportTraceServiceResponse,
        )

        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        enc = self.headers.get("Content-Encoding", "")
        if enc == "gzip":
            body = gzip.decompress(body)
        elif enc == "deflate":
            body = zlib.decompress(body)
        req = ExportTraceServiceRequest()
        req.ParseFromString(body)
        self.server.requests.append((self.path, self.headers.get("Content-Type"), req))  # type: ignore[attr-defined]
        out = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


def test_spans_arrive_at_a_real_otlp_http_receiver():
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.requests = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(
            OTLPSpanExporter(endpoint=f"http://127.0.0.1:{server.server_port}/v1/traces")))
        model = fake_chat_model([AIMessage("the answer is 42")], model_name="gpt-fake")

        @task
        def ask(q: str) -> str:
            return model.invoke([HumanMessage(q)]).content

        @entrypoint(checkpointer=InMemorySaver())
        def qa(q: str) -> str:
            return ask(q).result()

        with otel.instrument(provider):
            assert qa.invoke("what is it", cfg("otlp")) == "the answer is 42"
        provider.force_flush()
        provider.shutdown()
        wait_until(lambda: server.requests, what="an OTLP export")  # type: ignore[attr-defined]
        spans = {}
        for path, ctype, req in server.requests:  # type: ignore[attr-defined]
            assert path == "/v1/traces" and ctype == "application/x-protobuf"
            for rs in req.resource_spans:
                for ss in rs.scope_spans:
                    assert ss.scope.name == "nbflow"
                    for sp in ss.spans:
                        spans[sp.name] = sp
        assert set(spans) == {"invoke_agent qa", "task ask", "chat gpt-fake"}

        def attrs(sp):
            return {a.key: (a.value.string_value or a.value.int_value) for a in sp.attributes}

        chat = attrs(spans["chat gpt-fake"])
        assert chat["gen_ai.usage.input_tokens"] == 3 and chat["gen_ai.usage.output_tokens"] == 4
        assert attrs(spans["invoke_agent qa"])["gen_ai.conversation.id"] == "otlp"
        assert spans["chat gpt-fake"].parent_span_id == spans["task ask"].span_id
        assert spans["task ask"].parent_span_id == spans["invoke_agent qa"].span_id
        assert len({sp.trace_id for sp in spans.values()}) == 1
    finally:
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------------- Dask: context and usage travel
def _remote_task_body(q: str) -> tuple:
    from langchain_core.messages import HumanMessage as H
    from opentelemetry import trace

    from nbflow.testing.models import fake_chat_model as make

    make(["from the worker"]).invoke([H(q)])
    ctx = trace.get_current_span().get_span_context()
    return (format(ctx.trace_id, "032x"), format(ctx.span_id, "016x"))


def test_trace_context_and_usage_travel_with_a_dask_task(spans):
    distributed = pytest.importorskip("distributed")
    from nbflow.executors.dask import DaskExecutor

    with distributed.LocalCluster(n_workers=1, processes=False, threads_per_worker=1, dashboard_address=None,
                                  scheduler_kwargs={"dashboard": False}) as cluster, \
            distributed.Client(cluster) as client:
        remote = task(executor=DaskExecutor(client), name="remote")(_remote_task_body)

        @entrypoint(checkpointer=InMemorySaver())
        def wf(q: str) -> tuple:
            return remote(q).result()

        trace_id, span_id = wf.invoke("hi there", cfg("dask"))
        (rec,) = wf.get_task_history(cfg("dask"))
    assert [(u.model, u.input_tokens, u.output_tokens) for u in rec.usage] == [("fake-chat", 2, 3)]
    (span,) = [s for s in spans.get_finished_spans() if s.name == "task remote"]
    assert (format(span.context.trace_id, "032x"), format(span.context.span_id, "016x")) == (trace_id, span_id)
    assert [s.name for s in spans.get_finished_spans() if s.parent and s.parent.span_id == span.context.span_id] \
        == ["chat fake-chat"]


def test_a_model_called_in_the_entrypoint_body_is_a_chat_span_of_the_invocation(spans):
    model = fake_chat_model(["straight from the body"])

    @entrypoint(checkpointer=InMemorySaver())
    def direct(q: str) -> str:
        return model.invoke([HumanMessage(q)]).content

    direct.invoke("hi", cfg("body-span"))
    by_name = {s.name: s for s in spans.get_finished_spans()}
    chat, inv = by_name["chat fake-chat"], by_name["invoke_agent direct"]
    assert chat.parent.span_id == inv.context.span_id
    assert chat.attributes["gen_ai.usage.output_tokens"] == 4 and inv.attributes["nbflow.usage.calls"] == 1
