"""The ground floor every package may import: database engines and sessions, bulk inserts,
file readers, the domain's errors. It imports nothing of the project's above it."""
