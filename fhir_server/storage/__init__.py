"""Persistence: SQLAlchemy 2 async over SQLite (embedded default) or PostgreSQL, one schema for both."""
