"""SQLite persistence through SQLAlchemy Core: schema, writers, and the state store."""
