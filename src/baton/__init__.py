"""Baton: the orchestration and execution layer for major incident management."""

__version__ = "0.1.0"
