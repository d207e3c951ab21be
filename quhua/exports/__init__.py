"""Bulk exports: aggregates and raw values, streamed in CSV, NDJSON, DHIS2 dataValueSets and
ADX, resumable after any complete row (README, "Exports").

`aggregates` and `values` produce the rows a page at a time (aggregates through the roll-up
grid GraphQL answers with, values in keyset order); `formats` writes them; `streaming` checks
an export whole before its first byte and ends it with the format's end marker or an error
record; `routes` serves them behind the HTTP door, `quhua export` (quhua/cli/export.py) writes
them to a file for the operator.
"""
