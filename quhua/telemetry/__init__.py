"""OpenTelemetry for the server: exporters chosen by the standard OTEL_* variables, a span and
latency per HTTP request, statements traced, and logs as JSON lines carrying trace ids."""
