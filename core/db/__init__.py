"""Engines, sessions, the declarative base and bulk inserts, for SQLite and PostgreSQL."""
