"""Tracer and meter providers from the standard OTEL_* variables; none unless they ask.

`OTEL_TRACES_EXPORTER` and `OTEL_METRICS_EXPORTER` name exporters (comma-separated): `otlp`
(OTLP over HTTP with protobuf, configured by `OTEL_EXPORTER_OTLP_*`), `console`, or any
exporter an installed package registers under OpenTelemetry's entry points. Unlike the
specification's default (`otlp`), an unset variable means no exporter: telemetry is off
unless an operator turns it on. The SDK reads the rest itself: `OTEL_SERVICE_NAME`,
`OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER`, `OTEL_BSP_*`, `OTEL_METRIC_EXPORT_INTERVAL`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points

from opentelemetry import metrics, trace
from opentelemetry.environment_variables import OTEL_METRICS_EXPORTER, OTEL_TRACES_EXPORTER
from opentelemetry.sdk.environment_variables import (
    OTEL_EXPORTER_OTLP_METRICS_PROTOCOL,
    OTEL_EXPORTER_OTLP_PROTOCOL,
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
    OTEL_SDK_DISABLED,
)
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    MetricExporter,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import SERVICE_NAME, OTELResourceDetector, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

# The OTLP transport shipped: the specification's default protocol.
_OTLP_PROTOCOL = "http/protobuf"
_OTLP_ENTRY_POINT = "otlp_proto_http"


class TelemetryConfigError(ValueError):
    """An OTEL_* variable names what cannot be had; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Providers:
    tracer: TracerProvider | None
    meter: MeterProvider | None

    def shutdown(self) -> None:
        """Export what is buffered and stop."""
        if self.tracer is not None:
            self.tracer.shutdown()
        if self.meter is not None:
            self.meter.shutdown()


# This process's telemetry: installed once, then read by the app it builds.
_state: dict[str, bool] = {"configured": False, "tracing": False, "enabled": False}


def providers_from(environ: Mapping[str, str]) -> Providers:
    """The providers the variables ask for (None for a signal without exporters)."""
    if environ.get(OTEL_SDK_DISABLED, "").strip().lower() == "true":
        return Providers(None, None)
    span_exporters = _span_exporters(environ)
    try:
        metric_readers = _metric_readers(environ)
    except TelemetryConfigError:
        _stop(span_exporters)
        raise
    if not span_exporters and not metric_readers:
        return Providers(None, None)
    resource = _resource()
    tracer = None
    if span_exporters:
        tracer = TracerProvider(resource=resource)
        for exporter in span_exporters:
            tracer.add_span_processor(BatchSpanProcessor(exporter))
    meter = None
    if metric_readers:
        meter = MeterProvider(resource=resource, metric_readers=metric_readers)
    return Providers(tracer, meter)


def _span_exporters(environ: Mapping[str, str]) -> list[SpanExporter]:
    found: list[SpanExporter] = []
    try:
        for name in _names(environ, OTEL_TRACES_EXPORTER):
            made = _exporter(
                environ, OTEL_TRACES_EXPORTER, name, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL
            )
            if not isinstance(made, SpanExporter):
                raise TelemetryConfigError(
                    f"{OTEL_TRACES_EXPORTER} names {name!r}: not a span exporter"
                )
            found.append(made)
    except TelemetryConfigError:
        _stop(found)
        raise
    return found


def _metric_readers(environ: Mapping[str, str]) -> list[MetricReader]:
    """A reader for each exporter named: a pull exporter is one; a push exporter is read
    every OTEL_METRIC_EXPORT_INTERVAL."""
    found: list[MetricReader] = []
    try:
        for name in _names(environ, OTEL_METRICS_EXPORTER):
            made = _exporter(
                environ, OTEL_METRICS_EXPORTER, name, OTEL_EXPORTER_OTLP_METRICS_PROTOCOL
            )
            if isinstance(made, MetricReader):
                found.append(made)
            elif isinstance(made, MetricExporter):
                found.append(PeriodicExportingMetricReader(made))
            else:
                raise TelemetryConfigError(
                    f"{OTEL_METRICS_EXPORTER} names {name!r}: not a metric exporter or reader"
                )
    except TelemetryConfigError:
        _stop(found)
        raise
    return found


def _stop(made: Sequence[SpanExporter | MetricReader]) -> None:
    """Stop what was made before a later name was refused: a periodic reader's thread
    would otherwise go on waking, registered with no provider."""
    for each in made:
        each.shutdown()


def install(providers: Providers) -> None:
    """Make the providers this process's own (once: OpenTelemetry refuses a second)."""
    if providers.tracer is not None:
        trace.set_tracer_provider(providers.tracer)
        _state["tracing"] = True
    if providers.meter is not None:
        metrics.set_meter_provider(providers.meter)
    _state["enabled"] = providers.tracer is not None or providers.meter is not None
    _state["configured"] = True


def configure_from_environment() -> None:
    """Install what this process's OTEL_* variables ask for, the first time only."""
    if not _state["configured"]:
        install(providers_from(os.environ))


def tracing() -> bool:
    """Whether this process records spans: the app traces its statements only then."""
    return _state["tracing"]


def enabled() -> bool:
    """Whether this process records spans or metrics: the app measures requests only then."""
    return _state["enabled"]


def _names(environ: Mapping[str, str], variable: str) -> list[str]:
    names = [name.strip() for name in environ.get(variable, "").split(",") if name.strip()]
    return [] if names == ["none"] else names


def _exporter(
    environ: Mapping[str, str], variable: str, name: str, protocol_variable: str
) -> object:
    """A new exporter (or metric reader) of the name, from its entry point."""
    group = {
        OTEL_TRACES_EXPORTER: "opentelemetry_traces_exporter",
        OTEL_METRICS_EXPORTER: "opentelemetry_metrics_exporter",
    }[variable]
    if name == "otlp":
        said = protocol_variable if environ.get(protocol_variable) else OTEL_EXPORTER_OTLP_PROTOCOL
        protocol = environ.get(said, "").strip()
        if protocol and protocol != _OTLP_PROTOCOL:
            raise TelemetryConfigError(
                f"{said} is {protocol!r}: only {_OTLP_PROTOCOL!r} is installed"
            )
        name = _OTLP_ENTRY_POINT
    found = entry_points(group=group, name=name)
    if not found:
        known = sorted({"otlp", "none", *(each.name for each in entry_points(group=group))})
        raise TelemetryConfigError(
            f"{variable} names {name!r}: no such exporter is installed (known: {', '.join(known)})"
        )
    kind = next(iter(found)).load()
    return kind()


def _resource() -> Resource:
    # The variables' service name, else Quhua's own.
    return Resource.create({SERVICE_NAME: "quhua"}).merge(OTELResourceDetector().detect())
