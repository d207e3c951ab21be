"""Spans and metrics of the writers: the store's upkeep phases and imported rows.

Through the OpenTelemetry API only: until the server installs an SDK (quhua/telemetry/)
every span and measurement here is a no-op.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import metrics, trace

from core.files.report import FileReport

_tracer = trace.get_tracer("quhua.indicators")
_meter = metrics.get_meter("quhua.indicators")

PHASE = "quhua.upkeep.phase"
OUTCOME = "quhua.import.outcome"

_upkeep = _meter.create_histogram(
    "quhua.store.upkeep.duration",
    unit="s",
    description="Time a write spent keeping the roll-up store fresh, by phase",
    explicit_bucket_boundaries_advisory=[0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60],
)
_imported = _meter.create_counter(
    "quhua.import.rows",
    unit="{row}",
    description="Rows of imported values files, by what became of them",
)


@contextmanager
def upkeep_phase(phase: str) -> Iterator[None]:
    """A span around one phase of the store's upkeep (`before` or `after` the write), its
    statements' spans under it, and its time in the upkeep histogram."""
    started = time.perf_counter()
    try:
        with _tracer.start_as_current_span(f"store upkeep {phase}", attributes={PHASE: phase}):
            yield
    finally:
        _upkeep.record(time.perf_counter() - started, {PHASE: phase})


def count_imported(report: FileReport, *, inserted: int, updated: int, unchanged: int) -> None:
    """Count a checked file's rows: inserted, updated, unchanged, or refused (every row of a
    file with errors, since such a file writes nothing); a dry run's rows are not counted."""
    if not report.ok:
        _imported.add(report.rows, {OUTCOME: "refused"})
        return
    if not report.written:
        return
    for outcome, count in (("inserted", inserted), ("updated", updated), ("unchanged", unchanged)):
        if count:
            _imported.add(count, {OUTCOME: outcome})
