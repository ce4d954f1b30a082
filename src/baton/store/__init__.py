"""SQLAlchemy models and repositories; the only layer that touches the database."""
