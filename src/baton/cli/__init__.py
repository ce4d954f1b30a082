"""Typer commands: the only module allowed late imports."""
