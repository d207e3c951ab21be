"""Telemetry: the span tree of real requests through the app, its metrics, JSON log lines
carrying the request's trace id, and exporters chosen by the OTEL_* variables."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from sqlalchemy import text
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from core.db.engine import sync_engine
from core.spans import CurrentSpan
from quhua.app import create_app
from quhua.settings import Settings
from quhua.telemetry.logs import JsonFormatter
from quhua.telemetry.setup import Providers, TelemetryConfigError, install, providers_from
from tests.conftest import client_for, data_of, graphql
from tests.databases import fresh_database, issue_token, load_catalogue, load_tree, upgrade
from tests.test_value_import import GOOD

SPANS = InMemorySpanExporter()
READER = InMemoryMetricReader()
VILLAGE = "640104001002"

QUERY = """query Births { jurisdiction(code: "64") {
  code name
  births: value(element: "births", period: "2024-03") { value }
  children(first: 3) { edges { node { code name
    births: value(element: "births", period: "2024-03") { value } } } }
} }"""
ME = "{ me { subject { name } } }"
SUBMIT = """mutation Submit($rows: [ValueInput!]!) {
  submitValues(input: $rows, reason: "report") { ok } }"""


@pytest.fixture(scope="module", autouse=True)
def providers() -> Iterator[None]:
    """Spans and metrics kept in memory, installed as the process's own for this module."""
    tracer = TracerProvider()
    tracer.add_span_processor(SimpleSpanProcessor(SPANS))
    meter = MeterProvider(metric_readers=[READER])
    install(Providers(tracer, meter))
    yield
    # OpenTelemetry allows one provider per process: stopped, they keep nothing more.
    Providers(tracer, meter).shutdown()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """Ningxia and the catalogue, with the province administrator's token."""
    with fresh_database(str(request.param), tmp_path_factory.mktemp("telemetry")) as url:
        upgrade(url)
        load_tree(url)
        load_catalogue(url)
        yield url, issue_token(url, "ningxia-admin", "admin", "64")


def _traces() -> dict[int, list[ReadableSpan]]:
    found: dict[int, list[ReadableSpan]] = {}
    for span in SPANS.get_finished_spans():
        assert span.context is not None
        found.setdefault(span.context.trace_id, []).append(span)
    return found


def _one_trace() -> tuple[ReadableSpan, list[ReadableSpan]]:
    """The only trace recorded since the exporter was cleared: its root and every span."""
    traces = _traces()
    assert len(traces) == 1, [[s.name for s in spans] for spans in traces.values()]
    (spans,) = traces.values()
    roots = [span for span in spans if span.parent is None]
    assert len(roots) == 1, [span.name for span in roots]
    return roots[0], spans


def _children(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    assert parent.context is not None
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


def _below(spans: list[ReadableSpan], top: ReadableSpan) -> list[ReadableSpan]:
    """Every span under the top one, at any depth."""
    found, frontier = [], [top]
    while frontier:
        kids = [kid for span in frontier for kid in _children(spans, span)]
        found.extend(kids)
        frontier = kids
    return found


def _is_sql(span: ReadableSpan, backend: str) -> bool:
    return span.kind is SpanKind.CLIENT and (span.attributes or {}).get("db.system.name") == (
        backend
    )


def _named(spans: list[ReadableSpan], name: str) -> list[ReadableSpan]:
    return [span for span in spans if span.name == name]


def _points(name: str) -> list[Any]:
    data = READER.get_metrics_data()
    if data is None:
        return []
    return [
        point
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == name
        for point in metric.data.data_points
    ]


def _total(name: str, **attributes: object) -> float:
    """The sum (or, for a histogram, the count) of the metric's points with the attributes."""
    total = 0.0
    for point in _points(name):
        if all(point.attributes.get(k) == v for k, v in attributes.items()):
            total += point.count if hasattr(point, "count") else point.value
    return total


def test_a_query_is_one_trace_of_operation_loader_and_statement_spans(
    world: tuple[str, str],
) -> None:
    url, token = world
    backend = url.split(":", 1)[0]
    with client_for(url, token) as client:
        requests_before = _total("http.server.request.duration", **{"http.route": "/graphql"})
        operations_before = _total(
            "quhua.graphql.operation.duration", **{"graphql.operation.name": "Births"}
        )
        SPANS.clear()
        data = data_of(client, QUERY)
    assert data["jurisdiction"]["code"] == "64"
    root, spans = _one_trace()
    assert (root.name, root.kind) == ("POST /graphql", SpanKind.SERVER)
    assert root.attributes is not None
    assert root.attributes["http.response.status_code"] == 200
    assert root.attributes["http.route"] == "/graphql"
    (operation,) = [span for span in _children(spans, root) if span.name == "query Births"]
    assert operation.attributes is not None
    assert operation.attributes["graphql.operation.name"] == "Births"
    assert operation.attributes["graphql.operation.type"] == "query"
    under = _below(spans, operation)
    loaders = [span for span in under if span.name.startswith("dataloader ")]
    names = {span.name for span in loaders}
    assert {"dataloader FiguresLoader", "dataloader ChildrenByParentIdLoader"} <= names
    # Each batch is one span with its statements under it, not a span per key.
    for loader in loaders:
        assert any(_is_sql(kid, backend) for kid in _below(spans, loader)), loader.name
    figures = _named(loaders, "dataloader FiguresLoader")
    assert sum((s.attributes or {}).get("quhua.dataloader.keys", 0) for s in figures) == 4
    assert any(_is_sql(span, backend) for span in _children(spans, operation))
    # Everything is in the request's tree; nothing but these kinds of spans: no field spans.
    assert len(_below(spans, root)) == len(spans) - 1
    for span in spans:
        assert span in (root, operation) or span in loaders or _is_sql(span, backend), span.name
    sql = [span for span in spans if _is_sql(span, backend)]
    assert all("$" not in (s.attributes or {}).get("db.query.text", "") for s in sql)
    assert all((s.attributes or {}).get("db.operation.name") for s in sql)
    # The request counter and latency histogram, the operation's count by name.
    after = _total("http.server.request.duration", **{"http.route": "/graphql"})
    assert after == requests_before + 1
    assert _total("quhua.graphql.operation.duration", **{"graphql.operation.name": "Births"}) == (
        operations_before + 1
    )
    (point,) = [
        p
        for p in _points("quhua.graphql.operation.duration")
        if p.attributes.get("graphql.operation.name") == "Births"
    ]
    assert point.count >= 1
    assert point.sum > 0


def test_a_write_traces_the_store_upkeep_and_counts_imported_rows(
    world: tuple[str, str],
) -> None:
    url, token = world
    backend = url.split(":", 1)[0]
    row = {"jurisdiction": VILLAGE, "element": "deaths", "period": "2024-05", "value": 2}
    with client_for(url, token) as client:
        upkeep_before = _total("quhua.store.upkeep.duration", **{"quhua.upkeep.phase": "after"})
        SPANS.clear()
        assert data_of(client, SUBMIT, rows=[row])["submitValues"]["ok"]
        root, spans = _one_trace()
        (operation,) = _named(spans, "mutation Submit")
        assert operation.attributes is not None
        assert operation.attributes["graphql.operation.type"] == "mutation"
        for phase in ("before", "after"):
            (upkeep,) = _named(spans, f"store upkeep {phase}")
            assert upkeep in _below(spans, operation)
            assert any(_is_sql(kid, backend) for kid in _children(spans, upkeep))
        assert _total("quhua.store.upkeep.duration", **{"quhua.upkeep.phase": "after"}) == (
            upkeep_before + 1
        )
        assert root.name == "POST /graphql"

        inserted_before = _total("quhua.import.rows", **{"quhua.import.outcome": "inserted"})
        SPANS.clear()
        answer = client.post(
            "/import/values",
            params={"reason": "March report"},
            content=GOOD.encode(),
            headers={"Content-Type": "text/csv"},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["inserted"] == 6
        root, spans = _one_trace()
        assert root.name == "POST /import/values"
        assert _named(spans, "store upkeep before")
        assert _named(spans, "store upkeep after")
        assert _total("quhua.import.rows", **{"quhua.import.outcome": "inserted"}) == (
            inserted_before + 6
        )


def test_errors_are_counted_by_code(world: tuple[str, str]) -> None:
    url, _ = world
    county = issue_token(url, "county-viewer", "viewer", "640104")
    with client_for(url, county) as client:
        before = _total("quhua.graphql.errors", **{"quhua.error.code": "FORBIDDEN"})
        body = graphql(client, '{ jurisdiction(code: "64") { values(period: "2024") { value } } }')
    assert [error["extensions"]["code"] for error in body["errors"]] == ["FORBIDDEN"]
    assert _total("quhua.graphql.errors", **{"quhua.error.code": "FORBIDDEN"}) == before + 1


def test_the_request_span_continues_the_callers_trace_or_the_one_around_the_app(
    world: tuple[str, str],
) -> None:
    url, token = world
    caller_trace = 0x4BF92F3577B34DA6A3CE929D0E0E4736
    traceparent = f"00-{trace.format_trace_id(caller_trace)}-00f067aa0ba902b7-01"
    with client_for(url, token) as client:
        SPANS.clear()
        client.post("/graphql", json={"query": ME}, headers={"traceparent": traceparent})
    request_span = next(s for s in SPANS.get_finished_spans() if s.kind is SpanKind.SERVER)
    assert request_span.context is not None and request_span.parent is not None
    assert request_span.context.trace_id == caller_trace
    assert request_span.parent.span_id == 0x00F067AA0BA902B7

    app = create_app(Settings(database_url=url))
    host_tracer = trace.get_tracer("a host app")

    async def host(scope: Scope, receive: Receive, send: Send) -> None:
        """A host app that mounts Quhua inside a span of its own."""
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        with host_tracer.start_as_current_span("host request"):
            await app(scope, receive, send)

    with TestClient(host, headers={"Authorization": f"Bearer {token}"}) as client:
        SPANS.clear()
        data_of(client, ME)
    root, spans = _one_trace()
    assert root.name == "host request"
    assert [s.name for s in _children(spans, root)] == ["POST /graphql"]


def test_a_request_its_caller_did_not_sample_records_no_span_but_is_measured(
    world: tuple[str, str],
) -> None:
    url, token = world
    # The caller's sampler left its trace out (flags 00): the request's span records
    # nothing, and no span is made under it; its durations are measured all the same.
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"
    operation = "quhua.graphql.operation.duration"
    with client_for(url, token) as client:
        before = _total(operation, **{"graphql.operation.name": "Births"})
        SPANS.clear()
        answer = client.post(
            "/graphql", json={"query": QUERY}, headers={"traceparent": traceparent}
        )
        assert "errors" not in answer.json(), answer.text
    assert SPANS.get_finished_spans() == ()
    assert _total(operation, **{"graphql.operation.name": "Births"}) == before + 1


def test_a_log_line_carries_the_trace_id_of_its_request(world: tuple[str, str]) -> None:
    url, token = world
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("quhua")
    logger.addHandler(handler)
    engine = sync_engine(url)
    try:
        # A store gone from under the server: the failure is ours, and logged.
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE rollups RENAME TO rollups_away"))
        with client_for(url, token) as client:
            SPANS.clear()
            body = graphql(client, QUERY)
        assert body["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    finally:
        with engine.begin() as connection:
            connection.execute(text("ALTER TABLE rollups_away RENAME TO rollups"))
        engine.dispose()
        logger.removeHandler(handler)
    root, spans = _one_trace()
    assert root.context is not None
    logged = [json.loads(line) for line in lines.getvalue().splitlines()]
    unexpected = [line for line in logged if line["message"].startswith("unexpected error")]
    assert unexpected, logged
    for line in unexpected:
        assert line["trace_id"] == trace.format_trace_id(root.context.trace_id)
        assert line["level"] == "ERROR"
        assert "rollups" in line["exception"]
        assert line["span_id"] in {
            trace.format_span_id(s.context.span_id) for s in spans if s.context
        }


def test_a_log_line_outside_a_request_has_no_trace_id() -> None:
    record = logging.LogRecord("quhua.x", logging.WARNING, __file__, 1, "%s 区划", ("名字",), None)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "名字 区划"
    assert "trace_id" not in line
    assert "span_id" not in line


def test_a_current_span_is_the_parent_within_records_errors_and_ends() -> None:
    tracer = trace.get_tracer("test")
    SPANS.clear()
    with CurrentSpan(tracer.start_span("outer")) as outer:
        assert trace.get_current_span() is outer
        with pytest.raises(ValueError, match="bad input"), CurrentSpan(tracer.start_span("inner")):
            raise ValueError("bad input")
        assert trace.get_current_span() is outer
        with pytest.raises(asyncio.CancelledError), CurrentSpan(tracer.start_span("stopped")):
            raise asyncio.CancelledError
    assert trace.get_current_span() is not outer
    spans = {span.name: span for span in SPANS.get_finished_spans()}
    assert set(spans) == {"outer", "inner", "stopped"}
    inner, stopped = spans["inner"], spans["stopped"]
    assert inner.parent is not None
    assert inner.parent.span_id == spans["outer"].context.span_id
    assert inner.status.status_code is StatusCode.ERROR
    assert inner.status.description == "ValueError: bad input"
    assert [event.name for event in inner.events] == ["exception"]
    # A cancellation is no error.
    assert stopped.status.status_code is StatusCode.UNSET
    assert stopped.events == ()
    assert spans["outer"].status.status_code is StatusCode.UNSET


def test_without_otel_variables_nothing_is_configured() -> None:
    assert providers_from({}) == Providers(None, None)
    assert providers_from({"OTEL_TRACES_EXPORTER": "none"}) == Providers(None, None)
    assert providers_from({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "console"}) == (
        Providers(None, None)
    )


def test_console_exporter_records_spans_of_quhua() -> None:
    made = providers_from({"OTEL_TRACES_EXPORTER": "console"})
    assert made.tracer is not None
    assert made.meter is None
    assert made.tracer.resource.attributes["service.name"] == "quhua"
    # Printed to the standard output bound when the SDK was imported (pytest's here).
    with made.tracer.get_tracer("test").start_as_current_span("printed") as span:
        assert span.is_recording()
    made.shutdown()


@pytest.mark.parametrize(
    ("environ", "said"),
    [
        ({"OTEL_TRACES_EXPORTER": "jaegerish"}, "OTEL_TRACES_EXPORTER names 'jaegerish'"),
        ({"OTEL_METRICS_EXPORTER": "otlp,nope"}, "OTEL_METRICS_EXPORTER names 'nope'"),
        (
            {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
            "OTEL_EXPORTER_OTLP_PROTOCOL is 'grpc'",
        ),
    ],
)
def test_bad_exporter_settings_are_refused_by_name(environ: dict[str, str], said: str) -> None:
    before = set(threading.enumerate())
    with pytest.raises(TelemetryConfigError, match=said):
        providers_from(environ)
    # What was made before the refused name is stopped: no exporter's thread goes on.
    assert [t.name for t in set(threading.enumerate()) - before if t.is_alive()] == []


class _Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, str, int]] = []  # noqa: RUF012 - one collector per test

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.rfile.read(length)
        _Collector.received.append((self.path, self.headers["Content-Type"], length))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        pass


def test_otlp_sends_spans_and_metrics_to_the_endpoint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Collector.received.clear()
    try:
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        # The exporters read their own variables from the process's environment.
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        monkeypatch.setenv("OTEL_SERVICE_NAME", "quhua-test")
        made = providers_from({"OTEL_TRACES_EXPORTER": "otlp", "OTEL_METRICS_EXPORTER": "otlp"})
        assert made.tracer is not None
        assert made.meter is not None
        with made.tracer.get_tracer("test").start_as_current_span("sent"):
            made.meter.get_meter("test").create_counter("sent").add(1)
        made.shutdown()
    finally:
        server.shutdown()
        server.server_close()
    paths = {path for path, kind, size in _Collector.received if size and "protobuf" in kind}
    assert paths == {"/v1/traces", "/v1/metrics"}
